namespace Graph.Core;

/// <summary>Fill, ZerosLike and OnesLike: a scalar broadcast to a shape (attribute <c>dims</c>) or to the input's shape.</summary>
internal sealed class FillDef(string type, double? likeValue) : OpDef
{
    public override bool IsShapeOnlyInput(int index) => likeValue != null;

    public static readonly FillDef Fill = new("Fill", null);
    public static readonly FillDef ZerosLike = new("ZerosLike", 0);
    public static readonly FillDef OnesLike = new("OnesLike", 1);

    public override string Type => type;

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var x = ctx.Inputs[0];
        if (likeValue != null) return [new(x.DType, x.Shape)];
        if (x.Shape.HasRank && x.Shape.Rank != 0) throw new InvalidArgumentException($"{ctx.Label(type)}: value must be a scalar, got shape {x.Shape}.");
        var dims = ctx.Attr<int[]>("dims");
        if (Ints.AnyBelow(dims, 0)) throw new InvalidArgumentException($"{ctx.Label(type)}: dims {Shape.Format(dims)} must be non-negative.");
        return [new(x.DType, new Shape(dims))];
    }

    public override void Lower(LoweringContext ctx)
    {
        var x = ctx.Input(0);
        if (likeValue is { } v) ctx.SetOutput(0, ctx.BroadcastTo(ctx.Scalar(x.DType, v), x.Dims));
        else ctx.SetOutput(0, ctx.BroadcastTo(x, ctx.Op.Attr<int[]>("dims")));
    }

    /// <summary>Fill's value gets the sum of the gradient; the *Like ops pass none.</summary>
    public override Tensor?[] Gradient(Operation op, Tensor?[] grads) => likeValue != null ? [null] : [TF.ReduceSum(grads[0]!)];
}

/// <summary>Reshape to attribute <c>shape</c>, where one entry may be -1 (inferred).</summary>
internal sealed class ReshapeDef : OpDef
{
    public static readonly ReshapeDef Instance = new();
    public override string Type => "Reshape";

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var x = ctx.Inputs[0];
        var shape = ctx.Attr<int[]>("shape");
        var label = ctx.Label(Type);
        if (Ints.Count(shape, -1) > 1 || Ints.AnyBelow(shape, -1))
            throw new InvalidArgumentException($"{label}: shape {Shape.Format(shape)} may contain at most one -1 and no other negative entry.");
        var n = x.Shape.NumElements;
        if (n >= 0) return [new(x.DType, new Shape(Resolve(label, shape, n)))];
        return [new(x.DType, new Shape(shape))];
    }

    private static int[] Resolve(string label, int[] shape, long n)
    {
        var known = Shape.Product(Ints.Without(shape, -1));
        var result = (int[])shape.Clone();
        var unknown = Ints.IndexOf(shape, -1);
        if (unknown >= 0)
        {
            if (known == 0 || n % known != 0)
                throw new InvalidArgumentException($"{label}: input to reshape is a tensor with {n} values, but the requested shape {Shape.Format(shape)} cannot hold them.");
            result[unknown] = (int)(n / known);
        }
        else if (known != n)
            throw new InvalidArgumentException($"{label}: input to reshape is a tensor with {n} values, but the requested shape {Shape.Format(shape)} has {known}.");
        return result;
    }

    public override void Lower(LoweringContext ctx)
    {
        var x = ctx.Input(0);
        ctx.SetOutput(0, ctx.Reshape(x, Resolve(ctx.OpLabel, ctx.Op.Attr<int[]>("shape"), x.Size)));
    }

    public override Tensor?[] Gradient(Operation op, Tensor?[] grads) => [TF.ReshapeLike(grads[0]!, op.Inputs[0])];
}

/// <summary>Transpose by attribute <c>perm</c> (output axis i is input axis perm[i]).</summary>
internal sealed class TransposeDef : OpDef
{
    public static readonly TransposeDef Instance = new();
    public override string Type => "Transpose";

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var x = ctx.Inputs[0];
        var perm = ctx.Attr<int[]>("perm");
        if (!x.Shape.HasRank) return [new(x.DType, Shape.UnknownWithRank(perm.Length))];
        HostOps.ValidatePermutation(perm, x.Shape.Rank, ctx.Label(Type));
        return [new(x.DType, new Shape(Ints.Map(perm, p => x.Shape[p])))];
    }

    public override void Lower(LoweringContext ctx)
    {
        var perm = ctx.Op.Attr<int[]>("perm");
        HostOps.ValidatePermutation(perm, ctx.Input(0).Dims.Length, ctx.OpLabel);
        ctx.SetOutput(0, ctx.Transpose(ctx.Input(0), perm));
    }

    /// <summary>Transposes the gradient by the inverse permutation.</summary>
    public override Tensor?[] Gradient(Operation op, Tensor?[] grads)
    {
        var perm = op.Attr<int[]>("perm");
        var inverse = new int[perm.Length];
        for (var i = 0; i < perm.Length; i++) inverse[perm[i]] = i;
        return [TF.Transpose(grads[0]!, inverse)];
    }
}

