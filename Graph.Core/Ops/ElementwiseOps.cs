namespace Graph.Core;

/// <summary>Which dtypes an element-wise op accepts.</summary>
internal enum DTypeClass
{
    /// <summary>float32, float64.</summary>
    Floating,
    /// <summary>Every numeric type.</summary>
    Numeric,
    /// <summary>Every type including bool.</summary>
    Any,
    /// <summary>bool only.</summary>
    Bool,
}

internal static class DTypeClassExtensions
{
    public static bool Accepts(this DTypeClass c, DType d) => c switch
    {
        DTypeClass.Floating => d.IsFloating(),
        DTypeClass.Numeric => d.IsNumeric(),
        DTypeClass.Bool => d == DType.Bool,
        _ => true,
    };

    public static string Describe(this DTypeClass c) => c switch
    {
        DTypeClass.Floating => "a float32 or float64 tensor",
        DTypeClass.Numeric => "a numeric (float32, float64, int32, int64) tensor",
        DTypeClass.Bool => "a bool tensor",
        _ => "a tensor",
    };
}

/// <summary>An element-wise op of one operand that lowers to one unary primitive.</summary>
internal sealed class UnaryDef(string type, UnaryOp op, DTypeClass accepts) : OpDef
{
    public override string Type => type;

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        OpRules.RequireDType(ctx, type, ctx.Inputs[0], accepts);
        return [new(ctx.Inputs[0].DType, ctx.Inputs[0].Shape)];
    }

    public override void Lower(LoweringContext ctx) => ctx.SetOutput(0, ctx.Unary(op, ctx.Input(0)));

    public override Tensor?[] Gradient(Operation o, Tensor?[] grads)
    {
        var (g, x, y) = (grads[0]!, o.Inputs[0], o.Output);
        Tensor One() => TF.OnesLike(y);
        return op switch
        {
            UnaryOp.Neg => [-g],
            UnaryOp.Abs => [g * TF.Sign(x)],
            UnaryOp.Square => [g * (x * 2.0)],
            UnaryOp.Sqrt => [g * 0.5 / y],
            UnaryOp.Rsqrt => [g * -0.5 * y * y * y],
            UnaryOp.Exp => [g * y],
            UnaryOp.Log => [g / x],
            UnaryOp.Tanh => [g * (One() - TF.Square(y))],
            UnaryOp.Sigmoid => [g * y * (One() - y)],
            UnaryOp.Relu => [TF.Where(TF.Greater(x, TF.ZerosLike(x)), g, TF.ZerosLike(g))],
            UnaryOp.Softplus => [g * TF.Sigmoid(x)],
            UnaryOp.Sign => [TF.ZerosLike(x)],
            UnaryOp.Reciprocal => [-g * TF.Square(y)],
            _ => base.Gradient(o, grads),
        };
    }
}

