namespace Graph.Core;

/// <summary>A loop variable inside a while-loop frame: fed by the loop runtime each iteration.</summary>
internal sealed class LoopVarDef : OpDef
{
    public static readonly LoopVarDef Instance = new();
    public override string Type => "LoopVar";
    public override bool IsStateful => true;
    public override OutputSpec[] Infer(OpBuildContext ctx) => [new(ctx.Attr<DType>("dtype"), ctx.Attr<Shape>("shape"))];

    public override void Lower(LoweringContext ctx) =>
        throw new InvalidOperationException($"Loop variable '{ctx.Op.Name}' is only defined inside its loop; it was used outside it.");
}

/// <summary>What the gradient of one while loop computes (built by <see cref="WhileDef.Gradient"/>).</summary>
public sealed class WhileGradient
{
    internal WhileGradient(Operation forward, LoopFrame forwardFrame, LoopFrame gradFrame)
    {
        Forward = forward;
        ForwardFrame = forwardFrame;
        GradFrame = gradFrame;
    }

    /// <summary>The forward While op.</summary>
    public Operation Forward { get; }
    /// <summary>The forward loop's frame.</summary>
    public LoopFrame ForwardFrame { get; }
    /// <summary>The frame of the gradient body.</summary>
    public LoopFrame GradFrame { get; }
    /// <summary>Indices of the forward loop variables that carry gradients (float ones).</summary>
    public int[] FloatVars { get; internal set; } = [];
    /// <summary>Indices of the forward captured tensors that get gradients (float ones).</summary>
    public int[] FloatCaptures { get; internal set; } = [];
    /// <summary>Placeholders for the incoming gradients of <see cref="FloatVars"/>, in the gradient frame.</summary>
    public Tensor[] GradIn { get; internal set; } = [];
    /// <summary>The gradients of the loop variables at the start of the iteration.</summary>
    public Tensor[] VarGrads { get; internal set; } = [];
    /// <summary>This iteration's gradient of each captured tensor in <see cref="FloatCaptures"/> (null: none).</summary>
    public Tensor?[] CaptureGrads { get; internal set; } = [];
    /// <summary>
    /// For captured tensors read per step by a gather (e.g. a TensorArray read at the loop counter), the gather
    /// gradient's slices and indices: the loop scatter-adds them into one accumulator instead of summing a dense
    /// tensor per iteration. Null where the gradient is dense.
    /// </summary>
    public (Tensor Updates, Tensor Indices, int Axis)?[] SparseCaptureGrads { get; internal set; } = [];
    /// <summary>Forward body tensors the gradient body reads, fed from the values recorded per iteration.</summary>
    public Tensor[] Saved { get; internal set; } = [];
    /// <summary>Forward body tensors the gradient body reads only for their shapes.</summary>
    public Tensor[] ShapeOnly { get; internal set; } = [];
    /// <summary>Tensors from outside both frames that the gradient body reads.</summary>
    public Tensor[] Captures { get; internal set; } = [];
}