/// <summary>ExpandDims and Squeeze: insert or remove size-1 axes (a reshape).</summary>
internal sealed class ExpandSqueezeDef(string type) : OpDef
{
    public static readonly ExpandSqueezeDef ExpandDims = new("ExpandDims");
    public static readonly ExpandSqueezeDef Squeeze = new("Squeeze");

    public override string Type => type;

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var x = ctx.Inputs[0];
        if (!x.Shape.HasRank) return [new(x.DType, Shape.Unknown)];
        var dims = OutDims(ctx.Label(type), x.Shape.Dims, ctx.Attrs, allowUnknown: true);
        return [new(x.DType, dims == null ? Shape.Unknown : new Shape(dims))];
    }

    private int[]? OutDims(string label, int[] dims, IReadOnlyDictionary<string, object> attrs, bool allowUnknown)
    {
        var list = dims.ToList();
        if (type == "ExpandDims")
        {
            var axis = (int)attrs["axis"];
            var a = axis < 0 ? axis + dims.Length + 1 : axis;
            if (a < 0 || a > dims.Length)
                throw new InvalidArgumentException($"{label}: axis {axis} is out of range for a tensor of rank {dims.Length} (expected [{-dims.Length - 1}, {dims.Length}]).");
            list.Insert(a, 1);
            return list.ToArray();
        }
        if (attrs.TryGetValue("axis", out var ax))
        {
            var axes = OpRules.Axes(label, (int[])ax, dims.Length);
            foreach (var a in axes)
                if (dims[a] != 1 && !(allowUnknown && dims[a] == -1))
                    throw new InvalidArgumentException($"{label}: cannot squeeze axis {a} of shape {Shape.Format(dims)}: its size is {dims[a]}, not 1.");
            return dims.Where((_, i) => !axes.Contains(i)).ToArray();
        }
        if (allowUnknown && dims.Contains(-1)) return null; // which axes are 1 is not known yet
        return dims.Where(d => d != 1).ToArray();
    }

    public override void Lower(LoweringContext ctx)
    {
        var x = ctx.Input(0);
        ctx.SetOutput(0, ctx.Reshape(x, OutDims(ctx.OpLabel, x.Dims, ctx.Op.Attributes, allowUnknown: false)!));
    }

    public override Tensor?[] Gradient(Operation op, Tensor?[] grads) => [TF.ReshapeLike(grads[0]!, op.Inputs[0])];
}

/// <summary>ConcatV2 and Pack (stack): join tensors along an existing or a new axis.</summary>
internal sealed class ConcatDef(string type) : OpDef
{
    public static readonly ConcatDef Concat = new("ConcatV2");
    public static readonly ConcatDef Pack = new("Pack");

