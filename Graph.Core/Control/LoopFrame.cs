namespace Graph.Core;

/// <summary>
/// The body and condition of one while loop: the ops built by its lambdas belong to this frame. The loop variables
/// are <see cref="LoopVars"/> (placeholders fed each iteration), outside tensors the body reads are
/// <see cref="Captures"/> (loop invariants), and <see cref="Saved"/> lists body tensors the gradient needs per iteration.
/// </summary>
public sealed class LoopFrame
{
    internal LoopFrame(string name, LoopFrame? parent)
    {
        Name = name;
        Parent = parent;
    }

    /// <summary>The loop's name scope.</summary>
    public string Name { get; }

    /// <summary>The enclosing loop frame (nested loops), or null.</summary>
    public LoopFrame? Parent { get; }

    /// <summary>Placeholders standing for the loop variables inside the frame.</summary>
    public IReadOnlyList<Tensor> LoopVars { get; internal set; } = Array.Empty<Tensor>();

    /// <summary>The condition (a bool scalar).</summary>
    public Tensor? Condition { get; internal set; }

    /// <summary>The next values of the loop variables.</summary>
    public IReadOnlyList<Tensor> BodyOutputs { get; internal set; } = Array.Empty<Tensor>();

    /// <summary>Tensors from outside the frame that the condition or body reads.</summary>
    public IReadOnlyList<Tensor> Captures { get; internal set; } = Array.Empty<Tensor>();

    /// <summary>Body tensors whose per-iteration values a gradient of the loop needs.</summary>
    public List<Tensor> Saved { get; } = new();

    /// <summary>Body tensors a gradient of the loop reads only for their shapes (constant across iterations).</summary>
    public List<Tensor> ShapeOnly { get; } = new();

    /// <summary>Whether saved values live in host memory (TF's swap_memory).</summary>
    public bool SwapMemory { get; internal set; }

    /// <summary>The outside values TF1's loop context would already have an <c>Enter</c> for (see <see cref="ComputeGraph.CountTf1Capture"/>).</summary>
    internal HashSet<object> Tf1Captured { get; } = new(ReferenceEqualityComparer.Instance);

    /// <summary>The most iterations, or null.</summary>
    public int? MaximumIterations { get; internal set; }

    private bool[]? _liveCaptures;

    /// <summary>
    /// Whether captured tensor <paramref name="capture"/> (an index into <see cref="Captures"/>) is read live: it reads
    /// a variable (the variable itself or an Identity of it, such as its <c>read</c> snapshot) that an op of this loop
    /// (or of a loop nested in it) assigns. As in TF1, where a ref variable and its read alias one buffer, each use in
    /// the condition or body then reads the variable's current value, not its value when the loop started. Other
    /// captures are loop invariants, fed once.
    /// </summary>
    public bool IsLiveCapture(int capture)
    {
        // Computed on first use: the body and nested loops are complete once the loop is built, and the gradient's ops
        // live in a frame of their own, never in this one.
        if (_liveCaptures == null || _liveCaptures.Length != Captures.Count)
        {
            var assigned = new HashSet<Operation>();
            if (LoopVars.Count > 0)
                foreach (var op in LoopVars[0].Graph.Operations)
                    if (op.Def is AssignDef && Encloses(op.Frame)) assigned.Add(op.Inputs[0].Op);
            var live = new bool[Captures.Count];
            for (var j = 0; j < live.Length; j++) live[j] = assigned.Count > 0 && VariableRead(Captures[j]) is { } v && assigned.Contains(v);
            _liveCaptures = live;
        }
        return _liveCaptures[capture];
    }

    /// <summary>The variable op <paramref name="t"/> reads (its output or a chain of Identities of it), or null.</summary>
    internal static Operation? VariableRead(Tensor t)
    {
        for (var x = t; ; x = x.Op.Inputs[0])
        {
            if (x.Op.Def is VariableDef) return x.Op;
            if (x.Op.Def != IdentityDef.Identity) return null;
        }
    }

    /// <summary>Whether <paramref name="frame"/> is this frame or nested inside it.</summary>
    public bool Encloses(LoopFrame? frame)
    {
        for (var f = frame; f != null; f = f.Parent)
            if (f == this) return true;
        return false;
    }

    /// <inheritdoc/>
    public override string ToString() => $"LoopFrame({Name})";
}
