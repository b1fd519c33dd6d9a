using Graph.Kernels.Cpu;

namespace Graph.Tests;

/// <summary>
/// A product's element-wise epilogue runs inside Graph's AVX-512 GEMM, each part over the elements of C it finished:
/// every element must reach the epilogue exactly once and only when final, whatever the split (row or column order,
/// a row panel shared by two parts, row blocks of a tall product, depth blocks of a deep one). That a fused kernel on
/// this path gives the bits of the product followed by its members is <see cref="CpuVectorExprTests"/>' to check.
/// </summary>
[TestFixture]
public class ProductEpilogueTests
{
    private static float[] Random(int n, int seed) => Gemm32Tests.Random(n, seed);

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
    public void AZeroProductStillRunsTheEpilogueOverC([Values(false, true)] bool accumulate)
    {
        if (!Avx512Gemm.IsSupported) Assert.Ignore("this CPU has no AVX-512.");
        var (m, n, k) = (150, 150, 150);
        var c = Random(m * n, 3);
        var expected = accumulate ? (float[])c.Clone() : new float[m * n];
        var epilogue = new RecordingEpilogue(c, m * n);
        Avx512Gemm.Multiply(false, false, m, n, k, new float[m * k], 0, Random(k * n, 2), 0, c, 0, accumulate, epilogue);
        epilogue.Times.Should().OnlyContain(t => t == 1);
        epilogue.Seen.Should().Equal(expected);
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
}
