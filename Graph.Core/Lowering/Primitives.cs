using System.Globalization;

namespace Graph.Core;

/// <summary>Element-wise functions of one operand.</summary>
public enum UnaryOp
{
    /// <summary>-x</summary>
    Neg,
    /// <summary>|x|</summary>
    Abs,
    /// <summary>x²</summary>
    Square,
    /// <summary>√x</summary>
    Sqrt,
    /// <summary>1/√x</summary>
    Rsqrt,
    /// <summary>eˣ</summary>
    Exp,
    /// <summary>ln x</summary>
    Log,
    /// <summary>tanh x</summary>
    Tanh,
    /// <summary>1/(1+e⁻ˣ)</summary>
    Sigmoid,
    /// <summary>max(x, 0)</summary>
    Relu,
    /// <summary>ln(1+eˣ)</summary>
    Softplus,
    /// <summary>sign(x): -1, 0 or 1</summary>
    Sign,
    /// <summary>1/x</summary>
    Reciprocal,
    /// <summary>!x (bool)</summary>
    LogicalNot,
}

/// <summary>Element-wise functions of two broadcast operands.</summary>
public enum BinaryOp
{
    /// <summary>a+b</summary>
    Add,
    /// <summary>a-b</summary>
    Sub,
    /// <summary>a·b</summary>
    Mul,
    /// <summary>a/b (integer division truncates toward zero, as TF's Div on ints)</summary>
    Div,
    /// <summary>aᵇ</summary>
    Pow,
    /// <summary>max(a, b)</summary>
    Max,
    /// <summary>min(a, b)</summary>
    Min,
    /// <summary>a == b (bool result)</summary>
    Equal,
    /// <summary>a != b (bool result)</summary>
    NotEqual,
    /// <summary>a &lt; b (bool result)</summary>
    Less,
    /// <summary>a &lt;= b (bool result)</summary>
    LessEqual,
    /// <summary>a &gt; b (bool result)</summary>
    Greater,
    /// <summary>a &gt;= b (bool result)</summary>
    GreaterEqual,
    /// <summary>a ∧ b (bool)</summary>
    LogicalAnd,
    /// <summary>a ∨ b (bool)</summary>
    LogicalOr,
}

/// <summary>Reductions over axes.</summary>
public enum ReduceOp
{
    /// <summary>Σ</summary>
    Sum,
    /// <summary>max</summary>
    Max,
    /// <summary>min</summary>
    Min,
    /// <summary>Π</summary>
    Prod,
    /// <summary>Index of the first maximum along one axis.</summary>
    ArgMax,
    /// <summary>Index of the first minimum along one axis.</summary>
    ArgMin,
}

/// <summary>The distributions of the random primitive (TF1's Philox streams).</summary>
public enum RandomKind
{
    /// <summary>N(0, 1).</summary>
    StandardNormal,
    /// <summary>U[0, 1).</summary>
    Uniform,
    /// <summary>N(0, 1) truncated to ±2 standard deviations by resampling.</summary>
    TruncatedNormal,
}

/// <summary>Facts about primitive operators used by lowering, fusion and kernels.</summary>
public static class PrimitiveFacts
{
    /// <summary>Whether a binary op yields bool.</summary>
    public static bool IsComparison(this BinaryOp op) => op is BinaryOp.Equal or BinaryOp.NotEqual or BinaryOp.Less
        or BinaryOp.LessEqual or BinaryOp.Greater or BinaryOp.GreaterEqual;

    /// <summary>Whether a binary op takes and yields bool.</summary>
    public static bool IsLogical(this BinaryOp op) => op is BinaryOp.LogicalAnd or BinaryOp.LogicalOr;
}

/// <summary>
/// A node of the primitive IR that every op lowers onto and that fusion and backends see. Its dimensions are concrete:
/// a plan is lowered for concrete feed shapes.
/// </summary>
public abstract class Prim
{
    private protected Prim(DType dtype, int[] dims, params Prim[] inputs)
    {
        DType = dtype;
        Dims = dims;
        Inputs = inputs;
    }

    /// <summary>Element type of the result.</summary>
    public DType DType { get; }

    /// <summary>Concrete dimensions of the result.</summary>
    public int[] Dims { get; }

    /// <summary>Number of elements of the result.</summary>
    public long Size => Shape.Product(Dims);

    /// <summary>Operand primitives.</summary>
    public IReadOnlyList<Prim> Inputs { get; }

    /// <summary>The graph op this primitive was lowered from (for error messages and reports).</summary>
    public Operation? Origin { get; internal set; }

