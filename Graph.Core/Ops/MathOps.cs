namespace Graph.Core;

/// <summary>Matrix product of rank-2 tensors (MatMul) or of rank-3 batches with equal batch size (BatchMatMul).</summary>
internal sealed class MatMulDef(string type) : OpDef
{
    public static readonly MatMulDef MatMul = new("MatMul");
    public static readonly MatMulDef BatchMatMul = new("BatchMatMul");

    public override string Type => type;

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var (a, b) = (ctx.Inputs[0], ctx.Inputs[1]);
        var label = ctx.Label(type);
        var dtype = OpRules.SameDType(ctx, type, "a", "b");
        OpRules.RequireDType(ctx, type, a, DTypeClass.Numeric);
        var rank = type == "MatMul" ? 2 : 3;
        OpRules.RequireRank(ctx, type, a, rank, "a");
        OpRules.RequireRank(ctx, type, b, rank, "b");
        var (ta, tb) = (ctx.Attr<bool>("transpose_a"), ctx.Attr<bool>("transpose_b"));
        var sa = a.Shape.HasRank ? a.Shape : Shape.UnknownWithRank(rank);
        var sb = b.Shape.HasRank ? b.Shape : Shape.UnknownWithRank(rank);
        var m = ta ? sa[-1] : sa[-2];
        var ka = ta ? sa[-2] : sa[-1];
        var kb = tb ? sb[-1] : sb[-2];
        var n = tb ? sb[-2] : sb[-1];
        if (ka >= 0 && kb >= 0 && ka != kb)
            throw new InvalidArgumentException(
                $"{label}: inner dimensions must agree, got a {a.Shape}{(ta ? " (transposed)" : "")} and b {b.Shape}{(tb ? " (transposed)" : "")}: {ka} vs {kb}.");
        if (rank == 2) return [new(dtype, new Shape(m, n))];
        if (sa[0] >= 0 && sb[0] >= 0 && sa[0] != sb[0])
            throw new InvalidArgumentException($"{label}: batch dimensions must agree, got a {a.Shape} and b {b.Shape}.");
        return [new(dtype, new Shape(sa[0] >= 0 ? sa[0] : sb[0], m, n))];
    }

    public override void Lower(LoweringContext ctx)
    {
        var (a, b) = (ctx.Input(0), ctx.Input(1));
        var (ta, tb) = (ctx.Op.Attr<bool>("transpose_a"), ctx.Op.Attr<bool>("transpose_b"));
        var r = a.Dims.Length;
        var ka = ta ? a.Dims[r - 2] : a.Dims[r - 1];
        var kb = tb ? b.Dims[r - 1] : b.Dims[r - 2];
        if (ka != kb || (r == 3 && a.Dims[0] != b.Dims[0]))
            throw new InvalidArgumentException(
                $"{ctx.OpLabel}: matrix size-incompatible: In[0]: {Shape.Format(a.Dims)}, In[1]: {Shape.Format(b.Dims)} (transpose_a={ta}, transpose_b={tb}).");
        ctx.SetOutput(0, ctx.MatMul(a, b, ta, tb));
    }

    /// <summary>For C = op(A)·op(B): dA and dB are products of dC with the other operand, transposed to match.</summary>
    public override Tensor?[] Gradient(Operation op, Tensor?[] grads)
    {
        var (g, a, b) = (grads[0]!, op.Inputs[0], op.Inputs[1]);
        var (ta, tb) = (op.Attr<bool>("transpose_a"), op.Attr<bool>("transpose_b"));
        return (ta, tb) switch
        {
            (false, false) => [TF.MatMul(g, b, transposeB: true), TF.MatMul(a, g, transposeA: true)],
            (true, false) => [TF.MatMul(b, g, transposeB: true), TF.MatMul(a, g)],
            (false, true) => [TF.MatMul(g, b), TF.MatMul(g, a, transposeA: true)],
            (true, true) => [TF.MatMul(b, g, transposeA: true, transposeB: true), TF.MatMul(g, a, transposeA: true, transposeB: true)],
        };
    }
}

/// <summary>Sum, Mean, Max, Min and Prod over axes (attribute <c>axes</c>: null = all; <c>keep_dims</c>).</summary>
internal sealed class ReduceDef(string type, ReduceOp op, bool mean = false) : OpDef
{
    public static readonly ReduceDef Sum = new("Sum", ReduceOp.Sum);
    public static readonly ReduceDef Mean = new("Mean", ReduceOp.Sum, mean: true);
    public static readonly ReduceDef Max = new("Max", ReduceOp.Max);
    public static readonly ReduceDef Min = new("Min", ReduceOp.Min);
    public static readonly ReduceDef Prod = new("Prod", ReduceOp.Prod);