/// <summary>
/// A while loop (TF's while_loop): inputs are the initial loop variables then the captured tensors; outputs are the
/// final loop variables. The condition and body live in its <see cref="LoopFrame"/>.
/// </summary>
internal sealed class WhileDef : OpDef
{
    public static readonly WhileDef Instance = new();
    public override string Type => "While";
    public override bool IsStateful => true;

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var frame = ctx.Attr<LoopFrame>("frame");
        var specs = new OutputSpec[frame.LoopVars.Count];
        for (var i = 0; i < specs.Length; i++) specs[i] = new OutputSpec(frame.LoopVars[i].DType, frame.LoopVars[i].Shape);
        return specs;
    }

    public override void Lower(LoweringContext ctx)
    {
        var frame = ctx.Op.Attr<LoopFrame>("frame");
        var loop = ctx.Add(new LoopPrim(ctx.Op, frame, ctx.Inputs.ToArray()));
        for (var i = 0; i < frame.LoopVars.Count; i++)
            ctx.SetOutput(i, ctx.Add(new TupleElementPrim(loop, i, frame.LoopVars[i].DType, ctx.Input(i).Dims)));
    }

    /// <summary>
    /// Backprop through time: differentiates the body once, symbolically, into a gradient body (its own frame) that
    /// reads the forward values it needs from per-iteration records, and returns the WhileGrad op's results.
    /// </summary>
    /// <summary>
    /// Whether loop variable i's value reaches another variable's next value. A variable that only feeds itself (an
    /// output TensorArray) and gets no gradient from outside has a zero gradient throughout, so it is left out.
    /// </summary>
    private static bool FeedsOtherVariables(LoopFrame frame, int i)
    {
        var consumers = new Dictionary<Tensor, List<Operation>>();
        foreach (var op in frame.LoopVars[0].Graph.Operations.Where(o => frame.Encloses(o.Frame)))
            foreach (var input in op.Inputs)
            {
                if (!consumers.TryGetValue(input, out var list)) consumers[input] = list = new List<Operation>();
                list.Add(op);
            }
        var others = frame.BodyOutputs.Where((_, j) => j != i).ToHashSet();
        var seen = new HashSet<Tensor>();
        var stack = new Stack<Tensor>([frame.LoopVars[i]]);
        while (stack.Count > 0)
        {
            var t = stack.Pop();
            if (!seen.Add(t)) continue;
            if (others.Contains(t)) return true;
            if (consumers.TryGetValue(t, out var ops))
                foreach (var o in ops)
                    foreach (var output in o.Outputs) stack.Push(output);
        }
        return false;
    }

    public override Tensor?[] Gradient(Operation op, Tensor?[] grads)
    {
        var frame = op.Attr<LoopFrame>("frame");
        var g = op.Graph;
        var n = frame.LoopVars.Count;
        // (Loops over indices here: LINQ over ints is framework generic code no ReadyToRun image holds, see Ints.)
        var spec = new WhileGradient(op, frame, new LoopFrame(op.Name + "_grad", op.Frame))
        {
            FloatVars = Ints.Where(n, i => frame.LoopVars[i].DType.IsFloating() && (grads[i] != null || FeedsOtherVariables(frame, i))),
            // A captured StopGradient has no gradient: none is taken per iteration (the outer pass would drop it).
            FloatCaptures = Ints.Where(frame.Captures.Count, i => frame.Captures[i].DType.IsFloating() && frame.Captures[i].Op.Def != IdentityDef.StopGradient),
        };
        var gradFrame = spec.GradFrame;
        var outer = g.CurrentFrame;
        g.CurrentFrame = gradFrame;
        try
        {
            var nv = spec.FloatVars.Length;
            spec.GradIn = new Tensor[nv];
            var xs = new List<Tensor>();
            var ys = new List<Tensor>();
            foreach (var i in spec.FloatVars)
            {
                spec.GradIn[xs.Count] = g.AddOp(LoopVarDef.Instance, [],
                    OpRules.Attrs(("dtype", frame.LoopVars[i].DType), ("shape", frame.LoopVars[i].Shape)), "grad_in").Output;
                xs.Add(frame.LoopVars[i]);
                ys.Add(frame.BodyOutputs[i]);
            }
            foreach (var i in spec.FloatCaptures) xs.Add(frame.Captures[i]);
            var gx = ys.Count == 0 ? new Tensor?[xs.Count] : TF.Gradients(ys, xs, spec.GradIn, name: "body_grad");
            spec.VarGrads = new Tensor[nv];
            for (var k = 0; k < nv; k++) spec.VarGrads[k] = gx[k] ?? TF.ZerosLike(spec.GradIn[k]);
            spec.CaptureGrads = gx[nv..];
            // (A loop: LINQ over the nullable tuple is framework generic code no ReadyToRun image holds.)
            spec.SparseCaptureGrads = new (Tensor, Tensor, int)?[spec.CaptureGrads.Length];
            for (var k = 0; k < spec.CaptureGrads.Length; k++)
                if (spec.CaptureGrads[k] is { } gc && gc.Op.Def == GradHelperDef.ScatterAddLike && gc.Op.Inputs[2] == frame.Captures[spec.FloatCaptures[k]])
                    spec.SparseCaptureGrads[k] = (gc.Op.Inputs[0], gc.Op.Inputs[1], gc.Op.Attr<int>("axis"));
        }
        finally
        {
            g.CurrentFrame = outer;
        }

        // What the gradient body reads from outside itself: forward body values (recorded per iteration) and outer tensors.
        // Only ops the body's results need count: a product's gradient builds both operands' products, and one whose
        // operand's gradient nobody takes (behind a StopGradient) must not make the forward loop record its inputs.
        var needed = new HashSet<Operation>();
        var pending = new Stack<Operation>();
        var saved = new List<Tensor>();
        var shapeOnly = new List<Tensor>();
        var captures = new List<Tensor>();
        // A value the body reads (or fetches: a sparse gradient's indices may be a forward value) from outside itself.
        void ReadFromOutside(Tensor t, bool forShapeOnly)
        {
            if (!frame.Encloses(t.Op.Frame))
            {
                if (!captures.Contains(t)) captures.Add(t);
            }
            else if (forShapeOnly)
            {
                if (!shapeOnly.Contains(t)) shapeOnly.Add(t);
            }
            else if (!saved.Contains(t)) saved.Add(t);
        }
        void Need(Tensor? t)
        {
            if (t == null) return;
            if (!gradFrame.Encloses(t.Op.Frame)) ReadFromOutside(t, forShapeOnly: false);
            else if (t.Op.Frame == gradFrame && needed.Add(t.Op)) pending.Push(t.Op);
        }
        foreach (var t in spec.VarGrads) Need(t);
        for (var k = 0; k < spec.CaptureGrads.Length; k++)
            if (spec.SparseCaptureGrads[k] is { } sparse)
            {
                Need(sparse.Updates);
                Need(sparse.Indices);
            }
            else Need(spec.CaptureGrads[k]);
        while (pending.Count > 0)
        {
            var gop = pending.Pop();
            for (var k = 0; k < gop.Inputs.Count; k++)
            {
                var t = gop.Inputs[k];
                if (gradFrame.Encloses(t.Op.Frame)) Need(t);
                else ReadFromOutside(t, gop.Def.IsShapeOnlyInput(k));
            }
            foreach (var c in gop.ControlInputs)
                if (c.Frame == gradFrame && needed.Add(c)) pending.Push(c);
        }
        // A variable the loop assigns changes between iterations, and its values are not recorded per iteration: the
        // gradient body would read its value after the loop instead of each iteration's (silently wrong numbers).
        for (var j = 0; j < frame.Captures.Count; j++)
        {
            if (!frame.IsLiveCapture(j)) continue;
            var k = Array.IndexOf(spec.FloatCaptures, j);
            if (captures.Contains(frame.Captures[j]) || (k >= 0 && spec.CaptureGrads[k] != null))
                throw new InvalidArgumentException(
                    $"While '{op.Name}': the gradient needs variable '{LoopFrame.VariableRead(frame.Captures[j])!.Name}' ({frame.Captures[j].Name}), which the loop body assigns; " +
                    "gradients through a loop that assigns a variable it reads differentiably are not supported. Assign the variable outside the loop, or stop the gradient through its read.");
        }
        shapeOnly.RemoveAll(saved.Contains);
        spec.Saved = saved.ToArray();
        spec.ShapeOnly = shapeOnly.ToArray();
        spec.Captures = captures.ToArray();
        if (saved.Concat(shapeOnly).Any(t => !frame.Saved.Contains(t) && !frame.ShapeOnly.Contains(t))) g.LoopRecordVersion++;
        foreach (var t in saved)
            if (!frame.Saved.Contains(t)) frame.Saved.Add(t);
        foreach (var t in shapeOnly)
            if (!frame.ShapeOnly.Contains(t)) frame.ShapeOnly.Add(t);
        gradFrame.LoopVars = spec.GradIn;
        gradFrame.BodyOutputs = spec.VarGrads;
        gradFrame.Captures = spec.Captures;

        var gradInputs = new List<Tensor>();
        foreach (var i in spec.FloatVars) gradInputs.Add(grads[i] ?? TF.ZerosLike(op.Outputs[i]));
        gradInputs.AddRange(spec.Captures);
        foreach (var i in spec.FloatCaptures) gradInputs.Add(op.Inputs[n + i]);
        gradInputs.Add(op.Outputs[0]);
        var gradOp = g.AddOp(WhileGradDef.Instance, gradInputs,
            OpRules.Attrs(("spec", spec)), op.Name.Split('/')[^1] + "_grad");
        var result = new Tensor?[op.Inputs.Count];
        for (var k = 0; k < spec.FloatVars.Length; k++) result[spec.FloatVars[k]] = gradOp.Outputs[k];
        for (var k = 0; k < spec.FloatCaptures.Length; k++)
            if (spec.CaptureGrads[k] != null) result[n + spec.FloatCaptures[k]] = gradOp.Outputs[spec.FloatVars.Length + k];
        return result;
    }
}

