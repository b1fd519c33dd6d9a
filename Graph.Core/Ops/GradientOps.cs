namespace Graph.Core;

/// <summary>
/// Ops that reshape a gradient to the concrete shape of a reference tensor (input 1), whose dimensions may be
/// unknown until a plan is lowered: SumToShape undoes broadcasting, BroadcastLike undoes a reduction (attribute
/// <c>axes</c>: the reduced axes, null when only broadcasting), ReshapeLike undoes a reshape.
/// </summary>
internal sealed class LikeDef(string type) : OpDef
{
    public override bool IsShapeOnlyInput(int index) => index == 1;

    public static readonly LikeDef SumToShape = new("SumToShape");
    public static readonly LikeDef BroadcastLike = new("BroadcastLike");
    public static readonly LikeDef ReshapeLike = new("ReshapeLike");

    public override string Type => type;

    public override OutputSpec[] Infer(OpBuildContext ctx) => [new(ctx.Inputs[0].DType, ctx.Inputs[1].Shape)];

    public override void Lower(LoweringContext ctx)
    {
        var (x, like) = (ctx.Input(0), ctx.Input(1).Dims);
        switch (type)
        {
            case "SumToShape":
                var lead = x.Dims.Length - like.Length;
                var fits = lead >= 0;
                for (var i = Math.Max(lead, 0); i < x.Dims.Length && fits; i++) fits = like[i - lead] == x.Dims[i] || like[i - lead] == 1;
                RequireFit(ctx, fits, x.Dims, like, "sum back to");
                var summed = new List<int>(x.Dims.Length);
                for (var i = 0; i < x.Dims.Length; i++)
                    if (i < lead || (like[i - lead] == 1 && x.Dims[i] != 1)) summed.Add(i);
                var axes = summed.ToArray();
                ctx.SetOutput(0, ctx.Reshape(axes.Length == 0 ? x : ctx.Reduce(ReduceOp.Sum, x, axes, keepDims: false), like));
                break;
            case "BroadcastLike":
                var reduced = ctx.Op.Attributes.ContainsKey("all_axes") ? OpRules.Axes(ctx.OpLabel, null, like.Length)
                    : ctx.Op.Attributes.TryGetValue("axes", out var a) ? OpRules.Axes(ctx.OpLabel, (int[])a, like.Length) : null;
                var keptDims = reduced == null ? null : LoweringContext.KeepDims(like, reduced);
                var broadcastable = x.Dims.Length <= like.Length;
                if (keptDims != null) broadcastable = Shape.Product(x.Dims) == Shape.Product(keptDims);
                else
                    for (var i = 0; i < x.Dims.Length && broadcastable; i++)
                        broadcastable = x.Dims[i] == 1 || x.Dims[i] == like[like.Length - x.Dims.Length + i];
                RequireFit(ctx, broadcastable, x.Dims, like, "broadcast to");
                var kept = keptDims == null ? x : ctx.Reshape(x, keptDims);
                ctx.SetOutput(0, ctx.BroadcastTo(kept, like));
                break;
            default:
                RequireFit(ctx, Shape.Product(x.Dims) == Shape.Product(like), x.Dims, like, "reshape to");
                ctx.SetOutput(0, ctx.Reshape(x, like));
                break;
        }
    }

    /// <summary>A gradient fed or computed with a shape known only at run time may not fit its reference: say so, naming the op.</summary>
    private static void RequireFit(LoweringContext ctx, bool fits, int[] x, int[] like, string how)
    {
        if (!fits)
            throw new InvalidArgumentException($"{ctx.OpLabel}: a gradient of shape {Shape.Format(x)} does not {how} the shape {Shape.Format(like)} of the tensor it is the gradient of.");
    }

    public override Tensor?[] Gradient(Operation op, Tensor?[] grads)
    {
        var (g, x) = (grads[0]!, op.Inputs[0]);
        return type switch
        {
            "SumToShape" => [TF.BroadcastLike(g, x), null],
            "BroadcastLike" when !op.Attributes.ContainsKey("axes") && !op.Attributes.ContainsKey("all_axes") => [TF.SumToShape(g, x), null],
            "BroadcastLike" => [TF.ReshapeLike(TF.ReduceSum(g, op.Attributes.TryGetValue("axes", out var a) ? (int[])a : null, keepDims: true), x), null],
            "ReshapeLike" => [TF.ReshapeLike(g, x), null],
            _ => base.Gradient(op, grads),
        };
    }
}

/// <summary>
/// Gradient helpers with a reference input for concrete shapes: SplitLike (split input 0 along <c>axis</c> into parts
/// shaped like inputs 1..n), PadLike (place input 0 at <c>begin</c> inside zeros shaped like input 1), ScatterAddLike
/// (add slices of input 0 at indices input 1 along <c>axis</c> into zeros shaped like input 2) and TileGrad (sum the
/// tiles of input 0 back to the shape of input 1 given <c>multiples</c>).
/// </summary>
internal sealed class GradHelperDef(string type) : OpDef
{
    public override bool IsShapeOnlyInput(int index) => type == "ScatterAddLike" ? index == 2 : index >= 1;

    public static readonly GradHelperDef SplitLike = new("SplitLike");
    public static readonly GradHelperDef PadLike = new("PadLike");
    public static readonly GradHelperDef ScatterAddLike = new("ScatterAddLike");
    public static readonly GradHelperDef TileGrad = new("TileGrad");
    public static readonly GradHelperDef SliceLike = new("SliceLike");

