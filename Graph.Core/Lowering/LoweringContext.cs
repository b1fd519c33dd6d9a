namespace Graph.Core;

/// <summary>
/// What an op's <see cref="OpDef.Lower"/> sees: its concrete inputs as primitives, and builders for new primitives
/// (each stamped with the op as its origin). The planner creates one per op it lowers.
/// </summary>
public sealed class LoweringContext
{
    private readonly Prim[] _inputs;
    private readonly Prim?[] _outputs;

    /// <summary>Creates the context for lowering <paramref name="op"/> given its inputs' primitives.</summary>
    public LoweringContext(Operation op, IReadOnlyList<Prim> inputs)
    {
        Op = op;
        _inputs = inputs.ToArray();
        _outputs = new Prim?[op.Outputs.Count];
    }

    /// <summary>The op being lowered.</summary>
    public Operation Op { get; }

    /// <summary>How to name the op in messages: <c>Type 'name'</c>.</summary>
    public string OpLabel => $"{Op.Type} '{Op.Name}'";

    /// <summary>Data input <paramref name="i"/>.</summary>
    public Prim Input(int i) => _inputs[i];

    /// <summary>All data inputs.</summary>
    public IReadOnlyList<Prim> Inputs => _inputs;

    private OutputSpec[]? _concrete;

    /// <summary>
    /// Runs the op's shape rule again on its concrete input shapes, before it is lowered: a graph built with unknown
    /// ranks or dimensions is checked against what is actually fed, with the op's own messages (a rank-4 feed into
    /// MatMul fails naming MatMul and the shape instead of reaching a kernel).
    /// </summary>
    public void CheckConcreteShapes()
    {
        if (_inputs.Length == 0) return;
        var concrete = new Tensor[_inputs.Length];
        for (var i = 0; i < concrete.Length; i++)
        {
            var t = Op.Inputs[i];
            concrete[i] = new Tensor(t.Op, t.Index, _inputs[i].DType, new Shape(_inputs[i].Dims));
        }
        _concrete = Op.Def.Infer(new OpBuildContext(Op.Name, concrete, Op.AttributeDictionary));
    }

    /// <summary>
    /// Sets output <paramref name="i"/>, checking it against the op's static dtype and shape and, after
    /// <see cref="CheckConcreteShapes"/>, against the shape its rule gives for the concrete inputs.
    /// </summary>
    public void SetOutput(int i, Prim value)
    {
        var t = Op.Outputs[i];
        if (value.DType != t.DType || !t.Shape.IsCompatibleWith(new Shape(value.Dims)))
            throw new InvalidArgumentException(
                $"{OpLabel}: output {i} was computed as {value.DType.Name()}{Shape.Format(value.Dims)} but the graph declared {t.DType.Name()} {t.Shape}; " +
                "the fed or runtime shapes are incompatible with the shapes used to build the graph.");
        if (_concrete is { } specs && !specs[i].Shape.IsCompatibleWith(new Shape(value.Dims)))
            throw new InternalException(
                $"{OpLabel}: output {i} was lowered as {Shape.Format(value.Dims)} but its shape rule gives {specs[i].Shape} for inputs " +
                $"{string.Join(", ", _inputs.Select(p => Shape.Format(p.Dims)))}.");
        _outputs[i] = value;
    }

    /// <summary>Output <paramref name="i"/> once set.</summary>
    public Prim Output(int i) => _outputs[i] ?? throw new InvalidOperationException($"{OpLabel} did not lower output {i}.");

    /// <summary>Stamps <paramref name="p"/> with this op as origin (unless already stamped) and returns it.</summary>
    public T Add<T>(T p) where T : Prim
    {
        // Checked here, where the op is known: the kernels index arrays with ints.
        if (p.Size > Array.MaxLength)
            throw new ResourceExhaustedException(
                $"OOM when allocating tensor with shape {Shape.Format(p.Dims)} and type {p.DType.Name()} for {OpLabel}: " +
                $"{(p.Size == long.MaxValue ? "more than 2^63" : p.Size.ToString(System.Globalization.CultureInfo.InvariantCulture))} elements, more than one array holds ({Array.MaxLength}).");
        p.Origin ??= Op;
        if (p is CheckPrim check && p.Origin == Op) (_checks ??= new()).Add(check);
        return p;
    }

    private List<CheckPrim>? _checks;

    /// <summary>The checks this op's lowering made: the planner runs them whether or not anything reads their results.</summary>
    public IReadOnlyList<CheckPrim> Checks => (IReadOnlyList<CheckPrim>?)_checks ?? [];

    /// <summary>A scalar constant.</summary>
    public Prim Scalar(DType dtype, double value) => Add(new ConstantPrim(HostTensor.Scalar(value).AsType(dtype)));

    /// <summary>An element-wise unary function.</summary>
    public Prim Unary(UnaryOp op, Prim x) => Add(new UnaryPrim(op, x));

    /// <summary>An element-wise binary function with broadcasting.</summary>
    public Prim Binary(BinaryOp op, Prim a, Prim b)
    {
        Shape.Broadcast(a.Dims, b.Dims, OpLabel); // names this op if the runtime shapes do not broadcast
        return Add(new BinaryPrim(op, a, b));
    }

