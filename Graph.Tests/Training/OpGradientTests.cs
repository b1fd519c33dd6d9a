using Graph.Core;
using Graph.Kernels;
using static Graph.Tests.GradientCheck;

namespace Graph.Tests;

/// <summary>
/// Float64 finite-difference checks of the gradient of every differentiable op (with broadcasting, transposes,
/// reduction axes, unused outputs and unknown static dimensions), exact-value checks of TF's rules for ties and zeros,
/// and the semantics of <see cref="TF.Gradients(IReadOnlyList{Tensor}, IReadOnlyList{Tensor}, IReadOnlyList{Tensor}?, string)"/>.
/// </summary>
[TestFixture]
[Category("GradientCheck")]
public class OpGradientTests
{
    // ───────────────────────────── helpers ─────────────────────────────

    /// <summary>Parses "2,3" into [2, 3]; "" is a scalar.</summary>
    private static int[] Dims(string spec) =>
        spec.Length == 0 ? [] : spec.Split(',').Select(s => int.Parse(s, System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    /// <summary>
    /// Values 0.2·k + offset for random integers k in [-5, 5): two grids with offsets 0.1 apart never tie and always
    /// differ by at least 0.1, far more than the finite-difference step.
    /// </summary>
    private static HostTensor Grid(int seed, double offset, params int[] dims)
    {
        var rng = new Random(seed);
        return HostTensor.From(Enumerable.Range(0, (int)Shape.Product(dims)).Select(_ => 0.2 * rng.Next(-5, 5) + offset).ToArray(), dims);
    }

    /// <summary>Rows that are probability distributions over the last axis.</summary>
    private static HostTensor Distributions(int seed, int rows, int classes)
    {
        var r = Random(seed, 0.1, 1, rows, classes).ToArray<double>();
        for (var i = 0; i < rows; i++)
        {
            var sum = 0.0;
            for (var j = 0; j < classes; j++) sum += r[i * classes + j];
            for (var j = 0; j < classes; j++) r[i * classes + j] /= sum;
        }
        return HostTensor.From(r, rows, classes);
    }

    private static HostTensor D(double[] data, params int[] dims) => HostTensor.From(data, dims);

    private static void ShouldBe(HostTensor? actual, double[] expected, int[] dims, string what)
    {
        actual.Should().NotBeNull($"{what} has a gradient");
        actual!.Dims.Should().Equal(dims, $"{what}'s gradient has its shape");
        var values = actual.ToArray<double>();
        values.Length.Should().Be(expected.Length);
        for (var i = 0; i < expected.Length; i++)
            values[i].Should().BeApproximately(expected[i], 1e-12, $"{what}'s gradient [{i}]");
    }

    // ───────────────────────────── unary ─────────────────────────────

    private static readonly Dictionary<string, (Func<Tensor, Tensor> Op, Func<int, int[], HostTensor> Input)> Unaries = new()
    {
        ["Negative"] = (x => TF.Negative(x), (s, d) => Random(s, -2, 2, d)),
        ["Abs"] = (x => TF.Abs(x), (s, d) => RandomAwayFromZero(s, 0.1, 2, d)),
        ["Square"] = (x => TF.Square(x), (s, d) => Random(s, -2, 2, d)),
        ["Sqrt"] = (x => TF.Sqrt(x), (s, d) => Random(s, 0.2, 3, d)),
        ["Rsqrt"] = (x => TF.Rsqrt(x), (s, d) => Random(s, 0.3, 3, d)),
        ["Exp"] = (x => TF.Exp(x), (s, d) => Random(s, -2, 2, d)),
        ["Log"] = (x => TF.Log(x), (s, d) => Random(s, 0.2, 3, d)),
        ["Tanh"] = (x => TF.Tanh(x), (s, d) => Random(s, -2, 2, d)),
        ["Sigmoid"] = (x => TF.Sigmoid(x), (s, d) => Random(s, -3, 3, d)),
        ["Relu"] = (x => TF.Relu(x), (s, d) => RandomAwayFromZero(s, 0.1, 2, d)),
        ["Softplus"] = (x => TF.Softplus(x), (s, d) => Random(s, -3, 3, d)),
        ["Reciprocal"] = (x => TF.Reciprocal(x), (s, d) => RandomAwayFromZero(s, 0.3, 2, d)),
        ["Sign"] = (x => TF.Sign(x), (s, d) => RandomAwayFromZero(s, 0.1, 2, d)),
    };

    private static IEnumerable<string> UnaryNames => Unaries.Keys;
    private static readonly string[] UnaryShapes = ["", "5", "2,3", "2,1,3"];

    [Test]
    public void Unary([ValueSource(nameof(UnaryNames))] string op, [ValueSource(nameof(UnaryShapes))] string shape)
    {
        var (f, input) = Unaries[op];
        Check(x => f(x[0]), input(7, Dims(shape)));
    }

    [Test]
    public void SignHasAZeroGradient()
    {
        var grads = SymbolicGradients(x => TF.Sign(x[0]), null, D([-2, -0.5, 0, 0.5, 3], 5));
        ShouldBe(grads[0], [0, 0, 0, 0, 0], [5], "Sign's input");
    }

    [Test]
    public void ReluPassesTheGradientOnlyWherePositive()
    {
        var grads = SymbolicGradients(x => TF.Relu(x[0]), D([10, 20, 30, 40], 4), D([-1, 2, -3, 4], 4));
        ShouldBe(grads[0], [0, 20, 0, 40], [4], "Relu's input");
    }

    // ───────────────────────────── binary ─────────────────────────────

    private static readonly Dictionary<string, (Func<Tensor, Tensor, Tensor> Op, Func<int, int[], HostTensor> X, Func<int, int[], HostTensor> Y)> Binaries = new()
    {
        ["Add"] = ((a, b) => TF.Add(a, b), (s, d) => Random(s, -2, 2, d), (s, d) => Random(s, -2, 2, d)),
        ["Subtract"] = ((a, b) => TF.Subtract(a, b), (s, d) => Random(s, -2, 2, d), (s, d) => Random(s, -2, 2, d)),
        ["Multiply"] = ((a, b) => TF.Multiply(a, b), (s, d) => Random(s, -2, 2, d), (s, d) => Random(s, -2, 2, d)),
        ["Divide"] = ((a, b) => TF.Divide(a, b), (s, d) => Random(s, -2, 2, d), (s, d) => RandomAwayFromZero(s, 0.5, 2, d)),
        ["Pow"] = ((a, b) => TF.Pow(a, b), (s, d) => Random(s, 0.5, 2, d), (s, d) => Random(s, -2, 2, d)),
        ["Maximum"] = ((a, b) => TF.Maximum(a, b), (s, d) => Grid(s, 0.05, d), (s, d) => Grid(s, 0.15, d)),
        ["Minimum"] = ((a, b) => TF.Minimum(a, b), (s, d) => Grid(s, 0.05, d), (s, d) => Grid(s, 0.15, d)),
    };

    private static IEnumerable<string> BinaryNames => Binaries.Keys;

    /// <summary>x's shape | y's shape: equal, trailing-axis broadcast both ways, outer broadcast both ways, scalar both ways.</summary>
    private static readonly string[] BinaryShapes = ["2,3|2,3", "3,4|4", "4|3,4", "3,1|1,4", "1,4|3,1", "|2,3", "2,3|", "2,1,3|4,1"];

    [Test]
    public void Binary([ValueSource(nameof(BinaryNames))] string op, [ValueSource(nameof(BinaryShapes))] string shapes)
    {
        var (f, xs, ys) = Binaries[op];
        var parts = shapes.Split('|');
        Check(x => f(x[0], x[1]), xs(11, Dims(parts[0])), ys(12, Dims(parts[1])));
    }

    [Test]
    public void PowGradientWithRespectToTheExponentOnly([Values("", "3", "2,3")] string shape)
    {
        var baseValues = Random(5, 0.5, 3, 2, 3);
        Check(x =>
        {
            using var _ = x[0].Graph.AsDefault();
            return TF.Pow(TF.Constant(baseValues), x[0]);
        }, Random(6, -2, 2, Dims(shape)));
    }

    [Test]
    public void PowGradientWithRespectToTheExponentIsZeroForNonPositiveBases()
    {
        // d/dy x^y = x^y ln x, taken as 0 where x <= 0 (TF's rule); d/dx = y x^(y-1).
        var grads = SymbolicGradients(x => TF.Pow(x[0], x[1]), null, D([-2, 0, 2], 3), D([2, 2, 2], 3));
        ShouldBe(grads[0], [-4, 0, 4], [3], "the base");
        ShouldBe(grads[1], [0, 0, 4 * Math.Log(2)], [3], "the exponent");
    }

    [Test]
    public void MaximumTiesSendTheWholeGradientToX()
    {
        var grads = SymbolicGradients(x => TF.Maximum(x[0], x[1]), D([10, 20, 30], 3), D([1, 2, 3], 3), D([1, 5, 0], 3));
        ShouldBe(grads[0], [10, 0, 30], [3], "x");
        ShouldBe(grads[1], [0, 20, 0], [3], "y");
    }

    [Test]
    public void MinimumTiesSendTheWholeGradientToX()
    {
        var grads = SymbolicGradients(x => TF.Minimum(x[0], x[1]), D([10, 20, 30], 3), D([1, 2, 3], 3), D([1, 5, 0], 3));
        ShouldBe(grads[0], [10, 20, 0], [3], "x");
        ShouldBe(grads[1], [0, 0, 30], [3], "y");
    }

    [Test]
    public void MaximumAndMinimumTiesWithABroadcastScalar()
    {
        var x = D([1, 0, 1, 2], 2, 2);
        var max = SymbolicGradients(t => TF.Maximum(t[0], t[1]), null, x, 1.0);
        ShouldBe(max[0], [1, 0, 1, 1], [2, 2], "Maximum's x");
        ShouldBe(max[1], [1], [], "Maximum's scalar y");
        var min = SymbolicGradients(t => TF.Minimum(t[0], t[1]), null, x, 1.0);
        ShouldBe(min[0], [1, 1, 1, 0], [2, 2], "Minimum's x");
        ShouldBe(min[1], [1], [], "Minimum's scalar y");
    }

    /// <summary>cond shape | x shape | y shape, for TF2's where_v2 (broadcasting throughout).</summary>
    private static readonly string[] WhereV2Shapes = ["3,4|3,4|3,4", "3,1|3,4|4", "4|3,1|", "3,4||1,4", "|2,3|2,3"];

    /// <summary>cond shape | x shape | y shape, for TF1's where: a vector condition against a matrix picks rows.</summary>
    private static readonly string[] WhereShapes = ["3,4|3,4|3,4", "2|2,3|2,3", "3|3,2|", "3|3,1|1,4", "|2,3|2,3"];

    private static void CheckWhere(string shapes, Func<Tensor, Tensor, Tensor, string?, Tensor> where)
    {
        var parts = shapes.Split('|').Select(Dims).ToArray();
        var rng = new Random(3);
        var cond = HostTensor.From(Enumerable.Range(0, (int)Shape.Product(parts[0])).Select(_ => rng.Next(2) == 0).ToArray(), parts[0]);
        if (cond.Size > 1) cond.ToArray<bool>().Should().Contain(true).And.Contain(false, "both branches are exercised");
        Check(x => where(x[0], x[1], x[2], null), cond, Random(1, -2, 2, parts[1]), Random(2, -2, 2, parts[2]));
    }

    [Test]
    public void Where([ValueSource(nameof(WhereShapes))] string shapes) => CheckWhere(shapes, TF.Where);

    [Test]
    public void WhereV2([ValueSource(nameof(WhereV2Shapes))] string shapes) => CheckWhere(shapes, TF.WhereV2);

    [Test]
    public void WhereRoutesTheGradientByTheCondition()
    {
        // where_v2: the vector condition broadcasts along the last axis (columns).
        var cond = HostTensor.From(new[] { false, true, true }, 3);
        var grads = SymbolicGradients(x => TF.WhereV2(x[0], x[1], x[2]), D([1, 2, 3, 4, 5, 6], 2, 3),
            cond, Random(1, -1, 1, 2, 3), 0.5);
        grads[0].Should().BeNull("the condition is bool");
        ShouldBe(grads[1], [0, 2, 3, 0, 5, 6], [2, 3], "x");
        ShouldBe(grads[2], [1 + 4], [], "the broadcast scalar y");
        // TF1's where: the vector condition picks rows.
        var rows = SymbolicGradients(x => TF.Where(x[0], x[1], x[2]), D([1, 2, 3, 4, 5, 6], 2, 3),
            HostTensor.From(new[] { false, true }, 2), Random(1, -1, 1, 2, 3), 0.5);
        ShouldBe(rows[1], [0, 0, 0, 4, 5, 6], [2, 3], "x");
        ShouldBe(rows[2], [1 + 2 + 3], [], "the broadcast scalar y");
    }

    [Test]
    public void CastRoundTripThroughFloat32PassesTheGradient()
    {
        Check(x => TF.Cast(TF.Cast(x[0], DType.Float32), DType.Float64), 1e-3, 1e-3, Random(1, -2, 2, 2, 3));
        Check(x => TF.Cast(TF.Tanh(TF.Cast(x[0], DType.Float32)) * TF.Cast(x[1], DType.Float32), DType.Float64),
            1e-3, 1e-3, Random(2, -2, 2, 2, 3), Random(3, -2, 2, 3));
    }

    [Test]
    public void CastThroughAnIntegerBlocksTheGradient()
    {
        var grads = SymbolicGradients(x => TF.Cast(TF.Cast(x[0], DType.Int32), DType.Float64) + x[1], null, D([1.5, 2.5], 2), D([1, 1], 2));
        grads[0].Should().BeNull("an integer tensor carries no gradient");
        ShouldBe(grads[1], [1, 1], [2], "the float path");
    }

    [Test]
    public void CSharpOperatorsBetweenTensors() =>
        Check(x => (x[0] + x[1]) * x[0] - x[1] / x[2] + -x[0] * x[2],
            Random(1, -2, 2, 3, 4), Random(2, -2, 2, 4), RandomAwayFromZero(3, 0.5, 2, 3, 1));

    [Test]
    public void CSharpOperatorsWithScalars() =>
        Check(x => 2.0 * x[0] + x[1] / 3.0 - 1.5 + 1.0 / x[1] - (0.5 - x[0]) + (x[0] + 2.0) * (x[1] - 1.0) + x[0] * 4.0 + (2.0 + x[1]),
            Random(1, -2, 2, 2, 3), RandomAwayFromZero(2, 0.5, 2, 3));

    [Test]
    public void PowWithNegativeBaseAndIntegerExponent([Values(2.0, 3.0)] double exponent) =>
        Check(x =>
        {
            using var _ = x[0].Graph.AsDefault();
            return TF.Pow(x[0], TF.Constant(exponent));
        }, RandomAwayFromZero(8, 0.5, 2, 2, 3));

    // ───────────────────────────── MatMul ─────────────────────────────

    [Test]
    public void MatMul([Values] bool ta, [Values] bool tb)
    {
        var a = Random(1, -1, 1, ta ? [4, 3] : [3, 4]);
        var b = Random(2, -1, 1, tb ? [2, 4] : [4, 2]);
        Check(x => TF.MatMul(x[0], x[1], ta, tb), a, b);
    }

    [Test]
    public void BatchMatMul([Values] bool ta, [Values] bool tb)
    {
        var a = Random(1, -1, 1, ta ? [2, 4, 3] : [2, 3, 4]);
        var b = Random(2, -1, 1, tb ? [2, 2, 4] : [2, 4, 2]);
        Check(x =>
        {
            var y = TF.MatMul(x[0], x[1], ta, tb);
            y.Op.Type.Should().Be("BatchMatMul");
            return y;
        }, a, b);
    }

    // ───────────────────────────── reductions ─────────────────────────────

    private static readonly Dictionary<string, Func<Tensor, int[]?, bool, Tensor>> Reductions = new()
    {
        ["Sum"] = (x, a, k) => TF.ReduceSum(x, a, k),
        ["Mean"] = (x, a, k) => TF.ReduceMean(x, a, k),
        ["Max"] = (x, a, k) => TF.ReduceMax(x, a, k),
        ["Min"] = (x, a, k) => TF.ReduceMin(x, a, k),
        ["Prod"] = (x, a, k) => TF.ReduceProd(x, a, k),
    };

    private static IEnumerable<string> ReductionNames => Reductions.Keys;

    /// <summary>Axes of a [2, 3, 4] input: "all" = null (every axis).</summary>
    private static readonly string[] ReductionAxes = ["all", "0,1,2", "0", "1", "2", "-1", "0,2", "-2,-1", "2,0"];

    [Test]
    public void Reduce([ValueSource(nameof(ReductionNames))] string op, [ValueSource(nameof(ReductionAxes))] string axes, [Values] bool keepDims)
    {
        var axis = axes == "all" ? null : Dims(axes);
        var input = op == "Prod" ? RandomAwayFromZero(4, 0.5, 1.5, 2, 3, 4) : Random(4, -2, 2, 2, 3, 4);
        Check(x => Reductions[op](x[0], axis, keepDims), input);
    }

    [Test]
    public void ReduceProdWithZerosMatchesFiniteDifferences([Values("all", "1", "0")] string axes)
    {
        // The product is multilinear, so central differences are exact even at zeros.
        var axis = axes == "all" ? null : Dims(axes);
        Check(x => TF.ReduceProd(x[0], axis), D([2, 0, 3, 4, 5, 6], 2, 3));
        Check(x => TF.ReduceProd(x[0], axis, keepDims: true), D([0, 2, 0, 1, 2, 3], 2, 3));
    }

    [Test]
    public void ReduceProdWithOneZeroHasTheExactGradient()
    {
        var rows = SymbolicGradients(x => TF.ReduceProd(x[0], [1]), null, D([2, 0, 3, 4, 5, 6], 2, 3));
        ShouldBe(rows[0], [0, 6, 0, 30, 24, 20], [2, 3], "ReduceProd over axis 1");
        var all = SymbolicGradients(x => TF.ReduceProd(x[0]), null, D([2, 0, 3, 4], 2, 2));
        ShouldBe(all[0], [0, 24, 0, 0], [2, 2], "ReduceProd over all axes");
        var weighted = SymbolicGradients(x => TF.ReduceProd(x[0], [-1], keepDims: true), D([2, -1], 2, 1), D([2, 0, 3, 4, 5, 6], 2, 3));
        ShouldBe(weighted[0], [0, 12, 0, -30, -24, -20], [2, 3], "weighted ReduceProd over axis -1 with keepDims");
    }

    [Test]
    public void ReduceProdWithTwoZerosHasTheExactGradient()
    {
        var rows = SymbolicGradients(x => TF.ReduceProd(x[0], [1]), null, D([0, 2, 0, 1, 2, 3], 2, 3));
        ShouldBe(rows[0], [0, 0, 0, 6, 3, 2], [2, 3], "ReduceProd over axis 1");
        var all = SymbolicGradients(x => TF.ReduceProd(x[0]), null, D([0, 2, 0, 3], 2, 2));
        ShouldBe(all[0], [0, 0, 0, 0], [2, 2], "ReduceProd over all axes");
    }

    [Test]
    public void ReduceMaxAndMinSplitTiesEvenly()
    {
        var max = SymbolicGradients(x => TF.ReduceMax(x[0], [1]), D([10, 6], 2), D([1, 3, 3, 2, 2, 2], 2, 3));
        ShouldBe(max[0], [0, 5, 5, 2, 2, 2], [2, 3], "ReduceMax over axis 1");
        var maxKeep = SymbolicGradients(x => TF.ReduceMax(x[0], [0], keepDims: true), null, D([1, 3, 3, 1, 2, 3], 2, 3));
        ShouldBe(maxKeep[0], [0.5, 1, 0.5, 0.5, 0, 0.5], [2, 3], "ReduceMax over axis 0 with keepDims");
        var min = SymbolicGradients(x => TF.ReduceMin(x[0]), null, D([1, 3, 1, 2, 1, 2], 2, 3));
        ShouldBe(min[0], [1.0 / 3, 0, 1.0 / 3, 0, 1.0 / 3, 0], [2, 3], "ReduceMin over all axes");
        var minNeg = SymbolicGradients(x => TF.ReduceMin(x[0], [-1]), D([4, 8], 2), D([5, 5, 7, 1, 9, 9], 2, 3));
        ShouldBe(minNeg[0], [2, 2, 0, 8, 0, 0], [2, 3], "ReduceMin over axis -1");
    }

    // ───────────────────────────── softmax and cross-entropy ─────────────────────────────

    [Test]
    public void Softmax([Values("4", "2,3", "2,2,3")] string shape) =>
        Check(x => TF.Nn.Softmax(x[0]), Random(1, -2, 2, Dims(shape)));

    [Test]
    public void LogSoftmax([Values("4", "2,3", "2,2,3")] string shape) =>
        Check(x => TF.Nn.LogSoftmax(x[0]), Random(1, -2, 2, Dims(shape)));

    [Test]
    public void SparseSoftmaxCrossEntropyWithLogits([Values(DType.Int32, DType.Int64)] DType labelType)
    {
        var labels = HostTensor.From(new[] { 2, 0, 1, 2 }, 4).AsType(labelType);
        Check(x => TF.Nn.SparseSoftmaxCrossEntropyWithLogits(x[1], x[0]), Random(1, -2, 2, 4, 3), labels);
        var labels3 = HostTensor.From(new[] { 1, 0, 3, 3 }, 2, 2).AsType(labelType);
        Check(x => TF.Nn.SparseSoftmaxCrossEntropyWithLogits(x[1], x[0]), Random(2, -2, 2, 2, 2, 4), labels3);
    }

    [Test]
    public void SparseSoftmaxCrossEntropyExactGradient()
    {
        // d/d logits = softmax(logits) - one_hot(labels); with equal logits softmax is uniform.
        var grads = SymbolicGradients(x => TF.Nn.SparseSoftmaxCrossEntropyWithLogits(x[1], x[0]), null,
            D([0, 0, 0, 0, 0, 0], 2, 3), HostTensor.From(new long[] { 2, 0 }, 2));
        ShouldBe(grads[0], [1.0 / 3, 1.0 / 3, -2.0 / 3, -2.0 / 3, 1.0 / 3, 1.0 / 3], [2, 3], "the logits");
        grads[1].Should().BeNull("integer labels have no gradient");
    }

    [Test]
    public void SoftmaxCrossEntropyWithLogitsV2WrtLogitsAndLabels()
    {
        Check(x => TF.Nn.SoftmaxCrossEntropyWithLogitsV2(x[1], x[0]), Random(1, -2, 2, 3, 4), Distributions(2, 3, 4));
        // Labels must be distributions: like TF's kernel, the logits gradient is softmax - labels, which is the true
        // derivative only when each row of labels sums to 1.
        Check(x => TF.Nn.SoftmaxCrossEntropyWithLogitsV2(x[1], x[0]), Random(3, -2, 2, 2, 5), Distributions(4, 2, 5));
    }

    /// <summary>TF1's first softmax_cross_entropy_with_logits stops the gradient at the labels (only _v2 lets it flow).</summary>
    [Test]
    public void SoftmaxCrossEntropyWithLogitsGivesTheLabelsNoGradient()
    {
        var grads = SymbolicGradients(x => TF.Nn.SoftmaxCrossEntropyWithLogits(x[1], x[0]), null, D([1, 2, 0, 0], 2, 2), D([0.2, 0.8, 0.5, 0.5], 2, 2));
        grads[0].Should().NotBeNull();
        grads[1].Should().BeNull("v1 wraps the labels in stop_gradient");
        Check(x => TF.Nn.SoftmaxCrossEntropyWithLogits(TF.Constant(Distributions(2, 3, 4)), x[0]), Random(1, -2, 2, 3, 4));
    }

    // ───────────────────────────── array ops ─────────────────────────────

    [Test]
    public void Reshape([Values("6,4", "-1,4", "2,-1,2", "24")] string shape) =>
        Check(x => TF.Square(TF.Reshape(x[0], Dims(shape))), Random(1, -2, 2, 2, 3, 4));

    [Test]
    public void Transpose([Values("2,0,1", "1,0,2", "0,2,1", "2,1,0")] string perm) =>
        Check(x => TF.Square(TF.Transpose(x[0], Dims(perm))), Random(1, -2, 2, 2, 3, 4));

    [Test]
    public void TransposeReversesByDefault() =>
        Check(x => TF.MatMul(TF.Transpose(x[0]), x[1]), Random(1, -2, 2, 3, 2), Random(2, -2, 2, 3, 4));

    [Test]
    public void ExpandDims([Values(0, 1, 2, -1, -3)] int axis) =>
        Check(x => TF.ExpandDims(x[0], axis) * x[1], Random(1, -2, 2, 2, 3), Random(2, -2, 2, 1));

    [Test]
    public void Squeeze([Values("all", "0", "2", "-1", "0,2")] string axes)
    {
        var axis = axes == "all" ? null : Dims(axes);
        Check(x => TF.Square(TF.Squeeze(x[0], axis)), Random(1, -2, 2, 1, 3, 1));
    }

    [Test]
    public void Stack([Values(0, 1, 2, -1)] int axis) =>
        Check(x => TF.Square(TF.Stack([x[0], x[1], x[0] * x[1]], axis)), Random(1, -2, 2, 2, 3), Random(2, -2, 2, 2, 3));

    [Test]
    public void Unstack([Values(0, 1, -1)] int axis) =>
        Check(x => TF.Stack(TF.Unstack(x[0], axis).Select((t, i) => t * (i + 1.0)).ToArray(), 0), Random(1, -2, 2, 3, 4));

    [Test]
    public void UnstackWithSomeOutputsUnused()
    {
        Check(x =>
        {
            var rows = TF.Unstack(x[0], 0);
            return rows[0] * rows[2];
        }, Random(1, -2, 2, 3, 4));
        Check(x =>
        {
            var columns = TF.Unstack(x[0], 1);
            return TF.Stack([columns[3], columns[1]]);
        }, Random(2, -2, 2, 3, 4));
        var grads = SymbolicGradients(x => TF.Unstack(x[0], 1)[1], null, D([1, 2, 3, 4, 5, 6], 2, 3));
        ShouldBe(grads[0], [0, 1, 0, 0, 1, 0], [2, 3], "the unstacked input");
    }

    [Test]
    public void Concat([Values(0, 1, -1)] int axis)
    {
        int[] Part(int along) => axis == 0 ? [along, 3] : [2, along];
        Check(x => TF.Square(TF.Concat([x[0], x[1], x[2]], axis)), Random(1, -2, 2, Part(1)), Random(2, -2, 2, Part(2)), Random(3, -2, 2, Part(3)));
    }

    [Test]
    public void ConcatOfOneTensorUsedTwice() =>
        Check(x => TF.Concat([x[0], TF.Tanh(x[0]), x[1]], 1), Random(1, -2, 2, 2, 2), Random(2, -2, 2, 2, 1));

    [Test]
    public void SplitIntoEqualParts([Values(0, 1, -1)] int axis)
    {
        Check(x =>
        {
            var parts = TF.Split(x[0], 3, axis);
            return parts[0] * parts[1] + parts[2];
        }, Random(1, -2, 2, 6, 6));
        Check(x =>
        {
            var parts = TF.Split(x[0], 3, axis);
            return parts[0] * parts[2]; // the middle part is unused
        }, Random(2, -2, 2, 3, 3));
    }

    [Test]
    public void SplitBySizes()
    {
        Check(x =>
        {
            var parts = TF.Split(x[0], [2, -1, 1], 0);
            return TF.Concat([parts[2], parts[0]], 0); // the middle part is unused
        }, Random(1, -2, 2, 5, 3));
        Check(x =>
        {
            var parts = TF.Split(x[0], [1, 3], -1);
            return TF.Square(parts[1]);
        }, Random(2, -2, 2, 2, 4));
        var grads = SymbolicGradients(x => TF.Split(x[0], [1, 2], 0)[1], null, D([1, 2, 3], 3));
        ShouldBe(grads[0], [0, 1, 1], [3], "the split input");
    }

    [Test]
    public void Slice()
    {
        Check(x => TF.Square(TF.Slice(x[0], [1, 1], [2, -1])), Random(1, -2, 2, 3, 4));
        Check(x => TF.Slice(x[0], [0, 1, 2], [-1, 2, 2]) * x[1], Random(2, -2, 2, 2, 3, 4), Random(3, -2, 2, 2));
        var grads = SymbolicGradients(x => TF.Slice(x[0], [1], [2]), D([5, 7], 2), D([1, 2, 3, 4], 4));
        ShouldBe(grads[0], [0, 5, 7, 0], [4], "the sliced input");
    }

    [Test]
    public void Gather([Values(0, 1)] int axis, [Values(DType.Int32, DType.Int64)] DType indexType)
    {
        var indices = HostTensor.From(axis == 0 ? new[] { 2, 0, 2, 2 } : [3, 0, 3, 1, 0], axis == 0 ? 4 : 5).AsType(indexType);
        Check(x => TF.Square(TF.Gather(x[0], x[1], axis)), Random(1, -2, 2, 3, 4), indices);
        var matrixIndices = HostTensor.From(new[] { 1, 1, 0, 1 }, 2, 2).AsType(indexType);
        Check(x => TF.Gather(x[0], x[1], axis) * x[2], Random(2, -2, 2, 2, 2), matrixIndices, Random(3, -2, 2, 2));
    }

    [Test]
    public void GatherAccumulatesRepeatedIndices()
    {
        var grads = SymbolicGradients(x => TF.Gather(x[0], x[1]), D([1, 10, 100, 1000], 4), D([5, 6, 7], 3), HostTensor.From(new[] { 0, 2, 0, 0 }, 4));
        ShouldBe(grads[0], [1 + 100 + 1000, 0, 10], [3], "the gathered params");
        var columns = SymbolicGradients(x => TF.Gather(x[0], x[1], 1), null, D([1, 2, 3, 4, 5, 6], 2, 3), HostTensor.From(new[] { 2, 2, 1 }, 3));
        ShouldBe(columns[0], [0, 1, 2, 0, 1, 2], [2, 3], "params gathered along axis 1");
    }

    [Test]
    public void Tile([Values("2,1", "1,3", "2,2", "1,1")] string multiples) =>
        Check(x => TF.Square(TF.Tile(x[0], Dims(multiples))), Random(1, -2, 2, 2, 3));

    [Test]
    public void TileRank3() =>
        Check(x => TF.Tile(x[0], [2, 1, 3]) * TF.Constant(Random(5, -1, 1, 4, 3, 6)), Random(1, -2, 2, 2, 3, 2));

    [Test]
    public void Identity() => Check(x => TF.Square(TF.Identity(x[0])) + TF.Identity(x[0]), Random(1, -2, 2, 2, 3));

    [Test]
    public void FillGradientWrtTheScalarValue()
    {
        Check(x => TF.Square(TF.Fill([2, 3], x[0])) * TF.Constant(Random(3, -1, 1, 2, 3)), Random(1, -2, 2));
        var grads = SymbolicGradients(x => TF.Fill([2, 3], x[0]), D([1, 2, 3, 4, 5, 6], 2, 3), 0.5);
        ShouldBe(grads[0], [21], [], "the fill value");
    }

    [Test]
    public void CompositeMlp()
    {
        var labels = HostTensor.From(new[] { 1, 0, 2, 1 }, 4);
        Check(x =>
        {
            var hidden = TF.Relu(TF.MatMul(x[0], x[1]) + x[2]);
            var gate = TF.Sigmoid(TF.Slice(hidden, [0, 0], [-1, 1]));
            var logits = TF.MatMul(TF.Tanh(hidden) * gate, x[3], transposeB: true) + x[4];
            var xent = TF.ReduceMean(TF.Nn.SparseSoftmaxCrossEntropyWithLogits(x[5], logits));
            var l2 = TF.ReduceSum(TF.Square(x[1])) * 0.01 + TF.ReduceSum(TF.Square(x[3])) * 0.01;
            return xent + l2 + TF.ReduceMax(TF.Nn.Softmax(logits), [1], keepDims: true) / TF.Exp(x[4]);
        },
        Random(1, -1, 1, 4, 3), Random(2, -1, 1, 3, 5), Random(3, 0.2, 0.5, 5), Random(4, -1, 1, 3, 5), Random(5, -0.5, 0.5, 3), labels);
    }

    [Test]
    public void Float32GraphBetweenCasts()
    {
        // The same MLP computed in float32: the gradient flows through float32 ops and both casts.
        var labels = HostTensor.From(new[] { 1, 0, 2 }, 3);
        Check(x =>
        {
            var input = TF.Cast(x[0], DType.Float32);
            var w = TF.Cast(x[1], DType.Float32);
            var hidden = TF.Tanh(TF.MatMul(input, w) + TF.Cast(x[2], DType.Float32));
            var loss = TF.ReduceMean(TF.Nn.SparseSoftmaxCrossEntropyWithLogits(x[3], hidden));
            return TF.Cast(loss + TF.ReduceMean(TF.Square(w)), DType.Float64);
        }, 1e-2, 2e-3, Random(1, -1, 1, 3, 2), Random(2, -1, 1, 2, 3), Random(3, -1, 1, 3), labels);
    }

    [Test]
    public void SecondOrderGradientOfElementwiseOps() =>
        // The gradient ops of element-wise ops (with broadcasting) are themselves differentiable.
        Check(x => TF.Gradients(TF.Square(x[0]) * x[0] * x[1] + TF.Tanh(x[0]) - TF.Sigmoid(x[1]) / x[0], x[0], x[1])
                .Select(t => t!).Aggregate((a, b) => a + b),
            RandomAwayFromZero(1, 0.5, 2, 3, 4), Random(2, -1, 1, 4));

    private static readonly Dictionary<string, Func<Tensor, Tensor>> FirstOrderLosses = new()
    {
        ["ReduceSum"] = x => TF.ReduceSum(x * x * x),
        ["ReduceMean"] = x => TF.ReduceMean(x * x * x, [1]),
        ["ReduceMax"] = x => TF.ReduceMax(x * x * x, [0]),
        ["Tile"] = x => TF.Tile(x * x * x, [2, 1]),
        ["Slice"] = x => TF.Slice(x * x * x, [0, 1], [2, 2]),
        ["Concat"] = x => TF.Concat([x * x * x, TF.Square(x)], 1),
        ["Gather"] = x => TF.Gather(x * x * x, TF.Constant(new[] { 1, 1, 0 })),
        ["Unstack"] = x => TF.Unstack(x * x * x, 1)[2],
    };

    private static IEnumerable<string> FirstOrderLossNames => FirstOrderLosses.Keys;

    /// <summary>
    /// Second derivatives (as tf.hessians and gradient penalties need): the gradient ops that reductions and array
    /// ops emit must themselves be differentiable.
    /// </summary>
    [Test]
    public void SecondOrderGradientThrough([ValueSource(nameof(FirstOrderLossNames))] string op) =>
        Check(x => TF.Gradients(FirstOrderLosses[op](x[0]), x[0])[0]!, Random(1, 0.5, 2, 2, 3));

    // ───────────────────────────── unknown static dimensions ─────────────────────────────

    [Test]
    public void UnknownBatchDimensionInAffineGraph() =>
        CheckWithPlaceholderShapes(x =>
        {
            x[0].Shape.IsFullyDefined.Should().BeFalse("the batch dimension is unknown when the graph is built");
            return TF.Tanh(TF.MatMul(x[0], x[1]) + x[2]);
        }, [new Shape(-1, 3), new Shape(3, 2), new Shape(2)], Random(1, -1, 1, 4, 3), Random(2, -1, 1, 3, 2), Random(3, -1, 1, 2));

    [Test]
    public void UnknownBatchDimensionWithBroadcastAddAndMean() =>
        CheckWithPlaceholderShapes(x =>
        {
            x[0].Shape.Dims.Should().Equal([-1, 3], "the batch dimension is unknown when the graph is built");
            return TF.ReduceMean(TF.Square(x[0] + x[1]), [0]) + TF.ReduceMean(x[0] * x[1]);
        }, [new Shape(-1, 3), new Shape(3)], Random(1, -1, 1, 4, 3), Random(2, -1, 1, 3));

    [Test]
    public void UnknownDimensionsOnBothSidesOfABroadcast() =>
        CheckWithPlaceholderShapes(x => x[0] * x[1] - x[1], [new Shape(-1, 1), new Shape(1, -1)], Random(1, -1, 1, 3, 1), Random(2, -1, 1, 1, 4));

    [Test]
    public void UnknownRankInABroadcastingGraph() =>
        CheckWithPlaceholderShapes(x =>
        {
            x[0].Shape.HasRank.Should().BeFalse();
            return TF.Sigmoid(x[0] + x[1]) * x[0];
        }, [Shape.Unknown, new Shape(3)], Random(1, -1, 1, 2, 3), Random(2, -1, 1, 3));

    [Test]
    public void UnknownBatchDimensionInClassifierLoss() =>
        CheckWithPlaceholderShapes(x =>
            TF.ReduceMean(TF.Nn.SparseSoftmaxCrossEntropyWithLogits(x[3], TF.MatMul(x[0], x[1]) + x[2])),
            [new Shape(-1, 3), new Shape(3, 4), new Shape(4), new Shape(-1)],
            Random(1, -1, 1, 5, 3), Random(2, -1, 1, 3, 4), Random(3, -1, 1, 4), HostTensor.From(new[] { 0, 3, 1, 1, 2 }, 5));

    [Test]
    public void UnknownBatchDimensionThroughReshapeAndReductions() =>
        CheckWithPlaceholderShapes(x =>
            TF.ReduceSum(TF.Reshape(x[0], [-1, 2, 2]) * x[1], [2]) + TF.ReduceMax(x[0], [1], keepDims: true) + TF.ReduceProd(x[0], [-1], keepDims: true),
            [new Shape(-1, 4), new Shape(2)], Random(1, 0.5, 1.5, 3, 4), Random(2, -1, 1, 2));

    /// <summary>Ops applied to a [3, 4] input whose static shape is partly or wholly unknown when the graph is built.</summary>
    private static readonly Dictionary<string, Func<Tensor, Tensor>> ShapeAgnosticOps = new()
    {
        ["Tile"] = x => TF.Square(TF.Tile(x, [2, 1])),
        ["Slice"] = x => TF.Square(TF.Slice(x, [1, 0], [-1, 2])),
        ["SplitBySizes"] = x => TF.Split(x, [1, 3], 1)[1] * 2.0,
        ["Transpose"] = x => TF.Square(TF.Transpose(x, [1, 0])),
        ["ExpandDims"] = x => TF.Square(TF.ExpandDims(x, 1)),
        ["Squeeze"] = x => TF.Square(TF.Squeeze(TF.ExpandDims(x, 1), [1])),
        ["Stack"] = x => TF.Stack([x, TF.Square(x)], 1),
        ["Concat"] = x => TF.Concat([x, TF.Square(x)], 0),
        ["GatherAxis0"] = x => TF.Square(TF.Gather(x, TF.Constant(new[] { 2, 0, 2 }), 0)),
        ["GatherAxis1"] = x => TF.Square(TF.Gather(x, TF.Constant(new[] { 3, 3, 1 }), 1)),
        ["Reshape"] = x => TF.Square(TF.Reshape(x, [-1])),
        ["Where"] = x => TF.Where(TF.Greater(x, TF.ZerosLike(x)), TF.Square(x), x * 3.0),
        ["Softmax"] = x => TF.Nn.Softmax(x),
        ["LogSoftmax"] = x => TF.Nn.LogSoftmax(x),
        ["ReduceMaxKeepDims"] = x => TF.ReduceMax(x, [-1], keepDims: true) * x,
        ["ReduceMean"] = x => TF.ReduceMean(TF.Square(x), [0]),
        ["ReduceProd"] = x => TF.ReduceProd(x, [1]),
        ["MaximumWithBroadcast"] = x => TF.Maximum(x, TF.Constant(new double[] { 0.05, -0.05, 0.15, -0.15 })),
    };

    private static IEnumerable<string> ShapeAgnosticOpNames => ShapeAgnosticOps.Keys;

    [Test]
    public void UnknownBatchDimensionThroughOp([ValueSource(nameof(ShapeAgnosticOpNames))] string op) =>
        CheckWithPlaceholderShapes(x => ShapeAgnosticOps[op](x[0]), [new Shape(-1, 4)], RandomAwayFromZero(1, 0.5, 1.5, 3, 4));

    [Test]
    public void UnknownRankThroughOp([ValueSource(nameof(ShapeAgnosticOpNames))] string op) =>
        CheckWithPlaceholderShapes(x => ShapeAgnosticOps[op](x[0]), [Shape.Unknown], RandomAwayFromZero(1, 0.5, 1.5, 3, 4));

    // ───────────────────────────── TF.Gradients semantics ─────────────────────────────

    [Test]
    public void StopGradientBlocksThePath()
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var x = TF.Constant(new double[] { 1, 2, 3 });
        var z = TF.Constant(new double[] { 4, 5, 6 });
        // y = x·sg(x) + sg(z·x)·z: only the first factor x and the last z carry gradient.
        var y = x * TF.StopGradient(x) + TF.StopGradient(z * x) * z;
        var grads = TF.Gradients(y, x, z);
        var onlyStopped = TF.Gradients(TF.StopGradient(x * x) * 3.0, x)[0];
        onlyStopped.Should().BeNull("the only path from x goes through StopGradient");
        using var sess = new Session(g);
        sess.Run(grads[0]!).ToArray<double>().Should().Equal([1, 2, 3], "d/dx x·sg(x) = sg(x), not 2x");
        sess.Run(grads[1]!).ToArray<double>().Should().Equal([4, 10, 18], "d/dz sg(z·x)·z = z·x, not 2z·x");
    }

    [Test]
    public void AnXThatYDoesNotDependOnGetsNull()
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var x = TF.Placeholder(DType.Float64, new Shape(2), "x");
        var unused = TF.Placeholder(DType.Float64, new Shape(2), "unused");
        var downstream = TF.Square(x); // depends on x but y does not depend on it
        var y = TF.ReduceSum(x * 3.0);
        var grads = TF.Gradients(y, x, unused, downstream);
        grads[0].Should().NotBeNull();
        grads[1].Should().BeNull("y does not depend on it");
        grads[2].Should().BeNull("y does not depend on it");
    }

