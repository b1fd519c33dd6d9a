using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

/// <summary>A fixture whose every test builds into its own graph, made the default for the test's duration.</summary>
public abstract class GraphFixture
{
    private IDisposable _scope = null!;

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
        using var session = new Session(TestGraph);
        return session.Run(t, feeds);
    }
}
