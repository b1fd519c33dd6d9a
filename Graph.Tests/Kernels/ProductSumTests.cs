using Graph.Core;
using Graph.Kernels;
using Graph.Kernels.Cpu;

namespace Graph.Tests;

/// <summary>
/// On the cpu device an RNN step's x·W_x + b + h·W_h runs as one product over both depths with the bias and the
/// activation as its epilogue (CpuPlanRunner.ProductSums): the kernel of x·W_x + b does not run, and the results equal
/// the unfused plan's within float32 rounding (the sum is reassociated). Where the rewrite's conditions fail, the
/// products run apart and the results are the same.
/// </summary>
[TestFixture]
public class ProductSumTests
{
    private const int Batch = 20, Depth = 5, Units = 40;

    private static float[] Values(int n, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
    }

    /// <summary>tanh(x·W_x + b + h·W_h) in float64, from the float32 inputs.</summary>
    private static double[] Reference(float[] x, float[] wx, float[] b, float[] h, float[] wh, int batch = Batch, int depth = Depth, int units = Units)
    {
        var z = new double[batch * units];
        for (var i = 0; i < batch; i++)
            for (var j = 0; j < units; j++)
            {
                double sum = b[j];
                for (var p = 0; p < depth; p++) sum += (double)x[i * depth + p] * wx[p * units + j];
                for (var p = 0; p < units; p++) sum += (double)h[i * units + p] * wh[p * units + j];
                z[i * units + j] = Math.Tanh(sum);
            }
        return z;
    }

    private static void ShouldBeClose(float[] actual, double[] expected)
    {
        actual.Should().HaveCount(expected.Length);
        for (var e = 0; e < actual.Length; e++) actual[e].Should().BeApproximately((float)expected[e], 2e-6f, $"element {e}");
    }

    /// <summary>
    /// 40 units: the bias add and tanh run as the product's vector epilogue; 8 units: too narrow for a vector loop over
    /// the broadcast bias, so the sum is computed first and the members interpreted after it.
    /// </summary>
    [TestCase(Batch, Depth, Units)]
    [TestCase(300, 20, 8)]
    public void AStepsTwoProductsRunAsOneWithTheBiasAndTanhAfter(int batch, int depth, int units)
    {
        if (!Avx512Gemm.IsSupported) Assert.Ignore("this CPU has no AVX-512: the products run apart.");
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var (xv, wxv, bv, hv, whv) = (Values(batch * depth, 1), Values(depth * units, 2), Values(units, 3), Values(batch * units, 4), Values(units * units, 5));
        var x = TF.Placeholder(DType.Float32, new Shape(batch, depth), "x");
        var h = TF.Placeholder(DType.Float32, new Shape(batch, units), "h");
        var z = TF.Tanh(TF.MatMul(x, TF.Constant(HostTensor.From(wxv, [depth, units]))) + TF.Constant(HostTensor.From(bv, [units]))
                        + TF.MatMul(h, TF.Constant(HostTensor.From(whv, [units, units]))));
        var feed = new FeedDict { { x, HostTensor.From(xv, [batch, depth]) }, { h, HostTensor.From(hv, [batch, units]) } };
        using var fused = new Session(g, new SessionOptions { Device = "cpu", Profile = true });
        using var apart = new Session(g, new SessionOptions { Device = "cpu", Fusion = false });

        var result = fused.Run(z, feed).ToArray<float>();
        fused.Profile!.Entries.Select(e => e.Kernel).Where(k => k.Contains("matmul")).Should().ContainSingle()
            .Which.Should().StartWith("matmul -> add -> tanh", "x·W_x + b is computed in h·W_h's kernel");
        ShouldBeClose(result, Reference(xv, wxv, bv, hv, whv, batch, depth, units));
        var unfused = apart.Run(z, feed).ToArray<float>();
        for (var e = 0; e < result.Length; e++) result[e].Should().BeApproximately(unfused[e], 1e-6f, $"element {e}");
    }