    public override string Type => type;
    private bool IsPack => type == "Pack";

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var label = ctx.Label(type);
        if (ctx.Inputs.Count == 0) throw new InvalidArgumentException($"{label}: needs at least one input.");
        OpRules.SameDType(ctx, type, "values[0]");
        var axis = ctx.Attr<int>("axis");
        var dtype = ctx.Inputs[0].DType;
        if (IsPack)
        {
            var shape = OpRules.Merge(label, ctx.Inputs);
            if (!shape.HasRank) return [new(dtype, Shape.Unknown)];
            var a = axis < 0 ? axis + shape.Rank + 1 : axis;
            if (a < 0 || a > shape.Rank) throw new InvalidArgumentException($"{label}: axis {axis} is out of range for inputs of rank {shape.Rank}.");
            var dims = shape.Dims.ToList();
            dims.Insert(a, ctx.Inputs.Count);
            return [new(dtype, new Shape(dims.ToArray()))];
        }
        var ranked = ctx.Inputs.Where(t => t.Shape.HasRank).ToList();
        if (ranked.Count == 0) return [new(dtype, Shape.Unknown)];
        var rank = ranked[0].Shape.Rank;
        foreach (var t in ranked)
            if (t.Shape.Rank != rank)
                throw new InvalidArgumentException($"{label}: all inputs must have rank {rank}, but {t.Name} has shape {t.Shape}.");
        var ax = OpRules.Axis(label, axis, rank);
        var outDims = new int[rank];
        for (var i = 0; i < rank; i++)
        {
            if (i == ax)
            {
                outDims[i] = ctx.Inputs.All(t => t.Shape.HasRank && t.Shape[i] >= 0) ? OpRules.Dim(label, ctx.Inputs.Sum(t => (long)t.Shape[i])) : -1;
                continue;
            }
            outDims[i] = -1;
            foreach (var t in ranked)
            {
                if (t.Shape.Rank != rank)
                    throw new InvalidArgumentException($"{label}: all inputs must have rank {rank}, but {t.Name} has shape {t.Shape}.");
                var d = t.Shape[i];
                if (d >= 0 && outDims[i] >= 0 && d != outDims[i])
                    throw new InvalidArgumentException(
                        $"{label}: dimension {i} of the inputs must match, got {ranked[0].Shape} and {t.Shape} (concatenating along axis {ax}).");
                if (d >= 0) outDims[i] = d;
            }
        }
        return [new(dtype, new Shape(outDims))];
    }

    public override void Lower(LoweringContext ctx)
    {
        var parts = ctx.Inputs.ToArray();
        var axis = ctx.Op.Attr<int>("axis");
        var rank = parts[0].Dims.Length;
        if (IsPack)
        {
            var a = axis < 0 ? axis + rank + 1 : axis;
            foreach (var p in parts) OpRules.RequireEqualDims(ctx.OpLabel, parts[0].Dims, p.Dims, "stacked values");
            var dims = parts[0].Dims.ToList();
            dims.Insert(a, 1);
            ctx.SetOutput(0, ctx.Concat(parts.Select(p => ctx.Reshape(p, dims.ToArray())).ToArray(), a));
            return;
        }
        var ax = OpRules.Axis(ctx.OpLabel, axis, rank);
        foreach (var p in parts)
            if (p.Dims.Length != rank || p.Dims.Where((_, i) => i != ax).Zip(parts[0].Dims.Where((_, i) => i != ax)).Any(z => z.First != z.Second))
                throw new InvalidArgumentException(
                    $"{ctx.OpLabel}: inputs must match in every dimension but {ax}, got {Shape.Format(parts[0].Dims)} and {Shape.Format(p.Dims)}.");
        OpRules.Dim(ctx.OpLabel, parts.Sum(p => (long)p.Dims[ax]));
        ctx.SetOutput(0, ctx.Concat(parts, ax));
    }

    /// <summary>Pack's gradient is the unstacked gradient; ConcatV2's the gradient split like the inputs.</summary>
    public override Tensor?[] Gradient(Operation op, Tensor?[] grads)
    {
        var g = grads[0]!;
        var axis = op.Attr<int>("axis");
        // Axes (possibly negative, ranks possibly unknown) are resolved when the gradient is lowered.
        if (IsPack)
            return op.Graph.AddOp(SplitDef.Unpack, [g], OpRules.Attrs(("axis", axis), ("sizes", Ints.Repeat(1, op.Inputs.Count))), "unstack").Outputs.ToArray();
        return op.Graph.AddOp(GradHelperDef.SplitLike, op.Inputs.Prepend(g), OpRules.Attrs(("axis", axis))).Outputs.ToArray();
    }
}

/// <summary>Unpack (unstack) and Split: slice a tensor into several outputs along an axis.</summary>
internal sealed class SplitDef(string type) : OpDef
{
    public static readonly SplitDef Unpack = new("Unpack");
    public static readonly SplitDef Split = new("SplitV");

