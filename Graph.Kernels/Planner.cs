using Graph.Core;
using Graph.Kernels.Fusion;

namespace Graph.Kernels;

/// <summary>
/// Compiles the part of a graph that a Run needs: prunes to the fetched tensors and target ops (stopping at fed
/// tensors), checks each op's shape rule on the concrete shapes and lowers it onto primitives, drops dead primitives (never a check of an
/// op the run needs) and assigns buffer slots with liveness.
/// </summary>
internal static class Planner
{
    public static ExecutionPlan Compile(IReadOnlyList<Tensor> fetches, IReadOnlyList<Operation> targets,
        IReadOnlyDictionary<Tensor, HostTensor> feeds, PlanOptions options, IReadOnlyList<Tensor>? shapeQueries = null)
    {
        // (A loop: ToDictionary over key-value pairs is framework generic code over a struct that no ReadyToRun image
        // holds, ~2 ms of JIT at every process's first plan.)
        var dims = new Dictionary<Tensor, int[]>(feeds.Count);
        foreach (var (tensor, value) in feeds) dims[tensor] = value.Dims;
        return Compile(fetches, targets, dims, options, shapeQueries);
    }

    /// <summary>Compiles the plan for fed tensors of the given concrete dimensions (their values may live on a device).</summary>
    public static ExecutionPlan Compile(IReadOnlyList<Tensor> fetches, IReadOnlyList<Operation> targets,
        IReadOnlyDictionary<Tensor, int[]> feeds, PlanOptions options, IReadOnlyList<Tensor>? shapeQueries = null)
    {
        // Shape queries are lowered (for their concrete shapes) but compute nothing unless something else needs them.
        var ops = Prune(fetches.Concat(shapeQueries ?? []).ToList(), targets, feeds);
        var executed = shapeQueries is { Count: > 0 } ? Prune(fetches, targets, feeds).ToHashSet() : null;

        // Lower in creation order, which is topological for data and control edges alike.
        var values = new Dictionary<Tensor, Prim>();
        var effects = new List<Prim>();
        var emitted = new List<Prim>();
        var known = new HashSet<Prim>();
        // Appends a primitive after its not yet emitted operands, keeping emission order topological.
        void Emit(Prim p)
        {
            if (!known.Add(p)) return;
            foreach (var i in p.Inputs) Emit(i);
            emitted.Add(p);
            if (p is AssignVariablePrim) effects.Add(p);
        }
        Prim ValueOf(Tensor t)
        {
            if (t.Op.Def.ReadsStateAtUse && !feeds.ContainsKey(t))
            {
                var read = new LoweringContext(t.Op, []);
                t.Op.Def.Lower(read);
                return read.Output(t.Index);
            }
            if (values.TryGetValue(t, out var p)) return p;
            if (feeds.TryGetValue(t, out var fed))
            {
                p = new FeedPrim(t, t.DType, fed);
                emitted.Add(p);
                known.Add(p);
                return values[t] = p;
            }
            throw new InvalidOperationException($"Planner: {t.Name} was needed before its op was lowered.");
        }
        foreach (var op in ops)
        {
            if (op.Def.ReadsStateAtUse) continue; // lowered at each use instead
            var ctx = new LoweringContext(op, op.Inputs.Select(ValueOf).ToArray());
            ctx.CheckConcreteShapes();
            op.Def.Lower(ctx);
            for (var i = 0; i < op.Outputs.Count; i++)
            {
                var t = op.Outputs[i];
                if (feeds.ContainsKey(t)) continue;
                values[t] = ctx.Output(i);
            }
            foreach (var t in op.Outputs)
                if (values.TryGetValue(t, out var p)) Emit(p);
            // Every check of an op the run needs runs, even when nothing reads its result (TF1 runs the whole op).
            if (executed == null || executed.Contains(op))
                foreach (var check in ctx.Checks)
                {
                    Emit(check);
                    effects.Add(check);
                }
        }

        var fetchPrims = fetches.Select(ValueOf).ToArray();
        foreach (var p in fetchPrims) Emit(p);
        var plan = Schedule(ops, emitted, fetchPrims, effects, options);
        foreach (var t in shapeQueries ?? []) plan.QueriedDims[t] = ValueOf(t).Dims;
        return plan;
    }

