using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

/// <summary>
/// Tests of the element-wise ops of the <see cref="TF"/> facade: static shape and dtype inference, forward values
/// against System.Math references, run-time broadcasting, dtype errors and special values.
/// </summary>
[TestFixture("cpu")]
[TestFixture("ilgpu-cpu")]
[TestFixture("cuda", Category = "Cuda")]
public class ElementwiseOpTests(string device) : DeviceFixture(device)
{
    private const double F32Rel = 1e-6;
    private const double F64Rel = 1e-14;
    private const double F32MinNormal = 1.1754943508222875e-38;
    private const double F64MinNormal = 2.2250738585072014e-308;

    // ───────────────────────────── op tables ─────────────────────────────

    /// <summary>Unary ops: TF op type, builder, double reference, integer reference (null when ints are rejected).</summary>
    private static readonly Dictionary<string, (string Type, Func<Tensor, Tensor> Op, Func<double, double> Ref, Func<long, long>? IntRef)> Unaries = new()
    {
        ["Negative"] = ("Neg", x => TF.Negative(x), x => -x, x => -x),
        ["Abs"] = ("Abs", x => TF.Abs(x), Math.Abs, Math.Abs),
        ["Square"] = ("Square", x => TF.Square(x), x => x * x, x => x * x),
        ["Sqrt"] = ("Sqrt", x => TF.Sqrt(x), Math.Sqrt, null),
        ["Rsqrt"] = ("Rsqrt", x => TF.Rsqrt(x), x => 1 / Math.Sqrt(x), null),
        ["Exp"] = ("Exp", x => TF.Exp(x), Math.Exp, null),
        ["Log"] = ("Log", x => TF.Log(x), Math.Log, null),
        ["Tanh"] = ("Tanh", x => TF.Tanh(x), Math.Tanh, null),
        ["Sigmoid"] = ("Sigmoid", x => TF.Sigmoid(x), RefSigmoid, null),
        ["Relu"] = ("Relu", x => TF.Relu(x), x => Math.Max(x, 0), x => Math.Max(x, 0)),
        ["Softplus"] = ("Softplus", x => TF.Softplus(x), RefSoftplus, null),
        ["Sign"] = ("Sign", x => TF.Sign(x), x => Math.Sign(x), x => Math.Sign(x)),
        ["Reciprocal"] = ("Reciprocal", x => TF.Reciprocal(x), x => 1 / x, null),
    };

    /// <summary>Numeric binary ops: TF op type, builder, double reference, integer reference.</summary>
    /// <summary>Divide on integers is true division to float64 (TF1's truediv), so it has no integer reference here.</summary>
    private static readonly Dictionary<string, (string Type, Func<Tensor, Tensor, Tensor> Op, Func<double, double, double> Ref, Func<long, long, long>? IntRef)> Arithmetic = new()
    {
        ["Add"] = ("Add", (a, b) => TF.Add(a, b), (a, b) => a + b, (a, b) => a + b),
        ["Subtract"] = ("Sub", (a, b) => TF.Subtract(a, b), (a, b) => a - b, (a, b) => a - b),
        ["Multiply"] = ("Mul", (a, b) => TF.Multiply(a, b), (a, b) => a * b, (a, b) => a * b),
        ["Divide"] = ("RealDiv", (a, b) => TF.Divide(a, b), (a, b) => a / b, null),
        ["TruncateDiv"] = ("TruncateDiv", (a, b) => TF.TruncateDiv(a, b), (a, b) => Math.Truncate(a / b), (a, b) => a / b),
        ["FloorDiv"] = ("FloorDiv", (a, b) => TF.FloorDiv(a, b), (a, b) => Math.Floor(a / b), (a, b) => (long)Math.Floor((double)a / b)),
        ["Pow"] = ("Pow", (a, b) => TF.Pow(a, b), Math.Pow, RefIntPow),
        ["Maximum"] = ("Maximum", (a, b) => TF.Maximum(a, b), Math.Max, Math.Max),
        ["Minimum"] = ("Minimum", (a, b) => TF.Minimum(a, b), Math.Min, Math.Min),
    };

    /// <summary>Comparisons: TF op type, builder, reference.</summary>
    private static readonly Dictionary<string, (string Type, Func<Tensor, Tensor, Tensor> Op, Func<double, double, bool> Ref)> Comparisons = new()
    {
        ["Equal"] = ("Equal", (a, b) => TF.Equal(a, b), (a, b) => a == b),
        ["NotEqual"] = ("NotEqual", (a, b) => TF.NotEqual(a, b), (a, b) => a != b),
        ["Less"] = ("Less", (a, b) => TF.Less(a, b), (a, b) => a < b),
        ["LessEqual"] = ("LessEqual", (a, b) => TF.LessEqual(a, b), (a, b) => a <= b),
        ["Greater"] = ("Greater", (a, b) => TF.Greater(a, b), (a, b) => a > b),
        ["GreaterEqual"] = ("GreaterEqual", (a, b) => TF.GreaterEqual(a, b), (a, b) => a >= b),
    };

    /// <summary>Logical binary ops: TF op type, builder, reference.</summary>
    private static readonly Dictionary<string, (string Type, Func<Tensor, Tensor, Tensor> Op, Func<bool, bool, bool> Ref)> Logicals = new()
    {
        ["LogicalAnd"] = ("LogicalAnd", (a, b) => TF.LogicalAnd(a, b), (a, b) => a && b),
        ["LogicalOr"] = ("LogicalOr", (a, b) => TF.LogicalOr(a, b), (a, b) => a || b),
    };

    /// <summary>Names of every unary op of the table.</summary>
    public static IEnumerable<string> UnaryNames => Unaries.Keys;
    /// <summary>Names of the unary ops that accept integers.</summary>
    public static IEnumerable<string> IntUnaryNames => Unaries.Where(u => u.Value.IntRef != null).Select(u => u.Key);
    /// <summary>Names of the unary ops that accept only floats.</summary>
    public static IEnumerable<string> FloatOnlyUnaryNames => Unaries.Where(u => u.Value.IntRef == null).Select(u => u.Key);
    /// <summary>Names of the numeric binary ops.</summary>
    public static IEnumerable<string> ArithmeticNames => Arithmetic.Keys;
    /// <summary>Names of the numeric binary ops with an integer result on integers.</summary>
    public static IEnumerable<string> IntArithmeticNames => Arithmetic.Where(a => a.Value.IntRef != null).Select(a => a.Key);
    /// <summary>Names of the comparison ops.</summary>
    public static IEnumerable<string> ComparisonNames => Comparisons.Keys;
    /// <summary>Names of every numeric (non-logical) binary op.</summary>
    public static IEnumerable<string> NumericBinaryNames => Arithmetic.Keys.Concat(Comparisons.Keys);

    /// <summary>(op name, TF type, builder, operand dtype, result dtype) of every binary op.</summary>
    private static (string Type, Func<Tensor, Tensor, Tensor> Op, DType In, DType Out) Binary(string name) =>
        Arithmetic.TryGetValue(name, out var a) ? (a.Type, a.Op, DType.Float32, DType.Float32)
        : Comparisons.TryGetValue(name, out var c) ? (c.Type, c.Op, DType.Float32, DType.Bool)
        : (Logicals[name].Type, Logicals[name].Op, DType.Bool, DType.Bool);

    /// <summary>Names of every binary op, logical ones included.</summary>
    public static IEnumerable<string> AllBinaryNames => NumericBinaryNames.Concat(Logicals.Keys);

    // ───────────────────────────── references ─────────────────────────────

    private static double RefSigmoid(double x) => 1 / (1 + Math.Exp(-x));

    /// <summary>log(1+y) accurate for tiny y (Goldberg's trick), since Math has no log1p.</summary>
    private static double Log1P(double y)
    {
        var u = 1 + y;
        return u == 1 ? y : Math.Log(u) * y / (u - 1);
    }

    private static double RefSoftplus(double x) => Math.Max(x, 0) + Log1P(Math.Exp(-Math.Abs(x)));

    private static long RefIntPow(long x, long e)
    {
        long r = 1;
        for (var i = 0; i < e; i++) r *= x;
        return r;
    }

    // ───────────────────────────── helpers ─────────────────────────────

    private static Shape S(int[]? dims) => dims == null ? Shape.Unknown : new Shape(dims);

    /// <summary>Builds <paramref name="f"/> on a placeholder in a fresh graph and returns its output (static checks only).</summary>
    private static Tensor Build(Func<Tensor, Tensor> f, DType dtype, Shape shape)
    {
        var g = new ComputeGraph();
        using (g.AsDefault()) return f(TF.Placeholder(dtype, shape));
    }

    private static Tensor Build(Func<Tensor, Tensor, Tensor> f, DType da, Shape sa, DType db, Shape sb)
    {
        var g = new ComputeGraph();
        using (g.AsDefault()) return f(TF.Placeholder(da, sa), TF.Placeholder(db, sb));
    }

    /// <summary>Runs <paramref name="f"/> on a placeholder of <paramref name="x"/>'s dtype and shape (or <paramref name="shape"/>) fed with x.</summary>
    private HostTensor Run(Func<Tensor, Tensor> f, HostTensor x, Shape? shape = null)
    {
        var g = new ComputeGraph();
        using (g.AsDefault())
        {
            var px = TF.Placeholder(x.DType, shape ?? x.Shape);
            var y = f(px);
            using var sess = new Session(g, new SessionOptions { Device = Device });
            return sess.Run(y, new FeedDict { { px, x } });
        }
    }

    /// <summary>Runs a binary <paramref name="f"/> on two placeholders fed with <paramref name="a"/> and <paramref name="b"/>.</summary>
    private HostTensor Run(Func<Tensor, Tensor, Tensor> f, HostTensor a, HostTensor b)
    {
        var g = new ComputeGraph();
        using (g.AsDefault())
        {
            var pa = TF.Placeholder(a.DType, a.Shape);
            var pb = TF.Placeholder(b.DType, b.Shape);
            var y = f(pa, pb);
            using var sess = new Session(g, new SessionOptions { Device = Device });
            return sess.Run(y, new FeedDict { { pa, a }, { pb, b } });
        }
    }

