namespace Graph.Core;

/// <summary>
/// FloorDiv and TruncateDiv: division rounded down (Python's <c>//</c>, tf.math.floordiv) or toward zero (C's
/// <c>/</c>, tf.truncatediv), with broadcasting. On integers a zero divisor, or the minimum value divided by -1, fails
/// the run naming the op; on floats the quotient is rounded and IEEE rules apply (x / 0 is ±inf). No gradient flows
/// through them (TF's FloorDiv gradient is None).
/// </summary>
internal sealed class RoundedDivisionDef(string type, bool floor) : OpDef
{
    public static readonly RoundedDivisionDef FloorDiv = new("FloorDiv", floor: true);
    public static readonly RoundedDivisionDef TruncateDiv = new("TruncateDiv", floor: false);

    public override string Type => type;
    public override bool ChecksAtRunTime => true;

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var dtype = OpRules.SameDType(ctx, type, "x", "y");
        OpRules.RequireDType(ctx, type, ctx.Inputs[0], DTypeClass.Numeric);
        return [new(dtype, Shape.Broadcast(ctx.Inputs[0].Shape, ctx.Inputs[1].Shape, ctx.Label(type)))];
    }

    public override void Lower(LoweringContext ctx)
    {
        var (a, b) = (ctx.Input(0), ctx.Input(1));
        if (!a.DType.IsInteger())
        {
            var quotient = ctx.Binary(BinaryOp.Div, a, b);
            ctx.SetOutput(0, floor ? Floor(ctx, quotient) : Truncate(ctx, quotient));
            return;
        }
        var divisor = CheckedDivisor(ctx, a, b);
        var q = ctx.Binary(BinaryOp.Div, a, divisor); // truncates toward zero
        if (floor)
        {
            // One less where the remainder is non-zero and its sign differs from the divisor's.
            var zero = ctx.Scalar(a.DType, 0);
            var r = ctx.Binary(BinaryOp.Sub, a, ctx.Binary(BinaryOp.Mul, q, divisor));
            var down = ctx.Select(ctx.Binary(BinaryOp.Less, divisor, zero), ctx.Binary(BinaryOp.Greater, r, zero), ctx.Binary(BinaryOp.Less, r, zero));
            q = ctx.Select(down, ctx.Binary(BinaryOp.Sub, q, ctx.Scalar(a.DType, 1)), q);
        }
        ctx.SetOutput(0, q);
    }

    public override Tensor?[] Gradient(Operation op, Tensor?[] grads) => [null, null];

    /// <summary>The divisor, checked to be non-zero and not -1 where the dividend is the type's minimum (whose quotient overflows).</summary>
    private static Prim CheckedDivisor(LoweringContext ctx, Prim a, Prim b)
    {
        var dtype = b.DType;
        var nonZero = ctx.Add(new AssertPrim(b, ctx.Binary(BinaryOp.NotEqual, b, ctx.Scalar(dtype, 0)), "integer division by zero", [], [], 0));
        var min = dtype == DType.Int32 ? int.MinValue : long.MinValue;
        var fits = ctx.Binary(BinaryOp.LogicalOr,
            ctx.Binary(BinaryOp.NotEqual, a, ctx.Scalar(dtype, min)), ctx.Binary(BinaryOp.NotEqual, nonZero, ctx.Scalar(dtype, -1)));
        return ctx.Add(new AssertPrim(nonZero, fits, $"integer division overflow: {min} / -1 does not fit {dtype.Name()}", [], [], 0));
    }

    /// <summary>
    /// trunc(x) from primitives every device has: an integer round trip where |x| is below 2^mantissa bits; larger
    /// floats are integers already, and infinities and NaN fail the comparison and pass through unchanged.
    /// </summary>
    private static Prim Truncate(LoweringContext ctx, Prim x)
    {
        var (intType, limit) = x.DType == DType.Float32 ? (DType.Int32, 8388608.0) : (DType.Int64, 4503599627370496.0);
        var small = ctx.Binary(BinaryOp.Less, ctx.Unary(UnaryOp.Abs, x), ctx.Scalar(x.DType, limit));
        return ctx.Select(small, ctx.Cast(ctx.Cast(x, intType), x.DType), x);
    }

    /// <summary>floor(x): trunc(x), less one where truncation rounded up (negative non-integers).</summary>
    private static Prim Floor(LoweringContext ctx, Prim x)
    {
        var t = Truncate(ctx, x);
        return ctx.Select(ctx.Binary(BinaryOp.Greater, t, x), ctx.Binary(BinaryOp.Sub, t, ctx.Scalar(x.DType, 1)), t);
    }
}

public static partial class TF
{
    /// <summary>
    /// x / y with broadcasting (tf.divide, Python 3's <c>/</c>): floats divide; int32 and int64 operands are converted to
    /// float64 first and give float64, as TF1's truediv does. For integer quotients use <see cref="FloorDiv"/> or
    /// <see cref="TruncateDiv"/>.
    /// </summary>
    public static Tensor Divide(Tensor x, Tensor y, string? name = null)
    {
        if (x.DType.IsInteger() && y.DType == x.DType)
        {
            x = Cast(x, DType.Float64);
            y = Cast(y, DType.Float64);
        }
        return Binary(DivDef, x, y, name);
    }

    /// <summary>
    /// x / y rounded down, with broadcasting (tf.math.floordiv, Python's <c>//</c>): <c>-7 // 2 = -4</c>. On integers a
    /// zero divisor, or the minimum value divided by -1, fails the run naming the op.
    /// </summary>
    public static Tensor FloorDiv(Tensor x, Tensor y, string? name = null) => G.AddOp(RoundedDivisionDef.FloorDiv, [x, y], name: name).Output;

    /// <summary>
    /// x / y rounded toward zero, with broadcasting (tf.truncatediv, C's integer <c>/</c>): <c>-7 / 2 = -3</c>. On
    /// integers a zero divisor, or the minimum value divided by -1, fails the run naming the op.
    /// </summary>
    public static Tensor TruncateDiv(Tensor x, Tensor y, string? name = null) => G.AddOp(RoundedDivisionDef.TruncateDiv, [x, y], name: name).Output;
}
