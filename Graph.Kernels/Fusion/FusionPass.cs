using Graph.Core;

namespace Graph.Kernels.Fusion;

/// <summary>
/// Groups primitives into kernels. Element-wise primitives sharing an iteration space fuse into one kernel, which may
/// start with a matmul (an epilogue: bias add, activation) and may end in one reduction over trailing axes; scalar
/// element-wise work (e.g. a bias-corrected learning rate) is absorbed into the kernel that consumes it. A fetched
/// value ends a group (it is stored, and its consumers start new groups); feeds, constants and variable reads are
/// inputs, never members; a variable update may end a group but nothing reads past it inside the group. Every
/// member is computed once per element, so no expensive op is ever duplicated; a group reads at most
/// <see cref="MaxInputs"/> values.
/// </summary>
public static class FusionPass
{
    /// <summary>The most values one fused kernel reads.</summary>
    public const int MaxInputs = 16;

    /// <summary>Groups <paramref name="order"/> (topologically sorted, live primitives) into kernels.</summary>
    public static List<KernelGroup> Run(IReadOnlyList<Prim> order, ISet<Prim> fetched, bool enabled)
    {
        var position = new Dictionary<Prim, int>();
        for (var i = 0; i < order.Count; i++) position[order[i]] = i;
        var consumers = order.ToDictionary(p => p, _ => new List<Prim>());
        foreach (var p in order)
            foreach (var i in p.Inputs.Distinct())
                consumers[i].Add(p);

        // Reads and updates of each variable, in graph order: kernels keep this order (TopologicalOrder), so the
        // cycle check walks these edges too.
        var stateOps = order.Where(p => p is ReadVariablePrim or AssignVariablePrim).GroupBy(VariableOf).ToDictionary(g => g.Key, g => g.ToList());
        IEnumerable<Prim> OrderedBefore(Prim p)
        {
            if (p is not (ReadVariablePrim or AssignVariablePrim)) yield break;
            foreach (var q in stateOps[VariableOf(p)])
            {
                if (position[q] >= position[p]) break;
                if (p is AssignVariablePrim || q is AssignVariablePrim) yield return q;
            }
        }

        var groupOf = new Dictionary<Prim, KernelGroup>();
        var groups = new List<KernelGroup>();
        KernelGroup NewGroup(GroupKind kind, Prim p)
        {
            var g = new KernelGroup(kind, p);
            g.Seal();
            groups.Add(g);
            groupOf[p] = g;
            return g;
        }

        foreach (var p in order)
        {
            if (IsBinding(p))
            {
                NewGroup(GroupKind.Binding, p);
                continue;
            }
            if (enabled && IsElementwise(p) && p is not StridedPrim && TryJoin(p)) continue;
            if (enabled && p is ReducePrim r && TryTail(r)) continue;
            NewGroup(IsElementwise(p) ? GroupKind.Fused : p is MatMulPrim or ReducePrim ? GroupKind.Fused : GroupKind.Single, p);
            if (p is MatMulPrim m) groupOf[p].Head = m;
            if (p is ReducePrim red) groupOf[p].Tail = red;
        }

        // Joins p to the fused group of one of its inputs (or starts a matmul epilogue), absorbing scalar groups.
        bool TryJoin(Prim p)
        {
            var dims = IterationDims(p);
            KernelGroup? target = null;
            foreach (var input in Ordering.By(p.Inputs, i => position[i], descending: true))
            {
                var g = groupOf[input];
                if (g.Kind != GroupKind.Fused || g.Tail != null || fetched.Contains(input)) continue;
                if (!Ints.Equal(g.Dims, dims)) continue;
                if (g.Head != null && g.Members.Count == 1 && consumers[g.Head].Count != 1) continue; // a shared matmul result stays stored
                if (!Acyclic(g, [p])) continue;
                target = g;
                break;
            }
            if (target == null && p.Inputs.Count > 0)
            {
                // Start a group with p alone, then absorb scalar producers below.
                target = new KernelGroup(GroupKind.Fused, p);
                target.Seal();
                groups.Add(target);
            }
            else if (target == null) return false;
            else
            {
                target.Add(p);
                if (CountInputs(target) > MaxInputs)
                {
                    // Too many operands: p gets its own kernel.
                    target.Members.Remove(p);
                    target._members.Remove(p);
                    return false;
                }
            }
            groupOf[p] = target;
            AbsorbScalars(target, p);
            MergeSiblings(target, p, dims);
            return true;
        }

        // Other fused groups over the same iteration space that p also reads merge into p's group (e.g. Adam's m and v
        // updates with the variable update), unless a path outside the groups links them.
        void MergeSiblings(KernelGroup target, Prim p, int[] dims)
        {
            foreach (var input in p.Inputs)
            {
                var g = groupOf[input];
                if (g == target || g.Kind != GroupKind.Fused || g.Tail != null || target.Tail != null) continue;
                if (!g.Dims.AsSpan().SequenceEqual(dims) || fetched.Contains(input)) continue;
                if (g.Head != null && target.Head != null) continue;
                if (!HeadFirst(target, g.Members) || !HeadFirst(g, target.Members)) continue;
                if (!StridedReadsOutside(target.Members.Concat(g.Members))) continue;
                if (!Acyclic(target, g.Members)) continue;
                target.Members.AddRange(g.Members);
                target.Head ??= g.Head;
                target.Seal();
                if (CountInputs(target) > MaxInputs)
                {
                    target.Members.RemoveRange(target.Members.Count - g.Members.Count, g.Members.Count);
                    target._members.ExceptWith(g.Members);
                    if (g.Head != null && target.Head == g.Head) target.Head = null;
                    continue;
                }
                foreach (var m in g.Members) groupOf[m] = target;
                groups.Remove(g);
            }
        }

        // Scalar element-wise groups consumed only by this group become broadcast members of it.
        void AbsorbScalars(KernelGroup target, Prim p)
        {
            foreach (var input in p.Inputs)
            {
                var g = groupOf[input];
                if (g == target || g.Kind != GroupKind.Fused || g.Head != null || g.Tail != null) continue;
                if (!g.Members.All(m => m.Size == 1 && IsElementwise(m) && m is not AssignVariablePrim && !fetched.Contains(m))) continue;
                if (!g.Members.All(m => consumers[m].All(c => g.Contains(c) || c == p || target.Contains(c)))) continue;
                if (!Acyclic(target, g.Members) || !HeadFirst(target, g.Members) || !StridedReadsOutside(target.Members.Concat(g.Members))) continue;
                var insertAt = target.Members.IndexOf(p);
                target.Members.InsertRange(insertAt, g.Members);
                target.Seal();
                foreach (var m in g.Members) groupOf[m] = target;
                groups.Remove(g);
            }
        }

        // A reduction over trailing axes ends the group computing its input (which is still stored if others read it).
        bool TryTail(ReducePrim r)
        {
            if (r.Op is ReduceOp.ArgMax or ReduceOp.ArgMin) return false;
            var input = r.Inputs[0];
            var g = groupOf[input];
            if (g.Kind != GroupKind.Fused || g.Head != null || g.Tail != null || fetched.Contains(input)) return false;
            var rank = input.Dims.Length;
            // The reduced axes must be the trailing ones (sorted axes: the first is rank − count).
            if (r.Axes.Length > 0 && r.Axes[0] != rank - r.Axes.Length) return false;
            if (!input.Dims.AsSpan().SequenceEqual(g.Dims)) return false;
            // Other readers of the group's values are served by storing them as well.
            g.Add(r);
            g.Tail = r;
            groupOf[r] = g;
            return true;
        }

        // A strided member reads its input at arbitrary positions, so that input must be stored before the kernel runs.
        static bool StridedReadsOutside(IEnumerable<Prim> members)
        {
            var set = members.ToHashSet();
            return !set.OfType<StridedPrim>().Any(sp => set.Contains(sp.Inputs[0]));
        }

        // A head matmul runs before the element-wise members, so none of them may compute its operands.
        bool HeadFirst(KernelGroup g, IEnumerable<Prim> extra) => g.Head == null || !g.Head.Inputs.Any(extra.Contains);

        // Whether g and the extra members may run as one kernel: no value they read from outside may depend on
        // either of them (otherwise the merged kernel would wait on itself). Kernels run as units, so a path through
        // any member of another group counts.
        bool Acyclic(KernelGroup g, IEnumerable<Prim> extra)
        {
            var merged = new HashSet<Prim>(g.Members);
            merged.UnionWith(extra);
            var first = merged.Min(m => position[m]);
            var seen = new HashSet<Prim>();
            var stack = new Stack<Prim>(merged.SelectMany(m => m.Inputs.Concat(OrderedBefore(m))).Where(i => !merged.Contains(i)));
            while (stack.Count > 0)
            {
                var q = stack.Pop();
                if (!seen.Add(q) || position[q] < first) continue;
                if (merged.Contains(q)) return false;
                var members = groupOf.TryGetValue(q, out var qg) && qg != g ? qg.Members : [q];
                foreach (var m in members)
                {
                    if (merged.Contains(m)) return false;
                    if (m != q && !seen.Add(m)) continue;
                    foreach (var i in m.Inputs) stack.Push(i);
                    foreach (var i in OrderedBefore(m)) stack.Push(i);
                }
            }
            return true;
        }

        foreach (var g in groups)
        {
            g.Seal();
            if (g.Kind == GroupKind.Fused)
            {
                // Keep dependency order (absorbed scalars were inserted before their consumer).
                var ordered = Ordering.By(g.Members, m => position[m]);
                g.Members.Clear();
                g.Members.AddRange(ordered);
            }
            foreach (var m in g.Members)
                foreach (var i in m.Inputs)
                    if (!g.Contains(i) && !g.Inputs.Contains(i)) g.Inputs.Add(i);
            foreach (var m in g.Members)
                if (fetched.Contains(m) || m is AssignVariablePrim || m == g.Tail || m == g.Head || consumers[m].Any(c => !g.Contains(c)) || g.Kind != GroupKind.Fused)
                    g.Outputs.Add(m);
        }
        var sorted = TopologicalOrder(groups, position);
        for (var i = 0; i < sorted.Count; i++) sorted[i].Index = i;
        return sorted;

        int CountInputs(KernelGroup g)
        {
            var inputs = new HashSet<Prim>();
            foreach (var m in g.Members)
                foreach (var i in m.Inputs)
                    if (!g.Contains(i) && !(i is ConstantPrim c && c.Size == 1)) inputs.Add(i);
            return inputs.Count;
        }
    }

