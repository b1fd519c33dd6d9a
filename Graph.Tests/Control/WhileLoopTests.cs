using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

[TestFixture("cpu")]
[TestFixture("ilgpu-cpu")]
[TestFixture("cuda", Category = "Cuda")]
public class WhileLoopTests(string device) : DeviceFixture(device)
{
    [Test]
    public void CountsToTen()
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var i0 = TF.Constant(0);
        var r = TF.WhileLoop(v => TF.Less(v[0], TF.Constant(10)), v => [v[0] + 1.0], [i0]);
        using var sess = new Session(g, new SessionOptions { Device = Device });
        sess.Run(r[0]).Item<int>().Should().Be(10);
    }

    [Test]
    public void DataDependentTripCountAndInvariants()
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var limit = TF.Placeholder(DType.Float32, Shape.Scalar, "limit");
        var step = TF.Placeholder(DType.Float32, Shape.Scalar, "step");
        var r = TF.WhileLoop(v => TF.Less(v[0], limit), v => [v[0] + step, v[1] + 1.0], [TF.Constant(0f), TF.Constant(0)]);
        using var sess = new Session(g, new SessionOptions { Device = Device });
        var (x, n) = sess.Run(r[0], r[1], new FeedDict { { limit, 10f }, { step, 3f } });
        x.Item<float>().Should().Be(12f);
        n.Item<int>().Should().Be(4);
        sess.Run(r[1], new FeedDict { { limit, 100f }, { step, 25f } }).Item<int>().Should().Be(4);
        sess.PlansCompiled.Should().Be(2, "fetching different tensors is a new plan; the loop body plan is reused inside");
    }

    [Test]
    public void MaximumIterationsStopsTheLoop()
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var r = TF.WhileLoop(v => TF.Constant(true), v => [v[0] * 2.0], [TF.Constant(1f)], maximumIterations: 5);
        using var sess = new Session(g, new SessionOptions { Device = Device });
        sess.Run(r[0]).Item<float>().Should().Be(32f);
    }

    [Test]
    public void NestedLoops()
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        // sum over i < 4 of sum over j < i of 1 = 0+1+2+3 = 6
        var r = TF.WhileLoop(v => TF.Less(v[0], TF.Constant(4)), v =>
        {
            var inner = TF.WhileLoop(w => TF.Less(w[0], v[0]), w => [w[0] + 1.0, w[1] + 1.0], [TF.Constant(0), v[1]]);
            return [v[0] + 1.0, inner[1]];
        }, [TF.Constant(0), TF.Constant(0)]);
        using var sess = new Session(g, new SessionOptions { Device = Device });
        sess.Run(r[1]).Item<int>().Should().Be(6);
    }

    [Test]
    public void TensorArrayWritesEachStep()
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var xs = TF.Placeholder(DType.Float32, new Shape(-1, 2), "xs");
        var output = TensorArray.Zeros(xs, TF.Slice(xs, [0, 0], [1, -1]) * 0.0 + TF.Constant(new float[,] { { 0, 0 } }));
        var r = TF.WhileLoop(v => TF.Less(v[0], TF.TruncateDiv(TF.Size(xs), TF.Constant(2))), v =>
        {
            var x = TF.Gather(xs, v[0]);
            return [v[0] + 1.0, new TensorArray(v[1]).Write(v[0], TF.Reshape(x * 10.0, [1, 2])).Flow];
        }, [TF.Constant(0), output.Flow]);
        using var sess = new Session(g, new SessionOptions { Device = Device });
        var result = sess.Run(r[1], new FeedDict { { xs, new float[,] { { 1, 2 }, { 3, 4 }, { 5, 6 } } } });
        result.Dims.Should().Equal(3, 1, 2);
        result.ToArray<float>().Should().Equal(10f, 20f, 30f, 40f, 50f, 60f);
    }

    [Test]
    public void GradientThroughALoopSumsInvariantGradients()
    {
        // x_{k+1} = x_k * w for 3 steps: x3 = x0 w³; d/dw = 3 x0 w², d/dx0 = w³.
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var w = TF.Placeholder(DType.Float64, Shape.Scalar, "w");
        var x0 = TF.Placeholder(DType.Float64, Shape.Scalar, "x0");
        var r = TF.WhileLoop(v => TF.Less(v[1], TF.Constant(3)), v => [v[0] * w, v[1] + 1.0], [x0, TF.Constant(0)]);
        var grads = TF.Gradients(r[0], w, x0);
        using var sess = new Session(g, new SessionOptions { Device = Device });
        var feeds = new FeedDict { { w, 1.5 }, { x0, 2.0 } };
        var (gw, gx) = sess.Run(grads[0]!, grads[1]!, feeds);
        gw.Item<double>().Should().BeApproximately(3 * 2.0 * 1.5 * 1.5, 1e-12);
        gx.Item<double>().Should().BeApproximately(1.5 * 1.5 * 1.5, 1e-12);
    }

    /// <summary>
    /// A run hands the arrays its loops made (final state, gradient sums) back for reuse when it ends, except those it
    /// returns: values fetched from one run, directly or through ops after the loop, keep their contents while later
    /// runs reuse the recycled arrays. The state is 64×64, large enough to be recycled.
    /// </summary>
    [Test]
    public void ValuesFetchedFromLoopsSurviveLaterRuns()
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var w = TF.Placeholder(DType.Float32, new Shape(64, 64), "w");
        var x0 = TF.Placeholder(DType.Float32, new Shape(64, 64), "x0");
        var r = TF.WhileLoop(v => TF.Less(v[1], TF.Constant(3)), v => [TF.Tanh(TF.MatMul(v[0], w)), v[1] + 1.0], [x0, TF.Constant(0)]);
        var after = r[0] * 2f;
        var gw = TF.Gradients(TF.ReduceSum(r[0]), w)[0]!;
        using var sess = new Session(g, new SessionOptions { Device = Device });
        FeedDict Feeds(int seed)
        {
            var random = new Random(seed);
            float[] Values() => Enumerable.Range(0, 64 * 64).Select(_ => (float)(random.NextDouble() - 0.5) * 0.3f).ToArray();
            return new FeedDict { { w, HostTensor.From(Values(), 64, 64) }, { x0, HostTensor.From(Values(), 64, 64) } };
        }
        var first = sess.Run([r[0], after, gw], [], Feeds(1));
        var expected = first.Select(t => t.ToArray<float>()).ToArray();
        expected[0].Should().NotBeEquivalentTo(new float[64 * 64], "the loop ran");
        for (var run = 2; run < 6; run++)
        {
            var later = sess.Run([r[0], after, gw], [], Feeds(run));
            sess.Run(gw, Feeds(run)).ToArray<float>().Should().Equal(later[2].ToArray<float>(), "a gradient alone, computed in recycled arrays, is the same");
            sess.Run(after, Feeds(run)).ToArray<float>().Should().Equal(later[1].ToArray<float>(), "a value after the loop, from recycled arrays, is the same");
        }
        for (var i = 0; i < first.Length; i++) first[i].ToArray<float>().Should().Equal(expected[i], $"fetch {i} of the first run is the caller's");
    }

    /// <summary>
    /// A captured StopGradient has no gradient: the loop gradient takes none per iteration (it used to compute one and
    /// the outer pass dropped it), and the variable behind it gets no gradient through it.
    /// </summary>
    [Test]
    public void ACapturedStopGradientGetsNoGradientPerIteration()
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var w = TF.Variable(TF.Constant(new float[,] { { 0.5f, -1 }, { 2, 0.25f } }), name: "w");
        var stopped = TF.StopGradient(w.Value);
        var h0 = TF.Placeholder(DType.Float32, new Shape(1, 2), "h0");
        var r = TF.WhileLoop(v => TF.Less(v[0], TF.Constant(3)), v => [v[0] + 1, TF.Tanh(TF.MatMul(v[1], stopped))], [TF.Constant(0), h0]);
        var grads = TF.Gradients(TF.ReduceSum(r[1]), [w.Value, h0])!;
        var spec = g.Operations.Single(o => o.Type == "WhileGrad").Attr<WhileGradient>("spec");
        spec.FloatCaptures.Select(i => spec.ForwardFrame.Captures[i]).Should().NotContain(stopped);
        grads[0].Should().BeNull("the weight is only read through StopGradient");
        using var sess = new Session(g, new SessionOptions { Device = Device });
        sess.Run(TF.GlobalVariablesInitializer());
        sess.Run([grads[1]!], new FeedDict { { h0, new float[,] { { 1, -1 } } } })[0].ToArray<float>().Should().OnlyContain(v => float.IsFinite(v) && v != 0);
    }

    [Test]
    [Category("GradientCheck")]
    public void BpttMatchesFiniteDifferencesOnATinyRnn()
    {
        GradientCheck.Check(x =>
        {
            // h_{t+1} = tanh(x_t W + h_t U), 3 steps, loss sums the final state.
            var (xs, w, u, h0) = (x[0], x[1], x[2], x[3]);
            var r = TF.WhileLoop(v => TF.Less(v[0], TF.Constant(3)), v =>
            {
                var xt = TF.Gather(xs, v[0]);
                return [v[0] + 1.0, TF.Tanh(TF.MatMul(xt, w) + TF.MatMul(v[1], u))];
            }, [TF.Constant(0), h0]);
            return r[1];
        }, GradientCheck.Random(1, -1, 1, 3, 2, 4), GradientCheck.Random(2, -1, 1, 4, 3), GradientCheck.Random(3, -1, 1, 3, 3), GradientCheck.Random(4, -1, 1, 2, 3));
    }

    [Test]
    [Category("Slow")]
    public void SwapMemoryKeepsDeviceMemoryFlatOnALongRnn()
    {
        // A 2,000-step, 256-unit RNN: without swap the values saved for backprop grow with the steps; with swap they
        // live in host memory and the device peak stays flat.
        (float[] Grads, long Peak) Run(bool swap)
        {
            const int steps = 2000, units = 256, batch = 2;
            var g = new ComputeGraph { Seed = 5 };
            using var scope = g.AsDefault();
            var xs = TF.Placeholder(DType.Float32, new Shape(steps, batch, 1), "xs");
            var w = TF.Variable(TF.RandomNormal([1, units], stddev: 0.1));
            var u = TF.Variable(TF.RandomNormal([units, units], stddev: 0.05));
            var r = TF.WhileLoop(v => TF.Less(v[0], TF.Constant(steps)), v =>
                [v[0] + 1.0, TF.Tanh(TF.MatMul(TF.Gather(xs, v[0]), w) + TF.MatMul(v[1], u))],
                [TF.Constant(0), TF.Zeros([batch, units])], swapMemory: swap);
            var grads = TF.Gradients(TF.ReduceSum(r[1]), w.Value, u.Value);
            using var sess = new Session(g, new SessionOptions { Device = Device });
            sess.Run(TF.GlobalVariablesInitializer());
            var input = new float[steps, batch, 1];
            for (var t = 0; t < steps; t++) input[t, 0, 0] = input[t, 1, 0] = MathF.Sin(t * 0.01f);
            var values = sess.Run([grads[0]!, grads[1]!], new FeedDict { { xs, input } });
            return (values.SelectMany(v => v.ToArray<float>()).ToArray(), sess.LastRunPeakBytes);
        }
        var (off, peakOff) = Run(swap: false);
        var (on, peakOn) = Run(swap: true);
        on.Should().Equal(off);
        (peakOn * 10).Should().BeLessThan(peakOff, $"peak device bytes with swap {peakOn} vs without {peakOff}");
    }

    [Test]
    public void MemoryLimitStopsALoopWhoseRecordsOutgrowItAndSwapAvoidsIt()
    {
        var g = new ComputeGraph { Seed = 2 };
        using var scope = g.AsDefault();
        Tensor Build(bool swap, out Variable w)
        {
            w = TF.Variable(TF.RandomNormal([64, 64], stddev: 0.1));
            var wv = w.Value;
            var r = TF.WhileLoop(v => TF.Less(v[0], TF.Constant(200)), v => [v[0] + 1.0, TF.Tanh(TF.MatMul(v[1], wv))],
                [TF.Constant(0), TF.Ones([4, 64])], swapMemory: swap);
            return TF.Gradients(TF.ReduceSum(r[1]), wv)[0]!;
        }
        var noSwap = Build(false, out var w1);
        var withSwap = Build(true, out var w2);
        using var sess = new Session(g, new SessionOptions { MemoryLimitBytes = 250_000, Device = Device });
        sess.Run(TF.GlobalVariablesInitializer());
        var act = () => sess.Run(noSwap);
        act.Should().Throw<ResourceExhaustedException>().WithMessage("*while*device memory limit*");
        sess.Run(withSwap).Dims.Should().Equal(64, 64);
    }
}
