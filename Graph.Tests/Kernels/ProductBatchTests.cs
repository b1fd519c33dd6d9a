using Graph.Core;
using Graph.Kernels;
using Graph.Kernels.Cpu;

namespace Graph.Tests;

/// <summary>
/// On the cpu device, consecutive kernels that are each a product alone and read none of each other's results run as
/// one batch (CpuPlanRunner.ProductBatches): one kernel in the profile, each product's values the bits it computes
/// alone. Where a product reads another's result, or would write a buffer another still reads, they run apart. The
/// reference is a session without fusion, where every product runs as a kernel of its own.
/// </summary>
[TestFixture]
public class ProductBatchTests
{
    private const int Batch = 150, Depth = 20, Units = 60;

    private static HostTensor Values(int seed, params int[] dims)
    {
        var random = new Random(seed);
        return HostTensor.From(Enumerable.Range(0, (int)Shape.Product(dims)).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray(), dims);
    }

    /// <summary>The kernels with a product that ran, each as often as it ran (the profile counts calls per kind).</summary>
    private static string[] ProductKernels(Session session) =>
        session.Profile!.Entries.Where(e => e.Kernel.Contains("matmul")).SelectMany(e => Enumerable.Repeat(e.Kernel, e.Count)).ToArray();

    private static void ShouldBeBitEqual(HostTensor[] actual, HostTensor[] expected)
    {
        actual.Should().HaveSameCount(expected);
        for (var i = 0; i < actual.Length; i++)
            actual[i].ToArray<float>().Should().Equal(expected[i].ToArray<float>(), $"result {i} is the product computed alone");
    }

    /// <summary>An RNN's gradient step: dz·W_hᵀ, h_{t−1}ᵀ·dz and x_tᵀ·dz read dz and none of each other's results.</summary>
    [Test]
    public void AGradientStepsThreeProductsRunAsOneBatchWithTheirOwnBits()
    {
        if (!Avx512Gemm.IsSupported) Assert.Ignore("this CPU has no AVX-512: the products run one by one.");
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var dz = TF.Placeholder(DType.Float32, new Shape(Batch, Units), "dz");
        var h = TF.Placeholder(DType.Float32, new Shape(Batch, Units), "h");
        var x = TF.Placeholder(DType.Float32, new Shape(Batch, Depth), "x");
        var wh = TF.Constant(Values(4, Units, Units));
        var t = TF.Tanh(dz);
        var fetches = new[] { TF.MatMul(t, wh, transposeB: true), TF.MatMul(h, t, transposeA: true), TF.MatMul(x, t, transposeA: true) };
        var feed = new FeedDict { { dz, Values(1, Batch, Units) }, { h, Values(2, Batch, Units) }, { x, Values(3, Batch, Depth) } };
        using var batched = new Session(g, new SessionOptions { Device = "cpu", Profile = true });
        using var apart = new Session(g, new SessionOptions { Device = "cpu", Fusion = false });

        var results = batched.Run(fetches, feed);
        ProductKernels(batched).Should().ContainSingle("the three products run in one kernel");
        ShouldBeBitEqual(results, apart.Run(fetches, feed));
        // Run again: the batch's buffers and thread state are reused.
        ShouldBeBitEqual(batched.Run(fetches, feed), results);
    }

    [Test]
    public void AProductThatReadsAnothersResultRunsAfterIt()
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var a = TF.Placeholder(DType.Float32, new Shape(Batch, Units), "a");
        var w = TF.Constant(Values(6, Units, Units));
        var first = TF.MatMul(a, w);
        var second = TF.MatMul(first, w);
        var feed = new FeedDict { { a, Values(5, Batch, Units) } };
        using var fused = new Session(g, new SessionOptions { Device = "cpu", Profile = true });
        using var apart = new Session(g, new SessionOptions { Device = "cpu", Fusion = false });

