using Graph.Core;

namespace Graph.Rnn;

/// <summary>
/// Checks sequence lengths (input 0) against the time-major inputs (input 1, [time, batch, ...], read for its shape
/// only): one length per example of the batch (input 1's axis 1), as TF1's <c>_assert_has_shape(sequence_length,
/// [batch_size])</c>, and each in [0, time] when the plan runs. The size check is the shape rule, so it fails the build
/// when both sizes are static and the run (the planner runs shape rules again on the concrete shapes) otherwise.
/// </summary>
internal sealed class CheckSequenceLengthDef : OpDef
{
    public static readonly CheckSequenceLengthDef Instance = new();
    public override string Type => "CheckSequenceLength";
    public override bool IsShapeOnlyInput(int index) => index == 1;

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var (lengths, inputs) = (ctx.Inputs[0], ctx.Inputs[1]);
        if (!lengths.DType.IsInteger()) throw new InvalidArgumentException($"{ctx.Name}: sequence_length must be int32 or int64, got {lengths.DType.Name()}.");
        if (lengths.Shape.HasRank && lengths.Shape.Rank != 1) throw new InvalidArgumentException($"{ctx.Name}: sequence_length must be a vector [batch], got {lengths.Shape}.");
        var batch = inputs.Shape.HasRank && inputs.Shape.Rank >= 2 ? inputs.Shape[1] : -1;
        if (lengths.Shape.HasRank && lengths.Shape[0] >= 0 && batch >= 0 && lengths.Shape[0] != batch)
            throw new InvalidArgumentException(
                $"{ctx.Name}: Expected shape for Tensor sequence_length is [batch_size] = [{batch}], but saw shape [{lengths.Shape[0]}]: " +
                $"sequence_length must hold one length per example, and the inputs have a batch of {batch}.");
        return [new(lengths.DType, lengths.Shape.HasRank && lengths.Shape[0] < 0 && batch >= 0 ? new Shape(batch) : lengths.Shape)];
    }

    public override void Lower(LoweringContext ctx)
    {
        var steps = ctx.Input(1).Dims[0];
        ctx.SetOutput(0, ctx.Add(new CheckIndicesPrim(ctx.Input(0), steps + 1L, "sequence_length")));
    }

    public override Tensor?[] Gradient(Operation op, Tensor?[] grads) => [null, null];
}

/// <summary>
/// dynamic_rnn's projected inputs [time, batch, units] as its loop reads them: the value passes through unchanged. Its
/// second input is the cell's recurrent weight W, which the loop body multiplies the state by through StopGradient, and
/// its gradient is where W's gradient comes from: Σₜ hₜᵀ·dzₜ over the steps, as one product after the loop,
/// [h₀; outputs]ᵀ·[dz; 0] with the time and batch axes flattened, instead of one product per step inside the gradient
/// loop. hₜ, the state a step starts from, is the initial state and then the step outputs (the cell's output is its
/// state); dzₜ, the gradient of a step's pre-activation, is the gradient of its projected inputs, which the gradient
/// loop gathers into one [time, batch, units] tensor anyway. Past a sequence's length both the output and dz are zero.
/// The loop is the While op that reads this op's output; attributes <c>state_index</c> and <c>outputs_index</c> name the
/// loop variables of the initial state and of the outputs' TensorArray.
/// </summary>
internal sealed class RnnProjectedInputsDef : OpDef
{
    public static readonly RnnProjectedInputsDef Instance = new();
    public override string Type => "RnnProjectedInputs";

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var (projected, weight) = (ctx.Inputs[0], ctx.Inputs[1]);
        if (weight.DType != projected.DType || weight.Shape.HasRank && weight.Shape.Rank != 2)
            throw new InvalidArgumentException($"{ctx.Name}: the recurrent weight must be a {projected.DType.Name()} matrix, got {weight.DType.Name()} {weight.Shape}.");
        return [new(projected.DType, projected.Shape)];
    }

    public override void Lower(LoweringContext ctx) => ctx.SetOutput(0, ctx.Input(0));

    public override Tensor?[] Gradient(Operation op, Tensor?[] grads)
    {
        if (grads[0] is not { } dz) return [null, null];
        var loop = op.Graph.Operations.SingleOrDefault(o => o.Type == "While" && o.Inputs.Contains(op.Output))
                   ?? throw new InvalidOperationException($"{op.Name}: no single while loop reads the projected inputs.");
        var (initial, outputs) = (loop.Inputs[op.Attr<int>("state_index")], loop.Outputs[op.Attr<int>("outputs_index")]);
        var units = op.Inputs[1].Shape[1];
        // Step t pairs the state it started from, row t of [h₀; outputs], with dzₜ; the last row (the final output) pairs
        // with zeros.
        var before = TF.Concat([TF.ExpandDims(initial, 0), outputs], 0);
        var after = TF.Concat([dz, TF.ZerosLike(TF.ExpandDims(initial, 0))], 0);
        var weightGrad = TF.MatMul(TF.Reshape(before, [-1, units]), TF.Reshape(after, [-1, units]), transposeA: true);
        return [dz, weightGrad];
    }
}