    public override string Type => type;

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var x = ctx.Inputs[0];
        OpRules.RequireDType(ctx, type, x, DTypeClass.Numeric);
        var keep = ctx.Attr<bool>("keep_dims");
        var axes = ctx.Attrs.TryGetValue("axes", out var a) ? (int[])a : null;
        if (!x.Shape.HasRank)
            return [new(x.DType, axes == null && !keep ? Shape.Scalar : Shape.Unknown)];
        var rank = x.Shape.Rank;
        var resolved = OpRules.Axes(ctx.Label(type), axes, rank);
        var dims = x.Shape.Dims;
        var outDims = keep ? LoweringContext.KeepDims(dims, resolved) : LoweringContext.DropAxes(dims, resolved);
        return [new(x.DType, new Shape(outDims))];
    }

    public override void Lower(LoweringContext ctx)
    {
        var x = ctx.Input(0);
        var axes = OpRules.Axes(ctx.OpLabel, ctx.Op.Attributes.TryGetValue("axes", out var a) ? (int[])a : null, x.Dims.Length);
        var keep = ctx.Op.Attr<bool>("keep_dims");
        var result = ctx.Reduce(op, x, axes, keep);
        if (mean)
        {
            // (A loop over the axes: LINQ over ints is left to the JIT at start-up, see Ints.)
            long count = 1;
            foreach (var ax in axes) count *= x.Dims[ax];
            result = ctx.Binary(BinaryOp.Div, result, ctx.Scalar(x.DType, count));
        }
        ctx.SetOutput(0, result);
    }

    /// <summary>
    /// Sum and Mean spread the gradient back over the reduced axes; Max and Min split it evenly between the tied
    /// extreme elements (as TF does); Prod multiplies by the product of the other elements, safely with zeros.
    /// </summary>
    public override Tensor?[] Gradient(Operation o, Tensor?[] grads)
    {
        var (g, x, y) = (grads[0]!, o.Inputs[0], o.Output);
        var axes = o.Attributes.TryGetValue("axes", out var a) ? (int[])a : null;
        Tensor Spread(Tensor t) => TF.BroadcastLike(t, x, axes, allAxes: axes == null);
        switch (op)
        {
            case ReduceOp.Sum when mean:
                var count = TF.Cast(TF.Divide(TF.Size(x), TF.Size(y)), x.DType);
                return [Spread(g) / count];
            case ReduceOp.Sum:
                return [Spread(g)];
            case ReduceOp.Max or ReduceOp.Min:
                var hits = TF.Cast(TF.Equal(Spread(y), x), x.DType);
                var ties = Spread(TF.ReduceSum(hits, axes));
                return [hits / ties * Spread(g)];
            default:
                var zero = TF.Equal(x, TF.ZerosLike(x));
                var nonZero = TF.Where(zero, TF.OnesLike(x), x);
                var productOfNonZero = Spread(TF.ReduceProd(nonZero, axes));
                var zeroCount = Spread(TF.ReduceSum(TF.Cast(zero, x.DType), axes));
                var zeros = TF.ZerosLike(x);
                var others = TF.Where(zero,
                    TF.Where(TF.Equal(zeroCount, TF.OnesLike(x)), productOfNonZero, zeros),
                    TF.Where(TF.Equal(zeroCount, zeros), productOfNonZero / nonZero, zeros));
                return [others * Spread(g)];
        }
    }
}

/// <summary>ArgMax and ArgMin along one axis; attribute <c>output_type</c> is int32 or int64.</summary>
internal sealed class ArgReduceDef(string type, ReduceOp op) : OpDef
{
    public static readonly ArgReduceDef ArgMax = new("ArgMax", ReduceOp.ArgMax);
    public static readonly ArgReduceDef ArgMin = new("ArgMin", ReduceOp.ArgMin);

