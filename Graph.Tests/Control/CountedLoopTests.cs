using Graph.Core;
using Graph.Kernels;
using Graph.Kernels.Ilgpu;

namespace Graph.Tests;

/// <summary>
/// Loops whose trip count is known when they start (<see cref="CountedLoop"/>): recognised from the condition and the
/// counter's step, and run on the ILGPU devices without reading the condition back each iteration, and on the cpu
/// device without running the condition's plan — with the same results as reading it, or (on ILGPU) a clear refusal
/// where a counter would wrap.
/// </summary>
[TestFixture]
public class CountedLoopTests : GraphFixture
{
    private static LoopFrame FrameOf(Tensor loopOutput) => loopOutput.Op.Attr<LoopFrame>("frame");

    [Test]
    public void CounterBelowACapturedLimitIsCounted()
    {
        var limit = TF.Placeholder(DType.Int32, Shape.Scalar);
        var r = TF.WhileLoop(v => TF.Less(v[0], limit), v => [v[0] + 2, v[1] * 1.5f], [TF.Constant(1), TF.Constant(1f)]);
        var counted = CountedLoop.Of(FrameOf(r[0]))!;
        counted.Should().NotBeNull();
        counted.Terms.Should().ContainSingle().Which.Should().Be(new CountedLoop.Term(0, 2, 0, 0));
        counted.Trips(_ => 1, _ => 8).Should().Be(4);   // 1, 3, 5, 7
        counted.Trips(_ => 9, _ => 8).Should().Be(0);
    }

    [Test]
    public void MaximumIterationsAddsAConstantTerm()
    {
        var r = TF.WhileLoop(v => TF.Less(v[0], TF.Constant(100)), v => [v[0] + 1], [TF.Constant(0)], maximumIterations: 7);
        var counted = CountedLoop.Of(FrameOf(r[0]))!;
        counted.Terms.Should().HaveCount(2);
        counted.Trips(_ => 0, _ => 0).Should().Be(7);
    }

    [Test]
    public void DataDependentConditionsAreNotCounted()
    {
        var a = TF.WhileLoop(v => TF.Less(v[0], TF.Constant(10f)), v => [v[0] * 2f], [TF.Constant(1f)]);
        var b = TF.WhileLoop(v => TF.Less(v[0], v[1]), v => [v[0] + 1, v[1]], [TF.Constant(0), TF.Constant(5)]);
        var c = TF.WhileLoop(v => TF.Less(v[0], TF.Constant(5)), v => [v[0] + v[0] + 1], [TF.Constant(0)]);
        var d = TF.WhileLoop(v => TF.Greater(TF.Constant(5), v[0]), v => [v[0] + 1], [TF.Constant(0)]);
        foreach (var loop in new[] { a, b, c, d }) CountedLoop.Of(FrameOf(loop[0])).Should().BeNull();
    }

    [Test]
    public void ACounterThatWouldPassItsDtypesLargestValueIsNotCountedAhead()
    {
        var r = TF.WhileLoop(v => TF.Less(v[0], TF.Constant(int.MaxValue)), v => [v[0] + 2], [TF.Constant(0)]);
        var counted = CountedLoop.Of(FrameOf(r[0]))!;
        counted.StaysInRange(counted.Trips(_ => int.MaxValue - 2, _ => 0), _ => int.MaxValue - 2).Should().BeTrue("it stops at 2³¹ − 1 exactly");
        counted.StaysInRange(counted.Trips(_ => int.MaxValue - 1, _ => 0), _ => int.MaxValue - 1).Should().BeFalse("it wraps to −2³¹ and goes on");
    }

    /// <summary>
    /// Trip counts and the range check are exact at an int64 counter's extremes (unsigned 64-bit arithmetic, no
    /// 128-bit intermediate): checked against BigInteger for starts, limits and steps near ±2⁶³; a count beyond
    /// 2⁶³ − 1 is capped there.
    /// </summary>
    [Test]
    public void TripsAndTheRangeCheckAreExactAtInt64Extremes()
    {
        var values = new[] { long.MinValue, long.MinValue + 1, -(1L << 62), -3, 0, 5, 1L << 62, long.MaxValue - 7, long.MaxValue - 1, long.MaxValue };
        foreach (var step in new long[] { 1, 2, 3, 7, 1L << 40, long.MaxValue })
        {
            using var g = new ComputeGraph().AsDefault();
            var limit = TF.Placeholder(DType.Int64, Shape.Scalar);
            var r = TF.WhileLoop(v => TF.Less(v[0], limit), v => [v[0] + TF.Constant(step)], [TF.Constant(0L)]);
            var counted = CountedLoop.Of(FrameOf(r[0]))!;
            counted.Should().NotBeNull();
            foreach (var start in values)
                foreach (var end in values)
                {
                    var exact = end <= start ? System.Numerics.BigInteger.Zero
                        : ((System.Numerics.BigInteger)end - start + step - 1) / step;
                    var expected = (long)System.Numerics.BigInteger.Min(exact, long.MaxValue);
                    var trips = counted.Trips(_ => start, _ => end);
                    trips.Should().Be(expected, $"from {start} below {end} by {step}");
                    var last = (System.Numerics.BigInteger)start + (System.Numerics.BigInteger)trips * step;
                    counted.StaysInRange(trips, _ => start).Should().Be(last <= long.MaxValue, $"from {start}, {trips} steps of {step}");
                }
        }
    }