/// <summary>
/// TF1's RNN drivers: <c>tf.nn.static_rnn</c> and <c>tf.nn.dynamic_rnn</c>. Each counts the ops TF1 1.15 creates for
/// it (docs/tf1-mapping.md) while building Graph's own, so the cell's initializers get TF1's seeds.
/// </summary>
public static class Rnn
{
    /// <summary>
    /// Unrolls <paramref name="cell"/> over a list of inputs [batch, depth] (tf.nn.static_rnn). With
    /// <paramref name="sequenceLength"/> ([batch] ints), outputs past an example's length are zeros and its state is
    /// carried through, so the final state is the state at its last valid step.
    /// </summary>
    public static (Tensor[] Outputs, Tensor[] State) StaticRnn(RnnCell cell, IReadOnlyList<Tensor> inputs, Tensor[]? initialState = null,
        Tensor? sequenceLength = null, DType dtype = DType.Float32, string name = "rnn")
    {
        if (inputs.Count == 0) throw new InvalidArgumentException("StaticRnn: inputs is empty.");
        var g = inputs[0].Graph;
        using var counting = g.Tf1CountExplicitly();
        using var scope = TF.NameScope(name);
        // rnn.py static_rnn: batch_size = shape(first_input)[0] unless the batch dimension is static, then the zero state.
        var staticBatch = inputs[0].Shape.HasRank && inputs[0].Shape[0] >= 0;
        if (!staticBatch) g.CountTf1Ops(Tf1Ops.ShapeDim);
        var state = initialState ?? cell.ZeroState(inputs[0], dtype);
        Tensor? lengths = null;
        if (sequenceLength != null)
        {
            // The zero output (its static shape's _concat still creates the size Const, and a batch Const when static),
            // the Cast to int32 (none for int32), reduce_min and reduce_max.
            g.CountTf1Ops(Tf1RnnOps.ZeroOutput(staticBatch) + 1 + (staticBatch ? 1 : 0) + (sequenceLength.DType == DType.Int32 ? 0 : 1) + 2 * Tf1Ops.Reduction(true));
            using (g.Tf1NotCounted())
                lengths = g.AddOp(CheckSequenceLengthDef.Instance, [sequenceLength, TF.Stack(inputs.Select(x => TF.Slice(x, [0, 0], [-1, 0])).ToList())]).Output;
        }
        var outputs = new List<Tensor>();
        for (var t = 0; t < inputs.Count; t++)
        {
            if (lengths == null)
            {
                (var output, state) = cell.Call(inputs[t], state);
                outputs.Add(output);
                continue;
            }
            g.CountTf1Ops(Tf1RnnOps.CopyCondition + StaticStepBeforeCell(state.Length));
            var (newOutput, next) = cell.Call(inputs[t], state);
            g.CountTf1Ops(StaticStepAfterCell(cell, newOutput, next));
            using (g.Tf1NotCounted())
            {
                var valid = StepValid(lengths, TF.Constant(t), newOutput);
                outputs.Add(TF.Where(valid, newOutput, TF.ZerosLike(newOutput)));
                state = next.Select((s, i) => TF.Where(valid, s, state[i])).ToArray();
            }
        }
        return (outputs.ToArray(), state);
    }

