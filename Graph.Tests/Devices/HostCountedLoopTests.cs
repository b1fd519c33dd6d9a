using Graph.Core;
using Graph.Kernels;
using Graph.Rnn;

namespace Graph.Tests;

/// <summary>
/// A counted loop on an ILGPU device (dynamic_rnn's <c>time &lt; T</c>) takes its counter from the host: no
/// <c>time + 1</c> kernel, a TensorArray read at <c>time</c> is a slice of the array, a write at <c>time</c> and the
/// gradient's slice at <c>time</c> are copies into the array. Launches are counted on ilgpu-cpu; values are compared
/// with the cpu device, and with the same loop run uncounted (today's path: the counter and the indices on the device).
/// </summary>
[TestFixture]
public class HostCountedLoopTests
{
    private const string Ilgpu = "ilgpu-cpu";

    /// <summary>Runs <paramref name="build"/>'s fetches twice on <paramref name="device"/> (initialising its variables); the second run's values and launches.</summary>
    private static (HostTensor[] Values, long Launches) Run(string device, Func<(Tensor[] Fetches, FeedDict Feeds)> build)
    {
        var (values, launches, _) = RunCounting(device, build);
        return (values, launches);
    }

    /// <summary>As <see cref="Run"/>, also counting the second run's waits for the device.</summary>
    private static (HostTensor[] Values, long Launches, long Waits) RunCounting(string device, Func<(Tensor[] Fetches, FeedDict Feeds)> build)
    {
        var g = new ComputeGraph { Seed = 11 };
        using var scope = g.AsDefault();
        var (fetches, feeds) = build();
        using var sess = new Session(g, new SessionOptions { Device = device });
        if (TF.GlobalVariables().Any()) sess.Run(TF.GlobalVariablesInitializer());
        sess.Run(fetches, feeds);
        var (launches, waits) = (Devices.LaunchCount(device), Devices.WaitCount(device));
        var values = sess.Run(fetches, feeds);
        return (values, Devices.LaunchCount(device) - launches, Devices.WaitCount(device) - waits);
    }

    private static double[] Flat(HostTensor[] values) => values.SelectMany(v => v.AsType(DType.Float64).ToArray<double>()).ToArray();

    private static void MatchesCpu(Func<(Tensor[] Fetches, FeedDict Feeds)> build, double tolerance)
    {
        var cpu = Flat(Run("cpu", build).Values);
        var device = Flat(Run(Ilgpu, build).Values);
        device.Should().HaveCount(cpu.Length);
        for (var i = 0; i < cpu.Length; i++) device[i].Should().BeApproximately(cpu[i], tolerance * Math.Max(1, Math.Abs(cpu[i])), $"element {i}");
    }

    private static HostTensor Random(int seed, params int[] dims)
    {
        var random = new Random(seed);
        var data = new double[dims.Aggregate(1, (a, b) => a * b)];
        for (var i = 0; i < data.Length; i++) data[i] = random.NextDouble() - 0.5;
        return new HostTensor(data, dims);
    }

    /// <summary>
    /// A loop that copies a TensorArray step by step (read at the counter, write at the counter) launches nothing per
    /// iteration: the read is a slice, the write a copy, and the counter is the host's (before: three kernels each).
    /// </summary>
    [Test]
    public void CopyingATensorArrayLaunchesNoKernelPerIteration()
    {
        (Tensor[], FeedDict) Build(int steps)
        {
            var xs = TF.Placeholder(DType.Float64, new Shape(steps, 2, 3), "xs");
            var input = TensorArray.Unstack(xs);
            var output = TensorArray.Zeros(xs, TF.Zeros([2, 3], DType.Float64));
            var r = TF.WhileLoop(v => TF.Less(v[0], TF.Constant(steps)),
                v => [v[0] + 1, new TensorArray(v[1]).Write(v[0], input.Read(v[0])).Flow], [TF.Constant(0), output.Flow]);
            return ([r[1]], new FeedDict { { xs, Random(3, steps, 2, 3) } });
        }
        var (three, threeLaunches) = Run(Ilgpu, () => Build(3));
        var (seven, sevenLaunches) = Run(Ilgpu, () => Build(7));
        (sevenLaunches - threeLaunches).Should().Be(0, "four more iterations launch nothing");
        three[0].ToArray<double>().Should().Equal(Random(3, 3, 2, 3).ToArray<double>());
        seven[0].ToArray<double>().Should().Equal(Random(3, 7, 2, 3).ToArray<double>());
    }

