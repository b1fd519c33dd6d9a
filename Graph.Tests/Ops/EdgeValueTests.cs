using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

/// <summary>
/// Inputs at the edges found by adversarial testing (2026-12-07): extreme and non-finite values, empty axes, shapes
/// that do not fit, dimensions past int's range. Each gives TF1's result or a clear error naming the op, on every device.
/// </summary>
[TestFixture("cpu")]
[TestFixture("ilgpu-cpu")]
public class EdgeValueTests(string device) : GraphFixture(device)
{
    /// <summary>tf.zeros([-1, 2]) is an error (TF1 too): -1 means "unknown" to a shape, and a constant's must be known.</summary>
    [Test]
    public void AConstantWithANegativeDimensionIsAnError()
    {
        ((Action)(() => TF.Zeros([-1, 2]))).Should().Throw<InvalidArgumentException>().WithMessage("Const 'zeros': shape [-1, 2] has a negative dimension*");
        ((Action)(() => TF.Ones([2, -3]))).Should().Throw<InvalidArgumentException>().WithMessage("Const 'ones': shape [2, -3]*");
        ((Action)(() => TF.Constant(HostTensor.Scalar(5f), shape: [-1, 2]))).Should().Throw<InvalidArgumentException>().WithMessage("Const 'Const'*negative*");
    }

