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