    /// <summary>The ops needed for the fetches and targets, in creation order; fed tensors cut the walk.</summary>
    private static List<Operation> Prune(IReadOnlyList<Tensor> fetches, IReadOnlyList<Operation> targets, IReadOnlyDictionary<Tensor, int[]> feeds)
    {
        var needed = new HashSet<Operation>();
        var stack = new Stack<Operation>();
        void Need(Operation op)
        {
            if (needed.Add(op)) stack.Push(op);
        }
        foreach (var t in fetches)
            if (!feeds.ContainsKey(t)) Need(t.Op);
        foreach (var op in targets) Need(op);
        while (stack.Count > 0)
        {
            var op = stack.Pop();
            foreach (var input in op.Inputs)
                if (!feeds.ContainsKey(input)) Need(input.Op);
            foreach (var c in op.ControlInputs) Need(c);
        }
        return Ordering.By(needed, o => o.Id);
    }

    /// <summary>
    /// Loop facts only the whole plan knows: a forward loop records values for its gradient when that gradient runs in
    /// this plan (or the loop is nested, so an enclosing gradient may need them); a loop gradient computes only the
    /// results the plan reads; a TensorArray write updates a loop variable in place when nothing else reads it.
    /// </summary>
    private static void MarkLoops(List<Prim> order, Prim[] fetches)
    {
        var consumers = new Dictionary<Prim, int>(order.Count);
        foreach (var p in order) consumers[p] = 0;
        foreach (var p in order)
            foreach (var i in p.Inputs.Distinct()) consumers[i]++;
        var fetched = new HashSet<Prim>(fetches);
        var gradsOf = order.OfType<LoopGradPrim>().Select(g => g.Spec.Forward).ToHashSet();
        foreach (var p in order)
            switch (p)
            {
                case LoopPrim loop:
                    // Recorded even when nothing is saved: the gradient needs the number of iterations.
                    loop.SaveForGradient = gradsOf.Contains(loop.WhileOp) || loop.WhileOp.Frame != null;
                    loop.UsedOutputs = new bool[loop.Frame.LoopVars.Count];
                    foreach (var e in order.OfType<TupleElementPrim>().Where(e => e.Inputs[0] == loop)) loop.UsedOutputs[e.Index] = true;
                    break;
                case LoopGradPrim grad:
                    grad.UsedOutputs = new bool[grad.Spec.FloatVars.Length + grad.Spec.FloatCaptures.Length];
                    grad.FetchedOutputs = new bool[grad.UsedOutputs.Length];
                    foreach (var e in order.OfType<TupleElementPrim>().Where(e => e.Inputs[0] == grad))
                    {
                        grad.UsedOutputs[e.Index] = true;
                        // A reshape of the result is the same array.
                        if (fetched.Contains(e) || order.OfType<ReshapePrim>().Any(r => r.Inputs[0] == e && fetched.Contains(r))) grad.FetchedOutputs[e.Index] = true;
                    }
                    break;
                case UpdateSlicePrim update:
                    update.Donate = update.Inputs[0] is FeedPrim f && f.Tensor.Op.Def.Type == "LoopVar" && consumers[f] == 1 && !fetched.Contains(f);
                    break;
            }
    }

    /// <summary>Keeps the live primitives in emission order, then fuses, assigns buffers and compiles kernels.</summary>
    private static ExecutionPlan Schedule(List<Operation> ops, List<Prim> emitted, Prim[] fetches, List<Prim> effects, PlanOptions options)
    {
        var live = new HashSet<Prim>();
        void Mark(Prim p)
        {
            if (!live.Add(p)) return;
            foreach (var i in p.Inputs) Mark(i);
        }
        foreach (var p in fetches) Mark(p);
        foreach (var p in effects) Mark(p);
        var order = emitted.Where(live.Contains).ToList();
        MarkLoops(order, fetches);
        var groups = FusionPass.Run(order, new HashSet<Prim>(fetches), options.Fusion);
        return new ExecutionPlan(ops, groups, fetches, options);
    }
}