    // rnn.py _rnn_step as static_rnn calls it (with conditionals), before the cell is called: `time >= max_sequence_length`
    // (Const, LessEqual), the outer cond (Switch of the predicate, Identity switch_t, switch_f and pred_id), and its true
    // branch returning the zero output and the states, each an external value, so a Switch each (control_flow_ops.py
    // cond, CondContext._ProcessOutputTensor).
    private static int StaticStepBeforeCell(int states) => 2 + 4 + 1 + states;

    // The rest of the step after the cell's own ops, in the outer cond's false branch: a Switch for each outside value
    // the cell read (the input, the states, its variables); the inner cond on `time < min_sequence_length` (Const,
    // Greater, a Switch of the minimum; Switch and three Identity); its true branch returning the new output and states
    // (a Switch per distinct tensor); its false branch selecting per output (Select, the Switches of the copy condition
    // and of the zero output in both conds, of the new output) and per state (Select, the old state's Switch, the new
    // state's unless already switched); a Merge per result in each cond.
    private static int StaticStepAfterCell(RnnCell cell, Tensor output, Tensor[] next)
    {
        var distinct = new HashSet<Tensor>(ReferenceEqualityComparer.Instance) { output };
        var perState = next.Sum(s => 2 + (distinct.Add(s) ? 1 : 0));
        return 1 + next.Length + cell.CallVariables.Count()
            + 3 + 4
            + distinct.Count
            + 6 + perState
            + 2 * (1 + next.Length);
    }