    /// <summary>Short description of the primitive and its attributes (for plan reports).</summary>
    public abstract string Describe();

    /// <summary>The name of the origin op for messages.</summary>
    public string OriginName => Origin is null ? "<internal>" : $"{Origin.Type} '{Origin.Name}'";

    /// <inheritdoc/>
    public override string ToString() => $"{Describe()} -> {DType.Name()}{Shape.Format(Dims)}";

    private protected static string Fmt(ReadOnlySpan<int> v) => Shape.Format(v);
}

/// <summary>A constant value.</summary>
public sealed class ConstantPrim(HostTensor value) : Prim(value.DType, value.Dims)
{
    /// <summary>The value.</summary>
    public HostTensor Value { get; } = value;
    /// <inheritdoc/>
    public override string Describe() => Value.Size == 1 ? $"const {Value.Data.GetValue(0)}" : "const";
}

/// <summary>A value fed into the run for graph tensor <see cref="Tensor"/>.</summary>
public sealed class FeedPrim : Prim
{
    /// <summary>Creates the feed of <paramref name="tensor"/> with the fed value's dtype and dimensions.</summary>
    public FeedPrim(Tensor tensor, DType dtype, int[] dims) : base(dtype, dims)
    {
        Tensor = tensor;
        Origin = tensor.Op;
    }

    /// <summary>The fed graph tensor.</summary>
    public Tensor Tensor { get; }
    /// <inheritdoc/>
    public override string Describe() => $"feed {Tensor.Name}";
}

/// <summary>The current value of a variable.</summary>
public sealed class ReadVariablePrim(Operation variable, DType dtype, int[] dims) : Prim(dtype, dims)
{
    /// <summary>The variable op.</summary>
    public Operation Variable { get; } = variable;
    /// <inheritdoc/>
    public override string Describe() => $"read {Variable.Name}";
}

/// <summary>Sets a variable to its operand and yields the new value.</summary>
public sealed class AssignVariablePrim(Operation variable, Prim value) : Prim(value.DType, value.Dims, value)
{
    /// <summary>The variable op.</summary>
    public Operation Variable { get; } = variable;
    /// <inheritdoc/>
    public override string Describe() => $"assign {Variable.Name}";
}

/// <summary>
/// Random values from TF1's Philox stream for seeds (<see cref="Seed"/>, <see cref="Seed2"/>); the stream advances
/// across runs of the same <see cref="StreamKey"/> as TF's stateful random ops do.
/// </summary>
public sealed class RandomPrim(RandomKind kind, DType dtype, int[] dims, long seed, long seed2, Operation streamKey) : Prim(dtype, dims)
{
    /// <summary>The distribution.</summary>
    public RandomKind Kind { get; } = kind;
    /// <summary>Graph-level seed.</summary>
    public long Seed { get; } = seed;
    /// <summary>Op-level seed.</summary>
    public long Seed2 { get; } = seed2;
    /// <summary>The op whose stream this is (its position persists in the session).</summary>
    public Operation StreamKey { get; } = streamKey;
    /// <inheritdoc/>
    public override string Describe() => $"random-{Kind} seeds ({Seed}, {Seed2})";
}

/// <summary>The index along <see cref="Axis"/> at every position (an iota).</summary>
public sealed class IotaPrim(DType dtype, int[] dims, int axis) : Prim(dtype, dims)
{
    /// <summary>The axis whose index is produced.</summary>
    public int Axis { get; } = axis;
    /// <inheritdoc/>
    public override string Describe() => $"iota axis {Axis}";
}

/// <summary>An element-wise unary function.</summary>
public sealed class UnaryPrim(UnaryOp op, Prim x) : Prim(x.DType, x.Dims, x)
{
    /// <summary>The function.</summary>
    public UnaryOp Op { get; } = op;
    /// <inheritdoc/>
    public override string Describe() => Op.ToString().ToLowerInvariant();
}

/// <summary>An element-wise binary function with numpy broadcasting.</summary>
public sealed class BinaryPrim : Prim
{
    /// <summary>Creates the primitive; the result has the broadcast dimensions of the operands.</summary>
    public BinaryPrim(BinaryOp op, Prim a, Prim b)
        : base(op.IsComparison() ? DType.Bool : a.DType, Shape.Broadcast(a.Dims, b.Dims, op.ToString()), a, b)
    {
        if (a.DType != b.DType) throw new InvalidOperationException($"Binary primitive {op} on {a.DType.Name()} and {b.DType.Name()}.");
        Op = op;
    }