/// <summary>An element-wise op of two broadcast operands that lowers to one binary primitive.</summary>
internal sealed class BinaryDef(string type, BinaryOp op, DTypeClass accepts) : OpDef
{
    public override string Type => type;

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var dtype = OpRules.SameDType(ctx, type, "x", "y");
        OpRules.RequireDType(ctx, type, ctx.Inputs[0], accepts);
        var shape = Shape.Broadcast(ctx.Inputs[0].Shape, ctx.Inputs[1].Shape, ctx.Label(type));
        return [new(op.IsComparison() ? DType.Bool : dtype, shape)];
    }

    public override void Lower(LoweringContext ctx) => ctx.SetOutput(0, ctx.Binary(op, ctx.Input(0), ctx.Input(1)));

    /// <summary>Each operand's gradient is summed back over the axes it was broadcast along.</summary>
    public override Tensor?[] Gradient(Operation o, Tensor?[] grads)
    {
        if (op.IsComparison() || op.IsLogical()) return [null, null];
        var (g, a, b) = (grads[0]!, o.Inputs[0], o.Inputs[1]);
        (Tensor ga, Tensor gb) = op switch
        {
            BinaryOp.Add => (g, g),
            BinaryOp.Sub => (g, -g),
            BinaryOp.Mul => (g * b, g * a),
            // −a/b/b as TF1's _RealDivGrad: −a/b² overflows (or underflows) where b² does and the quotient does not.
            BinaryOp.Div => (g / b, g * (-a / b / b)),
            BinaryOp.Pow => PowGrad(g, a, b, o.Output),
            BinaryOp.Max => MaxMinGrad(g, TF.GreaterEqual(a, b)),
            BinaryOp.Min => MaxMinGrad(g, TF.LessEqual(a, b)),
            _ => throw new InvalidOperationException($"No gradient rule for {op}."),
        };
        return [TF.SumToShape(ga, a), TF.SumToShape(gb, b)];
    }

    private static (Tensor, Tensor) PowGrad(Tensor g, Tensor x, Tensor y, Tensor z)
    {
        var gx = g * y * TF.Pow(x, y - 1.0);
        // d/dy x^y = x^y · ln x, taken as 0 where x <= 0 (as TF does).
        var positive = TF.Greater(x, TF.ZerosLike(x));
        var safeLog = TF.Where(positive, TF.Log(TF.Where(positive, x, TF.OnesLike(x))), TF.ZerosLike(x));
        return (gx, g * z * safeLog);
    }

    /// <summary>TF's Maximum/Minimum gradient: the whole gradient goes to x where the mask holds (ties included), else to y.</summary>
    private static (Tensor, Tensor) MaxMinGrad(Tensor g, Tensor xMask)
    {
        var zeros = TF.ZerosLike(g);
        return (TF.Where(xMask, g, zeros), TF.Where(xMask, zeros, g));
    }
}

/// <summary>
/// <c>where(cond, x, y)</c>: TF1's Select (<see cref="Select"/>, tf.where) and TF2's SelectV2 (<see cref="SelectV2"/>,
/// tf.where_v2). Both broadcast cond, x and y; they differ where TF1's Select does something broadcasting cannot: a
/// vector cond against values of rank 2 or more picks whole rows (cond[i] chooses x[i, ...] or y[i, ...]), where
/// SelectV2 would broadcast it along the last axis (and pick columns of a square x silently).
/// </summary>
internal sealed class SelectDef(string type) : OpDef
{
    public static readonly SelectDef Select = new("Select");
    public static readonly SelectDef SelectV2 = new("SelectV2");
    public override string Type => type;

    private bool SelectsRows(int condRank, int valueRank) => type == "Select" && condRank == 1 && valueRank >= 2;

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var (c, x, y) = (ctx.Inputs[0], ctx.Inputs[1], ctx.Inputs[2]);
        OpRules.RequireDType(ctx, Type, c, d => d == DType.Bool, "a bool condition");
        if (x.DType != y.DType)
            throw new InvalidArgumentException($"{ctx.Label(Type)}: x and y must have the same dtype, got {x.DType.Name()} and {y.DType.Name()}.");
        var label = ctx.Label(Type);
        var values = Shape.Broadcast(x.Shape, y.Shape, label);
        if (c.Shape.HasRank && values.HasRank && SelectsRows(c.Shape.Rank, values.Rank))
        {
            if (c.Shape[0] >= 0 && values[0] >= 0 && c.Shape[0] != values[0])
                throw new InvalidArgumentException($"{label}: a vector condition picks rows, so its length must be the values' first dimension; got {c.Shape} for values of shape {values}.");
            return [new(x.DType, values.HasRank && values[0] < 0 && c.Shape[0] >= 0 ? new Shape([c.Shape[0], .. values.Dims[1..]]) : values)];
        }
        return [new(x.DType, Shape.Broadcast(c.Shape, values, label))];
    }

    public override void Lower(LoweringContext ctx)
    {
        var (c, x, y) = (ctx.Input(0), ctx.Input(1), ctx.Input(2));
        var rank = Math.Max(x.Dims.Length, y.Dims.Length);
        if (SelectsRows(c.Dims.Length, rank))
        {
            var rows = Shape.Broadcast(x.Dims, y.Dims, ctx.OpLabel)[0];
            if (c.Dims[0] != rows)
                throw new InvalidArgumentException($"{ctx.OpLabel}: a vector condition picks rows, so its length must be the values' first dimension; got {Shape.Format(c.Dims)} for {rows} rows.");
            c = ctx.Reshape(c, [rows, .. Ints.Repeat(1, rank - 1)]);
        }
        ctx.SetOutput(0, ctx.Select(c, x, y));
    }

    public override Tensor?[] Gradient(Operation op, Tensor?[] grads)
    {
        var (g, c, x, y) = (grads[0]!, op.Inputs[0], op.Inputs[1], op.Inputs[2]);
        var zeros = TF.ZerosLike(g);
        // The same op as the forward one, so a vector condition picks the same rows of the gradient.
        Tensor Pick(Tensor a, Tensor b) => op.Graph.AddOp(this, [c, a, b]).Output;
        return [null, TF.SumToShape(Pick(g, zeros), x), TF.SumToShape(Pick(zeros, g), y)];
    }
}

