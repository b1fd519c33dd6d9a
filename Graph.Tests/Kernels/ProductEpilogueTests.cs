using Graph.Core;
using Graph.Kernels;
using Graph.Kernels.Cpu;

namespace Graph.Tests;

/// <summary>
/// A product's element-wise epilogue runs inside Graph's AVX-512 GEMM, each part over the elements of C it finished:
/// every element must reach the epilogue exactly once and only when final, whatever the split (row or column order,
/// a row panel shared by two parts, row blocks of a tall product, depth blocks of a deep one); and a fused cpu kernel
/// that takes this path must give the bits of the product followed by its element-wise members.
/// </summary>
[TestFixture]
public class ProductEpilogueTests
{
    private static float[] Random(int n, int seed)
    {
        var r = new System.Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
    }

    /// <summary>Copies what it is given out of C and counts how often each element was given.</summary>
    private sealed class RecordingEpilogue(float[] c, int length) : IProductEpilogue
    {
        public readonly float[] Seen = new float[length];
        public readonly int[] Times = new int[length];

        public void Apply(long start, int count)
        {
            for (var i = start; i < start + count; i++)
            {
                Seen[i] = c[i];
                Interlocked.Increment(ref Times[i]);
            }
        }
    }

    [Test]
    public void EveryElementReachesTheEpilogueOnceWithItsFinalValue(
        [Values(false, true)] bool ta, [Values(false, true)] bool tb, [Values(false, true)] bool accumulate,
        [Values(new[] { 1, 1, 1 }, new[] { 13, 33, 1 }, new[] { 150, 150, 150 }, new[] { 28, 150, 4200 }, new[] { 4200, 150, 28 }, new[] { 30, 300, 40 }, new[] { 18, 56, 9 })] int[] shape)
    {
        if (!Avx512Gemm.IsSupported) Assert.Ignore("this CPU has no AVX-512.");
        var (m, n, k) = (shape[0], shape[1], shape[2]);
        var (a, b) = (Random(m * k, 1), Random(k * n, 2));
        var c = Random(m * n, 3);
        var expected = (float[])c.Clone();
        Avx512Gemm.Multiply(ta, tb, m, n, k, a, 0, b, 0, expected, 0, accumulate);
        var epilogue = new RecordingEpilogue(c, m * n);
        Avx512Gemm.Multiply(ta, tb, m, n, k, a, 0, b, 0, c, 0, accumulate, epilogue);

        epilogue.Times.Should().OnlyContain(t => t == 1, "each element of C goes through the epilogue exactly once");
        epilogue.Seen.Should().Equal(expected, "the epilogue sees each element's final value");
        c.Should().Equal(expected);
    }

    [Test]
    public void AnEmptyDepthStillRunsTheEpilogueOverC()
    {
        if (!Avx512Gemm.IsSupported) Assert.Ignore("this CPU has no AVX-512.");
        var c = new[] { 1f, 2f, 3f, 4f };
        var epilogue = new RecordingEpilogue(c, 4);
        Avx512Gemm.Multiply(false, false, 2, 2, 0, [], 0, [], 0, c, 0, epilogue: epilogue);
        epilogue.Times.Should().Equal(1, 1, 1, 1);
        epilogue.Seen.Should().Equal(0f, 0f, 0f, 0f);
    }

    /// <summary>
    /// tanh(x·w + bias) on the cpu device, the RNN step's kernel and its input projection's shapes: the bits of Graph's
    /// product, plus the bias, through the accurate tanh, element by element.
    /// </summary>
    [TestCase(150, 150, 150)]
    [TestCase(4200, 150, 28)]
    [TestCase(13, 40, 7)]
    public void AFusedProductWithAnEpilogueGivesTheBitsOfTheProductThenTheMembers(int m, int n, int k)
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(m, k), "x");
        var w = TF.Placeholder(DType.Float32, new Shape(k, n), "w");
        var bias = TF.Placeholder(DType.Float32, new Shape(n), "bias");
        var y = TF.Tanh(TF.Add(TF.MatMul(x, w), bias));
        var (xs, ws, bs) = (Random(m * k, 4), Random(k * n, 5), Random(n, 6));
        using var session = new Session(g, new SessionOptions { Device = "cpu" });
        var result = session.Run(y, new FeedDict { { x, HostTensor.From(xs, [m, k]) }, { w, HostTensor.From(ws, [k, n]) }, { bias, HostTensor.From(bs, [n]) } })
            .Span<float>().ToArray();

        var product = new float[m * n];
        Gemm32.Multiply(Gemm32.ForShape(m, n, k), false, false, m, n, k, xs, 0, ws, 0, product, 0);
        for (var i = 0; i < m * n; i++)
        {
            var expected = AccurateMath.Tanh(product[i] + bs[i % n]);
            if (BitConverter.SingleToInt32Bits(result[i]) != BitConverter.SingleToInt32Bits(expected))
                Assert.Fail($"element ({i / n}, {i % n}) of {m}×{n}: {result[i]} against {expected}");
        }
    }

    /// <summary>
    /// An epilogue that reads the product at another element than the one it writes (here the product's transpose)
    /// cannot run inside the product's parts, which finish different elements at different times: the kernel must
    /// compute the whole product first and still give the reference's values.
    /// </summary>
    [Test]
    public void AnEpilogueThatReadsOtherElementsOfTheProductStillGivesTheReference()
    {
        const int n = 150;
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(n, n), "x");
        var w = TF.Placeholder(DType.Float32, new Shape(n, n), "w");
        var p = TF.MatMul(x, w);
        var y = TF.Add(p, TF.Transpose(p, [1, 0]));
        var (xs, ws) = (Random(n * n, 7), Random(n * n, 8));
        using var session = new Session(g, new SessionOptions { Device = "cpu" });
        var result = session.Run(y, new FeedDict { { x, HostTensor.From(xs, [n, n]) }, { w, HostTensor.From(ws, [n, n]) } }).Span<float>().ToArray();

        var product = new float[n * n];
        Gemm32.Multiply(Gemm32.ForShape(n, n, n), false, false, n, n, n, xs, 0, ws, 0, product, 0);
        for (var i = 0; i < n; i++)
            for (var j = 0; j < n; j++)
                result[i * n + j].Should().Be(product[i * n + j] + product[j * n + i], $"element ({i}, {j})");
    }
}