    public override string Type => type;

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var x = ctx.Inputs[0];
        var label = ctx.Label(type);
        var sizes = ctx.Attr<int[]>("sizes");
        if (!x.Shape.HasRank) return sizes.Select(_ => new OutputSpec(x.DType, Shape.Unknown)).ToArray();
        var axis = OpRules.Axis(label, ctx.Attr<int>("axis"), x.Shape.Rank);
        var dim = x.Shape[axis];
        if (dim >= 0 && Ints.Sum(sizes) != dim)
            throw new InvalidArgumentException($"{label}: split sizes {Shape.Format(sizes)} must add up to dimension {axis} of shape {x.Shape} ({dim}).");
        return sizes.Select(s =>
        {
            var dims = x.Shape.Dims.ToList();
            if (type == "Unpack") dims.RemoveAt(axis);
            else dims[axis] = s;
            return new OutputSpec(x.DType, new Shape(dims.ToArray()));
        }).ToArray();
    }

    public override void Lower(LoweringContext ctx)
    {
        var x = ctx.Input(0);
        var axis = OpRules.Axis(ctx.OpLabel, ctx.Op.Attr<int>("axis"), x.Dims.Length);
        var sizes = ctx.Op.Attr<int[]>("sizes");
        if (Ints.Sum(sizes) != x.Dims[axis])
            throw new InvalidArgumentException($"{ctx.OpLabel}: split sizes {Shape.Format(sizes)} must add up to dimension {axis} of {Shape.Format(x.Dims)}.");
        var begin = new int[x.Dims.Length];
        for (var i = 0; i < sizes.Length; i++)
        {
            var size = (int[])x.Dims.Clone();
            size[axis] = sizes[i];
            var part = ctx.Slice(x, (int[])begin.Clone(), size);
            if (type == "Unpack") part = ctx.Reshape(part, x.Dims.Where((_, j) => j != axis).ToArray());
            ctx.SetOutput(i, part);
            begin[axis] += sizes[i];
        }
    }

    /// <summary>The gradients of the parts joined back (zeros for parts that got none).</summary>
    public override Tensor?[] Gradient(Operation op, Tensor?[] grads)
    {
        var parts = grads.Select((g, i) => g ?? TF.ZerosLike(op.Outputs[i])).ToArray();
        var axis = op.Attr<int>("axis");
        return [type == "Unpack" ? TF.Stack(parts, axis) : TF.Concat(parts, axis)];
    }
}

/// <summary>Slice of attribute <c>size</c> (-1 = to the end) starting at attribute <c>begin</c>.</summary>
internal sealed class SliceDef : OpDef
{
    public static readonly SliceDef Instance = new();
    public override string Type => "Slice";

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var x = ctx.Inputs[0];
        var (begin, size) = (ctx.Attr<int[]>("begin"), ctx.Attr<int[]>("size"));
        var label = ctx.Label(Type);
        if (begin.Length != size.Length) throw new InvalidArgumentException($"{label}: begin {Shape.Format(begin)} and size {Shape.Format(size)} must have equal length.");
        if (!x.Shape.HasRank) return [new(x.DType, new Shape(size))];
        if (x.Shape.Rank != begin.Length) throw new InvalidArgumentException($"{label}: begin and size must have {x.Shape.Rank} entries for input shape {x.Shape}, got {begin.Length}.");
        var dims = new int[size.Length];
        for (var i = 0; i < size.Length; i++)
        {
            var d = x.Shape[i];
            if (begin[i] < 0 || size[i] < -1 || (d >= 0 && (begin[i] > d || (size[i] >= 0 && begin[i] + size[i] > d))))
                throw new InvalidArgumentException($"{label}: begin {Shape.Format(begin)} and size {Shape.Format(size)} are out of bounds for shape {x.Shape} at dimension {i}.");
            dims[i] = size[i] >= 0 ? size[i] : d >= 0 ? d - begin[i] : -1;
        }
        return [new(x.DType, new Shape(dims))];
    }

    public override void Lower(LoweringContext ctx)
    {
        var x = ctx.Input(0);
        var (begin, size) = (ctx.Op.Attr<int[]>("begin"), (int[])ctx.Op.Attr<int[]>("size").Clone());
        for (var i = 0; i < size.Length; i++)
        {
            if (size[i] == -1) size[i] = x.Dims[i] - begin[i];
            if (begin[i] > x.Dims[i] || begin[i] + size[i] > x.Dims[i] || size[i] < 0)
                throw new InvalidArgumentException($"{ctx.OpLabel}: begin {Shape.Format(begin)} and size {Shape.Format(ctx.Op.Attr<int[]>("size"))} are out of bounds for shape {Shape.Format(x.Dims)}.");
        }
        ctx.SetOutput(0, ctx.Slice(x, begin, size));
    }

    /// <summary>The gradient placed at <c>begin</c> inside zeros of the input's shape.</summary>
    public override Tensor?[] Gradient(Operation op, Tensor?[] grads) =>
        [op.Graph.AddOp(GradHelperDef.PadLike, [grads[0]!, op.Inputs[0]], OpRules.Attrs(("begin", op.Attr<int[]>("begin")))).Output];
}

