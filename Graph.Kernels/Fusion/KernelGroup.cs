using Graph.Core;

namespace Graph.Kernels.Fusion;

/// <summary>How a group of primitives is executed.</summary>
public enum GroupKind
{
    /// <summary>A source or view that needs no kernel: a constant, feed, variable read or reshape.</summary>
    Binding,
    /// <summary>Element-wise primitives over one iteration space, optionally headed by a matmul or ending in a reduction.</summary>
    Fused,
    /// <summary>One primitive with its own kernel (movement, gather, random, …).</summary>
    Single,
}

/// <summary>
/// One kernel of a plan, as the fusion pass formed it: the primitives it computes (<see cref="Members"/> in
/// dependency order), the values it reads from outside (<see cref="Inputs"/>) and the values it stores
/// (<see cref="Outputs"/>).
/// </summary>
public sealed class KernelGroup
{
    internal KernelGroup(GroupKind kind, Prim first)
    {
        Kind = kind;
        Members.Add(first);
        Dims = first is AssignVariablePrim a ? a.Inputs[0].Dims : first.Dims;
    }

    /// <summary>How the group runs.</summary>
    public GroupKind Kind { get; }

    /// <summary>The primitives computed, in dependency order (a head matmul first, a tail reduction last).</summary>
    public List<Prim> Members { get; } = new();

    /// <summary>The iteration space of the element-wise members.</summary>
    public int[] Dims { get; }

    /// <summary>A matmul computed first whose result the element-wise members read (an epilogue).</summary>
    public MatMulPrim? Head { get; internal set; }

    /// <summary>A reduction over trailing axes fed by the element-wise members.</summary>
    public ReducePrim? Tail { get; internal set; }

    /// <summary>Values read from outside the group.</summary>
    public List<Prim> Inputs { get; } = new();

    /// <summary>Members whose values are stored (read outside, fetched, a variable update, or the reduction).</summary>
    public List<Prim> Outputs { get; } = new();

    /// <summary>Index of the group in emission order.</summary>
    public int Index { get; internal set; }

    /// <summary>The graph ops the group's primitives came from, in order, without repeats.</summary>
    public IEnumerable<Operation> Origins => Members.Select(m => m.Origin).Where(o => o != null).Distinct()!;

    /// <summary>Whether <paramref name="p"/> is computed by this group.</summary>
    public bool Contains(Prim p) => _members.Contains(p);

    internal readonly HashSet<Prim> _members = new();

    internal void Add(Prim p)
    {
        if (_members.Add(p) && !Members.Contains(p)) Members.Add(p);
    }

    internal void Seal() => _members.UnionWith(Members);

    /// <inheritdoc/>
    public override string ToString() => $"{Kind} [{string.Join(", ", Members.Select(m => m.Describe()))}]";
}
