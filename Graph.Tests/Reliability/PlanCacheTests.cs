using Graph.Core;
using Graph.Kernels;
using Graph.Kernels.Cpu;

namespace Graph.Tests;

/// <summary>
/// A session keeps a bounded number of plans and plan bytes: the least recently used plans are evicted (their memory
/// freed), evicted keys compile again, and callables holding an evicted plan find the session's current one.
/// </summary>
[TestFixture("cpu")]
[TestFixture("ilgpu-cpu")]
[TestFixture("cuda", Category = "Cuda")]
public class PlanCacheTests(string device) : GraphFixture(device)
{
    private Session NewSession(int capacity, long bytes = 1L << 30) =>
        new(TestGraph, new SessionOptions { Device = Device, PlanCacheCapacity = capacity, PlanCacheBytes = bytes });

    private static HostTensor Rows(int n, int width = 3) => HostTensor.From(Enumerable.Range(0, n * width).Select(i => (float)i).ToArray(), n, width);

    [Test]
    public void TheLeastRecentlyUsedPlansAreEvictedBeyondTheCapacity()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 3));
        var y = TF.ReduceSum(x * 2f, [1]);
        using var s = NewSession(capacity: 3);
        for (var n = 1; n <= 5; n++) s.Run(y, new FeedDict { { x, Rows(n) } });
        s.PlansCompiled.Should().Be(5);
        s.PlansCached.Should().Be(3);
        s.Run(y, new FeedDict { { x, Rows(5) } });
        s.PlansCompiled.Should().Be(5, "the most recent plan is still cached");
        s.Run(y, new FeedDict { { x, Rows(3) } });
        s.PlansCompiled.Should().Be(5, "batch 3 is among the three most recent");
        var again = s.Run(y, new FeedDict { { x, Rows(1) } });
        s.PlansCompiled.Should().Be(6, "batch 1 was evicted and compiles again");
        again.ToArray<float>().Should().Equal(6f);
        s.Run(y, new FeedDict { { x, Rows(3) } });
        s.Run(y, new FeedDict { { x, Rows(4) } });
        s.PlansCompiled.Should().Be(7, "using batch 3 kept it; batch 4 was the least recently used");
        s.PlansCached.Should().Be(3);
    }

    [Test]
    public void ThePlanBytesStayWithinTheirBoundButTheNewestPlanIsAlwaysKept()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 64));
        var h = TF.Tanh(TF.MatMul(x, TF.Constant(new float[64, 64])));
        var y = TF.ReduceSum(TF.MatMul(h, TF.Constant(new float[64, 64])) + h);
        using var s = NewSession(capacity: 100, bytes: 200_000);
        for (var n = 10; n <= 400; n += 30)
        {
            s.Run(y, new FeedDict { { x, new float[n, 64] } });
            s.PlansCached.Should().BeGreaterThan(0);
            if (s.PlansCached > 1) s.PlanCacheBytes.Should().BeLessThanOrEqualTo(200_000);
        }
        s.PlansCached.Should().BeLessThan(14);
    }

    [Test]
    public void ACallableWhosePlanWasEvictedRunsTheSessionsCurrentPlan()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 3));
        var y = x * 3f;
        using var s = NewSession(capacity: 1);
        var call = s.MakeCallable([y], [x]);
        call.Run(Rows(2))[0].ToArray<float>().Should().Equal(Rows(2).ToArray<float>().Select(v => v * 3));
        s.Run(x + 1f, new FeedDict { { x, Rows(1) } }); // evicts the callable's plan
        s.PlansCached.Should().Be(1);
        var compiled = s.PlansCompiled;
        var output = HostTensor.Zeros(DType.Float32, [2, 3]);
        call.RunInto([Rows(2)], [output]);
        output.ToArray<float>().Should().Equal(Rows(2).ToArray<float>().Select(v => v * 3));
        s.PlansCompiled.Should().Be(compiled + 1);
        call.Run(Rows(2));
        s.PlansCompiled.Should().Be(compiled + 1, "the callable's new plan is cached again");
    }

    [Test]
    public void TrainingAcrossManyBatchSizesGivesTheSameWeightsAsWithoutEviction()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 3));
        var w = TF.Variable(TF.Constant(new[,] { { 0.1f }, { -0.2f }, { 0.3f } }), name: "w");
        var train = new GradientDescentOptimizer(0.01).Minimize(TF.ReduceMean(TF.Square(TF.MatMul(x, w) - 1f)));
        float[] Train(int capacity)
        {
            using var s = NewSession(capacity);
            s.Run(TF.GlobalVariablesInitializer());
            for (var i = 0; i < 12; i++) s.Run(train, new FeedDict { { x, Rows(1 + i % 4) } });
            return s.GetVariableValue(w)!.ToArray<float>();
        }
        Train(1).Should().Equal(Train(100));
    }

    [Test]
    public void TheCacheOptionsAreChecked()
    {
        var zero = () => new Session(TestGraph, new SessionOptions { Device = Device, PlanCacheCapacity = 0 });
        zero.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*PlanCacheCapacity*");
        var negative = () => new Session(TestGraph, new SessionOptions { Device = Device, PlanCacheBytes = -1 });
        negative.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*PlanCacheBytes*");
    }
}