/// <summary>GatherV2: slices of params along attribute <c>axis</c> at integer indices.</summary>
internal sealed class GatherDef : OpDef
{
    public static readonly GatherDef Instance = new();
    public override string Type => "GatherV2";
    public override bool ChecksAtRunTime => true;

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var (p, i) = (ctx.Inputs[0], ctx.Inputs[1]);
        OpRules.RequireDType(ctx, Type, i, d => d.IsInteger(), "int32 or int64 indices");
        if (!p.Shape.HasRank || !i.Shape.HasRank) return [new(p.DType, Shape.Unknown)];
        if (p.Shape.Rank == 0) throw new InvalidArgumentException($"{ctx.Label(Type)}: params must have rank >= 1, got a scalar.");
        var axis = OpRules.Axis(ctx.Label(Type), ctx.Attr<int>("axis"), p.Shape.Rank);
        return [new(p.DType, new Shape(Ints.ReplaceAt(p.Shape.Dims, axis, i.Shape.Dims)))];
    }

    public override void Lower(LoweringContext ctx)
    {
        var p = ctx.Input(0);
        var axis = OpRules.Axis(ctx.OpLabel, ctx.Op.Attr<int>("axis"), p.Dims.Length);
        var indices = ctx.Add(new CheckIndicesPrim(ctx.Input(1), p.Dims[axis], "indices"));
        ctx.SetOutput(0, ctx.Add(new GatherPrim(p, indices, axis)));
    }

    /// <summary>A dense gradient: slices of the gradient added into zeros of params' shape at the gathered indices.</summary>
    public override Tensor?[] Gradient(Operation op, Tensor?[] grads)
    {
        var (p, indices) = (op.Inputs[0], op.Inputs[1]);
        return [op.Graph.AddOp(GradHelperDef.ScatterAddLike, [grads[0]!, indices, p], OpRules.Attrs(("axis", op.Attr<int>("axis")))).Output, null];
    }
}

/// <summary>Tile by attribute <c>multiples</c>: a broadcast view reshaped.</summary>
internal sealed class TileDef : OpDef
{
    public static readonly TileDef Instance = new();
    public override string Type => "Tile";

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var x = ctx.Inputs[0];
        var multiples = ctx.Attr<int[]>("multiples");
        if (multiples.Any(m => m < 0)) throw new InvalidArgumentException($"{ctx.Label(Type)}: multiples {Shape.Format(multiples)} must be non-negative.");
        if (!x.Shape.HasRank) return [new(x.DType, Shape.UnknownWithRank(multiples.Length))];
        if (x.Shape.Rank != multiples.Length)
            throw new InvalidArgumentException($"{ctx.Label(Type)}: multiples {Shape.Format(multiples)} must have one entry per dimension of shape {x.Shape}.");
        var label = ctx.Label(Type);
        return [new(x.DType, new Shape(Ints.Map(x.Shape.Dims, (d, i) => d < 0 ? -1 : OpRules.Dim(label, (long)d * multiples[i]))))];
    }

    public override void Lower(LoweringContext ctx)
    {
        var x = ctx.Input(0);
        var multiples = ctx.Op.Attr<int[]>("multiples");
        var outDims = Ints.Map(x.Dims, (d, i) => OpRules.Dim(ctx.OpLabel, (long)d * multiples[i]));
        var rank = x.Dims.Length;
        var inStrides = HostOps.Strides(x.Dims);
        var viewDims = new int[2 * rank];
        var viewStrides = new int[2 * rank];
        for (var i = 0; i < rank; i++)
        {
            viewDims[2 * i] = multiples[i];
            viewDims[2 * i + 1] = x.Dims[i];
            viewStrides[2 * i + 1] = inStrides[i];
        }
        var view = ctx.Add(new StridedPrim(x, 0, viewStrides, viewDims));
        ctx.SetOutput(0, ctx.Reshape(view, outDims));
    }

    /// <summary>The tiles of the gradient summed.</summary>
    public override Tensor?[] Gradient(Operation op, Tensor?[] grads) =>
        [op.Graph.AddOp(GradHelperDef.TileGrad, [grads[0]!, op.Inputs[0]], OpRules.Attrs(("multiples", op.Attr<int[]>("multiples")))).Output];
}