/// <summary>Dtype conversion (tf.cast).</summary>
internal sealed class CastDef : OpDef
{
    public static readonly CastDef Instance = new();
    public override string Type => "Cast";
    public override OutputSpec[] Infer(OpBuildContext ctx) => [new(ctx.Attr<DType>("DstT"), ctx.Inputs[0].Shape)];
    public override void Lower(LoweringContext ctx) => ctx.SetOutput(0, ctx.Cast(ctx.Input(0), ctx.Op.Attr<DType>("DstT")));

    /// <summary>Only casts between float types pass a gradient.</summary>
    public override Tensor?[] Gradient(Operation op, Tensor?[] grads)
    {
        var x = op.Inputs[0];
        return x.DType.IsFloating() && op.Output.DType.IsFloating() ? [TF.Cast(grads[0]!, x.DType)] : [null];
    }
}

public static partial class TF
{
    private static readonly UnaryDef NegDef = new("Neg", UnaryOp.Neg, DTypeClass.Numeric);
    private static readonly UnaryDef AbsDef = new("Abs", UnaryOp.Abs, DTypeClass.Numeric);
    private static readonly UnaryDef SquareDef = new("Square", UnaryOp.Square, DTypeClass.Numeric);
    private static readonly UnaryDef SqrtDef = new("Sqrt", UnaryOp.Sqrt, DTypeClass.Floating);
    private static readonly UnaryDef RsqrtDef = new("Rsqrt", UnaryOp.Rsqrt, DTypeClass.Floating);
    private static readonly UnaryDef ExpDef = new("Exp", UnaryOp.Exp, DTypeClass.Floating);
    private static readonly UnaryDef LogDef = new("Log", UnaryOp.Log, DTypeClass.Floating);
    private static readonly UnaryDef TanhDef = new("Tanh", UnaryOp.Tanh, DTypeClass.Floating);
    private static readonly UnaryDef SigmoidDef = new("Sigmoid", UnaryOp.Sigmoid, DTypeClass.Floating);
    private static readonly UnaryDef ReluDef = new("Relu", UnaryOp.Relu, DTypeClass.Numeric);
    private static readonly UnaryDef SoftplusDef = new("Softplus", UnaryOp.Softplus, DTypeClass.Floating);
    private static readonly UnaryDef SignDef = new("Sign", UnaryOp.Sign, DTypeClass.Numeric);
    private static readonly UnaryDef ReciprocalDef = new("Reciprocal", UnaryOp.Reciprocal, DTypeClass.Floating);
    private static readonly UnaryDef LogicalNotDef = new("LogicalNot", UnaryOp.LogicalNot, DTypeClass.Bool);