    /// <summary>
    /// One more step of a dynamic_rnn's forward and backward pass, in the form built for a GPU (the input projection one
    /// product before the loop), costs four launches: forward the recurrent GEMM and its tanh epilogue, backward the tanh
    /// gradient and h's gradient GEMM. The recurrent weight's gradient is one product over all steps after the loop
    /// (RnnProjectedInputsDef), and the counter, the read of the step's projected inputs and the scatter of their
    /// gradient launch nothing (before: five launches per step with the weight's product per step, eight before that).
    /// </summary>
    [Test]
    public void ADynamicRnnStepLaunchesOnlyItsArithmetic()
    {
        (Tensor[], FeedDict) Build(int steps)
        {
            var x = TF.Placeholder(DType.Float32, new Shape(4, steps, 3), "x");
            var (outputs, state) = Graph.Rnn.Rnn.DynamicRnn(new SimpleRNNCell(5), x, projectInputs: true);
            var loss = TF.ReduceSum(state[0] * state[0]);
            var grads = TF.Gradients(loss, [x, .. TF.TrainableVariables().Select(v => v.Value)]);
            return ([loss, .. grads.Select(t => t!)], new FeedDict { { x, Random(5, 4, steps, 3).AsType(DType.Float32) } });
        }
        var (four, three) = (RunCounting(Ilgpu, () => Build(4)), RunCounting(Ilgpu, () => Build(3)));
        (four.Launches - three.Launches).Should().Be(4);
        // The forward and gradient loops are counted and their counter's values are the device's: a step more adds no
        // wait (a round trip that stops the host from queueing ahead).
        (four.Waits - three.Waits).Should().Be(0);
        three.Waits.Should().BeGreaterThan(0, "the feed's upload and the loss's download wait");
    }

    /// <summary>dynamic_rnn's outputs, final state and every gradient on ilgpu-cpu equal the cpu device's (float64), with and without lengths and swap_memory.</summary>
    [TestCase(false, false)]
    [TestCase(true, false)]
    [TestCase(true, true)]
    [TestCase(false, true)]
    public void DynamicRnnMatchesTheCpu(bool lengths, bool swap) => MatchesCpu(() =>
    {
        var x = TF.Placeholder(DType.Float64, new Shape(3, 5, 2), "x");
        var sequenceLength = lengths ? TF.Constant(new[] { 5, 2, 4 }) : null;
        var (outputs, state) = Graph.Rnn.Rnn.DynamicRnn(new SimpleRNNCell(4), x, sequenceLength, swapMemory: swap, dtype: DType.Float64);
        var loss = TF.ReduceSum(outputs * outputs) + TF.ReduceSum(TF.Tanh(state[0]));
        var grads = TF.Gradients(loss, [x, .. TF.TrainableVariables().Select(v => v.Value)]);
        return ([outputs, state[0], .. grads.Select(t => t!)], new FeedDict { { x, Random(9, 3, 5, 2) } });
    }, 1e-12);

    /// <summary>
    /// The same loop with a condition the host cannot count (a data-dependent term that always holds) runs today's
    /// path — the counter, the reads and the gradient's scatter-add as kernels — and gives the same bits as the counted
    /// loop; the counted one launches fewer kernels.
    /// </summary>
    [TestCase(false)]
    [TestCase(true)]
    public void ACountedLoopGivesTheBitsOfTheSameLoopUncounted(bool swap)
    {
        const int steps = 6;
        (Tensor[], FeedDict) Build(bool counted)
        {
            var xs = TF.Placeholder(DType.Float32, new Shape(steps, 3, 4), "xs");
            var w = TF.Placeholder(DType.Float32, new Shape(4, 4), "w");
            var input = TensorArray.Unstack(TF.Tanh(xs * 2f));
            var output = TensorArray.Zeros(xs, TF.Zeros([3, 4]));
            var r = TF.WhileLoop(
                v => counted ? TF.Less(v[0], TF.Constant(steps)) : TF.LogicalAnd(TF.Less(v[0], TF.Constant(steps)), TF.Less(TF.ReduceSum(v[1] * 0f), TF.Constant(1f))),
                v =>
                {
                    var h = TF.Tanh(TF.MatMul(v[1], w) + input.Read(v[0]));
                    return [v[0] + 1, h, new TensorArray(v[2]).Write(v[0], h * 3f).Flow];
                },
                [TF.Constant(0), TF.Zeros([3, 4]), output.Flow], swapMemory: swap);
            var loss = TF.ReduceSum(r[2] * r[2]) + TF.ReduceSum(r[1]);
            var grads = TF.Gradients(loss, xs, w);
            return ([r[1], r[2], grads[0]!, grads[1]!], new FeedDict { { xs, Random(1, steps, 3, 4).AsType(DType.Float32) }, { w, Random(2, 4, 4).AsType(DType.Float32) } });
        }
        var (counted, countedLaunches) = Run(Ilgpu, () => Build(true));
        var (uncounted, uncountedLaunches) = Run(Ilgpu, () => Build(false));
        for (var i = 0; i < counted.Length; i++)
            counted[i].ToArray<float>().Select(BitConverter.SingleToInt32Bits).Should().Equal(uncounted[i].ToArray<float>().Select(BitConverter.SingleToInt32Bits), $"fetch {i}");
        countedLaunches.Should().BeLessThan(uncountedLaunches - 2 * steps);
        MatchesCpu(() => Build(true), 1e-5);
        MatchesCpu(() => Build(false), 1e-5);
    }