/// <summary>OneHot along the last axis: attributes <c>depth</c>; inputs indices, on value, off value.</summary>
internal sealed class OneHotDef : OpDef
{
    public static readonly OneHotDef Instance = new();
    public override string Type => "OneHot";

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var (indices, on, off) = (ctx.Inputs[0], ctx.Inputs[1], ctx.Inputs[2]);
        OpRules.RequireDType(ctx, Type, indices, d => d.IsInteger(), "int32 or int64 indices");
        if (on.DType != off.DType) throw new InvalidArgumentException($"{ctx.Label(Type)}: on_value and off_value must have the same dtype, got {on.DType.Name()} and {off.DType.Name()}.");
        var depth = ctx.Attr<int>("depth");
        if (depth < 0) throw new InvalidArgumentException($"{ctx.Label(Type)}: depth must be non-negative, got {depth}.");
        return [new(on.DType, indices.Shape.HasRank ? new Shape(Ints.Append(indices.Shape.Dims, depth)) : Shape.Unknown)];
    }

    public override void Lower(LoweringContext ctx) =>
        ctx.SetOutput(0, ctx.OneHot(ctx.Input(0), ctx.Op.Attr<int>("depth"), ctx.Input(1), ctx.Input(2)));

    public override Tensor?[] Gradient(Operation op, Tensor?[] grads) => [null, null, null];
}

/// <summary>Shape, Size and Rank: int32 facts about the input, constant once shapes are concrete.</summary>
internal sealed class ShapeOfDef(string type) : OpDef
{
    public override bool IsShapeOnlyInput(int index) => true;

    public static readonly ShapeOfDef ShapeOf = new("Shape");
    public static readonly ShapeOfDef Size = new("Size");
    public static readonly ShapeOfDef Rank = new("Rank");

    public override string Type => type;

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var x = ctx.Inputs[0];
        return type == "Shape"
            ? [new(DType.Int32, new Shape(x.Shape.HasRank ? x.Shape.Rank : -1))]
            : [new(DType.Int32, Shape.Scalar)];
    }

    public override void Lower(LoweringContext ctx)
    {
        var dims = ctx.Input(0).Dims;
        HostTensor value = type switch
        {
            "Shape" => dims,
            "Size" => checked((int)Shape.Product(dims)),
            _ => dims.Length,
        };
        ctx.SetOutput(0, ctx.Add(new ConstantPrim(value)));
    }

    public override Tensor?[] Gradient(Operation op, Tensor?[] grads) => [null];
}

public static partial class TF
{
    /// <summary>A tensor of <paramref name="dims"/> filled with scalar <paramref name="value"/> (tf.fill).</summary>
    public static Tensor Fill(int[] dims, Tensor value, string? name = null) =>
        G.Tf1Call(Tf1Ops.WithConstants(1), [value], () => G.AddOp(FillDef.Fill, [value], OpRules.Attrs(("dims", dims)), name).Output);

    /// <summary>Zeros of <paramref name="shape"/> (tf.zeros): one constant op named <c>zeros</c>, as in TF1.</summary>
    public static Tensor Zeros(int[] shape, DType dtype = DType.Float32, string? name = null) =>
        G.Tf1Call(Tf1Ops.Filled(shape), [], () => Constant(HostTensor.Scalar(0.0).AsType(dtype), shape: shape, name: name ?? "zeros"));

    /// <summary>Ones of <paramref name="shape"/> (tf.ones): one constant op named <c>ones</c>, as in TF1.</summary>
    public static Tensor Ones(int[] shape, DType dtype = DType.Float32, string? name = null) =>
        G.Tf1Call(Tf1Ops.Filled(shape), [], () => Constant(HostTensor.Scalar(1.0).AsType(dtype), shape: shape, name: name ?? "ones"));

    /// <summary>Zeros with the shape and dtype of <paramref name="x"/> (tf.zeros_like).</summary>
    public static Tensor ZerosLike(Tensor x, string? name = null) =>
        G.Tf1Call(x.Shape.IsFullyDefined ? Tf1Ops.Filled(x.Shape.ToArray()) : 1, [x], () => G.AddOp(FillDef.ZerosLike, [x], name: name).Output);

    /// <summary>Ones with the shape and dtype of <paramref name="x"/> (tf.ones_like).</summary>
    public static Tensor OnesLike(Tensor x, string? name = null) =>
        G.Tf1Call(Tf1Ops.OnesLike, [x], () => G.AddOp(FillDef.OnesLike, [x], name: name).Output);

    /// <summary>The same values with a new shape; one entry may be -1 (tf.reshape).</summary>
    public static Tensor Reshape(Tensor x, int[] shape, string? name = null) =>
        G.Tf1Call(Tf1Ops.WithConstants(1), [x], () => G.AddOp(ReshapeDef.Instance, [x], OpRules.Attrs(("shape", shape)), name).Output);