    private static readonly BinaryDef AddDef = new("Add", BinaryOp.Add, DTypeClass.Numeric);
    private static readonly BinaryDef SubDef = new("Sub", BinaryOp.Sub, DTypeClass.Numeric);
    private static readonly BinaryDef MulDef = new("Mul", BinaryOp.Mul, DTypeClass.Numeric);
    private static readonly BinaryDef DivDef = new("RealDiv", BinaryOp.Div, DTypeClass.Floating);
    private static readonly BinaryDef PowDef = new("Pow", BinaryOp.Pow, DTypeClass.Numeric);
    private static readonly BinaryDef MaximumDef = new("Maximum", BinaryOp.Max, DTypeClass.Numeric);
    private static readonly BinaryDef MinimumDef = new("Minimum", BinaryOp.Min, DTypeClass.Numeric);
    private static readonly BinaryDef EqualDef = new("Equal", BinaryOp.Equal, DTypeClass.Any);
    private static readonly BinaryDef NotEqualDef = new("NotEqual", BinaryOp.NotEqual, DTypeClass.Any);
    private static readonly BinaryDef LessDef = new("Less", BinaryOp.Less, DTypeClass.Numeric);
    private static readonly BinaryDef LessEqualDef = new("LessEqual", BinaryOp.LessEqual, DTypeClass.Numeric);
    private static readonly BinaryDef GreaterDef = new("Greater", BinaryOp.Greater, DTypeClass.Numeric);
    private static readonly BinaryDef GreaterEqualDef = new("GreaterEqual", BinaryOp.GreaterEqual, DTypeClass.Numeric);
    private static readonly BinaryDef LogicalAndDef = new("LogicalAnd", BinaryOp.LogicalAnd, DTypeClass.Bool);
    private static readonly BinaryDef LogicalOrDef = new("LogicalOr", BinaryOp.LogicalOr, DTypeClass.Bool);

    private static Tensor Unary(UnaryDef def, Tensor x, string? name) => G.AddOp(def, [x], name: name).Output;
    private static Tensor Binary(BinaryDef def, Tensor x, Tensor y, string? name) => G.AddOp(def, [x, y], name: name).Output;

    /// <summary>-x (tf.negative).</summary>
    public static Tensor Negative(Tensor x, string? name = null) => Unary(NegDef, x, name);
    /// <summary>|x| (tf.abs).</summary>
    public static Tensor Abs(Tensor x, string? name = null) => Unary(AbsDef, x, name);
    /// <summary>x² (tf.square).</summary>
    public static Tensor Square(Tensor x, string? name = null) => Unary(SquareDef, x, name);
    /// <summary>√x (tf.sqrt).</summary>
    public static Tensor Sqrt(Tensor x, string? name = null) => Unary(SqrtDef, x, name);
    /// <summary>1/√x (tf.rsqrt).</summary>
    public static Tensor Rsqrt(Tensor x, string? name = null) => Unary(RsqrtDef, x, name);
    /// <summary>eˣ (tf.exp).</summary>
    public static Tensor Exp(Tensor x, string? name = null) => Unary(ExpDef, x, name);
    /// <summary>ln x (tf.log).</summary>
    public static Tensor Log(Tensor x, string? name = null) => Unary(LogDef, x, name);
    /// <summary>tanh x (tf.tanh).</summary>
    public static Tensor Tanh(Tensor x, string? name = null) => Unary(TanhDef, x, name);
    /// <summary>1/(1+e⁻ˣ) (tf.sigmoid).</summary>
    public static Tensor Sigmoid(Tensor x, string? name = null) => Unary(SigmoidDef, x, name);
    /// <summary>max(x, 0) (tf.nn.relu).</summary>
    public static Tensor Relu(Tensor x, string? name = null) => Unary(ReluDef, x, name);
    /// <summary>ln(1+eˣ) (tf.nn.softplus).</summary>
    public static Tensor Softplus(Tensor x, string? name = null) => Unary(SoftplusDef, x, name);
    /// <summary>sign(x) (tf.sign).</summary>
    public static Tensor Sign(Tensor x, string? name = null) => Unary(SignDef, x, name);
    /// <summary>1/x (tf.reciprocal).</summary>
    public static Tensor Reciprocal(Tensor x, string? name = null) => Unary(ReciprocalDef, x, name);
    /// <summary>!x (tf.logical_not).</summary>
    public static Tensor LogicalNot(Tensor x, string? name = null) => Unary(LogicalNotDef, x, name);