/// <summary>The managed memory a session holds over many feed shapes stays bounded (cpu device).</summary>
[TestFixture]
[NonParallelizable]
public class PlanCacheMemoryTests : GraphFixture
{
    /// <summary>
    /// A 512-wide softmax fed 150 batch sizes: without eviction its plans kept ~90 MB of buffers; bounded by 4 MB of plan
    /// bytes, the managed heap grows by far less.
    /// </summary>
    [Test]
    public void ManyBatchSizesKeepTheManagedHeapBounded()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 512));
        var y = TF.ReduceSum(TF.Nn.Softmax(x) * 2f, [1]);
        using var s = new Session(TestGraph, new SessionOptions { PlanCacheBytes = 4 << 20 });
        var input = new float[600 * 512];
        s.Run(y, new FeedDict { { x, HostTensor.From(input[..1024], 2, 512) } }); // the first run's one-time costs
        CpuWarmUp.WaitIdle(TimeSpan.FromSeconds(60)); // the heap is process-wide: the warm-up thread's work must be done
        var before = GC.GetTotalMemory(forceFullCollection: true);
        for (var n = 4; n <= 600; n += 4) s.Run(y, new FeedDict { { x, HostTensor.From(input[..(n * 512)], n, 512) } });
        var grown = GC.GetTotalMemory(forceFullCollection: true) - before;
        s.PlansCompiled.Should().Be(151);
        s.PlanCacheBytes.Should().BeLessThanOrEqualTo(4 << 20);
        grown.Should().BeLessThan(12L << 20, "evicted plans' buffers are collected (they grew by ~90 MB without eviction)");
    }

    /// <summary>dynamic_rnn trained over sequence lengths 1 to 80: each length is a plan, and the loop's arrays of each length are recycled.</summary>
    [TestCase(2L << 20, 8L << 20)]
    public void ManySequenceLengthsKeepTheManagedHeapBounded(long planBytes, long bound)
    {
        var x = TF.Placeholder(DType.Float32, new Shape(32, -1, 8), name: "x");
        var (outputs, _) = Graph.Rnn.Rnn.DynamicRnn(new Graph.Rnn.BasicRNNCell(64), x);
        var train = new GradientDescentOptimizer(0.01).Minimize(TF.ReduceMean(TF.Square(outputs)));
        using var s = new Session(TestGraph, new SessionOptions { PlanCacheBytes = planBytes });
        s.Run(TF.GlobalVariablesInitializer());
        s.Run(train, new FeedDict { { x, new float[32, 1, 8] } });
        CpuWarmUp.WaitIdle(TimeSpan.FromSeconds(60)); // the heap is process-wide: the warm-up thread's work must be done
        var before = GC.GetTotalMemory(forceFullCollection: true);
        for (var t = 2; t <= 80; t++) s.Run(train, new FeedDict { { x, HostTensor.Zeros(DType.Float32, [32, t, 8]) } });
        var grown = GC.GetTotalMemory(forceFullCollection: true) - before;
        s.PlanCacheBytes.Should().BeLessThanOrEqualTo(planBytes);
        grown.Should().BeLessThan(bound, "evicted plans and the loop arrays of lengths no longer used are collected");
    }
}
