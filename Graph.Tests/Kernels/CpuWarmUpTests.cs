using Graph.Core;
using Graph.Kernels;
using Graph.Kernels.Cpu;

namespace Graph.Tests;

/// <summary>
/// The cpu device compiles its kernels on a background thread when a session opens, and each fused expression when its
/// plan is built: those calls must run without failing, every queued call must run, and results stay the same.
/// </summary>
[TestFixture]
public class CpuWarmUpTests
{
    [Test]
    public void OpeningASessionAndBuildingAPlanWarmsUpWithoutFailures()
    {
        Assume.That(CpuWarmUp.Enabled, "warm-up is off on one core or with GRAPH_CPU_WARMUP=0");
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(3, 20), "x");
        var w = TF.Constant(HostTensor.From(Enumerable.Range(0, 20 * 30).Select(i => (i % 7 - 3) * 0.05f).ToArray(), [20, 30]));
        var y = TF.Tanh(TF.MatMul(x, w) + 0.5f);
        using var session = new Session(g);
        var input = Enumerable.Range(0, 60).Select(i => (i % 5 - 2) * 0.25f).ToArray();
        var result = session.Run(y, new FeedDict { { x, HostTensor.From(input, [3, 20]) } }).ToArray<float>();

        CpuWarmUp.WaitIdle(TimeSpan.FromSeconds(60)).Should().BeTrue("the warm-up thread drains its queue");
        CpuWarmUp.Failure.Should().BeNull();
        for (var r = 0; r < 3; r++)
            for (var c = 0; c < 30; c++)
            {
                var z = 0.5;
                for (var k = 0; k < 20; k++) z += (double)input[r * 20 + k] * ((k * 30 + c) % 7 - 3) * 0.05f;
                result[r * 30 + c].Should().BeApproximately((float)Math.Tanh(z), 1e-5f);
            }
    }

    [Test]
    public void PreparingTheCpuDeviceQueuesTheWarmUpWithoutASession()
    {
        // In a process where a session has already opened, this checks that preparing again is harmless.
        Assume.That(CpuWarmUp.Enabled, "warm-up is off on one core or with GRAPH_CPU_WARMUP=0");
        Devices.Prepare("cpu");
        CpuWarmUp.KernelsQueued.Should().BeTrue();
        Devices.Prepare("cpu");
        CpuWarmUp.WaitIdle(TimeSpan.FromSeconds(60)).Should().BeTrue("the warm-up thread drains its queue");
        CpuWarmUp.Failure.Should().BeNull("the kernels and the training rehearsal run without failing");
    }

    [Test]
    public void PreparingAnUnknownDeviceNamesTheDevicesPresent()
    {
        var prepare = () => Devices.Prepare("tpu");
        prepare.Should().Throw<ArgumentException>().WithMessage("*'tpu' is not available*cpu*");
    }

    [Test]
    public void EveryCallQueuedFromManyThreadsRunsOnce()
    {
        Assume.That(CpuWarmUp.Enabled, "warm-up is off on one core or with GRAPH_CPU_WARMUP=0");
        var runs = new int[400];
        Parallel.For(0, 4, t =>
        {
            for (var i = t * 100; i < (t + 1) * 100; i++)
            {
                var k = i;
                CpuWarmUp.Enqueue(() => Interlocked.Increment(ref runs[k]));
            }
        });
        CpuWarmUp.WaitIdle(TimeSpan.FromSeconds(60)).Should().BeTrue();
        runs.Should().OnlyContain(n => n == 1);
    }
}