    /// <summary><c>cond ? a : b</c> with broadcasting.</summary>
    public Prim Select(Prim cond, Prim a, Prim b)
    {
        Shape.Broadcast(Shape.Broadcast(cond.Dims, a.Dims, OpLabel), b.Dims, OpLabel);
        return Add(new SelectPrim(cond, a, b));
    }

    /// <summary>Converts to <paramref name="dtype"/> (no-op when equal).</summary>
    public Prim Cast(Prim x, DType dtype) => x.DType == dtype ? x : Add(new CastPrim(x, dtype));

    /// <summary>A reduction over <paramref name="axes"/>; with <paramref name="keepDims"/> the axes stay with size 1.</summary>
    public Prim Reduce(ReduceOp op, Prim x, int[] axes, bool keepDims)
    {
        var reduced = Add(new ReducePrim(op, x, axes));
        return keepDims ? Reshape(reduced, KeepDims(x.Dims, axes)) : reduced;
    }

    /// <summary>Dimensions of <paramref name="dims"/> with <paramref name="axes"/> set to 1.</summary>
    public static int[] KeepDims(int[] dims, int[] axes)
    {
        var kept = (int[])dims.Clone();
        foreach (var a in axes)
            if (a >= 0 && a < kept.Length) kept[a] = 1;
        return kept;
    }

    /// <summary>Dimensions of <paramref name="dims"/> without <paramref name="axes"/> (a reduction's result without kept dims).</summary>
    public static int[] DropAxes(int[] dims, int[] axes)
    {
        // A loop, not LINQ over int: shape rules and lowering run when a plan is first built, where each such
        // instantiation is JIT-compiled.
        var kept = new List<int>(dims.Length);
        for (var i = 0; i < dims.Length; i++)
            if (!Ints.Contains(axes, i)) kept.Add(dims[i]);
        return kept.ToArray();
    }

    /// <summary>Reshape (a view); returns <paramref name="x"/> when the dimensions are unchanged.</summary>
    public Prim Reshape(Prim x, int[] dims) => Ints.Equal(x.Dims, dims) ? x : Add(new ReshapePrim(x, dims));

    /// <summary>Permutes axes: result axis i is input axis perm[i].</summary>
    public Prim Transpose(Prim x, int[] perm)
    {
        if (HostOps.IsIdentity(perm)) return x;
        var inStrides = HostOps.Strides(x.Dims);
        var strides = new int[perm.Length];
        var dims = new int[perm.Length];
        for (var i = 0; i < perm.Length; i++) (strides[i], dims[i]) = (inStrides[perm[i]], x.Dims[perm[i]]);
        return Add(new StridedPrim(x, 0, strides, dims));
    }

    /// <summary>Slice of <paramref name="size"/> starting at <paramref name="begin"/> (both concrete and validated).</summary>
    public Prim Slice(Prim x, int[] begin, int[] size)
    {
        if (begin.All(b => b == 0) && Ints.Equal(size, x.Dims)) return x;
        var strides = HostOps.Strides(x.Dims);
        var offset = 0;
        for (var i = 0; i < begin.Length; i++) offset += begin[i] * strides[i];
        return Add(new StridedPrim(x, offset, strides, size));
    }

    /// <summary>Broadcasts <paramref name="x"/> to <paramref name="dims"/> by numpy rules (a copy).</summary>
    public Prim BroadcastTo(Prim x, int[] dims)
    {
        if (Ints.Equal(x.Dims, dims)) return x;
        var inStrides = HostOps.Strides(x.Dims);
        var strides = new int[dims.Length];
        var lead = dims.Length - x.Dims.Length;
        for (var i = 0; i < dims.Length; i++)
        {
            var src = i - lead;
            if (src < 0 || x.Dims[src] == 1) strides[i] = 0;
            else if (x.Dims[src] == dims[i]) strides[i] = inStrides[src];
            else throw new InvalidArgumentException($"{OpLabel}: cannot broadcast shape {Shape.Format(x.Dims)} to {Shape.Format(dims)}.");
        }
        return Add(new StridedPrim(x, 0, strides, dims));
    }

    /// <summary>Matrix product (rank 2) or batched product (rank 3).</summary>
    public Prim MatMul(Prim a, Prim b, bool transposeA, bool transposeB) => Add(new MatMulPrim(a, b, transposeA, transposeB));

    /// <summary>Concatenation along <paramref name="axis"/>.</summary>
    public Prim Concat(Prim[] parts, int axis) => parts.Length == 1 ? parts[0] : Add(new ConcatPrim(parts, axis));

    /// <summary>Index along <paramref name="axis"/> at every position of <paramref name="dims"/>.</summary>
    public Prim Iota(DType dtype, int[] dims, int axis) => Add(new IotaPrim(dtype, dims, axis));

    /// <summary>A one-hot encoding: <c>[..., depth]</c> where position <c>indices[...]</c> is on, else off.</summary>
    public Prim OneHot(Prim indices, int depth, Prim on, Prim off)
    {
        var dims = Ints.Append(indices.Dims, depth);
        var positions = Iota(indices.DType, dims, dims.Length - 1);
        var expanded = Reshape(indices, Ints.Append(indices.Dims, 1));
        return Select(Binary(BinaryOp.Equal, positions, expanded), on, off);
    }
}
