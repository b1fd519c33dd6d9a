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

    /// <summary>An RNN step's values, drawn from one seed: x [batch, depth], W_x, b, h [batch, units] and W_h.</summary>
    private sealed class Step(int seed, int batch = Batch, int depth = Depth, int units = Units)
    {
        public float[] X { get; } = Values(batch * depth, seed);
        public float[] Wx { get; } = Values(depth * units, seed + 1);
        public float[] Bias { get; } = Values(units, seed + 2);
        public float[] H { get; } = Values(batch * units, seed + 3);
        public float[] Wh { get; } = Values(units * units, seed + 4);

        /// <summary>The placeholders x and h in the default graph.</summary>
        public (Tensor X, Tensor H) Placeholders() =>
            (TF.Placeholder(DType.Float32, new Shape(batch, depth), "x"), TF.Placeholder(DType.Float32, new Shape(batch, units), "h"));

        public Tensor WxConstant() => TF.Constant(HostTensor.From(Wx, [depth, units]));
        public Tensor BiasConstant() => TF.Constant(HostTensor.From(Bias, [units]));
        public Tensor WhConstant() => TF.Constant(HostTensor.From(Wh, [units, units]));

        public FeedDict Feed(Tensor x, Tensor h) => new() { { x, HostTensor.From(X, [batch, depth]) }, { h, HostTensor.From(H, [batch, units]) } };

        public double[] Reference() => ProductSumTests.Reference(X, Wx, Bias, H, Wh, batch, depth, units);
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
        var step = new Step(1, batch, depth, units);
        var (x, h) = step.Placeholders();
        var z = TF.Tanh(TF.MatMul(x, step.WxConstant()) + step.BiasConstant() + TF.MatMul(h, step.WhConstant()));
        var feed = step.Feed(x, h);
        using var fused = new Session(g, new SessionOptions { Device = "cpu", Profile = true });
        using var apart = new Session(g, new SessionOptions { Device = "cpu", Fusion = false });

        var result = fused.Run(z, feed).ToArray<float>();
        fused.Profile!.Entries.Select(e => e.Kernel).Where(k => k.Contains("matmul")).Should().ContainSingle()
            .Which.Should().StartWith("matmul -> add -> tanh", "x·W_x + b is computed in h·W_h's kernel");
        ShouldBeClose(result, step.Reference());
        var unfused = apart.Run(z, feed).ToArray<float>();
        for (var e = 0; e < result.Length; e++) result[e].Should().BeApproximately(unfused[e], 1e-6f, $"element {e}");
    }

    [Test]
    public void WhenTheBiasedProductIsFetchedTooTheProductsRunApart()
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var step = new Step(11);
        var (x, h) = step.Placeholders();
        var biased = TF.MatMul(x, step.WxConstant()) + step.BiasConstant();
        var z = TF.Tanh(biased + TF.MatMul(h, step.WhConstant()));
        using var sess = new Session(g, new SessionOptions { Device = "cpu", Profile = true });
        var results = sess.Run([z, biased], step.Feed(x, h));
        sess.Profile!.Entries.Select(e => e.Kernel).Count(k => k.Contains("matmul")).Should().Be(2);
        ShouldBeClose(results[0].ToArray<float>(), step.Reference());
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
        var step = new Step(31);
        var (x, h) = step.Placeholders();
        var wx = TF.Variable(step.WxConstant(), name: "wx");
        var biased = TF.MatMul(x, wx.Value) + step.BiasConstant();
        Tensor doubled;
        using (TF.ControlDependencies(biased)) doubled = wx.Assign(wx.Value * 2f);
        Tensor z;
        using (TF.ControlDependencies(doubled)) z = TF.Tanh(biased + TF.MatMul(h, step.WhConstant()));
        using var sess = new Session(g, new SessionOptions { Device = "cpu" });
        sess.Run(TF.GlobalVariablesInitializer());
        ShouldBeClose(sess.Run(z, step.Feed(x, h)).ToArray<float>(), step.Reference());
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
        var step = new Step(21);
        var (inv, wyv) = (step.X, Values(Depth * Units, 26));
        var input = TF.Placeholder(DType.Float32, new Shape(Batch, Depth), "input");
        var x = input * 2f;
        var biased = TF.MatMul(x, step.WxConstant()) + step.BiasConstant();
        var y = input + 1f;
        var h = TF.MatMul(y, TF.Constant(HostTensor.From(wyv, [Depth, Units])));
        var z = TF.Tanh(biased + TF.MatMul(h, step.WhConstant()));
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
        ShouldBeClose(result, Reference(xv, step.Wx, step.Bias, hv, step.Wh));
    }
}