    /// <summary>
    /// On the cpu device a counted loop runs its known trip count without its condition plan, except where a counter
    /// would wrap: there the condition decides, as before. From 2³¹ − 2 by 2 below 2³¹ − 1 the counter wraps after one
    /// iteration and the condition holds again; maximum_iterations ends the loop after 5.
    /// </summary>
    [TestCase(0, 5, 5)]
    [TestCase(int.MaxValue - 1, 5, 5)]
    [TestCase(int.MaxValue - 2, 5, 1)]
    public void TheCpuRunsACountedLoopsIterations(int start, int maximum, int expected)
    {
        var from = TF.Placeholder(DType.Int32, Shape.Scalar);
        var r = TF.WhileLoop(v => TF.Less(v[0], TF.Constant(int.MaxValue)), v => [v[0] + 2, v[1] + 1], [from, TF.Constant(0)], maximumIterations: maximum);
        using var s = new Session(TestGraph);
        var results = s.Run([r[0], r[1]], new FeedDict { { from, start } });
        results[1].Item<int>().Should().Be(expected);
        results[0].Item<int>().Should().Be(unchecked(start + 2 * expected));
    }

    /// <summary>The ILGPU devices, which run a counted loop ahead, refuse a counter that would wrap rather than miscount.</summary>
    [Test]
    public void AnIlgpuDeviceRefusesACounterThatWouldWrap()
    {
        var from = TF.Placeholder(DType.Int32, Shape.Scalar);
        var r = TF.WhileLoop(v => TF.Less(v[0], TF.Constant(int.MaxValue)), v => [v[0] + 2, v[1] + 1], [from, TF.Constant(0)], maximumIterations: 5, name: "wrapping");
        using var s = new Session(TestGraph, new SessionOptions { Device = IlgpuDevices.IlgpuCpu });
        s.Run(r[1], new FeedDict { { from, 0 } }).Item<int>().Should().Be(5);
        var act = () => s.Run(r[1], new FeedDict { { from, int.MaxValue - 1 } });
        act.Should().Throw<InvalidArgumentException>().WithMessage("*wrapping*would pass its type's largest value*cpu device*");
    }

    /// <summary>200 iterations on ilgpu-cpu move no condition back to the host (a bool each before), and equal the cpu's values.</summary>
    [Test]
    public void ACountedLoopReadsNoConditionBack()
    {
        var limit = TF.Placeholder(DType.Int32, Shape.Scalar);
        var x = TF.Placeholder(DType.Float32, new Shape(3));
        var r = TF.WhileLoop(v => TF.Less(v[0], limit), v => [v[0] + 1, TF.Tanh(v[1] * 1.01f + 0.1f)], [TF.Constant(0), x]);
        var feeds = new FeedDict { { limit, 200 }, { x, new[] { 0.5f, -0.25f, 2f } } };
        using var cpu = new Session(TestGraph);
        var expected = cpu.Run(r[1], feeds).ToArray<float>();
        var device = IlgpuDevice.Get(IlgpuDevices.IlgpuCpu);
        using var s = new Session(TestGraph, new SessionOptions { Device = IlgpuDevices.IlgpuCpu });
        s.Run(r[1], feeds);
        var before = device.DownloadedBytes;
        var actual = s.Run(r[1], feeds).ToArray<float>();
        (device.DownloadedBytes - before).Should().BeLessThan(40, "only the 3 results come back: no condition per iteration");
        for (var i = 0; i < 3; i++) actual[i].Should().BeApproximately(expected[i], 1e-6f);
    }

    /// <summary>A kernel that fails inside a counted loop still fails the run, naming the op.</summary>
    [Test]
    public void AFailureInsideACountedLoopFailsTheRun()
    {
        var d = TF.Placeholder(DType.Int32, Shape.Scalar);
        var r = TF.WhileLoop(v => TF.Less(v[0], TF.Constant(300)), v => [v[0] + 1, v[1] + TF.TruncateDiv(TF.Constant(1), d, name: "bad_div")], [TF.Constant(0), TF.Constant(0)]);
        using var s = new Session(TestGraph, new SessionOptions { Device = IlgpuDevices.IlgpuCpu });
        var act = () => s.Run(r[1], new FeedDict { { d, 0 } });
        act.Should().Throw<InvalidArgumentException>().WithMessage("*bad_div*integer division by zero*");
    }
}
