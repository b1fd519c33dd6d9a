using Graph.Core;

namespace Graph.Kernels;

/// <summary>
/// A session's compiled plans by key, bounded in count and bytes: adding a plan evicts the least recently used ones
/// (never the one just added) until at most <see cref="Capacity"/> plans holding at most <see cref="MaxBytes"/> bytes
/// remain. An evicted plan frees its device memory at once and its host buffers when nothing references it.
/// </summary>
internal sealed class PlanCache(int capacity, long maxBytes)
{
    private readonly Dictionary<string, Entry> _byKey = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _recency = new(); // least recently used first

    /// <summary>A cached plan with what the session needs to run it.</summary>
    internal sealed class Entry
    {
        internal Entry(string key, ExecutionPlan plan)
        {
            Key = key;
            Plan = plan;
            Bytes = plan.BufferBytes;
            // The last assignment of each variable, in a dictionary of references and loops rather than one of integers
            // and LINQ over tuples: framework generic code over value types is in no ReadyToRun image, and every
            // process's first plan came through here.
            var assigned = new Dictionary<Operation, AssignVariablePrim>();
            foreach (var g in plan.Groups)
                foreach (var m in g.Members)
                    if (m is AssignVariablePrim a) assigned[a.Variable] = a;
            AssignedVariables = new (Operation, long)[assigned.Count];
            var i = 0;
            foreach (var (variable, a) in assigned) AssignedVariables[i++] = (variable, a.Size * a.DType.Size());
            Node = new LinkedListNode<Entry>(this);
        }

        public string Key { get; }
        public ExecutionPlan Plan { get; }

        /// <summary>The bytes the plan keeps between runs (its buffers).</summary>
        public long Bytes { get; }

        /// <summary>The variables the plan assigns and the bytes of each value (for the memory limit).</summary>
        public (Operation Variable, long Bytes)[] AssignedVariables { get; }

        /// <summary>Whether the cache dropped the plan (a callable holding it looks its key up again).</summary>
        public bool Evicted { get; internal set; }

        internal LinkedListNode<Entry> Node { get; }
    }

    /// <summary>The most plans kept.</summary>
    public int Capacity { get; } = capacity;

    /// <summary>The most bytes the kept plans may hold (the newest plan is kept even when it alone holds more).</summary>
    public long MaxBytes { get; } = maxBytes;

    /// <summary>Plans held now.</summary>
    public int Count => _byKey.Count;

    /// <summary>Bytes the held plans keep.</summary>
    public long Bytes { get; private set; }

    /// <summary>The plan for <paramref name="key"/>, marked as the most recently used; null when not cached.</summary>
    public Entry? Get(string key)
    {
        if (!_byKey.TryGetValue(key, out var entry)) return null;
        Touch(entry);
        return entry;
    }

    /// <summary>Marks <paramref name="entry"/> as the most recently used.</summary>
    public void Touch(Entry entry)
    {
        if (entry.Evicted || _recency.Last == entry.Node) return;
        _recency.Remove(entry.Node);
        _recency.AddLast(entry.Node);
    }

    /// <summary>Caches <paramref name="plan"/> under <paramref name="key"/>, evicting the least recently used plans beyond the bounds.</summary>
    public Entry Add(string key, ExecutionPlan plan)
    {
        var entry = new Entry(key, plan);
        _byKey[key] = entry;
        _recency.AddLast(entry.Node);
        Bytes += entry.Bytes;
        while ((_byKey.Count > Capacity || Bytes > MaxBytes) && _recency.First is { } oldest && oldest.Value != entry)
            Evict(oldest.Value);
        return entry;
    }

    /// <summary>Drops every plan, freeing their device memory.</summary>
    public void Clear()
    {
        while (_recency.First is { } oldest) Evict(oldest.Value);
    }

    private void Evict(Entry entry)
    {
        _recency.Remove(entry.Node);
        _byKey.Remove(entry.Key);
        Bytes -= entry.Bytes;
        entry.Evicted = true;
        entry.Plan.Dispose();
    }
}