    /// <summary>The function.</summary>
    public BinaryOp Op { get; }
    /// <inheritdoc/>
    public override string Describe() => Op.ToString().ToLowerInvariant();
}

/// <summary>Element-wise <c>cond ? a : b</c> with broadcasting.</summary>
public sealed class SelectPrim(Prim cond, Prim a, Prim b)
    : Prim(a.DType, Shape.Broadcast(Shape.Broadcast(cond.Dims, a.Dims, "Select"), b.Dims, "Select"), cond, a, b)
{
    /// <inheritdoc/>
    public override string Describe() => "select";
}

/// <summary>Element-wise dtype conversion with C cast semantics.</summary>
public sealed class CastPrim(Prim x, DType to) : Prim(to, x.Dims, x)
{
    /// <inheritdoc/>
    public override string Describe() => $"cast {Inputs[0].DType.Name()}->{DType.Name()}";
}

/// <summary>
/// A reduction over <see cref="Axes"/> (sorted, distinct); the reduced axes are removed from the result. ArgMax/ArgMin
/// reduce exactly one axis and yield <see cref="DType"/> int32 or int64 indices.
/// </summary>
public sealed class ReducePrim : Prim
{
    /// <summary>Creates the reduction.</summary>
    public ReducePrim(ReduceOp op, Prim x, int[] axes, DType? indexType = null)
        : base(op is ReduceOp.ArgMax or ReduceOp.ArgMin ? indexType ?? DType.Int64 : x.DType, LoweringContext.DropAxes(x.Dims, axes), x)
    {
        Op = op;
        Axes = (int[])axes.Clone();
        Array.Sort(Axes);
    }

    /// <summary>The reduction.</summary>
    public ReduceOp Op { get; }
    /// <summary>The reduced axes of the input.</summary>
    public int[] Axes { get; }
    /// <inheritdoc/>
    public override string Describe() => $"reduce-{Op.ToString().ToLowerInvariant()} axes {Fmt(Axes)}";
}

/// <summary>Matrix product of rank-2 operands, or batched product of rank-3 operands with equal batch size.</summary>
public sealed class MatMulPrim : Prim
{
    /// <summary>Creates the product; the transpose flags apply to the last two axes.</summary>
    public MatMulPrim(Prim a, Prim b, bool transposeA, bool transposeB) : base(a.DType, OutDims(a, b, transposeA, transposeB), a, b)
    {
        TransposeA = transposeA;
        TransposeB = transposeB;
    }

    /// <summary>Whether A is transposed.</summary>
    public bool TransposeA { get; }
    /// <summary>Whether B is transposed.</summary>
    public bool TransposeB { get; }

    /// <summary>Batch count (1 for rank 2), M, N, K.</summary>
    public (int Batch, int M, int N, int K) Sizes
    {
        get
        {
            var a = Inputs[0].Dims;
            var r = a.Length;
            var batch = r == 3 ? a[0] : 1;
            var m = TransposeA ? a[r - 1] : a[r - 2];
            var k = TransposeA ? a[r - 2] : a[r - 1];
            return (batch, m, Dims[^1], k);
        }
    }

    private static int[] OutDims(Prim a, Prim b, bool ta, bool tb)
    {
        var r = a.Dims.Length;
        var m = ta ? a.Dims[r - 1] : a.Dims[r - 2];
        var n = tb ? b.Dims[r - 2] : b.Dims[r - 1];
        return r == 3 ? new[] { a.Dims[0], m, n } : new[] { m, n };
    }

    /// <inheritdoc/>
    public override string Describe() => $"matmul{(TransposeA ? " tA" : "")}{(TransposeB ? " tB" : "")}";
}

/// <summary>The same elements with new dimensions (a view).</summary>
public sealed class ReshapePrim(Prim x, int[] dims) : Prim(x.DType, dims, x)
{
    /// <inheritdoc/>
    public override string Describe() => $"reshape {Fmt(Dims)}";
}

/// <summary>
/// A strided view copied out: element <c>index</c> of the result is input element
/// <c>Offset + Σ index[i]·Strides[i]</c>. Transpose, slice, broadcast and tile lower to this.
/// </summary>
public sealed class StridedPrim(Prim x, int offset, int[] strides, int[] dims) : Prim(x.DType, dims, x)
{
    /// <summary>Flat element offset into the input.</summary>
    public int Offset { get; } = offset;
    /// <summary>Input stride (elements) of each result axis; 0 broadcasts.</summary>
    public int[] Strides { get; } = strides;
    /// <inheritdoc/>
    public override string Describe() => $"strided offset {Offset} strides {Fmt(Strides)}";
}