        var results = fused.Run([first, second], feed);
        ProductKernels(fused).Should().HaveCount(2);
        ShouldBeBitEqual(results, apart.Run([first, second], feed));
    }

    /// <summary>
    /// tanh(a)'s buffer is free once the first product has read it, so the plan gives it to the second product's
    /// result: run in one batch, the second product would overwrite the first's operand while it is read. They run
    /// apart, with the right values. (Each product is read by another product, so neither has an epilogue.)
    /// </summary>
    [Test]
    public void AProductWhoseResultTakesAnothersOperandBufferRunsApart() => TwoProductsOfTheirProductsEqualTheUnfusedPlan(b => b, seed: 7);

    /// <summary>
    /// sigmoid(b) lies between two products and reads neither, so a batch may pass over it; but tanh(a), read only by
    /// the first product, leaves its buffer to sigmoid(b): the first product, delayed past it, would read sigmoid's
    /// values. They run apart, with the right values.
    /// </summary>
    [Test]
    public void AKernelBetweenThatWritesAnEarlierProductsOperandKeepsTheProductsApart() => TwoProductsOfTheirProductsEqualTheUnfusedPlan(x => TF.Sigmoid(x), seed: 13);

    /// <summary>tanh(a)·w and f(b)·w, each then multiplied by w again (so neither has an epilogue), against the unfused plan.</summary>
    private static void TwoProductsOfTheirProductsEqualTheUnfusedPlan(Func<Tensor, Tensor> secondOperand, int seed)
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var a = TF.Placeholder(DType.Float32, new Shape(Batch, Units), "a");
        var b = TF.Placeholder(DType.Float32, new Shape(Batch, Units), "b");
        var w = TF.Constant(Values(seed, Units, Units));
        var first = TF.MatMul(TF.Tanh(a), w);
        var second = TF.MatMul(secondOperand(b), w);
        var z = TF.MatMul(first, w) - TF.MatMul(second, w);
        var feed = new FeedDict { { a, Values(seed + 1, Batch, Units) }, { b, Values(seed + 2, Batch, Units) } };
        using var fused = new Session(g, new SessionOptions { Device = "cpu" });
        using var apart = new Session(g, new SessionOptions { Device = "cpu", Fusion = false });

        // A product writing an operand of another corrupts it only while the two run on different cores at once, which
        // a single run may dodge: several runs.
        var expected = apart.Run(z, feed).ToArray<float>();
        for (var run = 0; run < 20; run++) fused.Run(z, feed).ToArray<float>().Should().Equal(expected, $"run {run}");
    }

    /// <summary>
    /// dynamic_rnn's gradient loop adds each step's weight-gradient products into running sums: batched, the sums and
    /// the state's gradient equal those of a session without fusion (within float32 rounding: fusion also changes the
    /// forward's sums), and the batched kernel is in the profile.
    /// </summary>
    [Test]
    public void AnRnnsLoopGradientBatchesItsProductsAndKeepsItsSums()
    {
        if (!Avx512Gemm.IsSupported) Assert.Ignore("this CPU has no AVX-512: the products run one by one.");
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        TF.SetRandomSeed(3);
        var x = TF.Placeholder(DType.Float32, new Shape(Batch, 6, Depth), "x");
        var cell = new Graph.Rnn.SimpleRNNCell(Units);
        var (_, state) = Graph.Rnn.Rnn.DynamicRnn(cell, x, dtype: DType.Float32, projectInputs: false);
        var loss = TF.ReduceSum(TF.Square(state[0]));
        var grads = TF.Gradients(loss, TF.TrainableVariables().Select(v => v.Value).ToArray()).Select(t => t!).ToArray();
        var feed = new FeedDict { { x, Values(10, Batch, 6, Depth) } };
        using var fused = new Session(g, new SessionOptions { Device = "cpu", Profile = true });
        using var apart = new Session(g, new SessionOptions { Device = "cpu", Fusion = false });
        fused.Run(TF.GlobalVariablesInitializer());
        apart.Run(TF.GlobalVariablesInitializer());

        var results = fused.Run(grads, feed);
        var expected = apart.Run(grads, feed);
        // Six gradient steps of dz·W_hᵀ, h_{t−1}ᵀ·dz and x_tᵀ·dz (the last without dz·W_hᵀ), each step's in one batch
        // that the last of them, x_tᵀ·dz, runs; and the six forward steps' products.
        ProductKernels(fused).Should().BeEquivalentTo(Enumerable.Repeat("matmul tA [20, 60]", 6).Concat(Enumerable.Repeat("matmul -> add -> tanh [150, 60]", 6)));
        for (var i = 0; i < grads.Length; i++)
        {
            var (r, e) = (results[i].ToArray<float>(), expected[i].ToArray<float>());
            for (var j = 0; j < r.Length; j++) r[j].Should().BeApproximately(e[j], 2e-3f * Math.Max(1, Math.Abs(e[j])), $"gradient {i} element {j}");
        }
    }
}
