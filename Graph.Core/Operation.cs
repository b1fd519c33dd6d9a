namespace Graph.Core;

/// <summary>
/// A node of a <see cref="ComputeGraph"/>: an op type (<see cref="Def"/>), its inputs, control inputs, attributes
/// and outputs. Created by the functions of <see cref="TF"/>.
/// </summary>
public sealed class Operation
{
    private readonly Dictionary<string, object> _attrs;
    private Tensor[] _outputs = Array.Empty<Tensor>();

    internal Operation(ComputeGraph graph, int id, string name, OpDef def, Tensor[] inputs, Operation[] controlInputs, Dictionary<string, object> attrs)
    {
        Graph = graph;
        Id = id;
        Name = name;
        Def = def;
        Inputs = inputs;
        ControlInputs = controlInputs;
        _attrs = attrs;
    }

    /// <summary>The graph holding this op.</summary>
    public ComputeGraph Graph { get; }

    /// <summary>The while-loop frame whose body or condition this op belongs to; null at the top level.</summary>
    public LoopFrame? Frame { get; internal init; }

    /// <summary>Creation order in the graph, from 1 (TF's <c>_id</c>; the TF1 seed derivation counts these).</summary>
    public int Id { get; }

    /// <summary>The unique name, including name scopes (<c>rnn/MatMul_1</c>).</summary>
    public string Name { get; }

    /// <summary>The op's definition: shape rule and lowering.</summary>
    public OpDef Def { get; }

    /// <summary>The op type, e.g. <c>MatMul</c>.</summary>
    public string Type => Def.Type;

    /// <summary>Data inputs.</summary>
    public IReadOnlyList<Tensor> Inputs { get; }

    /// <summary>Ops that must run before this one.</summary>
    public IReadOnlyList<Operation> ControlInputs { get; }

    /// <summary>Outputs.</summary>
    public IReadOnlyList<Tensor> Outputs => _outputs;

    /// <summary>The first output (most ops have one).</summary>
    public Tensor Output => _outputs.Length > 0 ? _outputs[0] : throw new InvalidOperationException($"Op '{Name}' ({Type}) has no outputs.");

    /// <summary>The attribute names and values.</summary>
    public IReadOnlyDictionary<string, object> Attributes => _attrs;

    /// <summary>The attributes as the op's shape rule sees them.</summary>
    internal Dictionary<string, object> AttributeDictionary => _attrs;

    /// <summary>Attribute <paramref name="name"/>; throws naming the op when absent.</summary>
    public T Attr<T>(string name) =>
        _attrs.TryGetValue(name, out var v) ? (T)v : throw new KeyNotFoundException($"Op '{Name}' ({Type}) has no attribute '{name}'.");

    internal void SetOutputs(Tensor[] outputs) => _outputs = outputs;

    /// <summary>Describes the op.</summary>
    public override string ToString() => $"Operation(\"{Name}\", type={Type})";
}

/// <summary>The dtype and static shape of one output, as an op's shape rule infers it.</summary>
public readonly record struct OutputSpec(DType DType, Shape Shape);

/// <summary>What an op's shape rule sees while the op is being built.</summary>
public sealed class OpBuildContext
{
    internal OpBuildContext(string name, Tensor[] inputs, Dictionary<string, object> attrs)
    {
        Name = name;
        Inputs = inputs;
        Attrs = attrs;
    }

    /// <summary>The name the op will get (for error messages).</summary>
    public string Name { get; }

    /// <summary>The data inputs.</summary>
    public IReadOnlyList<Tensor> Inputs { get; }

    /// <summary>The attributes.</summary>
    public IReadOnlyDictionary<string, object> Attrs { get; }

    /// <summary>Attribute <paramref name="name"/>.</summary>
    public T Attr<T>(string name) => (T)Attrs[name];
}

/// <summary>
/// The definition of one op type: its static shape and dtype rule and its lowering onto primitives live together
/// here (and its gradient, once registered), so an op is one place to read.
/// </summary>
public abstract class OpDef
{
    /// <summary>The op type name (TF's, e.g. <c>MatMul</c>).</summary>
    public abstract string Type { get; }

    /// <summary>Infers output dtypes and static shapes; throws <see cref="InvalidArgumentException"/> naming the op for bad inputs.</summary>
    public abstract OutputSpec[] Infer(OpBuildContext ctx);

    /// <summary>Lowers the op onto primitives, given concrete input shapes.</summary>
    public abstract void Lower(LoweringContext ctx);

    /// <summary>Whether the op has effects or state beyond its outputs (never pruned, never merged).</summary>
    public virtual bool IsStateful => false;

    /// <summary>
    /// Whether the op's output is state read when it is used (a variable): the planner lowers it afresh for each
    /// consumer, at the consumer's place, so a read ordered after an assignment sees the assigned value.
    /// </summary>
    public virtual bool ReadsStateAtUse => false;

    /// <summary>
    /// Whether the op's lowering checks values at run time (index ranges, NaN, assertions) in a way its gradient does not
    /// read: the gradient's ops then depend on the op (a control input), so its checks run whenever the gradient is
    /// computed, as in TF1, where the check lives in the kernel that also produces the gradient.
    /// </summary>
    public virtual bool ChecksAtRunTime => false;

    /// <summary>
    /// Whether input <paramref name="index"/> is read only for its shape (and dtype), never its values: a loop's
    /// gradient then needs only the shape of such a forward value, not a copy per iteration.
    /// </summary>
    public virtual bool IsShapeOnlyInput(int index) => false;

    /// <summary>
    /// The gradient of the op (reverse mode): given the gradients flowing into its outputs (null where none flows),
    /// returns one gradient per data input, null for inputs that get none (integer inputs, indices, …). Built from
    /// graph ops, so the gradient is part of the graph. The default says the op has no gradient.
    /// </summary>
    public virtual Tensor?[] Gradient(Operation op, Tensor?[] outputGradients) =>
        throw new InvalidArgumentException($"No gradient defined for operation '{op.Name}' (op type: {Type}).");
}