    public override string Type => type;

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var dtype = ctx.Inputs[0].DType;
        return type switch
        {
            "SplitLike" => ctx.Inputs.Skip(1).Select(t => new OutputSpec(dtype, t.Shape)).ToArray(),
            "SliceLike" => [new(dtype, ctx.Inputs[1].Shape)],
            "ScatterAddLike" => [new(dtype, ctx.Inputs[2].Shape)],
            _ => [new(dtype, ctx.Inputs[1].Shape)],
        };
    }

    public override void Lower(LoweringContext ctx)
    {
        var g = ctx.Input(0);
        switch (type)
        {
            case "SliceLike":
                ctx.SetOutput(0, ctx.Slice(g, ctx.Op.Attr<int[]>("begin"), ctx.Input(1).Dims));
                break;
            case "SplitLike":
            {
                var axis = OpRules.Axis(ctx.OpLabel, ctx.Op.Attr<int>("axis"), g.Dims.Length);
                var begin = new int[g.Dims.Length];
                for (var i = 1; i < ctx.Inputs.Count; i++)
                {
                    var size = ctx.Input(i).Dims;
                    ctx.SetOutput(i - 1, ctx.Slice(g, (int[])begin.Clone(), size));
                    begin[axis] += size[axis];
                }
                break;
            }
            case "PadLike":
            {
                var like = ctx.Input(1).Dims;
                var begin = ctx.Op.Attr<int[]>("begin");
                var current = g;
                for (var axis = 0; axis < like.Length; axis++)
                {
                    var before = begin[axis];
                    var after = like[axis] - before - g.Dims[axis];
                    var parts = new List<Prim>();
                    if (before > 0) parts.Add(Zeros(ctx, current.Dims, axis, before, g.DType));
                    parts.Add(current);
                    if (after > 0) parts.Add(Zeros(ctx, current.Dims, axis, after, g.DType));
                    current = ctx.Concat(parts.ToArray(), axis);
                }
                ctx.SetOutput(0, current);
                break;
            }
            case "ScatterAddLike":
                var target = ctx.Input(2).Dims;
                ctx.SetOutput(0, ctx.Add(new ScatterAddPrim(g, ctx.Input(1), OpRules.Axis(ctx.OpLabel, ctx.Op.Attr<int>("axis"), target.Length), target)));
                break;
            default:
            {
                var x = ctx.Input(1).Dims;
                var multiples = ctx.Op.Attr<int[]>("multiples");
                var split = x.SelectMany((d, i) => new[] { multiples[i], d }).ToArray();
                var tiles = Enumerable.Range(0, x.Length).Select(i => 2 * i).ToArray();
                ctx.SetOutput(0, ctx.Reduce(ReduceOp.Sum, ctx.Reshape(g, split), tiles, keepDims: false));
                break;
            }
        }
    }

    /// <summary>Each helper is linear in input 0; the reference inputs get no gradient.</summary>
    public override Tensor?[] Gradient(Operation op, Tensor?[] grads)
    {
        var g = op.Graph;
        var x = op.Inputs[0];
        Tensor?[] WithNulls(Tensor first) => op.Inputs.Select((_, i) => i == 0 ? first : null).ToArray();
        return type switch
        {
            "SplitLike" => WithNulls(TF.Concat(grads.Select((gr, i) => gr ?? TF.ZerosLike(op.Outputs[i])).ToList(), op.Attr<int>("axis"))),
            "PadLike" => WithNulls(g.AddOp(SliceLike, [grads[0]!, x], OpRules.Attrs(("begin", op.Attr<int[]>("begin")))).Output),
            "SliceLike" => WithNulls(g.AddOp(PadLike, [grads[0]!, x], OpRules.Attrs(("begin", op.Attr<int[]>("begin")))).Output),
            "ScatterAddLike" => WithNulls(TF.Gather(grads[0]!, op.Inputs[1], op.Attr<int>("axis"))),
            _ => WithNulls(TF.Tile(grads[0]!, op.Attr<int[]>("multiples"))),
        };
    }

    private static Prim Zeros(LoweringContext ctx, int[] dims, int axis, int size, DType dtype)
    {
        var d = (int[])dims.Clone();
        d[axis] = size;
        return ctx.BroadcastTo(ctx.Scalar(dtype, 0), d);
    }
}

public static partial class TF
{
    /// <summary>Sums <paramref name="x"/> over the axes along which it was broadcast from <paramref name="like"/>'s shape (undoes broadcasting in gradients).</summary>
    public static Tensor SumToShape(Tensor x, Tensor like) => G.AddOp(LikeDef.SumToShape, [x, like]).Output;

    /// <summary>
    /// Broadcasts <paramref name="x"/> to <paramref name="like"/>'s shape. When <paramref name="x"/> is the result of a
    /// reduction of <paramref name="like"/>, <paramref name="reducedAxes"/> names the reduced axes (null with
    /// <paramref name="allAxes"/> for a reduction over every axis) so they are restored first.
    /// </summary>
    public static Tensor BroadcastLike(Tensor x, Tensor like, int[]? reducedAxes = null, bool allAxes = false) =>
        G.AddOp(LikeDef.BroadcastLike, [x, like], OpRules.Attrs(("axes", reducedAxes), ("all_axes", allAxes ? true : null))).Output;

    /// <summary>Reshapes <paramref name="x"/> to <paramref name="like"/>'s shape.</summary>
    public static Tensor ReshapeLike(Tensor x, Tensor like) => G.AddOp(LikeDef.ReshapeLike, [x, like]).Output;
}
