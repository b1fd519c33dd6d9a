namespace Graph.Core;

/// <summary>
/// Writes <c>value</c> as row <c>index</c> (axis 0) of <c>buffer</c>, giving the updated buffer (a TensorArray write).
/// Inside a loop the write updates the loop's own buffer in place.
/// </summary>
internal sealed class TensorArrayWriteDef : OpDef
{
    public static readonly TensorArrayWriteDef Instance = new();
    public override string Type => "TensorArrayWrite";

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var (buffer, index, value) = (ctx.Inputs[0], ctx.Inputs[1], ctx.Inputs[2]);
        OpRules.RequireDType(ctx, Type, index, d => d.IsInteger(), "an int32 or int64 index");
        OpRules.RequireRank(ctx, Type, index, 0, "index");
        if (buffer.DType != value.DType)
            throw new InvalidArgumentException($"{ctx.Label(Type)}: the array holds {buffer.DType.Name()} but the value is {value.DType.Name()}.");
        if (buffer.Shape.HasRank && value.Shape.HasRank && !new Shape(Ints.WithoutAt(buffer.Shape.Dims, 0)).IsCompatibleWith(value.Shape))
            throw new InvalidArgumentException($"{ctx.Label(Type)}: a value of shape {value.Shape} cannot be an element of an array of shape {buffer.Shape}.");
        return [new(buffer.DType, buffer.Shape)];
    }

    public override void Lower(LoweringContext ctx)
    {
        var (buffer, index, value) = (ctx.Input(0), ctx.Input(1), ctx.Input(2));
        OpRules.RequireEqualDims(ctx.OpLabel, buffer.Dims[1..], value.Dims, "an array element and the written value");
        ctx.SetOutput(0, ctx.Add(new UpdateSlicePrim(buffer, index, value)));
    }

    /// <summary>The buffer's gradient is the incoming one with the written row zeroed; the value's is that row.</summary>
    public override Tensor?[] Gradient(Operation op, Tensor?[] grads)
    {
        var (g, index, value) = (grads[0]!, op.Inputs[1], op.Inputs[2]);
        var gradBuffer = op.Graph.AddOp(Instance, [g, index, TF.ZerosLike(value)], name: "zero_written_row").Output;
        return [gradBuffer, null, TF.Gather(g, index)];
    }
}

/// <summary>Zeros of shape [size, ...element]: size = dimension <c>size_axis</c> of input 0, element = input 1's shape.</summary>
internal sealed class TensorArrayZerosDef : OpDef
{
    public override bool IsShapeOnlyInput(int index) => true;

    public static readonly TensorArrayZerosDef Instance = new();
    public override string Type => "TensorArrayZeros";

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var (sizeSource, element) = (ctx.Inputs[0], ctx.Inputs[1]);
        var axis = ctx.Attr<int>("size_axis");
        var size = sizeSource.Shape.HasRank ? sizeSource.Shape[axis] : -1;
        return [new(element.DType, element.Shape.HasRank ? new Shape(Ints.Prepend(size, element.Shape.Dims)) : Shape.Unknown)];
    }

    public override void Lower(LoweringContext ctx)
    {
        var size = ctx.Input(0).Dims[ctx.Op.Attr<int>("size_axis")];
        var element = ctx.Input(1);
        ctx.SetOutput(0, ctx.BroadcastTo(ctx.Scalar(element.DType, 0), Ints.Prepend(size, element.Dims)));
    }

    public override Tensor?[] Gradient(Operation op, Tensor?[] grads) => [null, null];
}

/// <summary>
/// Per-step storage for loops (TF's TensorArray), held as one tensor whose axis 0 is the step: <see cref="Read"/> step t,
/// <see cref="Write"/> step t (giving the updated array, to carry as a loop variable), <see cref="Stack"/> and
/// <see cref="Unstack"/>. Pass <see cref="Flow"/> through a while loop's variables.
/// </summary>
public sealed class TensorArray
{
    /// <summary>Wraps a stacked tensor [size, ...element].</summary>
    public TensorArray(Tensor flow) => Flow = flow;

    /// <summary>The stacked values [size, ...element].</summary>
    public Tensor Flow { get; }

    /// <summary>An array of zeros whose size is dimension <paramref name="sizeAxis"/> of <paramref name="sizeSource"/> and whose elements are shaped like <paramref name="elementLike"/>.</summary>
    public static TensorArray Zeros(Tensor sizeSource, Tensor elementLike, int sizeAxis = 0) =>
        new(sizeSource.Graph.AddOp(TensorArrayZerosDef.Instance, [sizeSource, elementLike], OpRules.Attrs(("size_axis", sizeAxis)), "TensorArray").Output);

    /// <summary>An array holding the slices of <paramref name="value"/> along axis 0 (TensorArray.unstack).</summary>
    public static TensorArray Unstack(Tensor value) => new(value);

    /// <summary>Element <paramref name="index"/> (TensorArray.read).</summary>
    public Tensor Read(Tensor index) => TF.Gather(Flow, index);

    /// <summary>The array with element <paramref name="index"/> set to <paramref name="value"/> (TensorArray.write).</summary>
    public TensorArray Write(Tensor index, Tensor value) =>
        new(Flow.Graph.AddOp(TensorArrayWriteDef.Instance, [Flow, index, value], name: "TensorArrayWrite").Output);

    /// <summary>All elements stacked along a new axis 0 (TensorArray.stack).</summary>
    public Tensor Stack() => Flow;
}