    [Test]
    public void TwoPathsToTheSameXAreSummed()
    {
        var grads = SymbolicGradients(x => x[0] * x[0] + x[0], null, D([-1, 0.5, 2], 3));
        ShouldBe(grads[0], [-1, 2, 5], [3], "x (2x + 1)");
        var manyPaths = SymbolicGradients(x => TF.Square(x[0]) * x[0] + TF.Exp(x[0]) - x[0] / 2.0, null, D([1, -2], 2));
        ShouldBe(manyPaths[0], [3 + Math.E - 0.5, 12 + Math.Exp(-2) - 0.5], [2], "x (3x² + eˣ - 1/2)");
    }

    [Test]
    public void GradientsWithRespectToAnInt32TensorThrow()
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var i = TF.Placeholder(DType.Int32, new Shape(2), "i");
        var y = TF.ReduceSum(TF.Cast(i, DType.Float64));
        var act = () => TF.Gradients(y, i);
        act.Should().Throw<InvalidArgumentException>().Where(e => e.Message.Contains("int32"));
    }

    [Test]
    public void TheGradientOfXWithRespectToItselfIsOnes()
    {
        var grads = SymbolicGradients(x => x[0], null, D([3, -4], 2));
        ShouldBe(grads[0], [1, 1], [2], "x");
    }

    [Test]
    public void GradYsOfTheWrongShapeOrCountAndNonFloatYsThrow()
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var x = TF.Placeholder(DType.Float64, new Shape(3), "x");
        var y = x * x;
        var wrongShape = () => TF.Gradients([y], [x], [TF.Constant(new double[] { 1, 2 })]);
        wrongShape.Should().Throw<InvalidArgumentException>().Where(e => e.Message.Contains("grad_ys"));
        var wrongCount = () => TF.Gradients([y], [x], []);
        wrongCount.Should().Throw<InvalidArgumentException>();
        var intY = () => TF.Gradients(TF.Cast(x, DType.Int32), x);
        intY.Should().Throw<InvalidArgumentException>().Where(e => e.Message.Contains("int32"));
        var noYs = () => TF.Gradients([], [x]);
        noYs.Should().Throw<InvalidArgumentException>();
    }

    [Test]
    public void GradYsWeightANonScalarY()
    {
        var grads = SymbolicGradients(x => x[0] * x[0], D([1, 2, 3, 4, 5, 6], 2, 3), D([1, 1, 1, 2, 2, 2], 2, 3));
        ShouldBe(grads[0], [2, 4, 6, 16, 20, 24], [2, 3], "x");
        var twoYs = new ComputeGraph();
        using (twoYs.AsDefault())
        {
            var x = TF.Constant(new double[] { 1, 2 });
            var grad = TF.Gradients([x * x, x * 3.0], [x], [TF.Constant(new double[] { 1, -1 }), TF.Constant(new double[] { 2, 2 })])[0]!;
            using var sess = new Session(twoYs);
            sess.Run(grad).ToArray<double>().Should().Equal([2 * 1 + 6, -2 * 2 + 6], "each y is weighted by its grad_ys and the results summed");
        }
    }

    [Test]
    public void WithoutGradYsANonScalarYIsSummed()
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var x = TF.Constant(new double[] { 1, 2, 3, 4, 5, 6 });
        var x2 = TF.Reshape(x, [2, 3]);
        var y = x2 * x2;
        var implicitSum = TF.Gradients(y, x)[0]!;
        var explicitSum = TF.Gradients(TF.ReduceSum(y), x)[0]!;
        using var sess = new Session(g);
        sess.Run(implicitSum).ToArray<double>().Should().Equal([2, 4, 6, 8, 10, 12]);
        sess.Run(explicitSum).ToArray<double>().Should().Equal(sess.Run(implicitSum).ToArray<double>());
    }
}
