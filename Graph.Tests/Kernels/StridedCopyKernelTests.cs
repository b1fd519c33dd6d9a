using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

/// <summary>
/// A kernel that is one strided copy of an input (a transpose, a slice) copies run by run straight into its output on
/// the cpu device: values must be the reference's whether the copy runs in one chunk, in chunks over both cores, or
/// reads a loop body's row view of a TensorArray (an input that starts inside its array).
/// </summary>
[TestFixture]
public class StridedCopyKernelTests
{
    private static float[] Values(int n) => Enumerable.Range(0, n).Select(i => (i % 97) * 0.25f - 7f).ToArray();

    [TestCase(2, 3, 4)]
    [TestCase(150, 28, 28)] // 117,600 elements: chunks, split over the cores
    public void ATransposeOfAnInputGivesTheReferenceValues(int a, int b, int c)
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(a, b, c), "x");
        var y = TF.Transpose(x, [1, 0, 2]);
        var data = Values(a * b * c);
        using var session = new Session(g, new SessionOptions { Device = "cpu" });
        var result = session.Run(y, new FeedDict { { x, HostTensor.From(data, [a, b, c]) } });

        result.DimsSpan.ToArray().Should().Equal(b, a, c);
        var values = result.Span<float>();
        for (var j = 0; j < b; j++)
            for (var i = 0; i < a; i++)
                for (var k = 0; k < c; k++)
                    if (values[(j * a + i) * c + k] != data[(i * b + j) * c + k])
                        Assert.Fail($"y[{j}, {i}, {k}] = {values[(j * a + i) * c + k]}, expected x[{i}, {j}, {k}] = {data[(i * b + j) * c + k]}");
    }

    [Test]
    public void ASliceOfAnInputGivesTheReferenceValues()
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(40, 700), "x");
        var y = TF.Slice(x, [3, 5], [30, 600]); // 18,000 elements: chunks over the cores, runs that start mid-row
        var data = Values(40 * 700);
        using var session = new Session(g, new SessionOptions { Device = "cpu" });
        var values = session.Run(y, new FeedDict { { x, HostTensor.From(data, [40, 700]) } }).Span<float>();

        for (var i = 0; i < 30; i++)
            for (var j = 0; j < 600; j++)
                values[i * 600 + j].Should().Be(data[(i + 3) * 700 + j + 5]);
    }

    [Test]
    public void ATransposeOfATensorArrayRowInALoopGivesTheReferenceValues()
    {
        // Each step reads row t of the unstacked input (a view into the whole array) and transposes it for a product:
        // the transpose is a kernel of its own whose input starts at row t's offset.
        const int steps = 3, rows = 4, cols = 5;
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var xs = TF.Placeholder(DType.Float32, new Shape(steps, rows, cols), "xs");
        var w = TF.Constant(HostTensor.From(Values(rows * 2).Select(v => v * 0.5f).ToArray(), [rows, 2]));
        var input = TensorArray.Unstack(xs);
        var final = TF.WhileLoop(v => TF.Less(v[0], TF.Constant(steps)), v =>
            [v[0] + 1, v[1] + TF.MatMul(TF.Transpose(input.Read(v[0]), [1, 0]), w)],
            [TF.Constant(0), TF.Zeros([cols, 2])]);
        var data = Values(steps * rows * cols);
        using var session = new Session(g, new SessionOptions { Device = "cpu" });
        var values = session.Run(final[1], new FeedDict { { xs, HostTensor.From(data, [steps, rows, cols]) } }).Span<float>();

        var weights = Values(rows * 2).Select(v => v * 0.5f).ToArray();
        for (var j = 0; j < cols; j++)
            for (var k = 0; k < 2; k++)
            {
                var expected = 0.0;
                for (var t = 0; t < steps; t++)
                    for (var r = 0; r < rows; r++)
                        expected += (double)data[(t * rows + r) * cols + j] * weights[r * 2 + k];
                values[j * 2 + k].Should().BeApproximately((float)expected, 1e-3f, $"element [{j}, {k}]");
            }
    }
}