    /// <summary>Runs a graph without feeds (constants only).</summary>
    private HostTensor Run(Func<Tensor> f)
    {
        var g = new ComputeGraph();
        using (g.AsDefault())
        {
            var y = f();
            using var sess = new Session(g, new SessionOptions { Device = Device });
            return sess.Run(y);
        }
    }

    private HostTensor Run(Func<Tensor, Tensor> f, float[] x) => Run(f, HostTensor.From(x, x.Length));
    private HostTensor Run(Func<Tensor, Tensor> f, double[] x) => Run(f, HostTensor.From(x, x.Length));

    private static void ShouldBeClose(HostTensor actual, double[] expected, double rel, double absFloor, string what)
    {
        var a = actual.ToArray<double>();
        a.Should().HaveCount(expected.Length, what);
        for (var i = 0; i < a.Length; i++)
        {
            var e = expected[i];
            var because = $"{what}: element {i} (expected {e:R}, got {a[i]:R})";
            if (double.IsNaN(e)) a[i].Should().Be(double.NaN, because);
            else if (double.IsInfinity(e)) a[i].Should().Be(e, because);
            else
            {
                double.IsFinite(a[i]).Should().BeTrue(because);
                a[i].Should().BeApproximately(e, Math.Max(rel * Math.Abs(e), absFloor), because);
            }
        }
    }

    /// <summary>float32 result against a float64 reference: relative 1e-6, absolute down to float32's smallest normal.</summary>
    private static void ShouldMatchF32(HostTensor actual, double[] expected, string what)
    {
        actual.DType.Should().Be(DType.Float32, what);
        ShouldBeClose(actual, expected, F32Rel, F32MinNormal, what);
    }

    /// <summary>float64 result against a float64 reference: relative 1e-14.</summary>
    private static void ShouldMatchF64(HostTensor actual, double[] expected, string what)
    {
        actual.DType.Should().Be(DType.Float64, what);
        ShouldBeClose(actual, expected, F64Rel, F64MinNormal, what);
    }

    private static void ShouldThrowNaming(Action build, params string[] fragments)
    {
        var ex = build.Should().Throw<InvalidArgumentException>().Which;
        foreach (var f in fragments) ex.Message.Should().Contain(f);
    }

    /// <summary>Compares static shapes by their TF formatting, e.g. <c>(?, 3)</c> or <c>&lt;unknown&gt;</c>.</summary>
    private static void ShouldHaveShape(Shape actual, Shape expected, string because = "") =>
        actual.ToString().Should().Be(expected.ToString(), because);

    private static double[] Widen(float[] x) => x.Select(v => (double)v).ToArray();

    /// <summary>Numpy broadcasting of flat row-major data, as the reference for run-time broadcasting.</summary>
    private static (TOut[] Data, int[] Dims) RefBroadcast<TIn, TOut>(TIn[] a, int[] da, TIn[] b, int[] db, Func<TIn, TIn, TOut> f)
    {
        var rank = Math.Max(da.Length, db.Length);
        var pa = Enumerable.Repeat(1, rank - da.Length).Concat(da).ToArray();
        var pb = Enumerable.Repeat(1, rank - db.Length).Concat(db).ToArray();
        var dims = pa.Zip(pb, Math.Max).ToArray();
        var n = dims.Aggregate(1, (p, d) => p * d);
        var result = new TOut[n];
        var idx = new int[rank];
        for (var flat = 0; flat < n; flat++)
        {
            var rem = flat;
            for (var ax = rank - 1; ax >= 0; ax--)
            {
                idx[ax] = rem % dims[ax];
                rem /= dims[ax];
            }
            int oa = 0, ob = 0;
            for (var ax = 0; ax < rank; ax++)
            {
                oa = oa * pa[ax] + (pa[ax] == 1 ? 0 : idx[ax]);
                ob = ob * pb[ax] + (pb[ax] == 1 ? 0 : idx[ax]);
            }
            result[flat] = f(a[oa], b[ob]);
        }
        return (result, dims);
    }

    private static int Count(int[] dims) => dims.Aggregate(1, (p, d) => p * d);

    // Inputs: 11 elements so the 8-wide vector paths and their scalar tails both run.
    private static readonly float[] GeneralInputs = [-3.5f, -1.25f, -0.5f, -1e-3f, 0f, 1e-3f, 0.5f, 1f, 2.25f, 7f, 10f];
    private static readonly float[] PositiveInputs = [1e-3f, 0.01f, 0.25f, 0.5f, 1f, 2f, 3f, 10f, 100f, 12345f, 1e6f];
    private static readonly float[] NonZeroInputs = [-1e3f, -4f, -0.5f, -1e-3f, 1e-3f, 0.25f, 0.5f, 1f, 3f, 7f, 1e4f];

    private static float[] InputsFor(string op) => op switch
    {
        "Sqrt" or "Rsqrt" or "Log" => PositiveInputs,
        "Reciprocal" => NonZeroInputs,
        _ => GeneralInputs,
    };

    // ───────────────────────────── 1. static shapes (unary) ─────────────────────────────

    /// <summary>Every unary op keeps its input's static shape and dtype: known, partly unknown, scalar and unknown rank.</summary>
    [TestCaseSource(nameof(UnaryNames))]
    public void Unary_PreservesStaticShapeAndDType(string op)
    {
        var f = Unaries[op].Op;
        foreach (var shape in new[] { new Shape(2, 3), new Shape(-1, 3), Shape.Scalar, Shape.Unknown, new Shape(-1, -1, 4) })
        {
            var y = Build(f, DType.Float64, shape);
            ShouldHaveShape(y.Shape, shape, $"{op} of shape {shape}");
            y.DType.Should().Be(DType.Float64);
            y.Op.Type.Should().Be(Unaries[op].Type);
        }
    }

    /// <summary>LogicalNot keeps the shape of its bool operand.</summary>
    [Test]
    public void LogicalNot_PreservesStaticShape()
    {
        var y = Build(x => TF.LogicalNot(x), DType.Bool, new Shape(-1, 3));
        ShouldHaveShape(y.Shape, new Shape(-1, 3));
        y.DType.Should().Be(DType.Bool);
        Build(x => TF.LogicalNot(x), DType.Bool, Shape.Unknown).Shape.HasRank.Should().BeFalse();
    }

    // ───────────────────────────── 1. static shapes (binary) ─────────────────────────────

    /// <summary>Static broadcasting of Add with known, unknown and scalar dimensions; null is an unknown rank.</summary>
    [TestCase(new[] { 2, 1 }, new[] { 1, 4 }, new[] { 2, 4 })]
    [TestCase(new[] { -1, 1 }, new[] { 1, 4 }, new[] { -1, 4 })]
    [TestCase(new[] { -1, 3 }, new[] { 3 }, new[] { -1, 3 })]
    [TestCase(new[] { 3 }, new[] { -1, 3 }, new[] { -1, 3 })]
    [TestCase(new int[0], new[] { 2, 3 }, new[] { 2, 3 })]
    [TestCase(new[] { 2, 3 }, new int[0], new[] { 2, 3 })]
    [TestCase(new int[0], new int[0], new int[0])]
    [TestCase(new[] { 4, 1, 3 }, new[] { 2, 1 }, new[] { 4, 2, 3 })]
    [TestCase(new[] { -1 }, new[] { 5 }, new[] { 5 })]
    [TestCase(new[] { -1 }, new[] { 1 }, new[] { -1 })]
    [TestCase(new[] { 1 }, new[] { -1 }, new[] { -1 })]
    [TestCase(new[] { -1, -1 }, new[] { -1, -1 }, new[] { -1, -1 })]
    [TestCase(new[] { 2, 3 }, new[] { 2, 3 }, new[] { 2, 3 })]
    [TestCase(null, new[] { 3 }, null)]
    [TestCase(new[] { 2, 3 }, null, null)]
    [TestCase(null, null, null)]
    public void Add_BroadcastsStaticShapes(int[]? a, int[]? b, int[]? expected)
    {
        var y = Build((x, z) => TF.Add(x, z), DType.Float32, S(a), DType.Float32, S(b));
        ShouldHaveShape(y.Shape, S(expected));
        y.DType.Should().Be(DType.Float32);
    }

    /// <summary>Every binary op broadcasts (?, 1) with (1, 4) to (?, 4), (?, 3) with (3,) to (?, 3) and a scalar with a matrix.</summary>
    [TestCaseSource(nameof(AllBinaryNames))]
    public void Binary_BroadcastsStaticShapesAndSetsDType(string op)
    {
        var (type, f, dIn, dOut) = Binary(op);
        var cases = new (Shape A, Shape B, Shape Expected)[]
        {
            (new Shape(-1, 1), new Shape(1, 4), new Shape(-1, 4)),
            (new Shape(-1, 3), new Shape(3), new Shape(-1, 3)),
            (Shape.Scalar, new Shape(2, 3), new Shape(2, 3)),
            (new Shape(2, 3), Shape.Scalar, new Shape(2, 3)),
            (Shape.Unknown, new Shape(2, 3), Shape.Unknown),
        };
        foreach (var (sa, sb, expected) in cases)
        {
            var y = Build(f, dIn, sa, dIn, sb);
            ShouldHaveShape(y.Shape, expected, $"{op} of {sa} and {sb}");
            y.DType.Should().Be(dOut);
            y.Op.Type.Should().Be(type);
        }
    }