    /// <summary>
    /// Orders groups so each runs after the groups producing its inputs, and variable reads and updates keep their
    /// order from the graph (a read placed after an update sees it; one placed before does not). Among ready groups
    /// the one whose first primitive came first goes first.
    /// </summary>
    private static List<KernelGroup> TopologicalOrder(List<KernelGroup> groups, Dictionary<Prim, int> position)
    {
        var groupOf = new Dictionary<Prim, KernelGroup>();
        foreach (var g in groups)
            foreach (var m in g.Members) groupOf[m] = g;
        var deps = groups.ToDictionary(g => g, _ => new HashSet<KernelGroup>());
        foreach (var g in groups)
            foreach (var m in g.Members)
                foreach (var i in m.Inputs)
                    if (groupOf[i] != g) deps[g].Add(groupOf[i]);
        // State order per variable.
        var stateOps = groups.SelectMany(g => g.Members).Where(m => m is ReadVariablePrim or AssignVariablePrim)
            .GroupBy(m => m is ReadVariablePrim r ? r.Variable : ((AssignVariablePrim)m).Variable);
        foreach (var perVariable in stateOps)
        {
            var ordered = Ordering.By(perVariable, m => position[m]);
            for (var i = 0; i < ordered.Count; i++)
                for (var j = i + 1; j < ordered.Count; j++)
                    if ((ordered[i] is AssignVariablePrim || ordered[j] is AssignVariablePrim) && groupOf[ordered[i]] != groupOf[ordered[j]])
                        deps[groupOf[ordered[j]]].Add(groupOf[ordered[i]]);
        }
        var first = groups.ToDictionary(g => g, g => g.Members.Min(m => position[m]));
        ChecksBeforeUpdates(groups, deps, first);
        var pending = groups.ToDictionary(g => g, g => deps[g].Count);
        var users = groups.ToDictionary(g => g, _ => new List<KernelGroup>());
        foreach (var g in groups)
            foreach (var d in deps[g]) users[d].Add(g);
        // Ready groups, earliest first member first. The group is its own priority (compared by that position): a queue
        // with int priorities is framework generic code over a value type, which no ReadyToRun image holds.
        var ready = new PriorityQueue<KernelGroup, KernelGroup>(Comparer<KernelGroup>.Create((a, b) => first[a].CompareTo(first[b])));
        foreach (var g in groups)
            if (pending[g] == 0) ready.Enqueue(g, g);
        var result = new List<KernelGroup>();
        while (ready.TryDequeue(out var g, out _))
        {
            result.Add(g);
            foreach (var u in users[g])
                if (--pending[u] == 0) ready.Enqueue(u, u);
        }
        if (result.Count != groups.Count)
            throw new InvalidOperationException("Fusion produced kernels that depend on each other in a cycle.");
        return result;
    }