    /// <summary>Permutes axes (tf.transpose); without <paramref name="perm"/> the axes are reversed.</summary>
    public static Tensor Transpose(Tensor x, int[]? perm = null, string? name = null)
    {
        if (perm == null)
        {
            if (!x.Shape.HasRank) throw new InvalidArgumentException($"Transpose: the rank of {x.Name} is unknown, so perm must be given.");
            perm = Ints.Map(Ints.Range(x.Shape.Rank), i => x.Shape.Rank - 1 - i);
        }
        return G.Tf1Call(Tf1Ops.WithConstants(1), [x], () => G.AddOp(TransposeDef.Instance, [x], OpRules.Attrs(("perm", perm)), name).Output);
    }

    /// <summary>Inserts a size-1 axis at <paramref name="axis"/> (tf.expand_dims).</summary>
    public static Tensor ExpandDims(Tensor x, int axis, string? name = null) =>
        G.Tf1Call(Tf1Ops.WithConstants(1), [x], () => G.AddOp(ExpandSqueezeDef.ExpandDims, [x], OpRules.Attrs(("axis", axis)), name).Output);

    /// <summary>Removes size-1 axes, all of them or those in <paramref name="axis"/> (tf.squeeze).</summary>
    public static Tensor Squeeze(Tensor x, int[]? axis = null, string? name = null) =>
        G.AddOp(ExpandSqueezeDef.Squeeze, [x], OpRules.Attrs(("axis", axis)), name).Output;

    /// <summary>Stacks equal-shaped tensors along a new axis (tf.stack).</summary>
    public static Tensor Stack(IEnumerable<Tensor> values, int axis = 0, string? name = null) =>
        G.AddOp(ConcatDef.Pack, values, OpRules.Attrs(("axis", axis)), name ?? "stack").Output;

    /// <summary>Splits a tensor into its slices along <paramref name="axis"/>, whose size must be known (tf.unstack).</summary>
    public static Tensor[] Unstack(Tensor value, int axis = 0, string? name = null)
    {
        if (!value.Shape.HasRank) throw new InvalidArgumentException($"Unpack: cannot infer the number of outputs of {value.Name} with unknown rank.");
        var a = OpRules.Axis("Unpack", axis, value.Shape.Rank);
        var n = value.Shape[a];
        if (n < 0) throw new InvalidArgumentException($"Unpack: cannot infer the number of outputs from shape {value.Shape} along axis {axis}.");
        return G.AddOp(SplitDef.Unpack, [value], OpRules.Attrs(("axis", a), ("sizes", Ints.Repeat(1, n))), name ?? "unstack").Outputs.ToArray();
    }

    /// <summary>Concatenates along <paramref name="axis"/> (tf.concat).</summary>
    public static Tensor Concat(IEnumerable<Tensor> values, int axis, string? name = null)
    {
        var list = values.ToList();
        return G.Tf1Call(Tf1Ops.WithConstants(1), list, () => G.AddOp(ConcatDef.Concat, list, OpRules.Attrs(("axis", axis)), name ?? "concat").Output);
    }

    /// <summary>Splits into <paramref name="numSplits"/> equal parts along <paramref name="axis"/> (tf.split with an integer).</summary>
    public static Tensor[] Split(Tensor value, int numSplits, int axis = 0, string? name = null)
    {
        if (value.Shape.HasRank) axis = OpRules.Axis("Split", axis, value.Shape.Rank);
        if (!value.Shape.HasRank || value.Shape[axis] < 0)
            throw new InvalidArgumentException($"Split: dimension {axis} of {value.Name} ({value.Shape}) must be known to split it into {numSplits}.");
        var dim = value.Shape[axis];
        if (numSplits <= 0 || dim % numSplits != 0)
            throw new InvalidArgumentException($"Split: dimension {axis} of shape {value.Shape} ({dim}) is not divisible into {numSplits} equal parts.");
        return Split(value, Ints.Repeat(dim / numSplits, numSplits), axis, name);
    }