    /// <summary>Softmax, log-softmax and cross-entropy over zero classes give empty results, as in TF1 (the cpu kernel's max of an empty row threw).</summary>
    [Test]
    public void SoftmaxOverZeroClassesIsEmpty()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1, -1));
        var feeds = new FeedDict { { x, HostTensor.Zeros(DType.Float32, 2, 0) } };
        using var sess = NewSession();
        var results = sess.Run([TF.Nn.Softmax(x), TF.Nn.LogSoftmax(x), TF.Nn.SoftmaxCrossEntropyWithLogits(x, x)], feeds);
        var (softmax, logSoftmax, xent) = (results[0], results[1], results[2]);
        softmax.Dims.Should().Equal(2, 0);
        logSoftmax.Dims.Should().Equal(2, 0);
        xent.ToArray<float>().Select(v => v == 0f).Should().Equal(true, true);
        sess.Run(TF.Gradients(TF.ReduceSum(TF.Nn.Softmax(x)), x)[0]!, feeds).Dims.Should().Equal(2, 0);
    }

    /// <summary>
    /// d(a/b)/db is computed as TF1's −a/b/b: −a/b² overflowed (1e-30² is 0 in float32, giving −inf) or underflowed
    /// (1e20² is inf, giving −0) where the gradient itself is finite.
    /// </summary>
    [Test]
    public void TheDivisorsGradientIsFiniteWhereItsSquareIsNot()
    {
        var a = TF.Constant(new[] { 1e-30f, 1e20f, 6f });
        var b = TF.Constant(new[] { 1e-30f, 1e20f, 2f });
        using var sess = NewSession();
        var grad = sess.Run(TF.Gradients(TF.ReduceSum(a / b), b)[0]!).ToArray<float>();
        grad[0].Should().BeApproximately(-1e30f, 1e24f);
        grad[1].Should().BeApproximately(-1e-20f, 1e-26f);
        grad[2].Should().Be(-1.5f);
    }

    /// <summary>A global norm that is not finite makes every clipped value NaN, as TF1 does, instead of zeroing the finite ones.</summary>
    [Test]
    public void ClippingByAnInfiniteGlobalNormGivesNaNEverywhere()
    {
        var (clipped, norm) = TF.ClipByGlobalNorm([TF.Constant(new[] { double.PositiveInfinity, 4 }), TF.Constant(new[] { 3.0 })], 1.0);
        using var sess = NewSession();
        var results = sess.Run([clipped[0]!, clipped[1]!, norm], []);
        var (first, second, n) = (results[0], results[1], results[2]);
        n.Item<double>().Should().Be(double.PositiveInfinity);
        first.ToArray<double>().Should().OnlyContain(v => double.IsNaN(v));
        second.ToArray<double>().Should().OnlyContain(v => double.IsNaN(v));
        var (finite, _) = TF.ClipByGlobalNorm([TF.Constant(new[] { 3.0, 4.0 })], 1.0);
        sess.Run(finite[0]!).ToArray<double>().Should().BeEquivalentTo([0.6, 0.8], o => o.Using<double>(c => c.Subject.Should().BeApproximately(c.Expectation, 1e-15)).WhenTypeIs<double>());
    }

    /// <summary>tf.add_n does not broadcast: tensors of different static shapes are an error naming the op.</summary>
    [Test]
    public void AddNOfDifferentShapesIsAnError()
    {
        ((Action)(() => TF.AddN([TF.Constant(new[] { 1f }), TF.Constant(new[] { 1f, 2f })]))).Should().Throw<InvalidArgumentException>()
            .WithMessage("AddN 'AddN': shapes must all be equal, got (1,) and (2,)*");
        using var sess = NewSession();
        sess.Run(TF.AddN([TF.Constant(new[] { 1f, 2f }), TF.Constant(new[] { 3f, 4f }), TF.Placeholder(DType.Float32, new Shape(-1))]),
            new FeedDict { { TF.GetDefaultGraph().Operations.Last(o => o.Type == "Placeholder").Output, new[] { 10f, 20f } } }).ToArray<float>().Should().Equal(14f, 26f);
    }

    /// <summary>tf.one_hot with an integer dtype refuses an on or off value that dtype cannot hold (TF1's TypeError), instead of truncating it.</summary>
    [Test]
    public void OneHotRefusesValuesItsIntegerDTypeCannotHold()
    {
        var indices = TF.Constant(new[] { 0, 1 });
        ((Action)(() => TF.OneHot(indices, 2, 0.5, -1, DType.Int32))).Should().Throw<InvalidArgumentException>().WithMessage("OneHot 'one_hot': on_value 0.5 is not a int32 value.");
        ((Action)(() => TF.OneHot(indices, 2, 1, 3e9, DType.Int32))).Should().Throw<InvalidArgumentException>().WithMessage("*off_value 3000000000*");
        using var sess = NewSession();
        sess.Run(TF.OneHot(indices, 2, 7, -1, DType.Int32)).ToArray<int>().Should().Equal(7, -1, -1, 7);
    }

    /// <summary>A gradient fed with a shape that does not fit its tensor fails naming the op that sums it back, not deep in a copy.</summary>
    [Test]
    public void AGradientOfTheWrongShapeFailsNamingTheOp()
    {
        var p = TF.Placeholder(DType.Float32, new Shape(2), "p");
        var gy = TF.Placeholder(DType.Float32, Shape.Unknown, "gy");
        var gp = TF.Gradients([p * 3f], [p], [gy])[0]!;
        using var sess = NewSession();
        var feeds = new FeedDict { { p, new[] { 1f, 2f } }, { gy, new[] { 1f, 1f, 1f } } };
        ((Action)(() => sess.Run(gp, feeds))).Should().Throw<InvalidArgumentException>().WithMessage("*a gradient of shape [3] does not * the shape [2]*");
        feeds = new FeedDict { { p, new[] { 1f, 2f } }, { gy, new[] { 1f, 2f } } };
        sess.Run(gp, feeds).ToArray<float>().Should().Equal(3f, 6f);
    }

    /// <summary>A tile or concatenation whose dimension would pass int's range is an error naming the op, not an overflow.</summary>
    [Test]
    public void DimensionsPastIntsRangeAreAnErrorNamingTheOp()
    {
        ((Action)(() => TF.Tile(TF.Constant(new[] { 1f, 2f }), [1 << 30]))).Should().Throw<InvalidArgumentException>()
            .WithMessage("Tile 'Tile': a dimension of 2147483648 elements is too large*");
        var big = TF.Placeholder(DType.Float32, new Shape(int.MaxValue));
        ((Action)(() => TF.Concat([big, big], 0))).Should().Throw<InvalidArgumentException>().WithMessage("ConcatV2 'concat': a dimension of 4294967294 elements*");
    }

    /// <summary>
    /// The max or min over an empty axis is the reduction's identity, as in TF1: −inf or +inf for floats, the
    /// lowest or highest value for integers (plain, fused after an element-wise op, and over everything).
    /// </summary>
    [Test]
    public void MaxAndMinOverAnEmptyAxisAreTheirIdentities()
    {
        var f = TF.Placeholder(DType.Float32, new Shape(-1, -1));
        var i = TF.Placeholder(DType.Int32, new Shape(-1, -1));
        var feeds = new FeedDict { { f, HostTensor.Zeros(DType.Float32, 2, 0) }, { i, HostTensor.Zeros(DType.Int32, 2, 0) } };
        using var sess = NewSession();
        var r = sess.Run([TF.ReduceMax(f, [1]), TF.ReduceMin(f, [1]), TF.ReduceMax(f * 2f, [1]), TF.ReduceMax(f), TF.ReduceMax(i, [1]), TF.ReduceMin(i + 1, [1])], feeds);
        r[0].ToArray<float>().Should().Equal(float.NegativeInfinity, float.NegativeInfinity);
        r[1].ToArray<float>().Should().Equal(float.PositiveInfinity, float.PositiveInfinity);
        r[2].ToArray<float>().Should().Equal(float.NegativeInfinity, float.NegativeInfinity);
        r[3].Item<float>().Should().Be(float.NegativeInfinity);
        r[4].ToArray<int>().Should().Equal(int.MinValue, int.MinValue);
        r[5].ToArray<int>().Should().Equal(int.MaxValue, int.MaxValue);
    }
}