    public override string Type => type;

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var x = ctx.Inputs[0];
        OpRules.RequireDType(ctx, type, x, DTypeClass.Numeric);
        var outType = ctx.Attr<DType>("output_type");
        if (!outType.IsInteger()) throw new InvalidArgumentException($"{ctx.Label(type)}: output_type must be int32 or int64, got {outType.Name()}.");
        if (!x.Shape.HasRank) return [new(outType, Shape.Unknown)];
        var axis = OpRules.Axis(ctx.Label(type), ctx.Attr<int>("axis"), x.Shape.Rank);
        return [new(outType, new Shape(x.Shape.Dims.Where((_, i) => i != axis).ToArray()))];
    }

    public override void Lower(LoweringContext ctx)
    {
        var x = ctx.Input(0);
        var axis = OpRules.Axis(ctx.OpLabel, ctx.Op.Attr<int>("axis"), x.Dims.Length);
        if (x.Dims[axis] == 0) throw new InvalidArgumentException($"{ctx.OpLabel}: reduction axis {axis} of shape {Shape.Format(x.Dims)} is empty.");
        ctx.SetOutput(0, ctx.Add(new ReducePrim(op, x, [axis], ctx.Op.Attr<DType>("output_type"))));
    }

    public override Tensor?[] Gradient(Operation op, Tensor?[] grads) => [null];
}

public static partial class TF
{
    /// <summary>
    /// Matrix product (tf.matmul): rank-2 operands give MatMul, rank-3 operands a batched product over the leading
    /// axis (BatchMatMul). The transpose flags apply to the last two axes.
    /// </summary>
    public static Tensor MatMul(Tensor a, Tensor b, bool transposeA = false, bool transposeB = false, string? name = null)
    {
        var batched = (a.Shape.HasRank && a.Shape.Rank == 3) || (b.Shape.HasRank && b.Shape.Rank == 3);
        var def = batched ? MatMulDef.BatchMatMul : MatMulDef.MatMul;
        return G.AddOp(def, [a, b], OpRules.Attrs(("transpose_a", transposeA), ("transpose_b", transposeB)), name).Output;
    }

    private static Tensor Reduce(ReduceDef def, Tensor x, int[]? axis, bool keepDims, string? name) =>
        G.Tf1Call(Tf1Ops.Reduction(axis != null || x.Shape.HasRank), [x], () => G.AddOp(def, [x], OpRules.Attrs(("axes", axis), ("keep_dims", keepDims)), name).Output);

    /// <summary>Sum over <paramref name="axis"/> (null = all axes) (tf.reduce_sum).</summary>
    public static Tensor ReduceSum(Tensor x, int[]? axis = null, bool keepDims = false, string? name = null) => Reduce(ReduceDef.Sum, x, axis, keepDims, name);
    /// <summary>Mean over <paramref name="axis"/> (null = all axes) (tf.reduce_mean; integer means truncate).</summary>
    public static Tensor ReduceMean(Tensor x, int[]? axis = null, bool keepDims = false, string? name = null) => Reduce(ReduceDef.Mean, x, axis, keepDims, name);
    /// <summary>Maximum over <paramref name="axis"/> (null = all axes) (tf.reduce_max).</summary>
    public static Tensor ReduceMax(Tensor x, int[]? axis = null, bool keepDims = false, string? name = null) => Reduce(ReduceDef.Max, x, axis, keepDims, name);
    /// <summary>Minimum over <paramref name="axis"/> (null = all axes) (tf.reduce_min).</summary>
    public static Tensor ReduceMin(Tensor x, int[]? axis = null, bool keepDims = false, string? name = null) => Reduce(ReduceDef.Min, x, axis, keepDims, name);
    /// <summary>Product over <paramref name="axis"/> (null = all axes) (tf.reduce_prod).</summary>
    public static Tensor ReduceProd(Tensor x, int[]? axis = null, bool keepDims = false, string? name = null) => Reduce(ReduceDef.Prod, x, axis, keepDims, name);

    /// <summary>Index of the largest value along <paramref name="axis"/>, first on ties (tf.argmax).</summary>
    public static Tensor ArgMax(Tensor x, int axis = 0, DType outputType = DType.Int64, string? name = null) =>
        G.Tf1Call(Tf1Ops.WithConstants(1), [x], () => G.AddOp(ArgReduceDef.ArgMax, [x], OpRules.Attrs(("axis", axis), ("output_type", outputType)), name).Output);

    /// <summary>Index of the smallest value along <paramref name="axis"/>, first on ties (tf.argmin).</summary>
    public static Tensor ArgMin(Tensor x, int axis = 0, DType outputType = DType.Int64, string? name = null) =>
        G.Tf1Call(Tf1Ops.WithConstants(1), [x], () => G.AddOp(ArgReduceDef.ArgMin, [x], OpRules.Attrs(("axis", axis), ("output_type", outputType)), name).Output);
}