    /// <summary>Incompatible static shapes throw, naming the op type and both shapes.</summary>
    [TestCaseSource(nameof(AllBinaryNames))]
    public void Binary_IncompatibleStaticShapes_Throw(string op)
    {
        var (type, f, dIn, _) = Binary(op);
        ShouldThrowNaming(() => Build(f, dIn, new Shape(2, 3), dIn, new Shape(4)), type, "(2, 3)", "(4,)");
        ShouldThrowNaming(() => Build(f, dIn, new Shape(-1, 3), dIn, new Shape(-1, 2)), type, "(?, 3)", "(?, 2)");
    }

    /// <summary>More incompatible pairs for Add, each named in the message.</summary>
    [TestCase(new[] { 2, 3 }, new[] { 3, 2 }, "(2, 3)", "(3, 2)")]
    [TestCase(new[] { 2 }, new[] { 3 }, "(2,)", "(3,)")]
    [TestCase(new[] { 4, 1, 3 }, new[] { 2, 2 }, "(4, 1, 3)", "(2, 2)")]
    [TestCase(new[] { 5, -1 }, new[] { 4, 1 }, "(5, ?)", "(4, 1)")]
    public void Add_IncompatibleStaticShapes_Throw(int[] a, int[] b, string fa, string fb) =>
        ShouldThrowNaming(() => Build((x, z) => x + z, DType.Float32, new Shape(a), DType.Float32, new Shape(b)), "Add", fa, fb);

    // ───────────────────────────── 2. forward values (unary) ─────────────────────────────

    /// <summary>float32 forward values against float64 System.Math references (relative 1e-6), on 11 and on 1 element.</summary>
    [TestCaseSource(nameof(UnaryNames))]
    public void Unary_Float32_MatchesMathReference(string op)
    {
        var (_, f, reference, _) = Unaries[op];
        var x = InputsFor(op);
        var expected = Widen(x).Select(reference).ToArray();
        ShouldMatchF32(Run(f, x), expected, $"{op} float32");
        for (var i = 0; i < x.Length; i++)
            ShouldMatchF32(Run(f, [x[i]]), [expected[i]], $"{op} float32 single {x[i]:R}");
    }

    /// <summary>float64 forward values against System.Math (relative 1e-14).</summary>
    [TestCaseSource(nameof(UnaryNames))]
    public void Unary_Float64_MatchesMathReference(string op)
    {
        var (_, f, reference, _) = Unaries[op];
        var x = Widen(InputsFor(op)).Select(v => v * 1.0000001).ToArray();
        ShouldMatchF64(Run(f, x), x.Select(reference).ToArray(), $"{op} float64");
    }

    /// <summary>Ops that allow integers compute exactly on int32 and int64 and keep the dtype.</summary>
    [TestCaseSource(nameof(IntUnaryNames))]
    public void Unary_Integers_MatchReference(string op)
    {
        var (_, f, _, intRef) = Unaries[op];
        int[] xi = [-7, -3, -1, 0, 1, 2, 5, 46340, -46340, 9, 8];
        var r32 = Run(f, HostTensor.From(xi, xi.Length));
        r32.DType.Should().Be(DType.Int32);
        r32.ToArray<int>().Should().Equal(xi.Select(v => (int)intRef!(v)));

        long[] xl = [-7, -3_000_000_000L, -1, 0, 1, 2, 3_000_000_000L, 9, 8];
        var r64 = Run(f, HostTensor.From(xl, xl.Length));
        r64.DType.Should().Be(DType.Int64);
        r64.ToArray<long>().Should().Equal(xl.Select(intRef!));
    }

    /// <summary>LogicalNot negates bools element-wise.</summary>
    [Test]
    public void LogicalNot_NegatesBools()
    {
        var r = Run(x => TF.LogicalNot(x), HostTensor.From(new[] { true, false, false, true }, 2, 2));
        r.DType.Should().Be(DType.Bool);
        r.Dims.Should().Equal(2, 2);
        r.ToArray<bool>().Should().Equal(false, true, true, false);
    }

    // ───────────────────────────── 2. forward values (binary) ─────────────────────────────

    private static readonly float[] BinA = [-3.5f, -1f, -0.25f, 0f, 0.5f, 1f, 2f, 3.75f, 10f, 1e-3f, 6f];
    // No quotient lies within rounding of an integer unless it is one, so floor and truncation agree with float64 references.
    private static readonly float[] BinB = [2f, -4f, 0.5f, 3f, -1.5f, 1f, 0.25f, 2f, -0.125f, 7f, 6f];
    // Pow: positive bases with any exponent, negative bases with integral exponents.
    private static readonly float[] PowA = [2f, 0.5f, 10f, 1.5f, 3f, -2f, -3f, -0.5f, 0f, 1f, 7.25f];
    private static readonly float[] PowB = [3f, -2f, 0.5f, 2.5f, -0.75f, 3f, 2f, -3f, 2f, 100f, 0f];

    private static (float[] A, float[] B) BinaryInputs(string op) => op == "Pow" ? (PowA, PowB) : (BinA, BinB);

    /// <summary>float32 binary arithmetic against float64 references (relative 1e-6).</summary>
    [TestCaseSource(nameof(ArithmeticNames))]
    public void Arithmetic_Float32_MatchesReference(string op)
    {
        var (_, f, reference, _) = Arithmetic[op];
        var (a, b) = BinaryInputs(op);
        var r = Run(f, HostTensor.From(a, a.Length), HostTensor.From(b, b.Length));
        ShouldMatchF32(r, a.Zip(b, (x, y) => reference(x, y)).ToArray(), $"{op} float32");
    }

    /// <summary>float64 binary arithmetic against System.Math (relative 1e-14).</summary>
    [TestCaseSource(nameof(ArithmeticNames))]
    public void Arithmetic_Float64_MatchesReference(string op)
    {
        var (_, f, reference, _) = Arithmetic[op];
        var (a32, b32) = BinaryInputs(op);
        var a = Widen(a32).Select(v => v * 1.0000001).ToArray();
        var b = Widen(b32);
        var r = Run(f, HostTensor.From(a, a.Length), HostTensor.From(b, b.Length));
        ShouldMatchF64(r, a.Zip(b, reference).ToArray(), $"{op} float64");
    }

    private static readonly long[] IntA = [7, -7, 7, -7, 0, 3, -2, 100, 5, -1, 9];
    private static readonly long[] IntB = [2, 2, -2, -2, 5, 3, 3, -7, 1, 4, 9];
    private static readonly long[] IntPowA = [2, -2, 3, 0, 0, 1, -1, 5, 7, -3, 10];
    private static readonly long[] IntPowB = [3, 3, 0, 0, 5, 100, 7, 2, 1, 4, 9];

    /// <summary>int32 and int64 arithmetic is exact; TruncateDiv rounds toward zero (-7 / 2 = -3), FloorDiv down (-4).</summary>
    [TestCaseSource(nameof(IntArithmeticNames))]
    public void Arithmetic_Integers_MatchReference(string op)
    {
        var (_, f, _, intRef) = Arithmetic[op];
        var (a, b) = op == "Pow" ? (IntPowA, IntPowB) : (IntA, IntB);
        var expected = a.Zip(b, intRef!).ToArray();

        var r32 = Run(f, HostTensor.From(a.Select(v => (int)v).ToArray(), a.Length), HostTensor.From(b.Select(v => (int)v).ToArray(), b.Length));
        r32.DType.Should().Be(DType.Int32);
        r32.ToArray<int>().Should().Equal(expected.Select(v => (int)v), $"{op} int32");

        var r64 = Run(f, HostTensor.From(a, a.Length), HostTensor.From(b, b.Length));
        r64.DType.Should().Be(DType.Int64);
        r64.ToArray<long>().Should().Equal(expected, $"{op} int64");
    }

    /// <summary>TruncateDiv rounds toward zero and FloorDiv down, in every sign combination, on int32 and int64.</summary>
    [TestCase(7, 2, 3, 3)]
    [TestCase(-7, 2, -3, -4)]
    [TestCase(7, -2, -3, -4)]
    [TestCase(-7, -2, 3, 3)]
    [TestCase(1, 3, 0, 0)]
    [TestCase(-1, 3, 0, -1)]
    [TestCase(1, -3, 0, -1)]
    [TestCase(6, 3, 2, 2)]
    [TestCase(-6, 3, -2, -2)]
    [TestCase(int.MinValue, 1, int.MinValue, int.MinValue)]
    [TestCase(int.MaxValue, -1, -int.MaxValue, -int.MaxValue)]
    public void IntegerDivision_RoundsTowardZeroOrDown(int a, int b, int truncated, int floored)
    {
        Run((x, y) => TF.TruncateDiv(x, y), HostTensor.From(new[] { a }, 1), HostTensor.From(new[] { b }, 1)).ToArray<int>().Should().Equal(truncated);
        Run((x, y) => TF.TruncateDiv(x, y), HostTensor.From(new long[] { a }, 1), HostTensor.From(new long[] { b }, 1)).ToArray<long>().Should().Equal(truncated);
        Run((x, y) => TF.FloorDiv(x, y), HostTensor.From(new[] { a }, 1), HostTensor.From(new[] { b }, 1)).ToArray<int>().Should().Equal(floored);
        Run((x, y) => TF.FloorDiv(x, y), HostTensor.From(new long[] { a }, 1), HostTensor.From(new long[] { b }, 1)).ToArray<long>().Should().Equal(floored);
    }

    /// <summary>Divide on integers is TF1's true division: int32 and int64 operands give float64 quotients.</summary>
    [Test]
    public void Divide_Integers_IsTrueDivisionToFloat64()
    {
        var r32 = Run((x, y) => TF.Divide(x, y), HostTensor.From(new[] { 7, -7, 1, 0 }, 4), HostTensor.From(new[] { 2, 2, 3, 5 }, 4));
        r32.DType.Should().Be(DType.Float64);
        r32.ToArray<double>().Should().Equal(3.5, -3.5, 1.0 / 3, 0.0);
        var r64 = Run((x, y) => x / y, HostTensor.From(new[] { 9_000_000_000L }, 1), HostTensor.From(new[] { 4L }, 1));
        r64.DType.Should().Be(DType.Float64);
        r64.ToArray<double>().Should().Equal(2_250_000_000.0);
        var zero = Run((x, y) => TF.Divide(x, y), HostTensor.From(new[] { 1, -1, 0 }, 3), HostTensor.From(new[] { 0, 0, 0 }, 3)).ToArray<double>();
        zero[0].Should().Be(double.PositiveInfinity);
        zero[1].Should().Be(double.NegativeInfinity);
        double.IsNaN(zero[2]).Should().BeTrue("TF1's truediv divides floats, so a zero divisor follows IEEE");
    }

