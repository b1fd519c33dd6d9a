using System.Globalization;
using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

/// <summary>
/// Tests of the tf.nn ops: Softmax, LogSoftmax, the two softmax cross-entropies, InTopK and OneHot — static shape
/// inference, forward values against float64 references computed here, and bad-input errors.
/// </summary>
[TestFixture("cpu")]
[TestFixture("ilgpu-cpu")]
[TestFixture("cuda", Category = "Cuda")]
public class NnOpTests(string device) : GraphFixture(device)
{

    // ------------------------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------------------------


    private static string S(Tensor t) => t.Shape.ToString();

    private static Shape ParseShape(string s) =>
        s == "unknown" ? Shape.Unknown
        : s == "()" ? Shape.Scalar
        : new Shape(s.Split(',').Select(d => int.Parse(d, CultureInfo.InvariantCulture)).ToArray());

    /// <summary>Deterministic values in [-scale, scale).</summary>
    private static float[] RandomData(int n, int seed, double scale = 3)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() * 2 - 1) * scale)).ToArray();
    }

    private static void ShouldBeClose(HostTensor actual, double[] expected, double rtol = 1e-5, double atol = 1e-6)
    {
        var values = actual.ToArray<double>();
        values.Should().HaveCount(expected.Length);
        for (var i = 0; i < expected.Length; i++)
            values[i].Should().BeApproximately(expected[i], atol + rtol * Math.Abs(expected[i]), $"element {i} of {actual.Shape}");
    }

    /// <summary>Float64 log-softmax of each row of length <paramref name="classes"/>.</summary>
    private static double[] ReferenceLogSoftmax(IReadOnlyList<float> x, int classes)
    {
        var y = new double[x.Count];
        for (var row = 0; row < x.Count / classes; row++)
        {
            var values = Enumerable.Range(0, classes).Select(j => (double)x[row * classes + j]).ToArray();
            var max = values.Max();
            var logSum = Math.Log(values.Sum(v => Math.Exp(v - max))) + max;
            for (var j = 0; j < classes; j++) y[row * classes + j] = values[j] - logSum;
        }
        return y;
    }

    private static double[] ReferenceSoftmax(IReadOnlyList<float> x, int classes) => ReferenceLogSoftmax(x, classes).Select(Math.Exp).ToArray();

    private static double[] RowSums(HostTensor t)
    {
        var classes = t.Dims[^1];
        var v = t.ToArray<double>();
        return Enumerable.Range(0, v.Length / classes).Select(r => v.Skip(r * classes).Take(classes).Sum()).ToArray();
    }

    // ------------------------------------------------------------------------------------------------------------
    // Softmax / LogSoftmax
    // ------------------------------------------------------------------------------------------------------------

    [TestCase(3, 4)]
    [TestCase(1, 7)]
    [TestCase(5, 1)]
    public void Softmax_MatchesFloat64Reference_AndRowsSumToOne(int rows, int classes)
    {
        var logits = RandomData(rows * classes, rows * 10 + classes);
        var y = TF.Nn.Softmax(TF.Constant(HostTensor.From(logits, rows, classes)));

        y.Op.Type.Should().Be("Softmax");
        S(y).Should().Be($"({rows}, {classes})");
        var r = Eval(y);
        r.DType.Should().Be(DType.Float32);
        r.Dims.Should().Equal(rows, classes);
        ShouldBeClose(r, ReferenceSoftmax(logits, classes));
        RowSums(r).Should().AllSatisfy(s => s.Should().BeApproximately(1, 1e-6));
    }

    [TestCase(3, 4)]
    [TestCase(1, 7)]
    [TestCase(5, 1)]
    public void LogSoftmax_MatchesFloat64Reference(int rows, int classes)
    {
        var logits = RandomData(rows * classes, rows * 10 + classes + 100);
        var y = TF.Nn.LogSoftmax(TF.Constant(HostTensor.From(logits, rows, classes)));

        y.Op.Type.Should().Be("LogSoftmax");
        var r = Eval(y);
        r.Dims.Should().Equal(rows, classes);
        ShouldBeClose(r, ReferenceLogSoftmax(logits, classes), atol: 2e-6);
        RowSums(new HostTensor(r.ToArray<double>().Select(Math.Exp).ToArray(), r.Dims))
            .Should().AllSatisfy(s => s.Should().BeApproximately(1, 1e-6));
    }

    [Test]
    public void Softmax_Rank3_NormalisesTheLastAxis()
    {
        var logits = RandomData(12, 42);
        var r = Eval(TF.Nn.Softmax(TF.Constant(HostTensor.From(logits, 2, 2, 3))));

        r.Dims.Should().Equal(2, 2, 3);
        ShouldBeClose(r, ReferenceSoftmax(logits, 3));
    }

    [Test]
    public void Softmax_Float64_MatchesReference()
    {
        var logits = RandomData(8, 43);
        var r = Eval(TF.Nn.Softmax(TF.Constant(HostTensor.From(logits, 2, 4), DType.Float64)));

        r.DType.Should().Be(DType.Float64);
        ShouldBeClose(r, ReferenceSoftmax(logits, 4), rtol: 1e-13, atol: 1e-15);
    }

    [Test]
    public void SoftmaxAndLogSoftmax_LargeLogits_StayFinite()
    {
        float[] logits = [1000, 1001, 1002, -1000, 0, 1000];
        var x = TF.Constant(HostTensor.From(logits, 2, 3));

        var softmax = Eval(TF.Nn.Softmax(x));
        var logSoftmax = Eval(TF.Nn.LogSoftmax(x));

        softmax.ToArray<float>().Should().OnlyContain(v => float.IsFinite(v));
        logSoftmax.ToArray<float>().Should().OnlyContain(v => float.IsFinite(v));
        ShouldBeClose(softmax, ReferenceSoftmax(logits, 3));
        // Row 0 equals softmax([0, 1, 2]); row 1 is [~0, ~0, 1] with log-probabilities [-2000, -1000, 0].
        ShouldBeClose(logSoftmax, [-2.4076059644443806, -1.4076059644443806, -0.4076059644443806, -2000, -1000, 0], atol: 1e-5);
        RowSums(softmax).Should().AllSatisfy(s => s.Should().BeApproximately(1, 1e-6));
    }

    [TestCase("-1,5", "(?, 5)")]
    [TestCase("2,-1", "(2, ?)")]
    [TestCase("-1,2,3", "(?, 2, 3)")]
    [TestCase("unknown", "<unknown>")]
    public void SoftmaxAndLogSoftmax_InferShape(string shape, string expected)
    {
        var x = TF.Placeholder(DType.Float32, ParseShape(shape));
        S(TF.Nn.Softmax(x)).Should().Be(expected);
        S(TF.Nn.LogSoftmax(x)).Should().Be(expected);
    }

    [Test]
    public void Softmax_UnknownDims_ComputesForFedShape()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1, -1));
        var y = TF.Nn.Softmax(x);
        float[] logits = [0, 0, 1, 2, 3, 4];

        var r = Eval(y, new FeedDict { { x, HostTensor.From(logits, 3, 2) } });
        r.Dims.Should().Equal(3, 2);
        ShouldBeClose(r, ReferenceSoftmax(logits, 2));
    }

    [Test]
    public void Softmax_ScalarInput_Throws()
    {
        var x = TF.Placeholder(DType.Float32, Shape.Scalar);
        var act = () => TF.Nn.Softmax(x);
        act.Should().Throw<InvalidArgumentException>().Which.Message.Should().ContainAll("Softmax", "rank >= 1", "()");
    }

    [Test]
    public void LogSoftmax_IntegerInput_Throws()
    {
        var x = TF.Placeholder(DType.Int32, new Shape(2, 3));
        var act = () => TF.Nn.LogSoftmax(x);
        act.Should().Throw<InvalidArgumentException>().Which.Message.Should().ContainAll("LogSoftmax", "int32");
    }

    // ------------------------------------------------------------------------------------------------------------
    // SparseSoftmaxCrossEntropyWithLogits
    // ------------------------------------------------------------------------------------------------------------

    private static double[] ReferenceSparseXent(float[] logits, int classes, long[] labels)
    {
        var logp = ReferenceLogSoftmax(logits, classes);
        return labels.Select((l, row) => -logp[row * classes + (int)l]).ToArray();
    }

    [TestCase(DType.Int32)]
    [TestCase(DType.Int64)]
    public void SparseXent_MatchesFloat64Reference(DType labelType)
    {
        var logits = RandomData(20, 7);
        long[] labels = [0, 4, 2, 4];
        var labelTensor = TF.Constant(HostTensor.From(labels, 4).AsType(labelType));
        var y = TF.Nn.SparseSoftmaxCrossEntropyWithLogits(labelTensor, TF.Constant(HostTensor.From(logits, 4, 5)));

        y.Op.Type.Should().Be("SparseSoftmaxCrossEntropyWithLogits");
        y.DType.Should().Be(DType.Float32);
        S(y).Should().Be("(4,)");
        var r = Eval(y);
        r.Dims.Should().Equal(4);
        ShouldBeClose(r, ReferenceSparseXent(logits, 5, labels));
    }

    [Test]
    public void SparseXent_Float64AndRank3Logits_MatchReference()
    {
        var logits = RandomData(12, 8);
        var y = TF.Nn.SparseSoftmaxCrossEntropyWithLogits(
            TF.Constant(new[,] { { 2, 0 }, { 1, 1 } }), TF.Constant(HostTensor.From(logits, 2, 2, 3), DType.Float64));

        y.DType.Should().Be(DType.Float64);
        S(y).Should().Be("(2, 2)");
        var r = Eval(y);
        r.Dims.Should().Equal(2, 2);
        ShouldBeClose(r, ReferenceSparseXent(logits, 3, [2, 0, 1, 1]), rtol: 1e-12, atol: 1e-12);
    }

    [Test]
    public void SparseXent_LargeLogits_StayFinite()
    {
        float[] logits = [1000, -1000, 0, 0, 500, -500];
        var y = TF.Nn.SparseSoftmaxCrossEntropyWithLogits(TF.Constant(new[] { 1, 0 }), TF.Constant(HostTensor.From(logits, 2, 3)));

        var r = Eval(y);
        r.ToArray<float>().Should().OnlyContain(v => float.IsFinite(v));
        ShouldBeClose(r, [2000, 500], rtol: 1e-6);
    }

    [Test]
    public void SparseXent_UnknownDims_ComputesForFedShape()
    {
        var logits = TF.Placeholder(DType.Float32, new Shape(-1, 3));
        var labels = TF.Placeholder(DType.Int64, new Shape(-1));
        var y = TF.Nn.SparseSoftmaxCrossEntropyWithLogits(labels, logits);
        S(y).Should().Be("(?,)");
        var values = RandomData(6, 9);

        var r = Eval(y, new FeedDict { { logits, HostTensor.From(values, 2, 3) }, { labels, new long[] { 2, 1 } } });
        ShouldBeClose(r, ReferenceSparseXent(values, 3, [2, 1]));
    }

    [TestCase(10, DType.Int32)]
    [TestCase(-1, DType.Int32)]
    [TestCase(10, DType.Int64)]
    [TestCase(-1, DType.Int64)]
    public void SparseXent_LabelOutOfRange_ThrowsAtRun(int bad, DType labelType)
    {
        var logits = TF.Placeholder(DType.Float32, new Shape(-1, 10));
        var labels = TF.Placeholder(labelType, new Shape(-1));
        var y = TF.Nn.SparseSoftmaxCrossEntropyWithLogits(labels, logits, name: "xent");
        var feeds = new FeedDict
        {
            { logits, new float[3, 10] },
            { labels, HostTensor.From(new long[] { 3, bad, 0 }, 3).AsType(labelType) },
        };

        var act = () => Eval(y, feeds);
        act.Should().Throw<InvalidArgumentException>().Which.Message.Should()
            .ContainAll("SparseSoftmaxCrossEntropyWithLogits", "xent", "valid range of [0, 10)", $"label value of {bad}");
    }

    [Test]
    public void SparseXent_LabelOutOfRangeInConstant_ThrowsAtRunNotBuild()
    {
        var y = TF.Nn.SparseSoftmaxCrossEntropyWithLogits(TF.Constant(new[] { 0, 10 }), TF.Constant(new float[2, 10]));
        S(y).Should().Be("(2,)");

        var act = () => Eval(y);
        act.Should().Throw<InvalidArgumentException>().Which.Message.Should()
            .ContainAll("SparseSoftmaxCrossEntropyWithLogits", "valid range of [0, 10)");
    }

    [TestCase("2,10", "3")]
    [TestCase("2,10", "2,1")]
    [TestCase("2,3,10", "2")]
    [TestCase("2,10", "()")]
    public void SparseXent_LabelShapeMismatch_ThrowsAtBuildTime(string logitsShape, string labelsShape)
    {
        var logits = TF.Placeholder(DType.Float32, ParseShape(logitsShape));
        var labels = TF.Placeholder(DType.Int32, ParseShape(labelsShape));

        var act = () => TF.Nn.SparseSoftmaxCrossEntropyWithLogits(labels, logits);
        act.Should().Throw<InvalidArgumentException>().Which.Message.Should()
            .ContainAll("SparseSoftmaxCrossEntropyWithLogits", logits.Shape.ToString(), labels.Shape.ToString());
    }

    [Test]
    public void SparseXent_LabelShapeMismatch_ThrowsAtRunWhenDimsWereUnknown()
    {
        var logits = TF.Placeholder(DType.Float32, new Shape(-1, 4));
        var labels = TF.Placeholder(DType.Int32, new Shape(-1));
        var y = TF.Nn.SparseSoftmaxCrossEntropyWithLogits(labels, logits);

        var act = () => Eval(y, new FeedDict { { logits, new float[2, 4] }, { labels, new[] { 0, 1, 2 } } });
        act.Should().Throw<InvalidArgumentException>().Which.Message.Should()
            .ContainAll("SparseSoftmaxCrossEntropyWithLogits", "(2,)", "(3,)");
    }

    [TestCase("-1,10", "-1", "(?,)")]
    [TestCase("-1,10", "4", "(4,)")]
    [TestCase("4,-1", "-1", "(4,)")]
    [TestCase("-1,2,10", "3,-1", "(3, 2)")]
    [TestCase("unknown", "5", "(5,)")]
    [TestCase("-1,10", "unknown", "(?,)")]
    public void SparseXent_InfersShape(string logitsShape, string labelsShape, string expected)
    {
        var logits = TF.Placeholder(DType.Float32, ParseShape(logitsShape));
        var labels = TF.Placeholder(DType.Int64, ParseShape(labelsShape));
        S(TF.Nn.SparseSoftmaxCrossEntropyWithLogits(labels, logits)).Should().Be(expected);
    }

    [Test]
    public void SparseXent_BadDTypes_Throw()
    {
        var logits = TF.Placeholder(DType.Float32, new Shape(2, 3));
        var intLogits = TF.Placeholder(DType.Int32, new Shape(2, 3));
        var labels = TF.Placeholder(DType.Int32, new Shape(2));
        var floatLabels = TF.Placeholder(DType.Float32, new Shape(2));

        var act1 = () => TF.Nn.SparseSoftmaxCrossEntropyWithLogits(floatLabels, logits);
        act1.Should().Throw<InvalidArgumentException>().Which.Message.Should().ContainAll("SparseSoftmaxCrossEntropyWithLogits", "labels", "float32");
        var act2 = () => TF.Nn.SparseSoftmaxCrossEntropyWithLogits(labels, intLogits);
        act2.Should().Throw<InvalidArgumentException>().Which.Message.Should().ContainAll("SparseSoftmaxCrossEntropyWithLogits", "logits", "int32");
    }

    // ------------------------------------------------------------------------------------------------------------
    // SoftmaxCrossEntropyWithLogits
    // ------------------------------------------------------------------------------------------------------------

    [Test]
    public void SoftmaxXent_MatchesFloat64Reference()
    {
        var logits = RandomData(12, 11);
        float[] labels = [0.25f, 0.25f, 0.5f, 0, 1, 0, 0, 0, 0.1f, 0.2f, 0.3f, 0.4f];
        var y = TF.Nn.SoftmaxCrossEntropyWithLogits(TF.Constant(HostTensor.From(labels, 3, 4)), TF.Constant(HostTensor.From(logits, 3, 4)));

        y.Op.Type.Should().Be("SoftmaxCrossEntropyWithLogits");
        S(y).Should().Be("(3,)");
        var logp = ReferenceLogSoftmax(logits, 4);
        var expected = Enumerable.Range(0, 3).Select(r => -Enumerable.Range(0, 4).Sum(j => labels[r * 4 + j] * logp[r * 4 + j])).ToArray();
        var r = Eval(y);
        r.Dims.Should().Equal(3);
        ShouldBeClose(r, expected);
    }

    [Test]
    public void SoftmaxXent_OneHotLabels_EqualSparseXent()
    {
        var logitValues = RandomData(8, 12);
        var logits = TF.Constant(HostTensor.From(logitValues, 2, 4));
        var dense = TF.Nn.SoftmaxCrossEntropyWithLogits(TF.OneHot(TF.Constant(new[] { 3, 1 }), 4), logits);
        var sparse = TF.Nn.SparseSoftmaxCrossEntropyWithLogits(TF.Constant(new[] { 3, 1 }), logits);

        ShouldBeClose(Eval(dense), Eval(sparse).ToArray<double>());
        ShouldBeClose(Eval(dense), ReferenceSparseXent(logitValues, 4, [3, 1]));
    }

    [Test]
    public void SoftmaxXent_LargeLogits_StayFinite()
    {
        var y = TF.Nn.SoftmaxCrossEntropyWithLogits(TF.Constant(new[,] { { 0f, 1f } }), TF.Constant(new[,] { { 1000f, -1000f } }));
        var r = Eval(y);
        r.ToArray<float>().Should().OnlyContain(v => float.IsFinite(v));
        ShouldBeClose(r, [2000], rtol: 1e-6);
    }

    [TestCase("-1,4", "-1,4", "(?,)")]
    [TestCase("-1,4", "3,-1", "(3,)")]
    [TestCase("unknown", "2,5", "(2,)")]
    [TestCase("unknown", "unknown", "<unknown>")]
    public void SoftmaxXent_InfersShape(string logitsShape, string labelsShape, string expected)
    {
        var logits = TF.Placeholder(DType.Float32, ParseShape(logitsShape));
        var labels = TF.Placeholder(DType.Float32, ParseShape(labelsShape));
        S(TF.Nn.SoftmaxCrossEntropyWithLogits(labels, logits)).Should().Be(expected);
    }

    [Test]
    public void SoftmaxXent_ShapeMismatch_ThrowsAtBuildTime()
    {
        var logits = TF.Placeholder(DType.Float32, new Shape(2, 4));
        var labels = TF.Placeholder(DType.Float32, new Shape(2, 3));

        var act = () => TF.Nn.SoftmaxCrossEntropyWithLogits(labels, logits);
        act.Should().Throw<InvalidArgumentException>().Which.Message.Should().ContainAll("SoftmaxCrossEntropyWithLogits", "(2, 4)", "(2, 3)");
    }

    [Test]
    public void SoftmaxXent_ShapeMismatch_ThrowsAtRunWhenDimsWereUnknown()
    {
        var logits = TF.Placeholder(DType.Float32, new Shape(-1, 4));
        var labels = TF.Placeholder(DType.Float32, new Shape(-1, 4));
        var y = TF.Nn.SoftmaxCrossEntropyWithLogits(labels, logits);

        var act = () => Eval(y, new FeedDict { { logits, new float[2, 4] }, { labels, new float[3, 4] } });
        act.Should().Throw<InvalidArgumentException>().Which.Message.Should().ContainAll("SoftmaxCrossEntropyWithLogits", "(2, 4)", "(3, 4)");
    }

    [Test]
    public void SoftmaxXent_DTypeMismatch_Throws()
    {
        var logits = TF.Placeholder(DType.Float32, new Shape(2, 4));
        var labels = TF.Placeholder(DType.Float64, new Shape(2, 4));

        var act = () => TF.Nn.SoftmaxCrossEntropyWithLogits(labels, logits);
        act.Should().Throw<InvalidArgumentException>().Which.Message.Should().ContainAll("SoftmaxCrossEntropyWithLogits", "float64", "float32");
    }

    // ------------------------------------------------------------------------------------------------------------
    // InTopK
    // ------------------------------------------------------------------------------------------------------------

    private static readonly float[,] Predictions =
    {
        { 0.1f, 0.8f, 0.05f, 0.05f }, // target 1: the top
        { 0.3f, 0.3f, 0.2f, 0.2f },   // target 1: tied for the top
        { 0.1f, 0.2f, 0.3f, 0.4f },   // target 2: second
        { 0.5f, 0.2f, 0.2f, 0.1f },   // target 2: tied for second with class 1
        { 0.4f, 0.3f, 0.2f, 0.1f },   // target 3: last
    };

    [TestCase(1, new[] { true, true, false, false, false })]
    [TestCase(2, new[] { true, true, true, true, false })]
    [TestCase(3, new[] { true, true, true, true, false })]
    [TestCase(4, new[] { true, true, true, true, true })]
    public void InTopK_CountsTiesAtTheBoundaryAsIn(int k, bool[] expected)
    {
        foreach (var targetType in new[] { DType.Int32, DType.Int64 })
        {
            var targets = TF.Constant(HostTensor.From(new[] { 1, 1, 2, 2, 3 }, 5).AsType(targetType));
            var y = TF.Nn.InTopK(TF.Constant(Predictions), targets, k);

            y.Op.Type.Should().Be("InTopKV2");
            y.DType.Should().Be(DType.Bool);
            S(y).Should().Be("(5,)");
            var r = Eval(y);
            r.DType.Should().Be(DType.Bool);
            r.ToArray<bool>().Should().Equal(expected, $"k = {k}, {targetType} targets");
        }
    }

    [TestCase(4)]
    [TestCase(-1)]
    [TestCase(100)]
    public void InTopK_OutOfRangeTarget_GivesFalse(int target)
    {
        var y = TF.Nn.InTopK(TF.Constant(new[,] { { 1f, 2f, 3f, 4f }, { 1f, 2f, 3f, 4f } }), TF.Constant(new[] { target, 3 }), 4);
        Eval(y).ToArray<bool>().Should().Equal(false, true);
    }

    [Test]
    public void InTopK_NonFiniteTargetPrediction_GivesFalse()
    {
        var predictions = TF.Constant(new[,] { { float.PositiveInfinity, 0f, 0f }, { float.NaN, 1f, 0f }, { 0f, 1f, float.NaN } });
        var y = TF.Nn.InTopK(predictions, TF.Constant(new[] { 0, 0, 1 }), 3);
        Eval(y).ToArray<bool>().Should().Equal(false, false, true);
    }

    [Test]
    public void InTopK_UnknownBatch_ComputesForFedShape()
    {
        var predictions = TF.Placeholder(DType.Float32, new Shape(-1, 3));
        var targets = TF.Placeholder(DType.Int32, new Shape(-1));
        var y = TF.Nn.InTopK(predictions, targets, 1);
        S(y).Should().Be("(?,)");

        var r = Eval(y, new FeedDict { { predictions, new float[,] { { 1, 2, 3 }, { 3, 2, 1 } } }, { targets, new[] { 2, 1 } } });
        r.ToArray<bool>().Should().Equal(true, false);
    }

    [TestCase("-1,4", "-1", "(?,)")]
    [TestCase("3,4", "-1", "(3,)")]
    [TestCase("-1,4", "3", "(3,)")]
    [TestCase("unknown", "unknown", "(?,)")]
    [TestCase("unknown", "6", "(6,)")]
    public void InTopK_InfersShape(string predictionsShape, string targetsShape, string expected)
    {
        var predictions = TF.Placeholder(DType.Float32, ParseShape(predictionsShape));
        var targets = TF.Placeholder(DType.Int32, ParseShape(targetsShape));
        S(TF.Nn.InTopK(predictions, targets, 1)).Should().Be(expected);
    }

    [Test]
    public void InTopK_BadInputs_Throw()
    {
        var predictions = TF.Placeholder(DType.Float32, new Shape(3, 4));
        var act1 = () => TF.Nn.InTopK(predictions, TF.Placeholder(DType.Int32, new Shape(2)), 1);
        act1.Should().Throw<InvalidArgumentException>().Which.Message.Should().ContainAll("InTopKV2", "(2,)", "(3, 4)");

        var act2 = () => TF.Nn.InTopK(TF.Placeholder(DType.Float64, new Shape(3, 4)), TF.Placeholder(DType.Int32, new Shape(3)), 1);
        act2.Should().Throw<InvalidArgumentException>().Which.Message.Should().ContainAll("InTopKV2", "float64");

        var act3 = () => TF.Nn.InTopK(predictions, TF.Placeholder(DType.Float32, new Shape(3)), 1);
        act3.Should().Throw<InvalidArgumentException>().Which.Message.Should().ContainAll("InTopKV2", "targets");

        var act4 = () => TF.Nn.InTopK(TF.Placeholder(DType.Float32, new Shape(4)), TF.Placeholder(DType.Int32, new Shape(4)), 1);
        act4.Should().Throw<InvalidArgumentException>().Which.Message.Should().ContainAll("InTopKV2", "rank 2");
    }

    // ------------------------------------------------------------------------------------------------------------
    // OneHot
    // ------------------------------------------------------------------------------------------------------------

    [Test]
    public void OneHot_Defaults_Float32OnesAndZeros_OutOfRangeRowsAreOff()
    {
        var y = TF.OneHot(TF.Constant(new[] { 0, 2, -1, 3 }), 3);

        y.Op.Type.Should().Be("OneHot");
        y.DType.Should().Be(DType.Float32);
        S(y).Should().Be("(4, 3)");
        var r = Eval(y);
        r.DType.Should().Be(DType.Float32);
        r.Dims.Should().Equal(4, 3);
        r.ToArray<float>().Should().Equal(1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0);
    }

    [TestCase(DType.Float32)]
    [TestCase(DType.Float64)]
    [TestCase(DType.Int32)]
    [TestCase(DType.Int64)]
    public void OneHot_OnOffValuesAndDType(DType dtype)
    {
        var y = TF.OneHot(TF.Constant(new long[] { 1, 0 }), 4, onValue: 5, offValue: -2, dtype: dtype);

        y.DType.Should().Be(dtype);
        var r = Eval(y);
        r.DType.Should().Be(dtype);
        r.Dims.Should().Equal(2, 4);
        r.ToArray<double>().Should().Equal(-2, 5, -2, -2, 5, -2, -2, -2);
    }

    [Test]
    public void OneHot_BoolDType()
    {
        var r = Eval(TF.OneHot(TF.Constant(new[] { 2, 0 }), 3, dtype: DType.Bool));
        r.DType.Should().Be(DType.Bool);
        r.ToArray<bool>().Should().Equal(false, false, true, true, false, false);
    }

    [Test]
    public void OneHot_Rank2Indices_AppendsDepthAxis()
    {
        var y = TF.OneHot(TF.Constant(new[,] { { 0, 1 }, { 1, 0 } }), 2);
        S(y).Should().Be("(2, 2, 2)");
        Eval(y).ToArray<float>().Should().Equal(1, 0, 0, 1, 0, 1, 1, 0);
    }

    [TestCase("-1", 5, "(?, 5)")]
    [TestCase("2,-1", 3, "(2, ?, 3)")]
    [TestCase("()", 4, "(4,)")]
    [TestCase("unknown", 3, "<unknown>")]
    public void OneHot_InfersShape(string indicesShape, int depth, string expected)
    {
        var indices = TF.Placeholder(DType.Int32, ParseShape(indicesShape));
        S(TF.OneHot(indices, depth)).Should().Be(expected);
    }

    [Test]
    public void OneHot_UnknownDims_ComputesForFedShape()
    {
        var indices = TF.Placeholder(DType.Int64, new Shape(-1));
        var y = TF.OneHot(indices, 2, dtype: DType.Int32);

        var r = Eval(y, new FeedDict { { indices, new long[] { 1, 1, 0 } } });
        r.Dims.Should().Equal(3, 2);
        r.ToArray<int>().Should().Equal(0, 1, 0, 1, 1, 0);
    }

    [Test]
    public void OneHot_BadInputs_Throw()
    {
        var act1 = () => TF.OneHot(TF.Placeholder(DType.Float32, new Shape(2)), 3);
        act1.Should().Throw<InvalidArgumentException>().Which.Message.Should().ContainAll("OneHot", "indices", "float32");

        var act2 = () => TF.OneHot(TF.Placeholder(DType.Int32, new Shape(2)), -1);
        act2.Should().Throw<InvalidArgumentException>().Which.Message.Should().ContainAll("OneHot", "depth", "-1");
    }
}
