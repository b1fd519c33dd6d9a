using Graph.Core;
using Graph.Kernels;
using static Graph.Tests.GradientCheck;

namespace Graph.Tests;

[TestFixture]
[Category("GradientCheck")]
public class GradientTests
{
    [Test]
    public void MatMulAllTransposeFlags([Values] bool ta, [Values] bool tb)
    {
        var a = Random(1, -1, 1, ta ? [4, 3] : [3, 4]);
        var b = Random(2, -1, 1, tb ? [5, 4] : [4, 5]);
        Check(x => TF.MatMul(x[0], x[1], ta, tb), a, b);
    }

    [Test]
    public void TanhOfAffineWithBroadcastBias() =>
        Check(x => TF.Tanh(TF.MatMul(x[0], x[1]) + x[2]), Random(1, -1, 1, 4, 3), Random(2, -1, 1, 3, 5), Random(3, -1, 1, 5));

    [Test]
    public void SparseSoftmaxCrossEntropy()
    {
        var g = new ComputeGraph();
        Check(x => TF.Nn.SparseSoftmaxCrossEntropyWithLogits(TF.Constant(new[] { 2, 0, 1, 2 }), x[0]), Random(1, -2, 2, 4, 3));
    }

    [Test]
    public void ReduceMaxSplitsTiesEvenly()
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var x = TF.Constant(new double[] { 1, 3, 3, 2 });
        var grad = TF.Gradients(TF.ReduceMax(x), x)[0]!;
        using var sess = new Session(g);
        sess.Run(grad).ToArray<double>().Should().Equal(0, 0.5, 0.5, 0);
    }
}