    /// <summary>
    /// A counted loop's counter values go up to the device once and are kept for later runs (an upload waits on the
    /// stream; an RNN's loop starts the same way every training step): the second run of a loop that reads its counter
    /// as a tensor uploads nothing. A longer loop from the same start extends the kept values once; loops with more
    /// distinct starts than the device keeps upload their own each run, with the same results.
    /// </summary>
    [Test]
    public void ACountedLoopUploadsItsCounterValuesOnce()
    {
        var device = Graph.Kernels.Ilgpu.IlgpuDevice.Get(Ilgpu);
        // Σ counter over the loop, as a float64 the body adds up: the kernel reads the counter's device slice.
        Tensor SumOfCounter(int start, int steps) => TF.WhileLoop(v => TF.Less(v[0], TF.Constant(start + steps)),
            v => [v[0] + 1, v[1] + TF.Cast(v[0], DType.Float64)], [TF.Constant(start), TF.Constant(0.0)])[1];
        static double Expected(int start, int steps) => Enumerable.Range(start, steps).Sum(i => (double)i);
        long Uploaded(Session session, Tensor[] fetches, double[] expected)
        {
            var before = device.UploadedBytes;
            var values = session.Run(fetches);
            for (var i = 0; i < fetches.Length; i++) values[i].Item<double>().Should().Be(expected[i], $"loop {i}");
            return device.UploadedBytes - before;
        }
        const int start = 7_000_003;
        var g = new ComputeGraph();
        using (g.AsDefault())
        {
            var shortLoop = SumOfCounter(start, 5);
            var longLoop = SumOfCounter(start, 300);
            using var session = new Session(g, new SessionOptions { Device = Ilgpu });
            Uploaded(session, [shortLoop], [Expected(start, 5)]);
            Uploaded(session, [shortLoop], [Expected(start, 5)]).Should().Be(0, "the counter's values are the device's from the first run on");
            Uploaded(session, [longLoop], [Expected(start, 300)]).Should().BeGreaterThan(0, "300 iterations need more values than the first run kept");
            Uploaded(session, [longLoop], [Expected(start, 300)]).Should().Be(0);
            Uploaded(session, [shortLoop], [Expected(start, 5)]).Should().Be(0, "a shorter loop from the same start reads the longer run's values");

            var starts = Enumerable.Range(0, Graph.Kernels.Ilgpu.IlgpuDevice.MostCounterRuns + 2).Select(k => start + 1000 * (k + 1)).ToArray();
            var many = starts.Select(s => SumOfCounter(s, 4)).ToArray();
            var expected = starts.Select(s => Expected(s, 4)).ToArray();
            Uploaded(session, many, expected);
            Uploaded(session, many, expected).Should().BeGreaterThan(0, "the device keeps a limited number of runs: the others upload their own");
        }
    }

    /// <summary>
    /// A counted loop that reads or writes a TensorArray past its end fails the run, naming the op as on the cpu device:
    /// an index out of range takes the kernel, which checks it (the device reports the largest bad index it saw before
    /// the run checked its flags, the cpu the first).
    /// </summary>
    [TestCase("cpu", true)]
    [TestCase(Ilgpu, true)]
    [TestCase("cpu", false)]
    [TestCase(Ilgpu, false)]
    public void AnIndexPastTheEndOfATensorArrayFailsTheRun(string device, bool read)
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var xs = TF.Placeholder(DType.Float64, new Shape(3, 2), "xs");
        var output = TensorArray.Zeros(xs, TF.Zeros([2], DType.Float64));
        var r = TF.WhileLoop(v => TF.Less(v[0], TF.Constant(5)), v =>
        {
            var index = read ? v[0] : TF.Minimum(v[0], TF.Constant(2));
            var value = TensorArray.Unstack(xs).Read(index);
            return [v[0] + 1, new TensorArray(v[1]).Write(read ? TF.Minimum(v[0], TF.Constant(2)) : v[0], value).Flow];
        }, [TF.Constant(0), output.Flow]);
        using var sess = new Session(g, new SessionOptions { Device = device });
        var act = () => sess.Run(r[1], new FeedDict { { xs, Random(4, 3, 2) } });
        act.Should().Throw<InvalidArgumentException>().WithMessage(read ? "GatherV2 'while/GatherV2': indices[0] = * is not in [0, 3)." : "*TensorArray index*out of range*the array has size 3*");
    }
}
