using Graph.Core;
using Graph.Kernels;
using Graph.Kernels.Cpu;

namespace Graph.Tests;

/// <summary>
/// A large fused kernel splits its elements over the cores in equal shares (whole rows before a reduction, whole vectors
/// otherwise): every element and every row comes out as computed alone, on sizes that do not divide evenly.
/// </summary>
[TestFixture]
public class FusedPartSplitTests
{
    private static float[] Values(int n, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)random.NextDouble() * 4 - 2).ToArray();
    }

    /// <summary>Runs <paramref name="build"/> on a [rows, cols] placeholder fed <paramref name="xs"/> on the cpu.</summary>
    private static float[] Run(Func<Tensor, Tensor> build, int rows, int cols, float[] xs)
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(rows, cols), "x");
        var y = build(x);
        using var session = new Session(g);
        return session.Run(y, new FeedDict { { x, HostTensor.From(xs, rows, cols) } }).ToArray<float>();
    }

    [Test]
    public void AnElementWiseKernelOverAnUnevenSizeGivesEachElementsBits([Values(301, 1001)] int rows)
    {
        const int cols = 77;
        var xs = Values(rows * cols, rows);
        var actual = Run(x => TF.Tanh(x) * 0.5f + 1f, rows, cols, xs);
        for (var i = 0; i < xs.Length; i++)
            BitConverter.SingleToInt32Bits(actual[i]).Should().Be(BitConverter.SingleToInt32Bits(AccurateMath.Tanh(xs[i]) * 0.5f + 1f), $"element {i}");
    }

    [Test]
    public void ARowReductionAfterElementWiseMembersReducesEveryRowOnce([Values(999, 2049)] int rows)
    {
        const int cols = 37;
        var xs = Values(rows * cols, rows);
        var actual = Run(x => TF.ReduceMax(x * x - x, [1]), rows, cols, xs);
        actual.Should().HaveCount(rows);
        for (var r = 0; r < rows; r++)
        {
            var expected = float.MinValue;
            for (var c = 0; c < cols; c++)
            {
                var v = xs[r * cols + c];
                expected = Math.Max(expected, v * v - v);
            }
            actual[r].Should().Be(expected, $"row {r}");
        }
    }
}