    /// <summary>Splits into parts of the given sizes along <paramref name="axis"/>; one size may be -1 (tf.split with a list).</summary>
    public static Tensor[] Split(Tensor value, int[] sizeSplits, int axis = 0, string? name = null)
    {
        if (Ints.Count(sizeSplits, -1) > 1 || Ints.AnyBelow(sizeSplits, -1))
            throw new InvalidArgumentException($"Split: size_splits {Shape.Format(sizeSplits)} may contain at most one -1 and no other negative entry.");
        if (value.Shape.HasRank) axis = OpRules.Axis("Split", axis, value.Shape.Rank);
        if (Ints.Contains(sizeSplits, -1))
        {
            if (!value.Shape.HasRank || value.Shape[axis] < 0)
                throw new InvalidArgumentException($"Split: dimension {axis} of {value.Name} must be known to infer the -1 in size_splits.");
            var rest = value.Shape[axis] - Ints.Sum(Ints.Without(sizeSplits, -1));
            if (rest < 0)
                throw new InvalidArgumentException($"Split: size_splits {Shape.Format(sizeSplits)} exceed dimension {axis} of shape {value.Shape} ({value.Shape[axis]}).");
            sizeSplits = (int[])sizeSplits.Clone();
            sizeSplits[Ints.IndexOf(sizeSplits, -1)] = rest;
        }
        var a = value.Shape.HasRank ? OpRules.Axis("Split", axis, value.Shape.Rank) : axis;
        return G.Tf1Call(Tf1Ops.Split, [value],
            () => G.AddOp(SplitDef.Split, [value], OpRules.Attrs(("axis", a), ("sizes", sizeSplits)), name ?? "split").Outputs.ToArray());
    }

    /// <summary>A slice of <paramref name="size"/> (-1 = to the end) from <paramref name="begin"/> (tf.slice).</summary>
    public static Tensor Slice(Tensor x, int[] begin, int[] size, string? name = null) =>
        G.Tf1Call(Tf1Ops.WithConstants(2), [x], () => G.AddOp(SliceDef.Instance, [x], OpRules.Attrs(("begin", begin), ("size", size)), name).Output);

    /// <summary>Gathers slices along <paramref name="axis"/> at integer <paramref name="indices"/> (tf.gather); bad indices fail the run.</summary>
    public static Tensor Gather(Tensor parameters, Tensor indices, int axis = 0, string? name = null) =>
        G.Tf1Call(Tf1Ops.WithConstants(1), [parameters, indices], () => G.AddOp(GatherDef.Instance, [parameters, indices], OpRules.Attrs(("axis", axis)), name).Output);

    /// <summary>Repeats the tensor <paramref name="multiples"/>[i] times along axis i (tf.tile).</summary>
    public static Tensor Tile(Tensor x, int[] multiples, string? name = null) =>
        G.Tf1Call(Tf1Ops.WithConstants(1), [x], () => G.AddOp(TileDef.Instance, [x], OpRules.Attrs(("multiples", multiples)), name).Output);

    /// <summary>One-hot encoding along a new last axis (tf.one_hot).</summary>
    public static Tensor OneHot(Tensor indices, int depth, double onValue = 1, double offValue = 0, DType dtype = DType.Float32, string? name = null)
    {
        // TF1 refuses (TypeError) an on or off value its integer dtype cannot hold; a conversion would truncate 0.5 to 0.
        foreach (var (what, value) in new[] { ("on_value", onValue), ("off_value", offValue) })
            if (!dtype.Holds(value))
                throw new InvalidArgumentException($"OneHot '{name ?? "one_hot"}': {what} {value.ToString(System.Globalization.CultureInfo.InvariantCulture)} is not a {dtype.Name()} value.");
        return G.Tf1Call(Tf1Ops.OneHot, [indices], () =>
        {
            using (G.NameScope(name ?? "one_hot"))
            {
                var scope = G.CurrentNameScope;
                var on = Constant(HostTensor.Scalar(onValue), dtype, name: "on_value");
                var off = Constant(HostTensor.Scalar(offValue), dtype, name: "off_value");
                return G.AddOp(OneHotDef.Instance, [indices, on, off], OpRules.Attrs(("depth", depth)), scope + "/").Output;
            }
        });
    }

    /// <summary>The shape of <paramref name="x"/> as an int32 vector (tf.shape).</summary>
    public static Tensor ShapeOf(Tensor x, string? name = null) => G.AddOp(ShapeOfDef.ShapeOf, [x], name: name).Output;

    /// <summary>The number of elements of <paramref name="x"/> as an int32 scalar (tf.size).</summary>
    public static Tensor Size(Tensor x, string? name = null) => G.AddOp(ShapeOfDef.Size, [x], name: name).Output;

    /// <summary>The rank of <paramref name="x"/> as an int32 scalar (tf.rank).</summary>
    public static Tensor Rank(Tensor x, string? name = null) => G.AddOp(ShapeOfDef.Rank, [x], name: name).Output;
}