/// <summary>Concatenation along <see cref="Axis"/>.</summary>
public sealed class ConcatPrim : Prim
{
    /// <summary>Creates the concatenation (shapes already validated).</summary>
    public ConcatPrim(Prim[] parts, int axis) : base(parts[0].DType, ConcatDims(parts, axis), parts) => Axis = axis;

    /// <summary>The axis.</summary>
    public int Axis { get; }

    private static int[] ConcatDims(Prim[] parts, int axis)
    {
        var dims = (int[])parts[0].Dims.Clone();
        dims[axis] = parts.Sum(p => p.Dims[axis]);
        return dims;
    }

    /// <inheritdoc/>
    public override string Describe() => $"concat axis {Axis}";
}

/// <summary>
/// Gathers slices of <c>params</c> along <see cref="Axis"/> at int32/int64 <c>indices</c>; an index outside
/// [0, dim) fails the run with a message naming the origin op.
/// </summary>
public sealed class GatherPrim : Prim
{
    /// <summary>Creates the gather: result dims = params[:axis] + indices + params[axis+1:].</summary>
    public GatherPrim(Prim parameters, Prim indices, int axis)
        : base(parameters.DType, Ints.ReplaceAt(parameters.Dims, axis, indices.Dims), parameters, indices) =>
        Axis = axis;

    /// <summary>The gathered axis of params.</summary>
    public int Axis { get; }
    /// <inheritdoc/>
    public override string Describe() => $"gather axis {Axis}";
}

/// <summary>
/// A validation: passes its first operand through unchanged (a view of it) after checking the values; a failure
/// fails the run with an <see cref="InvalidArgumentException"/> naming the origin op. The planner runs every check of
/// every op a plan lowers, whether or not anything reads its result, and before any variable update it does not feed,
/// so a check cannot be pruned away and a failed run changes no variable.
/// </summary>
public abstract class CheckPrim : Prim
{
    private protected CheckPrim(Prim value, params Prim[] more) : base(value.DType, value.Dims, [value, .. more]) { }
}

/// <summary>
/// Passes integer indices through unchanged after checking each lies in [0, <see cref="Limit"/>); otherwise the
/// run fails with a message naming the origin op and the offending value (TF's label range check).
/// </summary>
public sealed class CheckIndicesPrim(Prim indices, long limit, string what) : CheckPrim(indices)
{
    /// <summary>Exclusive upper bound.</summary>
    public long Limit { get; } = limit;
    /// <summary>What the indices are, for the message (e.g. "label").</summary>
    public string What { get; } = what;
    /// <inheritdoc/>
    public override string Describe() => $"check {What} in [0, {Limit.ToString(CultureInfo.InvariantCulture)})";
}

/// <summary>
/// Passes a float tensor through unchanged after checking it holds no NaN and no infinity (TF's CheckNumerics); the
/// failure says which it found, after <see cref="Message"/>.
/// </summary>
public sealed class CheckNumericsPrim(Prim x, string message) : CheckPrim(x)
{
    /// <summary>The caller's message, printed first.</summary>
    public string Message { get; } = message;
    /// <inheritdoc/>
    public override string Describe() => "check-numerics";
}

/// <summary>
/// Passes <c>value</c> (operand 0) through unchanged after checking that every element of the bool
/// <c>condition</c> (operand 1) is true; otherwise the run fails with <see cref="Message"/> followed by the first
/// <see cref="Summarize"/> values of each data operand (operands 2…, labelled by <see cref="DataLabels"/>), as TF's
/// Assert prints them.
/// </summary>
public sealed class AssertPrim : CheckPrim
{
    /// <summary>Creates the assertion; <paramref name="dataLabels"/> has one entry (possibly empty) per data operand.</summary>
    public AssertPrim(Prim value, Prim condition, string message, Prim[] data, string[] dataLabels, int summarize)
        : base(value, [condition, .. data])
    {
        if (condition.DType != DType.Bool) throw new InvalidOperationException($"Assert primitive with a {condition.DType.Name()} condition.");
        if (dataLabels.Length != data.Length) throw new InvalidOperationException("Assert primitive: one label per data operand is needed.");
        Message = message;
        DataLabels = dataLabels;
        Summarize = summarize;
    }

    /// <summary>What failed, printed first.</summary>
    public string Message { get; }
    /// <summary>A label printed before each data operand's values (empty: none).</summary>
    public IReadOnlyList<string> DataLabels { get; }
    /// <summary>How many values of each data operand the message prints.</summary>
    public int Summarize { get; }
    /// <inheritdoc/>
    public override string Describe() => "assert";
}