    [Test]
    public void WhenTheBiasedProductIsFetchedTooTheProductsRunApart()
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var (xv, wxv, bv, hv, whv) = (Values(Batch * Depth, 11), Values(Depth * Units, 12), Values(Units, 13), Values(Batch * Units, 14), Values(Units * Units, 15));
        var x = TF.Placeholder(DType.Float32, new Shape(Batch, Depth), "x");
        var h = TF.Placeholder(DType.Float32, new Shape(Batch, Units), "h");
        var biased = TF.MatMul(x, TF.Constant(HostTensor.From(wxv, [Depth, Units]))) + TF.Constant(HostTensor.From(bv, [Units]));
        var z = TF.Tanh(biased + TF.MatMul(h, TF.Constant(HostTensor.From(whv, [Units, Units]))));
        using var sess = new Session(g, new SessionOptions { Device = "cpu", Profile = true });
        var results = sess.Run([z, biased], new FeedDict { { x, HostTensor.From(xv, [Batch, Depth]) }, { h, HostTensor.From(hv, [Batch, Units]) } });
        sess.Profile!.Entries.Select(e => e.Kernel).Count(k => k.Contains("matmul")).Should().Be(2);
        ShouldBeClose(results[0].ToArray<float>(), Reference(xv, wxv, bv, hv, whv));
    }

    /// <summary>
    /// x·W_x reads W_x before an update of W_x that h·W_h's kernel comes after: x·W_x uses the value before the update,
    /// as the graph says. (The cpu device commits an update as a new array, so the read's array keeps its values; the
    /// rewrite also keeps the products apart around any kernel that could change a value in place.)
    /// </summary>
    [Test]
    public void AVariableUpdateInBetweenDoesNotChangeWhatTheFirstProductReads()
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var (xv, wxv, bv, hv, whv) = (Values(Batch * Depth, 31), Values(Depth * Units, 32), Values(Units, 33), Values(Batch * Units, 34), Values(Units * Units, 35));
        var x = TF.Placeholder(DType.Float32, new Shape(Batch, Depth), "x");
        var h = TF.Placeholder(DType.Float32, new Shape(Batch, Units), "h");
        var wx = TF.Variable(TF.Constant(HostTensor.From(wxv, [Depth, Units])), name: "wx");
        var biased = TF.MatMul(x, wx.Value) + TF.Constant(HostTensor.From(bv, [Units]));
        Tensor doubled;
        using (TF.ControlDependencies(biased)) doubled = wx.Assign(wx.Value * 2f);
        Tensor z;
        using (TF.ControlDependencies(doubled)) z = TF.Tanh(biased + TF.MatMul(h, TF.Constant(HostTensor.From(whv, [Units, Units]))));
        using var sess = new Session(g, new SessionOptions { Device = "cpu" });
        sess.Run(TF.GlobalVariablesInitializer());
        var result = sess.Run(z, new FeedDict { { x, HostTensor.From(xv, [Batch, Depth]) }, { h, HostTensor.From(hv, [Batch, Units]) } }).ToArray<float>();
        ShouldBeClose(result, Reference(xv, wxv, bv, hv, whv));
    }

    /// <summary>
    /// x·W_x reads x, whose last reader it was; computed later, in h·W_h's kernel, it must still find x: a kernel in
    /// between that writes a value of x's size into x's plan buffer (free once x·W_x + b was its last reader) keeps the
    /// products apart. Either way the results are right.
    /// </summary>
    [Test]
    public void AProductWhoseOperandsBufferIsReusedInBetweenRunsApartAndStaysRight()
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var (inv, wxv, bv, wyv, whv) = (Values(Batch * Depth, 21), Values(Depth * Units, 22), Values(Units, 23), Values(Depth * Units, 24), Values(Units * Units, 25));
        var input = TF.Placeholder(DType.Float32, new Shape(Batch, Depth), "input");
        var x = input * 2f;
        var biased = TF.MatMul(x, TF.Constant(HostTensor.From(wxv, [Depth, Units]))) + TF.Constant(HostTensor.From(bv, [Units]));
        var y = input + 1f;
        var h = TF.MatMul(y, TF.Constant(HostTensor.From(wyv, [Depth, Units])));
        var z = TF.Tanh(biased + TF.MatMul(h, TF.Constant(HostTensor.From(whv, [Units, Units]))));
        using var sess = new Session(g, new SessionOptions { Device = "cpu" });
        var result = sess.Run(z, new FeedDict { { input, HostTensor.From(inv, [Batch, Depth]) } }).ToArray<float>();

        var xv = inv.Select(v => v * 2f).ToArray();
        var yv = inv.Select(v => v + 1f).ToArray();
        var hv = new float[Batch * Units];
        for (var i = 0; i < Batch; i++)
            for (var j = 0; j < Units; j++)
            {
                double sum = 0;
                for (var p = 0; p < Depth; p++) sum += (double)yv[i * Depth + p] * wyv[p * Units + j];
                hv[i * Units + j] = (float)sum;
            }
        ShouldBeClose(result, Reference(xv, wxv, bv, hv, whv));
    }
}