    /// <summary>
    /// Makes every group that updates a variable wait for every check that does not depend on it, so a failing check
    /// stops the run before any variable changes (TF1 gets this from data edges: a gradient reads its op's checked
    /// outputs). Checks are taken in graph order; an edge that would close a cycle is never added.
    /// </summary>
    private static void ChecksBeforeUpdates(List<KernelGroup> groups, Dictionary<KernelGroup, HashSet<KernelGroup>> deps, Dictionary<KernelGroup, int> first)
    {
        var updates = groups.Where(g => g.Members.Any(m => m is AssignVariablePrim)).ToList();
        if (updates.Count == 0) return;
        foreach (var check in Ordering.By(groups.Where(g => g.Members.Any(m => m is CheckPrim)), g => first[g]))
        {
            var upstream = new HashSet<KernelGroup>();
            var stack = new Stack<KernelGroup>(deps[check]);
            while (stack.TryPop(out var g))
                if (upstream.Add(g))
                    foreach (var d in deps[g]) stack.Push(d);
            foreach (var update in updates)
                if (update != check && !upstream.Contains(update)) deps[update].Add(check);
        }
    }

    private static Operation VariableOf(Prim p) => p is ReadVariablePrim r ? r.Variable : ((AssignVariablePrim)p).Variable;

    /// <summary>Sources and views: constants, feeds, variable reads and reshapes.</summary>
    public static bool IsBinding(Prim p) => p is ConstantPrim or FeedPrim or ReadVariablePrim or ReshapePrim or TupleElementPrim;

    /// <summary>Primitives a fused kernel evaluates element by element.</summary>
    public static bool IsElementwise(Prim p) => p is UnaryPrim or BinaryPrim or SelectPrim or CastPrim or IotaPrim or AssignVariablePrim
        || p is StridedPrim;

    private static int[] IterationDims(Prim p) => p is AssignVariablePrim a ? a.Inputs[0].Dims : p.Dims;
}
