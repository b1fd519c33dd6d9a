using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

/// <summary>
/// Loops whose values alias one another on a device (found by review): a loop variable passed through unchanged and
/// also saved for the gradient, a captured tensor's gradient equal to a loop variable's, the sparse gradient of a
/// gather that is the carried gradient itself, and a loop whose gradient needs no saved values at all. Each runs on
/// ilgpu-cpu (with and without swap_memory) against the cpu device, in float64 so the results must agree closely.
/// </summary>
[TestFixture]
public class DeviceLoopTests
{
    private static double[] Run(string device, Func<(Tensor[] Fetches, FeedDict Feeds)> build)
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var (fetches, feeds) = build();
        using var sess = new Session(g, new SessionOptions { Device = device });
        // Twice: the second run reuses plans and buffers.
        sess.Run(fetches, feeds);
        return sess.Run(fetches, feeds).SelectMany(v => v.AsType(DType.Float64).ToArray<double>()).ToArray();
    }

    private static void MatchesCpu(Func<(Tensor[] Fetches, FeedDict Feeds)> build)
    {
        var cpu = Run("cpu", build);
        var device = Run("ilgpu-cpu", build);
        device.Should().HaveCount(cpu.Length);
        for (var i = 0; i < cpu.Length; i++) device[i].Should().BeApproximately(cpu[i], 1e-12 * Math.Max(1, Math.Abs(cpu[i])), $"element {i}");
    }

    /// <summary>
    /// A captured weight's gradient summed over the iterations: from the second iteration on, the GEMM that makes it
    /// adds into the running sum itself (one launch a step instead of a product and an add), with the cpu's values;
    /// a product that is also read by other kernels of the body is not added in place.
    /// </summary>
    [TestCase(false, 4, 5)]
    [TestCase(true, 4, 5)]
    [TestCase(false, 1, 7)]
    public void TheWeightGradientOfALoopIsAddedByTheGemmItself(bool swap, int steps, int units)
    {
        (Tensor[], FeedDict) Build()
        {
            var x = TF.Placeholder(DType.Float64, new Shape(3, units), "x");
            var w = TF.Placeholder(DType.Float64, new Shape(units, units), "w");
            var r = TF.WhileLoop(v => TF.Less(v[1], TF.Constant(steps)), v => [TF.Tanh(TF.MatMul(v[0], w)), v[1] + 1], [x, TF.Constant(0)], swapMemory: swap);
            var grads = TF.Gradients(TF.ReduceSum(r[0] * r[0]), w, x);
            var random = new Random(7);
            HostTensor Values(int rows, int cols)
            {
                var data = new double[rows, cols];
                for (var i = 0; i < rows; i++)
                    for (var j = 0; j < cols; j++) data[i, j] = random.NextDouble() - 0.5;
                return data;
            }
            return ([grads[0]!, grads[1]!], new FeedDict { { x, Values(3, units) }, { w, Values(units, units) } });
        }
        var device = Graph.Kernels.Ilgpu.IlgpuDevice.Get("ilgpu-cpu");
        var before = device.AccumulatingGemms;
        MatchesCpu(Build);
        // Two runs (Run above), each adding steps − 1 products in place; the first iteration's product starts the sum.
        (device.AccumulatingGemms - before).Should().Be(2 * (steps - 1));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void PassThroughVariableThatIsAlsoSaved(bool swap) => MatchesCpu(() =>
    {
        var w = TF.Placeholder(DType.Float64, Shape.Scalar, "w");
        var x0 = TF.Placeholder(DType.Float64, Shape.Scalar, "x0");
        var r = TF.WhileLoop(v => TF.Less(v[1], TF.Constant(3)), v => [v[0] * v[2], v[1] + 1.0, v[2]], [x0, TF.Constant(0), w], swapMemory: swap);
        var grads = TF.Gradients(r[0], w, x0);
        return ([r[0], grads[0]!, grads[1]!], new FeedDict { { w, 1.5 }, { x0, 2.0 } });
    });

    [TestCase(false)]
    [TestCase(true)]
    public void CapturedGradientEqualToAVariableGradient(bool swap) => MatchesCpu(() =>
    {
        var c = TF.Placeholder(DType.Float64, new Shape(2), "c");
        var x0 = TF.Placeholder(DType.Float64, new Shape(2), "x0");
        var r = TF.WhileLoop(v => TF.Less(v[1], TF.Constant(3)), v => [v[0] + c, v[1] + 1.0, v[2] * v[2]], [x0, TF.Constant(0), x0], swapMemory: swap);
        var grads = TF.Gradients(TF.ReduceSum(r[0] * r[0]) + TF.ReduceSum(r[2]), c, x0);
        return ([grads[0]!, grads[1]!], new FeedDict { { c, new double[] { 1, 2 } }, { x0, new double[] { 3, 4 } } });
    });

    [TestCase(false)]
    [TestCase(true)]
    public void TwoVariablesWithTheSameGradient(bool swap) => MatchesCpu(() =>
    {
        var a0 = TF.Placeholder(DType.Float64, new Shape(2), "a0");
        var b0 = TF.Placeholder(DType.Float64, new Shape(2), "b0");
        var r = TF.WhileLoop(v => TF.Less(v[2], TF.Constant(3)), v => [v[0] + v[1], v[1], v[2] + 1.0, v[3] * v[3]], [a0, b0, TF.Constant(0), a0], swapMemory: swap);
        var grads = TF.Gradients(TF.ReduceSum(r[0] * r[0]) + TF.ReduceSum(r[3]), a0, b0);
        return ([grads[0]!, grads[1]!], new FeedDict { { a0, new double[] { 1, 2 } }, { b0, new double[] { 3, 4 } } });
    });

    [Test]
    public void SparseGradientOfAGatherThatIsTheCarriedGradient() => MatchesCpu(() =>
    {
        var e = TF.Placeholder(DType.Float64, new Shape(4, 2), "e");
        var h0 = TF.Placeholder(DType.Float64, new Shape(2), "h0");
        var r = TF.WhileLoop(v => TF.Less(v[1], TF.Constant(3)), v => [v[0] + TF.Gather(e, v[1]), v[1] + 1.0], [h0, TF.Constant(0)]);
        var grads = TF.Gradients(TF.ReduceSum(r[0] * r[0]), e, h0);
        return ([grads[0]!, grads[1]!], new FeedDict { { e, new double[,] { { 1, 2 }, { 3, 4 }, { 5, 6 }, { 7, 8 } } }, { h0, new double[] { 1, 1 } } });
    });

    /// <summary>A linear body saves nothing for its gradient; the gradient still runs once per iteration (on cpu too).</summary>
    [Test]
    public void GradientOfALoopThatSavesNothing() => MatchesCpu(() =>
    {
        var a0 = TF.Placeholder(DType.Float64, new Shape(2), "a0");
        var b0 = TF.Placeholder(DType.Float64, new Shape(2), "b0");
        var r = TF.WhileLoop(v => TF.Less(v[2], TF.Constant(3)), v => [v[0] + v[1], v[1], v[2] + 1.0], [a0, b0, TF.Constant(0)]);
        var grads = TF.Gradients(TF.ReduceSum(r[0] * 2.0), a0, b0);
        return ([grads[0]!, grads[1]!], new FeedDict { { a0, new double[] { 1, 2 } }, { b0, new double[] { 3, 4 } } });
    });

    [Test]
    public void ReductionOverAnEmptyAxisIsItsIdentity() => MatchesCpu(() =>
    {
        var x = TF.Placeholder(DType.Float32, new Shape(5, -1), "x");
        return ([TF.ReduceSum(TF.Exp(x) * 2f, [1]), TF.ReduceProd(x * 1f, [1])], new FeedDict { { x, new float[5, 0] } });
    });

    [Test]
    public void ArgMaxWithNaNAgreesWithTheCpu() => MatchesCpu(() =>
    {
        var x = TF.Placeholder(DType.Float32, new Shape(2, 3), "x");
        return ([TF.Cast(TF.ArgMax(x, 1), DType.Float64)], new FeedDict { { x, new float[,] { { 1, float.NaN, 3 }, { float.NaN, 2, 1 } } } });
    });
}