/// <summary>The gradient of a While op: outputs the gradients of its float loop variables, then of its float captures.</summary>
internal sealed class WhileGradDef : OpDef
{
    public static readonly WhileGradDef Instance = new();
    public override string Type => "WhileGrad";
    public override bool IsStateful => true;

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var spec = ctx.Attr<WhileGradient>("spec");
        var frame = spec.ForwardFrame;
        // The float loop variables' gradients, then the float captures' (loops: LINQ over the struct is JIT-compiled).
        var specs = new OutputSpec[spec.FloatVars.Length + spec.FloatCaptures.Length];
        for (var i = 0; i < spec.FloatVars.Length; i++)
            specs[i] = new OutputSpec(frame.LoopVars[spec.FloatVars[i]].DType, frame.LoopVars[spec.FloatVars[i]].Shape);
        for (var i = 0; i < spec.FloatCaptures.Length; i++)
            specs[spec.FloatVars.Length + i] = new OutputSpec(frame.Captures[spec.FloatCaptures[i]].DType, frame.Captures[spec.FloatCaptures[i]].Shape);
        return specs;
    }

    /// <summary>
    /// Inputs: the incoming gradients (one per float loop variable), the gradient body's captures, the forward float
    /// captures (read only for their concrete shapes), and one forward result (which orders this after the loop).
    /// </summary>
    public override void Lower(LoweringContext ctx)
    {
        var spec = ctx.Op.Attr<WhileGradient>("spec");
        var nv = spec.FloatVars.Length;
        var runtimeInputs = ctx.Inputs.Take(nv + spec.Captures.Length).ToArray();
        // The forward result stays an input so the forward loop runs (and records) first.
        var loop = ctx.Add(new LoopGradPrim(ctx.Op, spec, runtimeInputs.Append(ctx.Input(ctx.Inputs.Count - 1)).ToArray()));
        for (var k = 0; k < nv; k++) ctx.SetOutput(k, ctx.Add(new TupleElementPrim(loop, k, spec.GradIn[k].DType, runtimeInputs[k].Dims)));
        loop.CaptureDims = new int[spec.FloatCaptures.Length][];
        for (var k = 0; k < spec.FloatCaptures.Length; k++)
        {
            var like = ctx.Input(nv + spec.Captures.Length + k);
            loop.CaptureDims[k] = like.Dims;
            ctx.SetOutput(nv + k, ctx.Add(new TupleElementPrim(loop, nv + k, like.DType, like.Dims)));
        }
    }

    public override Tensor?[] Gradient(Operation op, Tensor?[] grads) => throw new InvalidArgumentException($"Second-order gradients through while loops are not supported ('{op.Name}').");
}