    /// <summary>FloorDiv and TruncateDiv on floats round the IEEE quotient; infinities, NaN and large values pass through.</summary>
    [Test]
    public void RoundedDivision_Floats_RoundTheQuotient()
    {
        float[] a = [7, -7, 2.5f, -2.5f, -6, -50331648, 1e30f, 1, -1, 0, float.PositiveInfinity, -0.5f];
        float[] b = [2, 2, 1, 1, 4, 1, 4, 0, 0, 0, 2, 1];
        var huge = (double)1e30f / 4; // an integer already: every float beyond 2^23 (2^52 in float64) is
        double[] truncated = [3, -3, 2, -2, -1, -50331648, huge, double.PositiveInfinity, double.NegativeInfinity, double.NaN, double.PositiveInfinity, 0];
        double[] floored = [3, -4, 2, -3, -2, -50331648, huge, double.PositiveInfinity, double.NegativeInfinity, double.NaN, double.PositiveInfinity, -1];
        foreach (var (op, f, expected) in new[] { ("TruncateDiv", (Func<Tensor, Tensor, Tensor>)((x, y) => TF.TruncateDiv(x, y)), truncated), ("FloorDiv", (x, y) => TF.FloorDiv(x, y), floored) })
        {
            var r32 = Run(f, HostTensor.From(a, a.Length), HostTensor.From(b, b.Length)).ToArray<float>();
            var r64 = Run(f, HostTensor.From(Widen(a), a.Length), HostTensor.From(Widen(b), b.Length)).ToArray<double>();
            for (var i = 0; i < a.Length; i++)
            {
                ((double)r32[i]).Should().Be(expected[i], $"{op} float32 {a[i]} / {b[i]}");
                r64[i].Should().Be(expected[i], $"{op} float64 {a[i]} / {b[i]}");
            }
        }
    }

    /// <summary>int64 arithmetic keeps values beyond the int32 range.</summary>
    [Test]
    public void Arithmetic_Int64_BeyondInt32Range()
    {
        long[] a = [3_000_000_000L, -5_000_000_000L];
        long[] b = [3L, 2L];
        Run((x, y) => x + y, HostTensor.From(a, 2), HostTensor.From(b, 2)).ToArray<long>().Should().Equal(3_000_000_003L, -4_999_999_998L);
        Run((x, y) => x * y, HostTensor.From(a, 2), HostTensor.From(b, 2)).ToArray<long>().Should().Equal(9_000_000_000L, -10_000_000_000L);
        Run((x, y) => TF.TruncateDiv(x, y), HostTensor.From(a, 2), HostTensor.From(b, 2)).ToArray<long>().Should().Equal(1_000_000_000L, -2_500_000_000L);
    }

    /// <summary>Integer division by zero, and the minimum value divided by -1, fail the run naming the op.</summary>
    [Test]
    public void IntegerDivision_ByZeroOrOverflowing_Throws()
    {
        foreach (var div in new Func<Tensor, Tensor, string?, Tensor>[] { (x, y, n) => TF.TruncateDiv(x, y, n), (x, y, n) => TF.FloorDiv(x, y, n) })
        {
            var type = div(TF.Constant(1), TF.Constant(1), null).Op.Type;
            ShouldThrowNaming(() => Run((x, y) => div(x, y, null), HostTensor.From(new[] { 1, 2 }, 2), HostTensor.From(new[] { 1, 0 }, 2)), type, "integer division by zero");
            ShouldThrowNaming(() => Run((x, y) => div(x, y, null), HostTensor.From(new long[] { 5 }, 1), HostTensor.From(new long[] { 0 }, 1)), type, "integer division by zero");
            ShouldThrowNaming(() => Run((x, y) => div(x, y, "my_div"), HostTensor.From(new[] { 1, 2 }, 2), HostTensor.From(new[] { 0 }, 1)), "my_div");
            ShouldThrowNaming(() => Run((x, y) => div(x, y, "min_div"), HostTensor.From(new[] { 4, int.MinValue }, 2), HostTensor.From(new[] { -1 }, 1)),
                "min_div", "overflow", "-2147483648 / -1");
            ShouldThrowNaming(() => Run((x, y) => div(x, y, null), HostTensor.From(new[] { long.MinValue }, 1), HostTensor.From(new[] { -1L }, 1)),
                type, "overflow", "int64");
        }
    }

    /// <summary>Integers to a negative power throw InvalidArgumentException naming the op.</summary>
    [Test]
    public void Pow_IntNegativeExponent_Throws()
    {
        ShouldThrowNaming(() => Run((x, y) => TF.Pow(x, y), HostTensor.From(new[] { 2, 2 }, 2), HostTensor.From(new[] { 1, -1 }, 2)), "Pow");
        ShouldThrowNaming(() => Run((x, y) => TF.Pow(x, y), HostTensor.From(new long[] { 2 }, 1), HostTensor.From(new long[] { -2 }, 1)), "Pow");
    }

    /// <summary>Float division by zero follows IEEE: ±inf and NaN.</summary>
    [Test]
    public void Divide_FloatByZero_IsIeee()
    {
        var r = Run((x, y) => x / y, HostTensor.From(new[] { 1f, -1f, 0f }, 3), HostTensor.From(new[] { 0f, 0f, 0f }, 3)).ToArray<float>();
        r[0].Should().Be(float.PositiveInfinity);
        r[1].Should().Be(float.NegativeInfinity);
        float.IsNaN(r[2]).Should().BeTrue();
    }

    private static readonly double[] CmpA = [1, 2, 3, -1, 0, 5, -4, 7, 7, -2, 0.5];
    private static readonly double[] CmpB = [1, 3, 2, -1, -0.0, 6, -5, 7, 8, -2, 0.25];

    /// <summary>Comparisons give bool tensors and agree with C# comparisons on float32, float64, int32 and int64.</summary>
    [TestCaseSource(nameof(ComparisonNames))]
    public void Comparison_AllNumericDTypes_MatchReference(string op)
    {
        var (_, f, reference) = Comparisons[op];
        var n = CmpA.Length;
        var inputs = new (HostTensor A, HostTensor B, double[] Ra, double[] Rb)[]
        {
            (HostTensor.From(CmpA.Select(v => (float)v).ToArray(), n), HostTensor.From(CmpB.Select(v => (float)v).ToArray(), n), CmpA, CmpB),
            (HostTensor.From(CmpA, n), HostTensor.From(CmpB, n), CmpA, CmpB),
            (HostTensor.From(CmpA.Select(v => (int)v).ToArray(), n), HostTensor.From(CmpB.Select(v => (int)v).ToArray(), n),
                CmpA.Select(v => (double)(int)v).ToArray(), CmpB.Select(v => (double)(int)v).ToArray()),
            (HostTensor.From(CmpA.Select(v => (long)v).ToArray(), n), HostTensor.From(CmpB.Select(v => (long)v).ToArray(), n),
                CmpA.Select(v => (double)(long)v).ToArray(), CmpB.Select(v => (double)(long)v).ToArray()),
        };
        foreach (var (a, b, ra, rb) in inputs)
        {
            var r = Run(f, a, b);
            r.DType.Should().Be(DType.Bool);
            r.ToArray<bool>().Should().Equal(ra.Zip(rb, reference), $"{op} on {a.DType.Name()}");
        }
    }

    /// <summary>NaN compares unequal to everything, itself included: only NotEqual is true.</summary>
    [Test]
    public void Comparison_NaN_IsUnordered()
    {
        var a = HostTensor.From(new[] { float.NaN, float.NaN, 1f }, 3);
        var b = HostTensor.From(new[] { float.NaN, 1f, float.NaN }, 3);
        foreach (var (op, (_, f, _)) in Comparisons)
            Run(f, a, b).ToArray<bool>().Should().Equal(Enumerable.Repeat(op == "NotEqual", 3), op);
    }

    /// <summary>Equal and NotEqual accept bools.</summary>
    [Test]
    public void EqualNotEqual_OnBools()
    {
        var a = HostTensor.From(new[] { true, true, false, false }, 4);
        var b = HostTensor.From(new[] { true, false, true, false }, 4);
        Run((x, y) => TF.Equal(x, y), a, b).ToArray<bool>().Should().Equal(true, false, false, true);
        Run((x, y) => TF.NotEqual(x, y), a, b).ToArray<bool>().Should().Equal(false, true, true, false);
    }

    /// <summary>LogicalAnd and LogicalOr truth tables, also broadcast [2,1] with [1,2].</summary>
    [TestCase("LogicalAnd")]
    [TestCase("LogicalOr")]
    public void Logical_TruthTablesAndBroadcast(string op)
    {
        var (_, f, reference) = Logicals[op];
        bool[] a = [true, true, false, false];
        bool[] b = [true, false, true, false];
        var r = Run(f, HostTensor.From(a, 4), HostTensor.From(b, 4));
        r.DType.Should().Be(DType.Bool);
        r.ToArray<bool>().Should().Equal(a.Zip(b, reference));

        var rb = Run(f, HostTensor.From(new[] { true, false }, 2, 1), HostTensor.From(new[] { true, false }, 1, 2));
        rb.Dims.Should().Equal(2, 2);
        rb.ToArray<bool>().Should().Equal(reference(true, true), reference(true, false), reference(false, true), reference(false, false));
    }

    // ───────────────────────────── 3. run-time broadcasting ─────────────────────────────

