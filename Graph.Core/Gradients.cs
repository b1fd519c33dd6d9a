namespace Graph.Core;

public static partial class TF
{
    /// <summary>
    /// Symbolic gradients (tf.gradients): adds ops computing d(Σ ys)/d(x) for each x in <paramref name="xs"/>, summing
    /// the contributions of every path. <paramref name="gradYs"/> weights each y (default: ones, so a non-scalar y is
    /// summed, as in TF). Paths through <see cref="StopGradient"/> and through integer or bool tensors carry no
    /// gradient. An x that no y depends on gets <c>null</c>.
    /// </summary>
    public static Tensor?[] Gradients(IReadOnlyList<Tensor> ys, IReadOnlyList<Tensor> xs, IReadOnlyList<Tensor>? gradYs = null, string name = "gradients")
    {
        if (ys.Count == 0) throw new InvalidArgumentException("Gradients: ys is empty.");
        var g = ys[0].Graph;
        foreach (var t in ys.Concat(xs)) g.CheckOwned(t, "Gradients");
        foreach (var x in xs)
            if (!x.DType.IsFloating())
                throw new InvalidArgumentException($"Gradients: cannot differentiate with respect to {x.Name} of dtype {x.DType.Name()}; only float32 and float64 tensors have gradients.");
        foreach (var y in ys)
            if (!y.DType.IsFloating())
                throw new InvalidArgumentException($"Gradients: cannot differentiate {y.Name} of dtype {y.DType.Name()}; only float32 and float64 tensors have gradients.");
        if (gradYs != null && gradYs.Count != ys.Count)
            throw new InvalidArgumentException($"Gradients: {gradYs.Count} grad_ys for {ys.Count} ys.");

        using var _ = g.AsDefault();
        using var scope = g.NameScope(name);

        // Ops on a path from some x to some y.
        var fromX = ReachableForward(g, xs.Select(x => x.Op));
        var toY = new HashSet<Operation>();
        var stack = new Stack<Operation>(ys.Select(y => y.Op));
        while (stack.Count > 0)
        {
            var op = stack.Pop();
            if (!toY.Add(op)) continue;
            foreach (var input in op.Inputs) stack.Push(input.Op);
        }
        var between = new HashSet<Operation>(fromX.Where(toY.Contains));

        var contributions = new Dictionary<Tensor, List<Tensor>>();
        void Contribute(Tensor t, Tensor grad)
        {
            if (!contributions.TryGetValue(t, out var list)) contributions[t] = list = new List<Tensor>();
            list.Add(grad);
        }
        for (var i = 0; i < ys.Count; i++)
        {
            var gy = gradYs?[i] ?? OnesLike(ys[i], name: "grad_ys_" + i);
            if (gradYs != null && !gy.Shape.IsCompatibleWith(ys[i].Shape))
                throw new InvalidArgumentException($"Gradients: grad_ys[{i}] has shape {gy.Shape} but {ys[i].Name} has shape {ys[i].Shape}.");
            Contribute(ys[i], gy);
        }

        // Creation order is topological, so its reverse visits every consumer before its producers.
        // Inside a loop body (the ys in a loop frame), tensors from outside the frame are the loop's captures: leaves
        // here. An outer op between two captures (one feeding the other, e.g. an op over a captured weight whose result
        // the body reads) belongs to the outer gradient, which gets the captures' gradients from the loop's.
        var frame = ys[0].Op.Frame;
        foreach (var op in Ordering.By(between, o => o.Id, descending: true))
        {
            if (op.Def == IdentityDef.StopGradient || frame != null && !frame.Encloses(op.Frame)) continue;
            var outGrads = op.Outputs.Select(t => SumContributions(contributions, t)).ToArray();
            if (outGrads.All(o => o == null)) continue;
            if (!op.Inputs.Any(i => i.DType.IsFloating() && between.Contains(i.Op))) continue;
            Tensor?[] inGrads;
            using (g.NameScope(op.Name + "_grad"))
            // The gradient of an op that checks values depends on it, so the checks run with the gradient (inside a loop
            // body the forward iteration runs them: a control edge into the forward frame cannot be followed).
            using (op.Def.ChecksAtRunTime && op.Frame == g.CurrentFrame ? g.ControlDependencies([op]) : null)
                inGrads = op.Def.Gradient(op, outGrads);
            if (inGrads.Length != op.Inputs.Count)
                throw new InvalidOperationException($"The gradient of {op.Type} returned {inGrads.Length} values for {op.Inputs.Count} inputs.");
            for (var i = 0; i < inGrads.Length; i++)
                if (inGrads[i] is { } gi && op.Inputs[i].DType.IsFloating() && between.Contains(op.Inputs[i].Op))
                    Contribute(op.Inputs[i], gi);
        }
        return xs.Select(x => SumContributions(contributions, x)).ToArray();
    }

    /// <summary>The gradient of one scalar (or summed) <paramref name="y"/> with respect to each of <paramref name="xs"/>.</summary>
    public static Tensor?[] Gradients(Tensor y, params Tensor[] xs) => Gradients([y], xs);

    private static Tensor? SumContributions(Dictionary<Tensor, List<Tensor>> contributions, Tensor t)
    {
        if (!contributions.TryGetValue(t, out var list) || list.Count == 0) return null;
        if (list.Count > 1)
        {
            var sum = AddN(list);
            list.Clear();
            list.Add(sum);
        }
        return list[0];
    }

    private static HashSet<Operation> ReachableForward(ComputeGraph g, IEnumerable<Operation> starts)
    {
        var consumers = new Dictionary<Operation, List<Operation>>();
        foreach (var op in g.Operations)
            foreach (var input in op.Inputs)
            {
                if (!consumers.TryGetValue(input.Op, out var list)) consumers[input.Op] = list = new List<Operation>();
                list.Add(op);
            }
        var reached = new HashSet<Operation>();
        var stack = new Stack<Operation>(starts);
        while (stack.Count > 0)
        {
            var op = stack.Pop();
            if (!reached.Add(op)) continue;
            if (consumers.TryGetValue(op, out var list))
                foreach (var c in list) stack.Push(c);
        }
        return reached;
    }

    /// <summary>
    /// Element-wise sum of tensors of one shape and dtype (tf.add_n). Their static shapes must agree (no broadcasting,
    /// as in TF1); dimensions known only at run time are not compared.
    /// </summary>
    public static Tensor AddN(IReadOnlyList<Tensor> inputs, string? name = null)
    {
        if (inputs.Count == 0) throw new InvalidArgumentException("AddN: needs at least one input.");
        OpRules.Merge($"AddN '{name ?? "AddN"}'", inputs);
        var sum = inputs[0];
        for (var i = 1; i < inputs.Count; i++) sum = Add(sum, inputs[i], name: name ?? "AddN");
        return sum;
    }
}