    /// <summary>
    /// Runs <paramref name="cell"/> over <paramref name="inputs"/> ([batch, time, depth], or [time, batch, depth] with
    /// <paramref name="timeMajor"/>) in a while loop (tf.nn.dynamic_rnn); returns outputs shaped like the inputs with
    /// depth = the cell's output size, and the final state. <paramref name="sequenceLength"/> as in
    /// <see cref="StaticRnn"/>; a negative or too-long length fails the run. <paramref name="swapMemory"/> keeps the
    /// values saved for backprop in host memory.
    /// <para>
    /// <paramref name="projectInputs"/>: for cells that can (<see cref="RnnCell.ProjectsInputs"/>), whether the input part
    /// of a step (x·kernel + bias) is computed for every time step at once, as one product before the loop, or per step
    /// inside it as TF1 does. Both give static_rnn's results within float32 rounding. Unset, it is one product unless the
    /// graph is built for <c>cpu</c> (<see cref="ComputeGraph.TargetDevice"/>): on a GPU it saves a product launch per
    /// step and per gradient step, and the recurrent weight's gradient becomes one product after the loop
    /// (<see cref="RnnProjectedInputsDef"/>); on <c>cpu</c> the per-step products kept the MNIST RNN's training step
    /// 7–13% faster, because the one product's [time·batch, units] result and its gradient (2.5 MB each there) make four
    /// more passes over memory a step than per-step products whose operands stay in cache (docs/performance.md). With the
    /// recurrent weight's gradient after the loop the projected form is still slower there (2026-12-07, Zen 5, fair
    /// 3-epoch children, 6 pairs: steady step 5.50 against 4.44 ms, peak RSS +16 MB).
    /// </para>
    /// </summary>
    public static (Tensor Outputs, Tensor[] State) DynamicRnn(RnnCell cell, Tensor inputs, Tensor? sequenceLength = null, Tensor[]? initialState = null,
        bool timeMajor = false, bool swapMemory = false, DType dtype = DType.Float32, string name = "rnn", bool? projectInputs = null)
    {
        if (!inputs.Shape.HasRank || inputs.Shape.Rank != 3)
            throw new InvalidArgumentException($"DynamicRnn: inputs must have rank 3 ([batch, time, depth]), got {inputs.Shape}.");
        var g = inputs.Graph;
        using var counting = g.Tf1CountExplicitly();
        using var scope = TF.NameScope(name);
        var staticBatch = inputs.Shape[timeMajor ? 1 : 0] >= 0;
        // rnn.py dynamic_rnn: _transpose_batch_time, the lengths' Cast (none for int32) and identity, the batch size
        // (shape(x)[1] of the time-major input unless static).
        g.CountTf1Ops((timeMajor ? 0 : Tf1RnnOps.TransposeBatchTime)
            + (sequenceLength == null ? 0 : (sequenceLength.DType == DType.Int32 ? 0 : 1) + 1)
            + (staticBatch ? 0 : Tf1Ops.ShapeDim));
        // (Arrays, not tuples, from Uncounted: its instantiations over value tuples were left to the JIT at start-up.)
        // The zero state's batch comes from a tensor whose axis 0 is the batch, read for its shape only: the batch-major
        // inputs, or for time-major ones an empty [batch, 0] (not time step 0, which zero time steps do not have).
        var timeFirstAndBatchLike = Uncounted(g, () =>
        {
            var tf = timeMajor ? inputs : TF.Transpose(inputs, [1, 0, 2]);
            return new[] { tf, timeMajor ? TensorArray.Zeros(tf, TF.Zeros([0], inputs.DType), sizeAxis: 1).Flow : inputs };
        });
        var (timeFirst, batchLike) = (timeFirstAndBatchLike[0], timeFirstAndBatchLike[1]);
        var state = initialState ?? cell.ZeroState(batchLike, dtype);
        var projectOnce = (projectInputs ?? g.TargetDevice != "cpu") && cell.CanProjectInputs(timeFirst);
        var n = state.Length;
        // _dynamic_rnn_loop up to the while loop: time_steps = shape(x)[0], the batch size again, the zero output,
        // reduce_min and reduce_max of the lengths, the `time` Const, the output and input TensorArrays and the input's
        // unstack, the loop bound, the iteration counter of maximum_iterations.
        g.CountTf1Ops((sequenceLength == null ? 0 : Tf1RnnOps.SequenceLengthCheck)
            + Tf1Ops.ShapeDim + (staticBatch ? 0 : Tf1Ops.ShapeDim) + Tf1RnnOps.ZeroOutput(staticBatch)
            + (sequenceLength == null ? 0 : 2 * Tf1Ops.Reduction(true))
            + 1 + 1 + Tf1RnnOps.InputTensorArray + Tf1RnnOps.LoopBound + 1
            // The iteration counter is a TF1 loop variable that Graph's loop does not have: its Enter and Merge.
            + 2);
        var lengthsZerosAndCount = Uncounted(g, () =>
        {
            Tensor? checkedLengths = sequenceLength == null ? null
                : g.AddOp(CheckSequenceLengthDef.Instance, [sequenceLength, timeFirst]).Output;
            var zeros = TensorArray.Zeros(timeFirst, TF.Zeros([cell.OutputSize], dtype) + TF.ZerosLike(TF.Slice(state[^1], [0, 0], [-1, 1])));
            var count = TF.Gather(TF.ShapeOf(timeFirst), TF.Constant(0));
            // As TF1: with sequence lengths the loop stops after the longest sequence (at least one step); later
            // outputs stay zero.
            if (checkedLengths != null)
                count = TF.Minimum(count, TF.Maximum(TF.Constant(1), TF.Cast(TF.ReduceMax(checkedLengths), DType.Int32)));
            return new[] { checkedLengths, zeros.Flow, count };
        });
        var (lengths, outputs, steps) = (lengthsZerosAndCount[0], new TensorArray(lengthsZerosAndCount[1]!), lengthsZerosAndCount[2]!);
        var loopVars = new List<Tensor> { Uncounted(g, () => TF.Constant(0, name: "time")) };
        loopVars.AddRange(state);
        loopVars.Add(outputs.Flow);
        var final = TF.WhileLoop(
            v =>
            {
                // The condition: `iteration < maximum_iterations` (Less, the Enter of time_steps), `time < loop_bound`
                // (Less, the Enter of the bound), LogicalAnd; then the counter's Switch and Identity.
                using var inLoop = g.Tf1CountExplicitly();
                g.CountTf1Ops(2 + 2 + 1 + 2);
                return Uncounted(g, () => TF.Less(v[0], steps));
            },
            v =>
            {
                using var inLoop = g.Tf1CountExplicitly();
                // The body: the counter's `i + 1` (Const, Add), the input read, `time >= sequence_length`.
                g.CountTf1Ops(2 + Tf1RnnOps.InputRead + (lengths == null ? 0 : Tf1RnnOps.CopyCondition));
                var time = v[0];
                var current = v[1..(1 + n)];
                (Tensor Output, Tensor[] State) step;
                if (projectOnce)
                {
                    // The input part of every step (x·kernel + bias) as one product before the loop, built outside the
                    // loop frame; the loop reads this step's rows. Built where TF1 builds the cell, so seeds stay TF1's.
                    cell.Build(timeFirst.Shape.Dims[^1], timeFirst.DType);
                    Tensor projected;
                    using (g.FrameOf(timeFirst))
                        projected = Uncounted(g, () => cell.ProjectInputs(timeFirst));
                    // The recurrent weight's gradient as one product after the loop (RnnProjectedInputsDef), for a cell
                    // whose state is its output, outside other loops.
                    if (n == 1 && timeFirst.Op.Frame == null && cell.RecurrentWeight is { Op.Frame: null } weight)
                        using (g.FrameOf(timeFirst))
                        {
                            projected = Uncounted(g, () => g.AddOp(RnnProjectedInputsDef.Instance, [projected, weight],
                                OpRules.Attrs(("state_index", 1), ("outputs_index", n + 1)), "projected_inputs").Output);
                            cell.StoppedRecurrentWeight = Uncounted(g, () => TF.StopGradient(weight));
                        }
                    try
                    {
                        step = cell.CallProjected(Uncounted(g, () => TF.Gather(projected, time)), current);
                    }
                    finally
                    {
                        cell.StoppedRecurrentWeight = null;
                    }
                }
                else step = cell.Call(Uncounted(g, () => TF.Gather(timeFirst, time)), current);
                var (output, next) = step;
                // With lengths: per output a Select and the Enter of the zero output, per state a Select; the output's
                // TensorArrayWriteV3 and the Enter of the array's handle; `time + 1` (Const, Add).
                g.CountTf1Ops((lengths == null ? 0 : 2 + n) + 2 + 2);
                return Uncounted(g, () =>
                {
                    if (lengths != null)
                    {
                        var valid = StepValid(lengths, time, output);
                        output = TF.Where(valid, output, TF.ZerosLike(output));
                        next = next.Select((s, i) => TF.Where(valid, s, current[i])).ToArray();
                    }
                    var written = new TensorArray(v[^1]).Write(time, output);
                    return new Tensor[] { time + 1.0 }.Concat(next).Append(written.Flow).ToArray();
                });
            },
            loopVars,
            shapeInvariants: loopVars.Select(t => t.Shape).ToList(),
            swapMemory: swapMemory);
        // The counter's NextIteration and Exit, the output TensorArray's stack, _transpose_batch_time of the outputs.
        g.CountTf1Ops(2 + Tf1RnnOps.OutputStack + (timeMajor ? 0 : Tf1RnnOps.TransposeBatchTime));
        var result = Uncounted(g, () => timeMajor ? final[^1] : TF.Transpose(final[^1], [1, 0, 2]));
        return (result, final[1..(1 + n)]);
    }

    private static T Uncounted<T>(ComputeGraph g, Func<T> build)
    {
        using (g.Tf1NotCounted()) return build();
    }

    /// <summary>[batch, 1] bool: whether step <paramref name="time"/> is within each example's length.</summary>
    private static Tensor StepValid(Tensor lengths, Tensor time, Tensor like)
    {
        var valid = TF.Less(TF.Cast(time, lengths.DType), lengths);
        return TF.ExpandDims(valid, 1);
    }
}