    /// <summary>Operand shapes for run-time broadcasting: bias rows, both expanded, scalars, leading 1s, either side.</summary>
    private static readonly (int[] A, int[] B)[] BroadcastShapes =
    [
        ([2, 3], [3]),
        ([3], [2, 3]),
        ([2, 1], [1, 3]),
        ([4, 1, 3], [2, 1]),
        ([2, 1], [4, 1, 3]),
        ([], [2, 3]),
        ([2, 3], []),
        ([2, 3], [2, 1]),
        ([2, 1], [2, 3]),
        ([1, 3], [2, 3]),
        ([2, 3], [1, 1, 3]),
        ([2, 1, 3], [2, 4, 3]),
        ([3, 1], [1]),
        ([2, 2, 3], [2, 1, 1]),
    ];

    /// <summary>Every (binary op, broadcast shapes) combination for float32.</summary>
    public static IEnumerable<TestCaseData> FloatBroadcastCases() =>
        from op in NumericBinaryNames
        from s in BroadcastShapes
        select new TestCaseData(op, s.A, s.B).SetName($"Broadcast_Float32_{op}_[{string.Join(",", s.A)}]x[{string.Join(",", s.B)}]");

    /// <summary>Float32 binary ops broadcast at run time exactly as numpy does, with operand order preserved.</summary>
    [TestCaseSource(nameof(FloatBroadcastCases))]
    public void Broadcast_Float32_MatchesNumpyRules(string op, int[] da, int[] db)
    {
        var a = Enumerable.Range(0, Count(da)).Select(k => 0.5f + 0.75f * k).ToArray();
        var b = Enumerable.Range(0, Count(db)).Select(k => 1.25f + 0.5f * k).ToArray();
        var r = Run(Binary(op).Op, HostTensor.From(a, da), HostTensor.From(b, db));
        if (Arithmetic.TryGetValue(op, out var ar))
        {
            var (expected, dims) = RefBroadcast(Widen(a), da, Widen(b), db, ar.Ref);
            r.Dims.Should().Equal(dims);
            ShouldMatchF32(r, expected, $"{op} {Shape.Format(da)} x {Shape.Format(db)}");
        }
        else
        {
            var (expected, dims) = RefBroadcast(Widen(a), da, Widen(b), db, Comparisons[op].Ref);
            r.Dims.Should().Equal(dims);
            r.ToArray<bool>().Should().Equal(expected);
        }
    }

    /// <summary>Every (int op, broadcast shapes) combination for int32.</summary>
    public static IEnumerable<TestCaseData> IntBroadcastCases() =>
        from op in new[] { "Subtract", "TruncateDiv", "FloorDiv", "Maximum", "Multiply" }
        from s in BroadcastShapes
        select new TestCaseData(op, s.A, s.B).SetName($"Broadcast_Int32_{op}_[{string.Join(",", s.A)}]x[{string.Join(",", s.B)}]");

    /// <summary>int32 binary ops broadcast at run time with operand order preserved (truncating and floor division).</summary>
    [TestCaseSource(nameof(IntBroadcastCases))]
    public void Broadcast_Int32_MatchesNumpyRules(string op, int[] da, int[] db)
    {
        var a = Enumerable.Range(0, Count(da)).Select(k => 7 * k - 20).ToArray();
        var b = Enumerable.Range(0, Count(db)).Select(k => (k % 2 == 0 ? 1 : -1) * (k % 3 + 1)).ToArray();
        var r = Run(Arithmetic[op].Op, HostTensor.From(a, da), HostTensor.From(b, db));
        var ir = Arithmetic[op].IntRef!;
        var (expected, dims) = RefBroadcast(a, da, b, db, (x, y) => (int)ir(x, y));
        r.DType.Should().Be(DType.Int32);
        r.Dims.Should().Equal(dims);
        r.ToArray<int>().Should().Equal(expected);
    }

    /// <summary>A (?, 3) placeholder plus a (3,) constant broadcasts at run time to the fed batch size.</summary>
    [Test]
    public void Broadcast_UnknownBatchPlusVector()
    {
        var g = new ComputeGraph();
        using (g.AsDefault())
        {
            var x = TF.Placeholder(DType.Float32, new Shape(-1, 3));
            var y = x + TF.Constant(new float[] { 10, 20, 30 });
            ShouldHaveShape(y.Shape, new Shape(-1, 3));
            using var sess = new Session(g, new SessionOptions { Device = Device });
            var r = sess.Run(y, new FeedDict { { x, new float[,] { { 1, 2, 3 }, { 4, 5, 6 } } } });
            r.Dims.Should().Equal(2, 3);
            r.ToArray<float>().Should().Equal(11, 22, 33, 14, 25, 36);
            var r1 = sess.Run(y, new FeedDict { { x, new float[,] { { 1, 1, 1 } } } });
            r1.Dims.Should().Equal(1, 3);
            r1.ToArray<float>().Should().Equal(11, 21, 31);
        }
    }

    /// <summary>
    /// A (?,) placeholder with a (5,) constant is statically (5,) (optimistic broadcasting); at run time a fed [1]
    /// broadcasts to [5] and a fed [3] fails.
    /// </summary>
    [Test]
    public void Broadcast_OptimisticUnknownDim()
    {
        var g = new ComputeGraph();
        using (g.AsDefault())
        {
            var x = TF.Placeholder(DType.Float64, new Shape(-1));
            var y = x * TF.Constant(new[] { 1.0, 2, 3, 4, 5 });
            ShouldHaveShape(y.Shape, new Shape(5));
            using var sess = new Session(g, new SessionOptions { Device = Device });
            sess.Run(y, new FeedDict { { x, new[] { 2.0 } } }).ToArray<double>().Should().Equal(2, 4, 6, 8, 10);
            sess.Run(y, new FeedDict { { x, new[] { 1.0, 1, 1, 1, 1 } } }).ToArray<double>().Should().Equal(1, 2, 3, 4, 5);
            var act = () => sess.Run(y, new FeedDict { { x, new[] { 1.0, 2, 3 } } });
            act.Should().Throw<InvalidArgumentException>();
        }
    }

    /// <summary>An unknown-rank placeholder broadcasts against a vector at run time.</summary>
    [Test]
    public void Broadcast_UnknownRankPlaceholder()
    {
        var r = Run(x => TF.Tanh(x) * TF.Constant(new float[] { 1, 2, 3 }), HostTensor.From(new[] { 0f, 0f, 0f, 0f, 0f, 0f }, 2, 3), Shape.Unknown);
        r.Dims.Should().Equal(2, 3);
        r.ToArray<float>().Should().OnlyContain(v => v == 0);
    }

    /// <summary>Shapes that fit the static shapes but not each other fail the run with an InvalidArgumentException.</summary>
    [Test]
    public void Broadcast_IncompatibleFedShapes_Throw()
    {
        var g = new ComputeGraph();
        using (g.AsDefault())
        {
            var a = TF.Placeholder(DType.Float32, new Shape(-1, 3));
            var b = TF.Placeholder(DType.Float32, new Shape(-1, 3));
            var y = a - b;
            using var sess = new Session(g, new SessionOptions { Device = Device });
            var act = () => sess.Run(y, new FeedDict { { a, new float[2, 3] }, { b, new float[4, 3] } });
            act.Should().Throw<InvalidArgumentException>().Which.Message.Should().Contain("(2, 3)").And.Contain("(4, 3)");
        }
    }

    // ───────────────────────────── 4. dtype errors ─────────────────────────────

    /// <summary>Mixing float32 with int32 (or float64) throws at build time, naming both dtypes and the op.</summary>
    [TestCaseSource(nameof(NumericBinaryNames))]
    public void Binary_MixedDTypes_Throw(string op)
    {
        var (type, f, _, _) = Binary(op);
        ShouldThrowNaming(() => Build(f, DType.Float32, new Shape(3), DType.Int32, new Shape(3)), type, "float32", "int32");
        ShouldThrowNaming(() => Build(f, DType.Float64, new Shape(3), DType.Float32, new Shape(3)), type, "float64", "float32");
        ShouldThrowNaming(() => Build(f, DType.Int64, new Shape(3), DType.Int32, new Shape(3)), type, "int64", "int32");
    }

    /// <summary>The + operator of a float32 and an int32 tensor throws naming both dtypes.</summary>
    [Test]
    public void AddOperator_Float32PlusInt32_Throws() =>
        ShouldThrowNaming(() => Build((a, b) => a + b, DType.Float32, new Shape(2), DType.Int32, new Shape(2)), "Add", "float32", "int32");

    /// <summary>Float-only unary ops reject int32, int64 and bool at build time, naming the op and the dtype.</summary>
    [TestCaseSource(nameof(FloatOnlyUnaryNames))]
    public void FloatOnlyUnary_RejectsIntegers(string op)
    {
        var (type, f, _, _) = Unaries[op];
        ShouldThrowNaming(() => Build(f, DType.Int32, new Shape(3)), type, "int32");
        ShouldThrowNaming(() => Build(f, DType.Int64, new Shape(3)), type, "int64");
        ShouldThrowNaming(() => Build(f, DType.Bool, new Shape(3)), type, "bool");
    }

    /// <summary>Numeric unary ops reject bool.</summary>
    [TestCaseSource(nameof(IntUnaryNames))]
    public void NumericUnary_RejectsBool(string op) =>
        ShouldThrowNaming(() => Build(Unaries[op].Op, DType.Bool, new Shape(3)), Unaries[op].Type, "bool");

    /// <summary>Arithmetic and ordering comparisons reject bools.</summary>
    [TestCase("Add")]
    [TestCase("Multiply")]
    [TestCase("Maximum")]
    [TestCase("Less")]
    [TestCase("GreaterEqual")]
    public void NumericBinary_RejectsBool(string op) =>
        ShouldThrowNaming(() => Build(Binary(op).Op, DType.Bool, new Shape(2), DType.Bool, new Shape(2)), Binary(op).Type, "bool");

