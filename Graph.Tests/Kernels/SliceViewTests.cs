using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

/// <summary>
/// On the cpu device a TensorArray read inside a loop body (a gather of one row of a fed array) that only fused
/// element-wise members read is a view of the row, not a copy: element-wise, transposed (a strided member) and
/// broadcast readers must all see the row of the iteration.
/// </summary>
[TestFixture]
public class SliceViewTests
{
    [Test]
    public void ReadersOfARowSeeTheIterationsRow()
    {
        const int steps = 5, n = 4;
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var xs = TF.Placeholder(DType.Float32, new Shape(steps, n, n), "xs");
        var scale = TF.Placeholder(DType.Float32, new Shape(steps, 1, n), "scale");
        var input = TensorArray.Unstack(xs);
        var scales = TensorArray.Unstack(scale);
        var r = TF.WhileLoop(
            v => TF.Less(v[0], TF.Constant(steps)),
            v =>
            {
                var x = input.Read(v[0]);
                return [v[0] + 1, v[1] + x * 2f + TF.Transpose(x, [1, 0]) + scales.Read(v[0]) * x];
            },
            [TF.Constant(0), TF.Zeros([n, n])]);
        var rng = new System.Random(3);
        var xv = Enumerable.Range(0, steps * n * n).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        var sv = Enumerable.Range(0, steps * n).Select(_ => (float)rng.NextDouble()).ToArray();
        using var sess = new Session(g);
        var result = sess.Run(r[1], new FeedDict { { xs, HostTensor.From(xv, steps, n, n) }, { scale, HostTensor.From(sv, steps, 1, n) } }).ToArray<float>();

        var expected = new float[n * n];
        for (var t = 0; t < steps; t++)
            for (var i = 0; i < n; i++)
                for (var j = 0; j < n; j++)
                {
                    var x = xv[(t * n + i) * n + j];
                    expected[i * n + j] = expected[i * n + j] + x * 2f + xv[(t * n + j) * n + i] + sv[t * n + j] * x;
                }
        result.Should().Equal(expected, (a, b) => Math.Abs(a - b) <= 1e-5f);
    }
}