/// <summary>
/// Adds slices of <c>updates</c> into zeros of shape <see cref="Prim.Dims"/> at <c>indices</c> along
/// <see cref="Axis"/> (repeated indices accumulate): the dense gradient of a gather.
/// </summary>
public sealed class ScatterAddPrim(Prim updates, Prim indices, int axis, int[] dims) : Prim(updates.DType, dims, updates, indices)
{
    /// <summary>The scattered axis of the result.</summary>
    public int Axis { get; } = axis;
    /// <inheritdoc/>
    public override string Describe() => $"scatter-add axis {Axis}";
}

/// <summary>
/// <c>buffer</c> with the slice at <c>index</c> along axis 0 replaced by <c>value</c> (a TensorArray write). When
/// <see cref="Donate"/> is set the kernel may update the buffer in place (the planner sets it only for a loop
/// variable nothing else reads).
/// </summary>
public sealed class UpdateSlicePrim(Prim buffer, Prim index, Prim value) : Prim(buffer.DType, buffer.Dims, buffer, index, value)
{
    /// <summary>Whether the buffer operand may be overwritten in place.</summary>
    public bool Donate { get; set; }
    /// <inheritdoc/>
    public override string Describe() => Donate ? "update-slice in place" : "update-slice";
}

/// <summary>
/// A while loop: runs the loop's condition and body plans until the condition is false. Its value is a tuple; each
/// result is a <see cref="TupleElementPrim"/>. Inputs: the initial loop variables, then the captured tensors.
/// </summary>
public sealed class LoopPrim(Operation whileOp, LoopFrame frame, Prim[] inputs) : Prim(DType.Bool, [], inputs)
{
    /// <summary>The While op.</summary>
    public Operation WhileOp { get; } = whileOp;
    /// <summary>The loop's frame.</summary>
    public LoopFrame Frame { get; } = frame;
    /// <summary>Whether each iteration's <see cref="LoopFrame.Saved"/> values are recorded for the loop's gradient.</summary>
    public bool SaveForGradient { get; set; }
    /// <summary>Which final loop variables the plan reads (the others are not computed unless needed by these).</summary>
    public bool[] UsedOutputs { get; set; } = [];
    /// <inheritdoc/>
    public override string Describe() => $"while {Frame.Name}{(SaveForGradient ? " (saving for gradient)" : "")}";
}

/// <summary>
/// The gradient of a while loop (backprop through time): runs the gradient body once per recorded forward
/// iteration, last first, carrying the loop variables' gradients and summing the captured tensors' gradients.
/// Inputs: the gradients of the loop's float results, then the gradient body's captured tensors.
/// </summary>
public sealed class LoopGradPrim(Operation gradOp, WhileGradient spec, Prim[] inputs) : Prim(DType.Bool, [], inputs)
{
    /// <summary>The WhileGrad op.</summary>
    public Operation GradOp { get; } = gradOp;
    /// <summary>What the gradient body computes.</summary>
    public WhileGradient Spec { get; } = spec;
    /// <summary>Which results (variable gradients, then captured-tensor gradients) the plan reads.</summary>
    public bool[] UsedOutputs { get; set; } = [];

    /// <summary>Which results the plan hands to the caller (fetched); the others die inside the run, so their storage may be reused by the next run.</summary>
    public bool[] FetchedOutputs { get; set; } = [];
    /// <summary>Concrete dimensions of the captured tensors' gradients.</summary>
    public int[][] CaptureDims { get; set; } = [];
    /// <inheritdoc/>
    public override string Describe() => $"while-grad {Spec.ForwardFrame.Name}";
}

/// <summary>Element <see cref="Index"/> of a loop's result tuple (a view).</summary>
public sealed class TupleElementPrim(Prim tuple, int index, DType dtype, int[] dims) : Prim(dtype, dims, tuple)
{
    /// <summary>The position in the tuple.</summary>
    public int Index { get; } = index;
    /// <inheritdoc/>
    public override string Describe() => $"element {Index}";
}

/// <summary>
/// Orthonormalises the columns of a tall matrix [m, n] (m ≥ n) by modified Gram–Schmidt in float64: the Q of the QR
/// decomposition whose R has a positive diagonal (what Keras' orthogonal initializer computes).
/// </summary>
public sealed class OrthogonalizePrim(Prim x) : Prim(x.DType, x.Dims, x)
{
    /// <inheritdoc/>
    public override string Describe() => "orthogonalize";
}
