using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

/// <summary>
/// A fixture run once per device (<c>[TestFixture("cpu")]</c>, <c>[TestFixture("ilgpu-cpu")]</c>,
/// <c>[TestFixture("cuda", Category = "Cuda")]</c>): on a machine without the device its tests are ignored, saying so.
/// </summary>
public abstract class DeviceFixture(string device)
{
    /// <summary>The device this fixture's sessions run on.</summary>
    protected string Device { get; } = device;

    [OneTimeSetUp]
    public void RequireDevice()
    {
        if (Devices.List().All(d => d.Name != Device))
            Assert.Ignore($"No '{Device}' device on this machine (devices here: {string.Join(", ", Devices.List().Select(d => d.Name))}); tools/gpu/run.sh runs these tests on a GPU machine (docs/gpu.md).");
    }
}

/// <summary>A fixture whose every test builds into its own graph, made the default for the test's duration.</summary>
public abstract class GraphFixture(string device = "cpu") : DeviceFixture(device)
{
    private IDisposable _scope = null!;

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
