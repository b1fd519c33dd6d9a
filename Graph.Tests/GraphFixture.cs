using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

/// <summary>A fixture whose every test builds into its own graph, made the default for the test's duration.</summary>
public abstract class GraphFixture
{
    private IDisposable _scope = null!;

    /// <summary>A fixture whose sessions run on <paramref name="device"/> (fixtures run on several devices pass it in).</summary>
    protected GraphFixture(string device = "cpu") => Device = device;

    /// <summary>The device this fixture's sessions run on.</summary>
    protected string Device { get; }

    /// <summary>A new session on <paramref name="graph"/> (default: the test's graph) running on <see cref="Device"/>.</summary>
    protected Session NewSession(ComputeGraph? graph = null) => new(graph ?? TestGraph, new SessionOptions { Device = Device });

    /// <summary>This test's graph.</summary>
    protected ComputeGraph TestGraph { get; private set; } = null!;

    [SetUp]
    public void CreateGraph()
    {
        TestGraph = new ComputeGraph();
        _scope = TestGraph.AsDefault();
    }

    [TearDown]
    public void DisposeGraph() => _scope.Dispose();

    /// <summary>Runs <paramref name="t"/> in a fresh session on the test's graph.</summary>
    protected HostTensor Eval(Tensor t, FeedDict? feeds = null)
    {
        using var session = NewSession();
        return session.Run(t, feeds);
    }
}