    /// <summary>Logical ops reject floats and ints, naming the op and the dtype.</summary>
    [TestCase("LogicalAnd", DType.Float32, "float32")]
    [TestCase("LogicalAnd", DType.Int32, "int32")]
    [TestCase("LogicalOr", DType.Float64, "float64")]
    [TestCase("LogicalOr", DType.Int64, "int64")]
    public void Logical_RejectsNonBool(string op, DType dtype, string name) =>
        ShouldThrowNaming(() => Build(Logicals[op].Op, dtype, new Shape(2), dtype, new Shape(2)), op, name);

    /// <summary>LogicalNot rejects floats.</summary>
    [Test]
    public void LogicalNot_RejectsFloat() =>
        ShouldThrowNaming(() => Build(x => TF.LogicalNot(x), DType.Float32, new Shape(2)), "LogicalNot", "float32");

    /// <summary>LogicalAnd of a bool and a float names both dtypes.</summary>
    [Test]
    public void LogicalAnd_BoolAndFloat_Throws() =>
        ShouldThrowNaming(() => Build((a, b) => TF.LogicalAnd(a, b), DType.Bool, new Shape(2), DType.Float32, new Shape(2)), "LogicalAnd", "bool", "float32");

    // ───────────────────────────── Where ─────────────────────────────

    /// <summary>Where picks x where the condition holds and y elsewhere.</summary>
    [Test]
    public void Where_SelectsElementwise()
    {
        var g = new ComputeGraph();
        using (g.AsDefault())
        {
            var c = TF.Placeholder(DType.Bool, new Shape(-1));
            var x = TF.Constant(new float[] { 1, 2, 3, 4 });
            var y = TF.Constant(new float[] { 10, 20, 30, 40 });
            var w = TF.Where(c, x, y);
            ShouldHaveShape(w.Shape, new Shape(4));
            w.Op.Type.Should().Be("Select");
            using var sess = new Session(g, new SessionOptions { Device = Device });
            var r = sess.Run(w, new FeedDict { { c, new[] { true, false, true, false } } });
            r.DType.Should().Be(DType.Float32);
            r.ToArray<float>().Should().Equal(1, 20, 3, 40);
        }
    }

    /// <summary>Where and WhereV2 broadcast all three operands: cond [2,1], x [1,3], scalar y.</summary>
    [Test]
    public void Where_BroadcastsAllOperands()
    {
        foreach (var where in new Func<Tensor, Tensor, Tensor, string?, Tensor>[] { TF.Where, TF.WhereV2 })
        {
            var r = Run(() => where(TF.Constant(new[,] { { true }, { false } }), TF.Constant(new[,] { { 1, 2, 3 } }), TF.Constant(-1), null));
            r.DType.Should().Be(DType.Int32);
            r.Dims.Should().Equal(2, 3);
            r.ToArray<int>().Should().Equal(1, 2, 3, -1, -1, -1);
        }

        var rb = Run(() => TF.WhereV2(TF.Constant(new[] { true, false }), TF.Constant(true), TF.Constant(new[,] { { false, false }, { true, true } })));
        rb.Dims.Should().Equal(2, 2);
        rb.ToArray<bool>().Should().Equal(true, false, true, true);

        var rd = Run(() => TF.WhereV2(TF.Constant(new[] { false, true, false }), TF.Constant(new[] { 1.5, 2.5, 3.5 }), TF.Constant(new[,] { { 0.0 }, { 9.0 } })));
        rd.Dims.Should().Equal(2, 3);
        rd.ToArray<double>().Should().Equal(0, 2.5, 0, 9, 2.5, 9);
    }

    /// <summary>
    /// TF1's tf.where with a vector condition and values of rank 2 or more picks whole rows (TF2's where_v2 broadcasts
    /// the vector along the last axis instead, picking columns of a square x): here both on a square [2, 2] and on
    /// [2, 3] values with the row count unknown when the graph is built, with their gradients.
    /// </summary>
    [Test]
    public void Where_WithAVectorConditionPicksRowsAsInTf1()
    {
        var rows = Run(() => TF.Where(TF.Constant(new[] { true, false }), TF.Constant(new[,] { { 1, 2 }, { 3, 4 } }), TF.Constant(new[,] { { 10, 20 }, { 30, 40 } })));
        rows.ToArray<int>().Should().Equal(1, 2, 30, 40);
        var columns = Run(() => TF.WhereV2(TF.Constant(new[] { true, false }), TF.Constant(new[,] { { 1, 2 }, { 3, 4 } }), TF.Constant(new[,] { { 10, 20 }, { 30, 40 } })));
        columns.ToArray<int>().Should().Equal(1, 20, 3, 40);

        var g = new ComputeGraph();
        using (g.AsDefault())
        {
            var c = TF.Placeholder(DType.Bool, new Shape(-1));
            var x = TF.Placeholder(DType.Float64, new Shape(-1, 3));
            var y = TF.Placeholder(DType.Float64, new Shape(-1, 3));
            var w = TF.Where(c, x, y);
            ShouldHaveShape(w.Shape, new Shape(-1, 3));
            var grads = TF.Gradients(TF.ReduceSum(w * TF.Constant(new[] { 1.0, 2.0, 3.0 })), [x, y]);
            using var sess = new Session(g, new SessionOptions { Device = Device });
            var feeds = new FeedDict { { c, new[] { false, true } }, { x, new double[,] { { 1, 2, 3 }, { 4, 5, 6 } } }, { y, new double[,] { { 7, 8, 9 }, { 10, 11, 12 } } } };
            var r = sess.Run([w, grads[0]!, grads[1]!], feeds);
            r[0].ToArray<double>().Should().Equal(7, 8, 9, 4, 5, 6);
            r[1].ToArray<double>().Should().Equal(0, 0, 0, 1, 2, 3);
            r[2].ToArray<double>().Should().Equal(1, 2, 3, 0, 0, 0);
            feeds[c] = new[] { true, false, true };
            ((Action)(() => sess.Run(w, feeds))).Should().Throw<InvalidArgumentException>().WithMessage("Select 'Select': a vector condition picks rows*");
            ((Action)(() => TF.Where(TF.Placeholder(DType.Bool, new Shape(3)), TF.Placeholder(DType.Float64, new Shape(2, 3)), TF.Placeholder(DType.Float64, new Shape(2, 3)))))
                .Should().Throw<InvalidArgumentException>().WithMessage("*picks rows*(3,)*(2, 3)*");
        }
    }

    /// <summary>Where infers the broadcast static shape of its three operands, including unknown dimensions and rank.</summary>
    [TestCase(new[] { -1, 1 }, new[] { 1, 3 }, new int[0], new[] { -1, 3 })]
    [TestCase(new[] { 2, 3 }, new[] { 2, 3 }, new[] { 2, 3 }, new[] { 2, 3 })]
    [TestCase(new int[0], new[] { -1, 3 }, new[] { 3 }, new[] { -1, 3 })]
    [TestCase(new[] { 4, 1, 1 }, new[] { 2, 1 }, new[] { 3 }, new[] { 4, 2, 3 })]
    [TestCase(null, new[] { 3 }, new[] { 3 }, null)]
    [TestCase(new[] { 3 }, new[] { 3 }, null, null)]
    public void Where_InfersStaticShape(int[]? c, int[]? x, int[]? y, int[]? expected)
    {
        var g = new ComputeGraph();
        using (g.AsDefault())
        {
            var w = TF.Where(TF.Placeholder(DType.Bool, S(c)), TF.Placeholder(DType.Float64, S(x)), TF.Placeholder(DType.Float64, S(y)));
            ShouldHaveShape(w.Shape, S(expected));
            w.DType.Should().Be(DType.Float64);
        }
    }

    /// <summary>Where rejects a non-bool condition, mismatched x/y dtypes and incompatible shapes.</summary>
    [Test]
    public void Where_InvalidArguments_Throw()
    {
        var g = new ComputeGraph();
        using (g.AsDefault())
        {
            var f = TF.Placeholder(DType.Float32, new Shape(3));
            var i = TF.Placeholder(DType.Int32, new Shape(3));
            var c = TF.Placeholder(DType.Bool, new Shape(3));
            ShouldThrowNaming(() => TF.Where(f, f, f), "Select", "float32");
            ShouldThrowNaming(() => TF.Where(i, f, f), "Select", "int32");
            ShouldThrowNaming(() => TF.Where(c, f, i), "Select", "float32", "int32");
            ShouldThrowNaming(() => TF.Where(c, f, TF.Placeholder(DType.Float32, new Shape(4))), "Select", "(3,)", "(4,)");
            ShouldThrowNaming(() => TF.Where(TF.Placeholder(DType.Bool, new Shape(2)), f, f), "Select", "(2,)", "(3,)");
            ShouldThrowNaming(() => TF.WhereV2(TF.Placeholder(DType.Bool, new Shape(2)), f, f), "SelectV2", "(2,)", "(3,)");
        }
    }

    // ───────────────────────────── Cast ─────────────────────────────

    /// <summary>Cast truncates floats toward zero into int32 and int64.</summary>
    [Test]
    public void Cast_FloatToInt_TruncatesTowardZero()
    {
        float[] x = [-2.7f, -2.5f, -0.5f, 0f, 0.5f, 2.5f, 2.7f, 100.9f, -100.9f];
        int[] expected = [-2, -2, 0, 0, 0, 2, 2, 100, -100];
        var r = Run(t => TF.Cast(t, DType.Int32), x);
        r.DType.Should().Be(DType.Int32);
        r.ToArray<int>().Should().Equal(expected);

        var r64 = Run(t => TF.Cast(t, DType.Int64), Widen(x));
        r64.DType.Should().Be(DType.Int64);
        r64.ToArray<long>().Should().Equal(expected.Select(v => (long)v));
    }