public static partial class TF
{
    /// <summary>
    /// Repeats <paramref name="body"/> while <paramref name="cond"/> holds (tf.while_loop). Both lambdas build graph ops
    /// over the loop variables (placeholders standing for their current values); tensors from outside that they use
    /// are loop invariants. The body is compiled once into its own plan and reused every iteration. Trip counts may
    /// depend on data; loops nest. <paramref name="shapeInvariants"/> relax the static shapes (e.g. an unknown batch);
    /// at run time a loop variable keeps its shape. With <paramref name="swapMemory"/> the values kept for the gradient
    /// live in host memory. The gradient (backprop through time) comes from <see cref="Gradients(IReadOnlyList{Tensor}, IReadOnlyList{Tensor}, IReadOnlyList{Tensor}?, string)"/> as for any op.
    /// </summary>
    public static Tensor[] WhileLoop(Func<Tensor[], Tensor> cond, Func<Tensor[], Tensor[]> body, IReadOnlyList<Tensor> loopVars,
        int? maximumIterations = null, IReadOnlyList<Shape>? shapeInvariants = null, bool swapMemory = false, string? name = null)
    {
        var g = G;
        if (loopVars.Count == 0) throw new InvalidArgumentException("WhileLoop: at least one loop variable is needed.");
        foreach (var v in loopVars) g.CheckOwned(v, "WhileLoop");
        if (shapeInvariants != null && shapeInvariants.Count != loopVars.Count)
            throw new InvalidArgumentException($"WhileLoop: {shapeInvariants.Count} shape invariants for {loopVars.Count} loop variables.");
        var vars = loopVars.ToList();
        var invariants = shapeInvariants?.ToList() ?? vars.Select(v => v.Shape).ToList();
        for (var i = 0; i < vars.Count; i++)
            if (!invariants[i].IsCompatibleWith(vars[i].Shape))
                throw new InvalidArgumentException($"WhileLoop: loop variable {i} ({vars[i].Name}) has shape {vars[i].Shape}, incompatible with its shape invariant {invariants[i]}.");
        using var scope = g.NameScope(name ?? "while");
        // TF1's while_loop (control_flow_ops.py): a Python-int maximum_iterations becomes a Const and adds an
        // iteration counter (a Const) as the first loop variable, checked in the condition (Less and the Enter of
        // the maximum, LogicalAnd) and incremented first in the body (a Const and Add). The loop's structure is
        // Tf1Ops.WhileLoop*; the condition and body count as their calls do.
        using var counting = g.Tf1CountExplicitly();
        var limited = maximumIterations != null;
        var tf1Vars = loopVars.Count + (limited ? 1 : 0);
        g.CountTf1Ops((limited ? 2 : 0) + Tf1Ops.WhileLoopStart(tf1Vars));
        var scopeName = g.CurrentNameScope;
        if (maximumIterations is { } max)
        {
            if (max < 0) throw new InvalidArgumentException($"WhileLoop: maximum_iterations must be >= 0, got {max}.");
            vars.Add(Constant(0, name: "iteration_counter"));
            invariants.Add(Shape.Scalar);
        }
        var frame = new LoopFrame(scopeName, g.CurrentFrame) { SwapMemory = swapMemory, MaximumIterations = maximumIterations };
        var outer = g.CurrentFrame;
        g.CurrentFrame = frame;
        try
        {
            var placeholders = vars.Select((v, i) => g.AddOp(LoopVarDef.Instance, [], OpRules.Attrs(("dtype", v.DType), ("shape", invariants[i])), "loop_var").Output).ToArray();
            var userVars = placeholders.Take(loopVars.Count).ToArray();
            g.CountTf1Ops(limited ? 2 : 0);
            Tensor condition;
            using (g.Tf1CountEachOp()) condition = cond(userVars);
            g.CountTf1Ops((limited ? 1 : 0) + Tf1Ops.WhileLoopBetween(tf1Vars) + (limited ? 2 : 0));
            if (condition.DType != DType.Bool || (condition.Shape.HasRank && condition.Shape.Rank != 0))
                throw new InvalidArgumentException($"WhileLoop: the condition must be a bool scalar, got {condition.DType.Name()} {condition.Shape}.");
            List<Tensor> next;
            using (g.Tf1CountEachOp()) next = body(userVars).ToList();
            if (next.Count != loopVars.Count)
                throw new InvalidArgumentException($"WhileLoop: the body returned {next.Count} values for {loopVars.Count} loop variables.");
            for (var i = 0; i < next.Count; i++)
            {
                if (next[i].DType != vars[i].DType)
                    throw new InvalidArgumentException($"WhileLoop: loop variable {i} enters as {vars[i].DType.Name()} but the body returns {next[i].DType.Name()} ({next[i].Name}).");
                if (!invariants[i].IsCompatibleWith(next[i].Shape))
                    throw new InvalidArgumentException(
                        $"WhileLoop: loop variable {i} has shape invariant {invariants[i]} but the body returns shape {next[i].Shape} ({next[i].Name}); pass shape_invariants to allow it.");
            }
            if (maximumIterations is { } m)
            {
                var counter = placeholders[^1];
                condition = LogicalAnd(condition, Less(counter, Constant(m, name: "maximum_iterations")));
                next.Add(Add(counter, Constant(1, name: "one")));
            }
            frame.LoopVars = placeholders;
            frame.Condition = condition;
            frame.BodyOutputs = next;
        }
        finally
        {
            g.CurrentFrame = outer;
        }
        var captures = new List<Tensor>();
        foreach (var op in g.Operations.Where(o => o.Frame == frame))
            foreach (var t in op.Inputs)
                if (!frame.Encloses(t.Op.Frame) && !captures.Contains(t)) captures.Add(t);
        frame.Captures = captures;
        var whileOp = g.AddOp(WhileDef.Instance, vars.Concat(captures), OpRules.Attrs(("frame", frame)), scopeName + "/");
        g.CountTf1Ops(Tf1Ops.WhileLoopEnd(tf1Vars));
        return whileOp.Outputs.Take(loopVars.Count).ToArray();
    }
}
