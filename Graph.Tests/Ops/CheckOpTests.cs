using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

/// <summary>
/// TF1's debugging ops — CheckNumerics, Assert, the tf.debugging assertions, add_check_numerics_ops — and the integer
/// division ops FloorDiv and TruncateDiv: shape rules, values, failures naming the op, and gradients.
/// </summary>
[TestFixture("cpu")]
[TestFixture("ilgpu-cpu")]
[TestFixture("cuda", Category = "Cuda")]
public class CheckOpTests(string device) : GraphFixture(device)
{
    private HostTensor Run(Tensor fetch, Tensor? fed = null, HostTensor? value = null)
    {
        using var s = NewSession();
        return s.Run(fetch, fed == null ? null : new FeedDict { { fed, value! } });
    }

    private void RunTarget(Operation target, Tensor fed, HostTensor value)
    {
        using var s = NewSession();
        s.Run(target, new FeedDict { { fed, value } });
    }

    // ───────────────────────────── CheckNumerics ─────────────────────────────

    [Test]
    public void CheckNumerics_PassesFiniteValuesThroughWithTheirShape()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 2));
        var y = TF.CheckNumerics(x, "x");
        y.Shape.Should().Equal(-1, 2);
        y.DType.Should().Be(DType.Float32);
        y.Op.Type.Should().Be("CheckNumerics");
        Run(y * 2f, x, new[,] { { 1f, -2f }, { 3e38f, 0f } }).ToArray<float>().Should().Equal(2f, -4f, float.PositiveInfinity, 0f);
        var d = TF.Placeholder(DType.Float64, new Shape(3));
        Run(TF.CheckNumerics(d, "d"), d, new[] { 1.5, -1e308, 0 }).ToArray<double>().Should().Equal(1.5, -1e308, 0);
    }

    [TestCase(float.NaN, 1f, "NaN")]
    [TestCase(float.PositiveInfinity, 1f, "Inf")]
    [TestCase(float.NegativeInfinity, float.NaN, "Inf and NaN")]
    public void CheckNumerics_FailsOnNaNOrInfinityNamingTheOp(float a, float b, string found)
    {
        var x = TF.Placeholder(DType.Float32, new Shape(2));
        var y = TF.CheckNumerics(x * 1f, "activations went bad", name: "check_act");
        var act = () => Run(y, x, new[] { a, b });
        act.Should().Throw<InvalidArgumentException>().Which.Message.Should()
            .Contain("check_act").And.Contain("activations went bad : Tensor had " + found + " values");
    }

    [Test]
    public void CheckNumerics_RefusesIntegersWhenBuilt()
    {
        var act = () => TF.CheckNumerics(TF.Constant(new[] { 1, 2 }), "ints");
        act.Should().Throw<InvalidArgumentException>().WithMessage("*CheckNumerics*float32 or float64*int32*");
    }

    [Test]
    public void CheckNumerics_GradientPassesThroughAndIsCheckedItself()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(3), name: "x");
        var w = TF.Placeholder(DType.Float32, new Shape(3), name: "w");
        var loss = TF.ReduceSum(TF.CheckNumerics(x, "forward") * w);
        var grad = TF.Gradients(loss, x)[0]!;
        using var s = NewSession();
        var feeds = new FeedDict { { x, new[] { 1f, 2f, 3f } }, { w, new[] { 4f, 5f, 6f } } };
        s.Run(grad, feeds).ToArray<float>().Should().Equal(4f, 5f, 6f);
        var act = () => s.Run(grad, new FeedDict { { x, new[] { 1f, 2f, 3f } }, { w, new[] { 4f, float.NaN, 6f } } });
        act.Should().Throw<InvalidArgumentException>().WithMessage("*NaN*detected in gradient*forward*");
        // The forward check runs with the gradient even though the gradient does not read the checked value.
        var forward = () => s.Run(grad, new FeedDict { { x, new[] { 1f, float.PositiveInfinity, 3f } }, { w, new[] { 4f, 5f, 6f } } });
        forward.Should().Throw<InvalidArgumentException>().WithMessage("*forward : Tensor had Inf values*");
    }

    [Test]
    public void CheckNumerics_GradientMatchesFiniteDifferences()
    {
        if (Device != "cpu") Assert.Ignore("Finite differences run on the cpu device (GradientCheck).");
        GradientCheck.Check(x => TF.ReduceSum(TF.Square(TF.CheckNumerics(x[0], "x")) * 0.5), GradientCheck.Random(1, -2, 2, 2, 3));
    }

    [Test]
    public void AddCheckNumericsOps_NamesTheFirstTensorThatWentBad()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(2), name: "x");
        var y = TF.Log(x, name: "log") * 2f;
        var checks = TF.AddCheckNumericsOps();
        checks.Type.Should().Be("NoOp");
        using var s = NewSession();
        s.Run([y], [checks], new FeedDict { { x, new[] { 1f, 2f } } });
        var act = () => s.Run([y], [checks], new FeedDict { { x, new[] { 1f, 0f } } });
        act.Should().Throw<InvalidArgumentException>().WithMessage("*log:0 : Tensor had Inf values*");
    }

    // ───────────────────────────── Assert and tf.debugging ─────────────────────────────

    [Test]
    public void Assert_PrintsItsMessageAndDataWhenTheConditionFails()
    {
        var x = TF.Placeholder(DType.Int32, new Shape(-1), name: "x");
        var assert = TF.Assert(TF.Less(TF.ReduceMax(x), TF.Constant(10)), [x], summarize: 4, message: "x must stay below 10");
        assert.Type.Should().Be("Assert");
        assert.Outputs.Should().BeEmpty();
        RunTarget(assert, x, new[] { 1, 2, 3 });
        var act = () => RunTarget(assert, x, new[] { 1, 20, 3, 4, 5, 6 });
        act.Should().Throw<InvalidArgumentException>().Which.Message.Should()
            .Contain("Assert").And.Contain("assertion failed: x must stay below 10").And.Contain("[1 20 3 4...]");
    }

    [Test]
    public void Assert_RefusesANonBoolCondition()
    {
        var act = () => TF.Assert(TF.Constant(1f));
        act.Should().Throw<InvalidArgumentException>().WithMessage("*Assert*bool condition*float32*");
        var negative = () => TF.Assert(TF.Constant(true), summarize: -1);
        negative.Should().Throw<InvalidArgumentException>().WithMessage("*summarize*");
    }

    private static readonly (string Name, Func<Tensor, Tensor, Operation> Make, float[] Good, float[] Bad, string Relation)[] Comparisons =
    [
        ("AssertEqual", (x, y) => TF.Debugging.AssertEqual(x, y), [1, 2], [1, 3], "x == y"),
        ("AssertNoneEqual", (x, y) => TF.Debugging.AssertNoneEqual(x, y), [0, 3], [0, 2], "x != y"),
        ("AssertLess", (x, y) => TF.Debugging.AssertLess(x, y), [0, 1], [0, 2], "x < y"),
        ("AssertLessEqual", (x, y) => TF.Debugging.AssertLessEqual(x, y), [1, 2], [1, 2.5f], "x <= y"),
        ("AssertGreater", (x, y) => TF.Debugging.AssertGreater(x, y), [2, 3], [2, 2], "x > y"),
        ("AssertGreaterEqual", (x, y) => TF.Debugging.AssertGreaterEqual(x, y), [1, 2], [0.5f, 2], "x >= y"),
    ];

    public static IEnumerable<string> ComparisonNames => Comparisons.Select(c => c.Name);

    /// <summary>y is [1, 2]; each assertion holds for its good x and fails for its bad x, printing both operands.</summary>
    [TestCaseSource(nameof(ComparisonNames))]
    public void DebuggingComparisons_HoldOrFailElementWise(string name)
    {
        var c = Comparisons.Single(k => k.Name == name);
        var x = TF.Placeholder(DType.Float32, new Shape(2), name: "x");
        var y = TF.Constant(new[] { 1f, 2f }, name: "y");
        var assert = c.Make(x, y);
        RunTarget(assert, x, c.Good);
        var act = () => RunTarget(assert, x, c.Bad);
        act.Should().Throw<InvalidArgumentException>().Which.Message.Should()
            .Contain($"Condition {c.Relation} did not hold").And.Contain("x (x:0) =").And.Contain("y (y:0) =").And.Contain("[1 2]");
    }

    [TestCase("AssertPositive", 1f, 0f, "x > 0")]
    [TestCase("AssertNegative", -1f, 0f, "x < 0")]
    [TestCase("AssertNonNegative", 0f, -1f, "x >= 0")]
    [TestCase("AssertNonPositive", 0f, 1f, "x <= 0")]
    public void DebuggingSignAssertions_HoldOrFail(string name, float good, float bad, string relation)
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1), name: "x");
        var assert = name switch
        {
            "AssertPositive" => TF.Debugging.AssertPositive(x, message: "sign"),
            "AssertNegative" => TF.Debugging.AssertNegative(x, message: "sign"),
            "AssertNonNegative" => TF.Debugging.AssertNonNegative(x, message: "sign"),
            _ => TF.Debugging.AssertNonPositive(x, message: "sign"),
        };
        RunTarget(assert, x, new[] { good, good });
        var act = () => RunTarget(assert, x, new[] { good, bad });
        act.Should().Throw<InvalidArgumentException>().WithMessage($"*sign Condition {relation} did not hold element-wise:*");
    }

    [Test]
    public void AssertAllFinite_ReturnsTheTensorChecked()
    {
        var x = TF.Placeholder(DType.Float64, new Shape(2));
        var y = TF.Debugging.AssertAllFinite(x, "weights");
        Run(y, x, new[] { 1.0, 2.0 }).ToArray<double>().Should().Equal(1.0, 2.0);
        var act = () => Run(y, x, new[] { 1.0, double.NaN });
        act.Should().Throw<InvalidArgumentException>().WithMessage("*weights : Tensor had NaN values*");
    }

    // ───────────────────────────── FloorDiv and TruncateDiv ─────────────────────────────

    [Test]
    public void RoundedDivision_ShapeRuleBroadcastsAndKeepsTheDType()
    {
        var a = TF.Placeholder(DType.Int64, new Shape(-1, 3));
        var b = TF.Placeholder(DType.Int64, new Shape(3));
        TF.FloorDiv(a, b).Shape.Should().Equal(-1, 3);
        TF.TruncateDiv(a, b).DType.Should().Be(DType.Int64);
        TF.FloorDiv(TF.Placeholder(DType.Float32, new Shape(2, 1)), TF.Placeholder(DType.Float32, new Shape(4))).Shape.Should().Equal(2, 4);
        var mixed = () => TF.FloorDiv(a, TF.Constant(2));
        mixed.Should().Throw<InvalidArgumentException>().WithMessage("*FloorDiv*int32*int64*");
        var incompatible = () => TF.TruncateDiv(TF.Placeholder(DType.Int32, new Shape(2)), TF.Placeholder(DType.Int32, new Shape(3)));
        incompatible.Should().Throw<InvalidArgumentException>().WithMessage("*TruncateDiv*(2,)*(3,)*");
        var booleans = () => TF.FloorDiv(TF.Constant(true), TF.Constant(false));
        booleans.Should().Throw<InvalidArgumentException>().WithMessage("*FloorDiv*numeric*bool*");
    }

    [Test]
    public void RoundedDivision_BroadcastsAtRunTime()
    {
        var a = TF.Placeholder(DType.Int32, new Shape(-1, 3));
        var q = TF.FloorDiv(a, TF.Constant(new[] { 2, -2, 3 }));
        Run(q, a, new[,] { { 7, 7, -7 }, { -1, 1, 0 } }).ToArray<int>().Should().Equal(3, -4, -3, -1, -1, 0);
    }

    [Test]
    public void RoundedDivision_PassesNoGradient()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(2));
        var y = TF.Placeholder(DType.Float32, new Shape(2));
        TF.Gradients(TF.ReduceSum(TF.FloorDiv(x, y) + x), x, y)[1].Should().BeNull();
        TF.Gradients(TF.ReduceSum(TF.TruncateDiv(x, y) * 1f), x)[0].Should().BeNull();
    }

    [Test]
    public void OperatorsRefuseAScalarTheIntegerDTypeCannotHold()
    {
        var x = TF.Constant(new[] { 1, 2 });
        var fraction = () => x * 2.5;
        fraction.Should().Throw<InvalidArgumentException>().WithMessage("*2.5*int32*");
        var huge = () => x + 1e10;
        huge.Should().Throw<InvalidArgumentException>().WithMessage("*10000000000*int32*");
        Run(x * 3.0).ToArray<int>().Should().Equal(3, 6);
    }
}