    /// <summary>bool casts to 0/1 in every numeric dtype.</summary>
    [TestCase(DType.Float32)]
    [TestCase(DType.Float64)]
    [TestCase(DType.Int32)]
    [TestCase(DType.Int64)]
    public void Cast_BoolToNumber_IsZeroOrOne(DType to)
    {
        var r = Run(t => TF.Cast(t, to), HostTensor.From(new[] { true, false, true }, 3));
        r.DType.Should().Be(to);
        r.ToArray<double>().Should().Equal(1, 0, 1);
    }

    /// <summary>Numbers cast to bool are true when nonzero.</summary>
    [Test]
    public void Cast_NumberToBool_IsNonzero()
    {
        Run(t => TF.Cast(t, DType.Bool), HostTensor.From(new[] { 0, 1, -3, 7 }, 4)).ToArray<bool>().Should().Equal(false, true, true, true);
        Run(t => TF.Cast(t, DType.Bool), HostTensor.From(new long[] { 0, 5_000_000_000L }, 2)).ToArray<bool>().Should().Equal(false, true);
        Run(t => TF.Cast(t, DType.Bool), new[] { 0f, 0.5f, -1f, 1e-30f }).ToArray<bool>().Should().Equal(false, true, true, true);
        Run(t => TF.Cast(t, DType.Bool), new[] { 0.0, -0.0, 2.0 }).ToArray<bool>().Should().Equal(false, false, true);
    }

    /// <summary>Widening and narrowing numeric casts.</summary>
    [Test]
    public void Cast_BetweenNumericTypes()
    {
        var i2f = Run(t => TF.Cast(t, DType.Float32), HostTensor.From(new[] { -3, 0, 16777216 }, 3));
        i2f.DType.Should().Be(DType.Float32);
        i2f.ToArray<float>().Should().Equal(-3f, 0f, 16777216f);

        var d2f = Run(t => TF.Cast(t, DType.Float32), new[] { 1.0 / 3, -2.5 });
        d2f.ToArray<float>().Should().Equal(1f / 3, -2.5f);

        var f2d = Run(t => TF.Cast(t, DType.Float64), new[] { 0.1f });
        f2d.ToArray<double>().Should().Equal((double)0.1f);

        var i2l = Run(t => TF.Cast(t, DType.Int64), HostTensor.From(new[] { int.MinValue, int.MaxValue }, 2));
        i2l.ToArray<long>().Should().Equal(int.MinValue, int.MaxValue);
    }

    /// <summary>Cast keeps the static shape (unknown dimensions and rank included) and sets the dtype; casting to the same dtype is the identity.</summary>
    [Test]
    public void Cast_StaticShapeAndIdentity()
    {
        var y = Build(t => TF.Cast(t, DType.Int32), DType.Float32, new Shape(-1, 3));
        ShouldHaveShape(y.Shape, new Shape(-1, 3));
        y.DType.Should().Be(DType.Int32);
        y.Op.Type.Should().Be("Cast");
        ShouldHaveShape(Build(t => TF.Cast(t, DType.Bool), DType.Float64, Shape.Unknown).Shape, Shape.Unknown);

        var g = new ComputeGraph();
        using (g.AsDefault())
        {
            var x = TF.Placeholder(DType.Float32, new Shape(2));
            TF.Cast(x, DType.Float32).Should().BeSameAs(x);
        }
    }

    // ───────────────────────────── operators ─────────────────────────────

    /// <summary>Tensor operators with double scalars on either side keep the tensor's dtype (float32, float64).</summary>
    [TestCase(DType.Float32)]
    [TestCase(DType.Float64)]
    public void Operators_WithDoubleScalars_Floats(DType dtype)
    {
        double[] x = [-2, 0.5, 4];
        var cases = new (string Name, Func<Tensor, Tensor> F, Func<double, double> Ref)[]
        {
            ("x + 1.5", t => t + 1.5, v => v + 1.5),
            ("1.5 + x", t => 1.5 + t, v => 1.5 + v),
            ("x - 1.5", t => t - 1.5, v => v - 1.5),
            ("1.5 - x", t => 1.5 - t, v => 1.5 - v),
            ("x * 3", t => t * 3, v => v * 3),
            ("3 * x", t => 3 * t, v => 3 * v),
            ("x / 4", t => t / 4, v => v / 4),
            ("4 / x", t => 4 / t, v => 4 / v),
            ("-x", t => -t, v => -v),
        };
        foreach (var (name, f, reference) in cases)
        {
            var r = Run(f, HostTensor.From(x, 3).AsType(dtype));
            r.DType.Should().Be(dtype, name);
            r.ToArray<double>().Should().Equal(x.Select(reference), name);
        }
    }

    /// <summary>Tensor operators with double scalars on int32 tensors convert the scalar to int32 (division truncates).</summary>
    [Test]
    public void Operators_WithDoubleScalars_Int32()
    {
        int[] x = [-7, 1, 9];
        var cases = new (string Name, Func<Tensor, Tensor> F, int[] Expected)[]
        {
            ("x + 2", t => t + 2.0, [-5, 3, 11]),
            ("2 + x", t => 2.0 + t, [-5, 3, 11]),
            ("x - 2", t => t - 2.0, [-9, -1, 7]),
            ("10 - x", t => 10.0 - t, [17, 9, 1]),
            ("x * 3", t => t * 3.0, [-21, 3, 27]),
            ("3 * x", t => 3.0 * t, [-21, 3, 27]),
            ("-x", t => -t, [7, -1, -9]),
        };
        foreach (var (name, f, expected) in cases)
        {
            var r = Run(f, HostTensor.From(x, 3));
            r.DType.Should().Be(DType.Int32, name);
            r.ToArray<int>().Should().Equal(expected, name);
        }
        // `/` is TF1's true division: float64 quotients; truncating integer division is TruncateDiv.
        var half = Run(t => t / 2.0, HostTensor.From(x, 3));
        half.DType.Should().Be(DType.Float64);
        half.ToArray<double>().Should().Equal(-3.5, 0.5, 4.5);
        Run(t => 18.0 / t, HostTensor.From(x, 3)).ToArray<double>().Should().Equal(18.0 / -7, 18, 2);
        Run(t => TF.TruncateDiv(t, TF.Constant(2)), HostTensor.From(x, 3)).ToArray<int>().Should().Equal(-3, 0, 4);
    }

    /// <summary>Tensor-tensor operators map to Add, Sub, Mul, RealDiv and Neg and broadcast.</summary>
    [Test]
    public void Operators_TensorTensor()
    {
        var a = HostTensor.From(new[] { 1f, 2f, 3f, 4f, 5f, 6f }, 2, 3);
        var b = HostTensor.From(new[] { 2f, 4f, 8f }, 3);
        Run((x, y) => x + y, a, b).ToArray<float>().Should().Equal(3, 6, 11, 6, 9, 14);
        Run((x, y) => x - y, a, b).ToArray<float>().Should().Equal(-1, -2, -5, 2, 1, -2);
        Run((x, y) => y - x, a, b).ToArray<float>().Should().Equal(1, 2, 5, -2, -1, 2);
        Run((x, y) => x * y, a, b).ToArray<float>().Should().Equal(2, 8, 24, 8, 20, 48);
        Run((x, y) => x / y, a, b).ToArray<float>().Should().Equal(0.5f, 0.5f, 0.375f, 2, 1.25f, 0.75f);
        Run((x, y) => y / x, a, b).ToArray<float>().Should().Equal(2, 2, 8f / 3, 0.5f, 0.8f, 8f / 6);
        Run(x => -x, a).ToArray<float>().Should().Equal(-1, -2, -3, -4, -5, -6);

        var g = new ComputeGraph();
        using (g.AsDefault())
        {
            var x = TF.Placeholder(DType.Float32, new Shape(2));
            (x + x).Op.Type.Should().Be("Add");
            (x - x).Op.Type.Should().Be("Sub");
            (x * x).Op.Type.Should().Be("Mul");
            (x / x).Op.Type.Should().Be("RealDiv");
            (-x).Op.Type.Should().Be("Neg");
            ShouldHaveShape((x * 2.0).Shape, new Shape(2));
        }
    }

    // ───────────────────────────── 5. special values ─────────────────────────────

    /// <summary>float64 Softplus is finite and accurate (1e-14) far into both tails: no overflow, and the exp(x) tail is kept.</summary>
    [TestCase(-100.0)]
    [TestCase(-20.0)]
    [TestCase(-10.0)]
    [TestCase(-5.0)]
    [TestCase(0.0)]
    [TestCase(5.0)]
    [TestCase(20.0)]
    [TestCase(100.0)]
    public void Softplus_Float64_FiniteAndAccurateInBothTails(double x) =>
        ShouldMatchF64(Run(t => TF.Softplus(t), new[] { x }), [RefSoftplus(x)], $"Softplus float64 ({x})");

    /// <summary>float32 Softplus is accurate to 1e-6 relative (absolute below float32's smallest normal, so -100 may flush to 0).</summary>
    [TestCase(-100f)]
    [TestCase(-20f)]
    [TestCase(-10f)]
    [TestCase(-5f)]
    [TestCase(0f)]
    [TestCase(5f)]
    [TestCase(20f)]
    [TestCase(100f)]
    public void Softplus_Float32_FiniteAndAccurateInBothTails(float x) =>
        ShouldMatchF32(Run(t => TF.Softplus(t), new[] { x }), [RefSoftplus(x)], $"Softplus float32 ({x})");

    /// <summary>Softplus(±100) in the 8-wide batch path too: 100 exactly and a tiny non-negative value.</summary>
    [Test]
    public void Softplus_Hundred_IsExactAndNonNegative()
    {
        var r = Run(t => TF.Softplus(t), new[] { 100f, -100f, 100f, -100f, 100f, -100f, 100f, -100f, 100f }).ToArray<float>();
        r.Where((_, i) => i % 2 == 0).Should().OnlyContain(v => v == 100f);
        r.Where((_, i) => i % 2 == 1).Should().OnlyContain(v => v >= 0f && v < 1e-38f);
    }