    /// <summary>x + y with broadcasting (tf.add).</summary>
    public static Tensor Add(Tensor x, Tensor y, string? name = null) => Binary(AddDef, x, y, name);
    /// <summary>x - y with broadcasting (tf.subtract).</summary>
    public static Tensor Subtract(Tensor x, Tensor y, string? name = null) => Binary(SubDef, x, y, name);
    /// <summary>x · y with broadcasting (tf.multiply).</summary>
    public static Tensor Multiply(Tensor x, Tensor y, string? name = null) => Binary(MulDef, x, y, name);
    /// <summary>xʸ with broadcasting (tf.pow).</summary>
    public static Tensor Pow(Tensor x, Tensor y, string? name = null) => Binary(PowDef, x, y, name);
    /// <summary>max(x, y) with broadcasting (tf.maximum).</summary>
    public static Tensor Maximum(Tensor x, Tensor y, string? name = null) => Binary(MaximumDef, x, y, name);
    /// <summary>min(x, y) with broadcasting (tf.minimum).</summary>
    public static Tensor Minimum(Tensor x, Tensor y, string? name = null) => Binary(MinimumDef, x, y, name);
    /// <summary>x == y (tf.equal).</summary>
    public static Tensor Equal(Tensor x, Tensor y, string? name = null) => Binary(EqualDef, x, y, name);
    /// <summary>x != y (tf.not_equal).</summary>
    public static Tensor NotEqual(Tensor x, Tensor y, string? name = null) => Binary(NotEqualDef, x, y, name);
    /// <summary>x &lt; y (tf.less).</summary>
    public static Tensor Less(Tensor x, Tensor y, string? name = null) => Binary(LessDef, x, y, name);
    /// <summary>x &lt;= y (tf.less_equal).</summary>
    public static Tensor LessEqual(Tensor x, Tensor y, string? name = null) => Binary(LessEqualDef, x, y, name);
    /// <summary>x &gt; y (tf.greater).</summary>
    public static Tensor Greater(Tensor x, Tensor y, string? name = null) => Binary(GreaterDef, x, y, name);
    /// <summary>x &gt;= y (tf.greater_equal).</summary>
    public static Tensor GreaterEqual(Tensor x, Tensor y, string? name = null) => Binary(GreaterEqualDef, x, y, name);
    /// <summary>x ∧ y (tf.logical_and).</summary>
    public static Tensor LogicalAnd(Tensor x, Tensor y, string? name = null) => Binary(LogicalAndDef, x, y, name);
    /// <summary>x ∨ y (tf.logical_or).</summary>
    public static Tensor LogicalOr(Tensor x, Tensor y, string? name = null) => Binary(LogicalOrDef, x, y, name);

    /// <summary>
    /// <paramref name="condition"/> ? x : y element by element (tf.where in its three-argument form, TF1's Select): a
    /// vector condition against values of rank 2 or more picks whole rows, as in TF1; otherwise the three broadcast.
    /// </summary>
    public static Tensor Where(Tensor condition, Tensor x, Tensor y, string? name = null) =>
        G.AddOp(SelectDef.Select, [condition, x, y], name: name).Output;

    /// <summary><paramref name="condition"/> ? x : y with broadcasting throughout (tf.where_v2, TF2's where: a vector condition broadcasts along the last axis).</summary>
    public static Tensor WhereV2(Tensor condition, Tensor x, Tensor y, string? name = null) =>
        G.AddOp(SelectDef.SelectV2, [condition, x, y], name: name).Output;

    /// <summary>Converts to <paramref name="dtype"/> (tf.cast): floats truncate toward zero into ints, bools are 0/1.</summary>
    public static Tensor Cast(Tensor x, DType dtype, string? name = null) =>
        x.DType == dtype ? x : G.AddOp(CastDef.Instance, [x], OpRules.Attrs(("DstT", dtype)), name).Output;
}
