using Graph.Core;

namespace Graph.Rnn;

/// <summary>Checks sequence lengths against the number of time steps (input 1's axis 0) when the plan runs.</summary>
internal sealed class CheckSequenceLengthDef : OpDef
{
    public static readonly CheckSequenceLengthDef Instance = new();
    public override string Type => "CheckSequenceLength";

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var lengths = ctx.Inputs[0];
        if (!lengths.DType.IsInteger()) throw new InvalidArgumentException($"{ctx.Name}: sequence_length must be int32 or int64, got {lengths.DType.Name()}.");
        if (lengths.Shape.HasRank && lengths.Shape.Rank != 1) throw new InvalidArgumentException($"{ctx.Name}: sequence_length must be a vector [batch], got {lengths.Shape}.");
        return [new(lengths.DType, lengths.Shape)];
    }

    public override void Lower(LoweringContext ctx)
    {
        var steps = ctx.Input(1).Dims[0];
        ctx.SetOutput(0, ctx.Add(new CheckIndicesPrim(ctx.Input(0), steps + 1L, "sequence_length")));
    }

    public override Tensor?[] Gradient(Operation op, Tensor?[] grads) => [null, null];
}

/// <summary>TF1's RNN drivers: <c>tf.nn.static_rnn</c> and <c>tf.nn.dynamic_rnn</c>.</summary>
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
        using var scope = TF.NameScope(name);
        cell.Build(inputs[0].Shape.HasRank ? inputs[0].Shape[-1] : -1, dtype);
        var state = initialState ?? cell.ZeroState(inputs[0], dtype);
        Tensor? lengths = null;
        if (sequenceLength != null)
            lengths = inputs[0].Graph.AddOp(CheckSequenceLengthDef.Instance, [sequenceLength, TF.Stack(inputs.Select(x => TF.Slice(x, [0, 0], [1, 1])).ToList())]).Output;
        var outputs = new List<Tensor>();
        for (var t = 0; t < inputs.Count; t++)
        {
            var (output, next) = cell.Call(inputs[t], state);
            if (lengths != null)
            {
                var valid = StepValid(lengths, TF.Constant(t), output);
                output = TF.Where(valid, output, TF.ZerosLike(output));
                next = next.Select((s, i) => TF.Where(valid, s, state[i])).ToArray();
            }
            outputs.Add(output);
            state = next;
        }
        return (outputs.ToArray(), state);
    }

    /// <summary>
    /// Runs <paramref name="cell"/> over <paramref name="inputs"/> ([batch, time, depth], or [time, batch, depth] with
    /// <paramref name="timeMajor"/>) in a while loop (tf.nn.dynamic_rnn); returns outputs shaped like the inputs with
    /// depth = the cell's output size, and the final state. <paramref name="sequenceLength"/> as in
    /// <see cref="StaticRnn"/>; a negative or too-long length fails the run. <paramref name="swapMemory"/> keeps the
    /// values saved for backprop in host memory.
    /// </summary>
    public static (Tensor Outputs, Tensor[] State) DynamicRnn(RnnCell cell, Tensor inputs, Tensor? sequenceLength = null, Tensor[]? initialState = null,
        bool timeMajor = false, bool swapMemory = false, DType dtype = DType.Float32, string name = "rnn")
    {
        if (!inputs.Shape.HasRank || inputs.Shape.Rank != 3)
            throw new InvalidArgumentException($"DynamicRnn: inputs must have rank 3 ([batch, time, depth]), got {inputs.Shape}.");
        using var scope = TF.NameScope(name);
        cell.Build(inputs.Shape[2], dtype);
        var timeFirst = timeMajor ? inputs : TF.Transpose(inputs, [1, 0, 2]);
        var firstStep = TF.Gather(timeFirst, TF.Constant(0));
        var state = initialState ?? cell.ZeroState(firstStep, dtype);
        Tensor? lengths = sequenceLength == null ? null
            : inputs.Graph.AddOp(CheckSequenceLengthDef.Instance, [sequenceLength, timeFirst]).Output;
        var outputs = TensorArray.Zeros(timeFirst, TF.Zeros([cell.OutputSize], dtype) + TF.ZerosLike(TF.Slice(state[^1], [0, 0], [-1, 1])));
        var steps = TF.Gather(TF.ShapeOf(timeFirst), TF.Constant(0));
        // As TF1: with sequence lengths the loop stops after the longest sequence (at least one step); later
        // outputs stay zero.
        if (lengths != null)
            steps = TF.Minimum(steps, TF.Maximum(TF.Constant(1), TF.Cast(TF.ReduceMax(lengths), DType.Int32)));
        var n = state.Length;
        var loopVars = new List<Tensor> { TF.Constant(0, name: "time") };
        loopVars.AddRange(state);
        loopVars.Add(outputs.Flow);
        var final = TF.WhileLoop(
            v => TF.Less(v[0], steps),
            v =>
            {
                var time = v[0];
                var current = v[1..(1 + n)];
                var x = TF.Gather(timeFirst, time);
                var (output, next) = cell.Call(x, current);
                if (lengths != null)
                {
                    var valid = StepValid(lengths, time, output);
                    output = TF.Where(valid, output, TF.ZerosLike(output));
                    next = next.Select((s, i) => TF.Where(valid, s, current[i])).ToArray();
                }
                var written = new TensorArray(v[^1]).Write(time, output);
                return [time + 1.0, .. next, written.Flow];
            },
            loopVars,
            shapeInvariants: loopVars.Select(t => t.Shape).ToList(),
            swapMemory: swapMemory);
        var stacked = final[^1];
        var result = timeMajor ? stacked : TF.Transpose(stacked, [1, 0, 2]);
        return (result, final[1..(1 + n)]);
    }

    /// <summary>[batch, 1] bool: whether step <paramref name="time"/> is within each example's length.</summary>
    private static Tensor StepValid(Tensor lengths, Tensor time, Tensor like)
    {
        var valid = TF.Less(TF.Cast(time, lengths.DType), lengths);
        return TF.ExpandDims(valid, 1);
    }
}