    /// <summary>Tanh at 0, tiny x (tanh x ≈ x), around the polynomial switch-over and at ±20 (→ ±1), in scalar and vector paths.</summary>
    [Test]
    public void Tanh_SpecialValues()
    {
        float[] x = [0f, 1e-3f, -1e-3f, 1e-6f, 0.3f, 0.62f, 0.63f, -0.625f, 1f, -2.5f, 9f, 20f, -20f, 88f, -1000f, 0.1f];
        var expected = Widen(x).Select(Math.Tanh).ToArray();
        ShouldMatchF32(Run(t => TF.Tanh(t), x), expected, "Tanh float32 batch");
        for (var i = 0; i < x.Length; i++)
            ShouldMatchF32(Run(t => TF.Tanh(t), [x[i]]), [expected[i]], $"Tanh float32 single {x[i]:R}");

        var exact = Run(t => TF.Tanh(t), new[] { 0f, 20f, -20f, 0f, 20f, -20f, 0f, 20f, -20f }).ToArray<float>();
        exact.Should().Equal(0f, 1f, -1f, 0f, 1f, -1f, 0f, 1f, -1f);
        Run(t => TF.Tanh(t), new[] { 0.0, 1e-3, 20.0, -20.0 }).ToArray<double>().Should().Equal(0, Math.Tanh(1e-3), 1, -1);
        float.IsNaN(Run(t => TF.Tanh(t), new[] { float.NaN }).ToArray<float>()[0]).Should().BeTrue();
    }

    /// <summary>Sigmoid(0) = 0.5 exactly; the tails saturate without NaN.</summary>
    [Test]
    public void Sigmoid_SpecialValues()
    {
        Run(t => TF.Sigmoid(t), new[] { 0f }).ToArray<float>().Should().Equal(0.5f);
        Run(t => TF.Sigmoid(t), new[] { 0.0 }).ToArray<double>().Should().Equal(0.5);
        float[] x = [-100f, -20f, -5f, 0f, 5f, 20f, 100f, 0f, -1f];
        var r = Run(t => TF.Sigmoid(t), x);
        ShouldMatchF32(r, Widen(x).Select(RefSigmoid).ToArray(), "Sigmoid float32 tails");
        r.ToArray<float>()[6].Should().Be(1f);
        ShouldMatchF64(Run(t => TF.Sigmoid(t), new[] { -100.0, -30.0, 30.0, 100.0 }), new[] { -100.0, -30.0, 30.0, 100.0 }.Select(RefSigmoid).ToArray(), "Sigmoid float64 tails");
    }

    /// <summary>Sign is -1, 0 or +1 in every numeric dtype; Sign(0) = 0.</summary>
    [Test]
    public void Sign_ZeroIsZero()
    {
        Run(t => TF.Sign(t), new[] { -3.5f, 0f, 2f, -0f }).ToArray<float>().Should().Equal(-1f, 0f, 1f, 0f);
        Run(t => TF.Sign(t), new[] { -1e-300, 0.0, 7.0 }).ToArray<double>().Should().Equal(-1, 0, 1);
        Run(t => TF.Sign(t), HostTensor.From(new[] { -9, 0, 4 }, 3)).ToArray<int>().Should().Equal(-1, 0, 1);
        Run(t => TF.Sign(t), HostTensor.From(new[] { -5_000_000_000L, 0L, 5_000_000_000L }, 3)).ToArray<long>().Should().Equal(-1, 0, 1);
    }

    /// <summary>IEEE edge values: log(0) = -inf, sqrt(-1) = NaN, rsqrt(0) = +inf, 1/0 = +inf, exp overflow = +inf, relu of negatives = 0.</summary>
    [Test]
    public void Unary_IeeeEdgeValues()
    {
        Run(t => TF.Log(t), new[] { 0f }).ToArray<float>()[0].Should().Be(float.NegativeInfinity);
        float.IsNaN(Run(t => TF.Sqrt(t), new[] { -1f }).ToArray<float>()[0]).Should().BeTrue();
        Run(t => TF.Rsqrt(t), new[] { 0f }).ToArray<float>()[0].Should().Be(float.PositiveInfinity);
        Run(t => TF.Reciprocal(t), new[] { 0f }).ToArray<float>()[0].Should().Be(float.PositiveInfinity);
        Run(t => TF.Exp(t), new[] { 100f }).ToArray<float>()[0].Should().Be(float.PositiveInfinity);
        Run(t => TF.Exp(t), new[] { 0.0 }).ToArray<double>()[0].Should().Be(1.0);
        Run(t => TF.Relu(t), new[] { -5f, -1e-30f, 0f, 3f }).ToArray<float>().Should().Equal(0f, 0f, 0f, 3f);
    }

    // ───────────────────────────── 6. feeds ─────────────────────────────

    /// <summary>An int array fed to a float32 (or float64) placeholder is converted, as TF does.</summary>
    [Test]
    public void Feed_IntArrayIntoFloatPlaceholder_IsConverted()
    {
        var g = new ComputeGraph();
        using (g.AsDefault())
        {
            var x = TF.Placeholder(DType.Float32, new Shape(-1, 3));
            var d = TF.Placeholder(DType.Float64, new Shape(2));
            var y = x * 0.5;
            using var sess = new Session(g, new SessionOptions { Device = Device });
            var r = sess.Run(y, new FeedDict { { x, new[,] { { 1, 2, 3 }, { 4, 5, 6 } } } });
            r.DType.Should().Be(DType.Float32);
            r.Dims.Should().Equal(2, 3);
            r.ToArray<float>().Should().Equal(0.5f, 1f, 1.5f, 2f, 2.5f, 3f);

            var rd = sess.Run(TF.Sqrt(d), new FeedDict { { d, new long[] { 4, 9 } } });
            rd.DType.Should().Be(DType.Float64);
            rd.ToArray<double>().Should().Equal(2, 3);
        }
    }

    /// <summary>A float array fed to an int32 placeholder is rejected, naming both dtypes.</summary>
    [Test]
    public void Feed_FloatIntoIntPlaceholder_Throws()
    {
        var g = new ComputeGraph();
        using (g.AsDefault())
        {
            var x = TF.Placeholder(DType.Int32, new Shape(2));
            var y = -x;
            using var sess = new Session(g, new SessionOptions { Device = Device });
            ShouldThrowNaming(() => sess.Run(y, new FeedDict { { x, new[] { 1f, 2f } } }), "float32", "int32");
        }
    }

    // ───────────────────────────── Zeros / Ones / Fill / ZerosLike / OnesLike ─────────────────────────────

    /// <summary>Zeros and Ones have the given shape and dtype.</summary>
    [Test]
    public void ZerosOnes_ShapeDTypeAndValues()
    {
        var g = new ComputeGraph();
        using (g.AsDefault())
        {
            var z = TF.Zeros([2, 3]);
            var o = TF.Ones([2], DType.Float64);
            var zi = TF.Zeros([3], DType.Int32);
            var ob = TF.Ones([2, 1], DType.Bool);
            ShouldHaveShape(z.Shape, new Shape(2, 3));
            z.DType.Should().Be(DType.Float32);
            o.DType.Should().Be(DType.Float64);
            using var sess = new Session(g, new SessionOptions { Device = Device });
            var rz = sess.Run(z);
            rz.Dims.Should().Equal(2, 3);
            rz.ToArray<float>().Should().Equal(0, 0, 0, 0, 0, 0);
            sess.Run(o).ToArray<double>().Should().Equal(1, 1);
            sess.Run(zi).ToArray<int>().Should().Equal(0, 0, 0);
            sess.Run(ob).ToArray<bool>().Should().Equal(true, true);
        }
    }

    /// <summary>Fill broadcasts a scalar to the given dims; a non-scalar value or negative dims throw naming Fill.</summary>
    [Test]
    public void Fill_ScalarToShape()
    {
        var r = Run(() => TF.Fill([2, 2], TF.Constant(7)));
        r.DType.Should().Be(DType.Int32);
        r.Dims.Should().Equal(2, 2);
        r.ToArray<int>().Should().Equal(7, 7, 7, 7);

        var g = new ComputeGraph();
        using (g.AsDefault())
        {
            ShouldHaveShape(TF.Fill([3, 1], TF.Constant(2.5)).Shape, new Shape(3, 1));
            ShouldThrowNaming(() => TF.Fill([2], TF.Constant(new[] { 1f, 2f })), "Fill", "(2,)");
            ShouldThrowNaming(() => TF.Fill([-1, 2], TF.Constant(1f)), "Fill");
        }
    }

    /// <summary>ZerosLike and OnesLike keep the (partly unknown) static shape and dtype, and take the fed shape at run time.</summary>
    [Test]
    public void ZerosLikeOnesLike_FollowInput()
    {
        var g = new ComputeGraph();
        using (g.AsDefault())
        {
            var x = TF.Placeholder(DType.Float32, new Shape(-1, 3));
            var i = TF.Placeholder(DType.Int64, Shape.Unknown);
            var z = TF.ZerosLike(x);
            var o = TF.OnesLike(i);
            ShouldHaveShape(z.Shape, new Shape(-1, 3));
            z.DType.Should().Be(DType.Float32);
            ShouldHaveShape(o.Shape, Shape.Unknown);
            o.DType.Should().Be(DType.Int64);
            using var sess = new Session(g, new SessionOptions { Device = Device });
            var (rz, ro) = sess.Run(z, o, new FeedDict { { x, new float[,] { { 1, 2, 3 }, { 4, 5, 6 } } }, { i, new long[] { 5, 6 } } });
            rz.Dims.Should().Equal(2, 3);
            rz.ToArray<float>().Should().OnlyContain(v => v == 0f).And.HaveCount(6);
            ro.Dims.Should().Equal(2);
            ro.ToArray<long>().Should().Equal(1, 1);
        }
    }
}
