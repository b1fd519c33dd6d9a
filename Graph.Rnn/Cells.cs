using Graph.Core;

namespace Graph.Rnn;

/// <summary>
/// A recurrent cell (tf.nn.rnn_cell.RNNCell / a Keras cell): maps one step's input [batch, depth] and state to an
/// output and a new state. Its variables are created by <see cref="Build"/> on first use, outside any loop (TF1's
/// init_scope), as TF1 builds a cell on its first call. Building and each call count the ops TF1 creates for them
/// (<see cref="ComputeGraph.LastId"/>), so the initializers' random ops get TF1's seeds.
/// </summary>
public abstract class RnnCell
{
    /// <summary>The cell's name (its variables' scope).</summary>
    public string Name { get; }

    /// <summary>Creates the cell.</summary>
    protected RnnCell(string name) => Name = name;

    /// <summary>The size of each state tensor (one entry per tensor; e.g. LSTM: c and h).</summary>
    public abstract int[] StateSizes { get; }

    /// <summary>The size of the output.</summary>
    public abstract int OutputSize { get; }

    /// <summary>Whether the variables exist.</summary>
    public bool Built { get; private set; }

    /// <summary>The input depth the cell was built for.</summary>
    public int InputDepth { get; private set; }

    /// <summary>
    /// Whether TF1's counterpart is a Keras layer (tf.keras.layers.*Cell: resource variables, read anew at each use,
    /// and <c>get_initial_state</c>) rather than a tf.nn.rnn_cell cell (tf.layers variables and <c>zero_state</c>).
    /// </summary>
    protected virtual bool IsKerasCell => false;

    /// <summary>The variables one call reads (each is an <c>Enter</c> in a TF1 while loop, a <c>Switch</c> in a cond).</summary>
    internal abstract IEnumerable<Variable> CallVariables { get; }

    /// <summary>Creates the variables for inputs of depth <paramref name="inputDepth"/> (once), outside any loop frame.</summary>
    public void Build(int inputDepth, DType dtype = DType.Float32)
    {
        if (Built)
        {
            if (inputDepth != InputDepth)
                throw new InvalidArgumentException($"{GetType().Name} '{Name}' was built for inputs of depth {InputDepth}, not {inputDepth}.");
            return;
        }
        if (inputDepth <= 0) throw new InvalidArgumentException($"{GetType().Name} '{Name}': the input depth must be known and positive, got {inputDepth}.");
        var g = ComputeGraph.Default;
        using (g.InitScope())
        using (g.Tf1CountExplicitly())
        using (TF.NameScope(Name + "/"))
            CreateVariables(inputDepth, dtype);
        InputDepth = inputDepth;
        Built = true;
    }

    /// <summary>Creates the variables (with <see cref="Weight"/>; the initializers count their own TF1 ops).</summary>
    protected abstract void CreateVariables(int inputDepth, DType dtype);

    /// <summary>
    /// One step: (output, new state) from the input [batch, depth] and the state, building the cell on first use. Inside
    /// a while loop, the input, state and variables the step reads from outside count as TF1's loop <c>Enter</c>s.
    /// </summary>
    public (Tensor Output, Tensor[] State) Call(Tensor input, Tensor[] state)
    {
        if (!input.Shape.HasRank || input.Shape.Rank != 2)
            throw new InvalidArgumentException($"{GetType().Name} '{Name}': the input must have shape [batch, depth], got {input.Shape}.");
        if (state.Length != StateSizes.Length)
            throw new InvalidArgumentException($"{GetType().Name} '{Name}': expected {StateSizes.Length} state tensors, got {state.Length}.");
        var g = input.Graph;
        using var counting = g.Tf1CountExplicitly();
        Build(input.Shape[1], input.DType);
        foreach (var t in state.Prepend(input)) g.CountTf1Capture(t, t.Op.Frame);
        return Step(input, state);
    }

    /// <summary>
    /// The cell's computation. It builds Graph's ops with <see cref="Uncounted"/> and counts what TF1's call creates
    /// with <see cref="CountTf1"/>, <see cref="Read"/> and <see cref="Activate"/>.
    /// </summary>
    protected abstract (Tensor Output, Tensor[] State) Step(Tensor input, Tensor[] state);

    /// <summary>
    /// Whether the part of a step that reads only the input (x·kernel + bias) can be computed for every time step at
    /// once, before a loop: <see cref="Rnn.DynamicRnn"/> then runs one [time·batch, depth]×[depth, units] product
    /// instead of one per step, and the input kernel's gradient is one product after the loop instead of one per step.
    /// </summary>
    public virtual bool ProjectsInputs => false;

    /// <summary>
    /// The input-only part of a step for inputs [..., depth] (any leading dimensions), built where the caller builds
    /// it (outside the loop). Only for cells with <see cref="ProjectsInputs"/>; the cell must be built.
    /// </summary>
    protected internal virtual Tensor ProjectInputs(Tensor inputs) =>
        throw new InvalidOperationException($"{GetType().Name} '{Name}' has no separate input projection.");

    /// <summary>
    /// The weight a projected step multiplies the state by, a tensor outside the loop (SimpleRNNCell's recurrent kernel,
    /// BasicRNNCell's state rows of its kernel), or null. For a cell that names it, and whose state is its output,
    /// <see cref="Rnn.DynamicRnn"/> takes that weight's gradient as one product over all steps after the loop
    /// (<see cref="RnnProjectedInputsDef"/>) instead of one product per step inside the gradient loop.
    /// </summary>
    internal virtual Tensor? RecurrentWeight => null;

    /// <summary>
    /// Set by <see cref="Rnn.DynamicRnn"/> while it builds its loop body: <see cref="RecurrentWeight"/> through
    /// StopGradient, built outside the loop. A projected step multiplies the state by it, so the gradient loop takes no
    /// per-step gradient of the weight (a captured StopGradient has none) and records nothing for it.
    /// </summary>
    internal Tensor? StoppedRecurrentWeight { get; set; }

    /// <summary>The recurrent weight as a projected step multiplies by it (see <see cref="StoppedRecurrentWeight"/>).</summary>
    private protected Tensor InStep(Tensor recurrentWeight) => StoppedRecurrentWeight ?? recurrentWeight;

    /// <summary>
    /// One step given this step's input projection [batch, units] (<see cref="ProjectInputs"/> of its input) instead
    /// of the input: the same result as <see cref="Call"/>, and counted as TF1 counts that call.
    /// </summary>
    public (Tensor Output, Tensor[] State) CallProjected(Tensor projected, Tensor[] state)
    {
        if (!Built) throw new InvalidOperationException($"{GetType().Name} '{Name}': build the cell before stepping it on projected inputs.");
        if (state.Length != StateSizes.Length)
            throw new InvalidArgumentException($"{GetType().Name} '{Name}': expected {StateSizes.Length} state tensors, got {state.Length}.");
        var g = projected.Graph;
        using var counting = g.Tf1CountExplicitly();
        foreach (var t in state.Prepend(projected)) g.CountTf1Capture(t, t.Op.Frame);
        return StepProjected(projected, state);
    }

    /// <summary>The step of <see cref="CallProjected"/>: <see cref="Step"/> with the input's projection given.</summary>
    protected virtual (Tensor Output, Tensor[] State) StepProjected(Tensor projected, Tensor[] state) =>
        throw new InvalidOperationException($"{GetType().Name} '{Name}' has no separate input projection.");

    /// <summary>
    /// The ops TF1 creates for the zero state of a batch (<c>zero_state</c> or Keras' <c>get_initial_state</c>), per
    /// state tensor; <paramref name="staticBatch"/>: the batch size is a Python int rather than a tensor.
    /// </summary>
    internal virtual int Tf1ZeroStateOps(bool staticBatch, int batch)
    {
        // (Loops here and in ZeroState: LINQ over the int sizes is framework generic code no ReadyToRun image holds.)
        var ops = 0;
        foreach (var size in StateSizes) ops += IsKerasCell ? Tf1RnnOps.KerasZeroState(staticBatch, batch, size) : Tf1RnnOps.CellZeroState(staticBatch);
        return ops;
    }

    /// <summary>
    /// A zero state for a batch shaped like <paramref name="batchLike"/>'s first dimension, counted as TF1's
    /// <c>zero_state</c> (or <c>get_initial_state</c>) of a batch size that is a Python int when that dimension is
    /// static and a tensor otherwise.
    /// </summary>
    public Tensor[] ZeroState(Tensor batchLike, DType dtype = DType.Float32)
    {
        var g = batchLike.Graph;
        var batch = batchLike.Shape.HasRank ? batchLike.Shape[0] : -1;
        return g.Tf1Call(Tf1ZeroStateOps(batch >= 0, batch), [],
            () =>
            {
                var sizes = StateSizes;
                var state = new Tensor[sizes.Length];
                for (var i = 0; i < state.Length; i++) state[i] = TensorArray.Zeros(batchLike, TF.Zeros([sizes[i]], dtype)).Flow;
                return state;
            });
    }

    /// <summary>Creates a variable in the cell's scope: a resource variable for a Keras cell, as TF1 creates them.</summary>
    protected Variable Weight(string name, Tensor initialValue) => TF.Variable(initialValue, name: name, useResource: IsKerasCell);

    /// <summary>
    /// <paramref name="variable"/>'s value for the step, counted as TF1 reads it: an <c>Enter</c> the first time a
    /// while loop reads it, and for a Keras cell a <c>ReadVariableOp</c> at every read.
    /// </summary>
    protected static Tensor Read(Variable variable)
    {
        variable.Graph.CountTf1Capture(variable.Value);
        if (variable.IsResource) variable.Graph.CountTf1Ops(1);
        return variable.Value;
    }

    /// <summary>Counts <paramref name="count"/> TF1 ops of the step.</summary>
    protected static void CountTf1(Tensor like, int count) => like.Graph.CountTf1Ops(count);

    /// <summary>Builds Graph's own ops for a step (not counted: the step counts TF1's).</summary>
    protected static T Uncounted<T>(Tensor like, Func<T> build)
    {
        using (like.Graph.Tf1NotCounted()) return build();
    }

    /// <summary>The activation (tanh by default), counted as the ops it builds, as TF1 counts a user's activation.</summary>
    protected static Tensor Activate(Func<Tensor, Tensor>? activation, Tensor z)
    {
        using (z.Graph.Tf1CountEachOp()) return (activation ?? (t => TF.Tanh(t)))(z);
    }

    /// <summary>x · W for a [batch, depth] input.</summary>
    protected static Tensor Linear(Tensor x, Tensor w) => TF.MatMul(x, w);

    /// <summary>
    /// x [..., depth] · W [depth, units] (+ bias) → [..., units] as one product of the rows of all leading axes (at most
    /// one of which may be unknown: <see cref="CanProjectInputs"/>).
    /// </summary>
    protected static Tensor LinearOverLeadingAxes(Tensor x, Tensor w, Tensor? bias = null)
    {
        var dims = x.Shape.Dims;
        var units = w.Shape.Dims[^1];
        var product = TF.MatMul(TF.Reshape(x, [-1, dims[^1]]), w);
        // The bias is added before the reshape, where it is the product's epilogue (one fused kernel).
        return TF.Reshape(bias != null ? product + bias : product, [.. dims[..^1], units]);
    }

    /// <summary>Whether <see cref="ProjectInputs"/> can take <paramref name="inputs"/>: this cell projects, and its shape is known but for one leading axis.</summary>
    public bool CanProjectInputs(Tensor inputs) =>
        ProjectsInputs && inputs.Shape.HasRank && inputs.Shape.Rank >= 2 && inputs.Shape.Dims[^1] >= 0 && inputs.Shape.Dims[..^1].Count(d => d < 0) <= 1;
}

/// <summary>
/// Keras' SimpleRNNCell: h' = activation((x·kernel + bias) + h·recurrent_kernel), output h' (summed in Keras' order).
/// Defaults as Keras: kernel glorot_uniform, recurrent kernel orthogonal, bias zeros, tanh.
/// </summary>
public sealed class SimpleRNNCell(int units, Func<Tensor, Tensor>? activation = null, bool useBias = true, string name = "simple_rnn_cell") : RnnCell(name)
{
    /// <summary>Units (state and output size).</summary>
    public int Units { get; } = units;
    /// <summary>The input kernel [depth, units].</summary>
    public Variable? Kernel { get; private set; }
    /// <summary>The recurrent kernel [units, units].</summary>
    public Variable? RecurrentKernel { get; private set; }
    /// <summary>The bias [units], or null.</summary>
    public Variable? Bias { get; private set; }

    /// <inheritdoc/>
    public override int[] StateSizes => [Units];
    /// <inheritdoc/>
    public override int OutputSize => Units;
    /// <inheritdoc/>
    protected override bool IsKerasCell => true;
    internal override IEnumerable<Variable> CallVariables => new[] { Kernel, Bias, RecurrentKernel }.OfType<Variable>();

    /// <inheritdoc/>
    protected override void CreateVariables(int inputDepth, DType dtype)
    {
        Kernel = Weight("kernel", Initializers.GlorotUniform([inputDepth, Units], dtype));
        RecurrentKernel = Weight("recurrent_kernel", Initializers.Orthogonal([Units, Units], dtype: dtype));
        if (useBias) Bias = Weight("bias", Initializers.Zeros([Units], dtype));
    }

    /// <inheritdoc/>
    protected override (Tensor Output, Tensor[] State) Step(Tensor input, Tensor[] state) => Step(input, state, projected: null);

    /// <inheritdoc/>
    public override bool ProjectsInputs => true;

    /// <inheritdoc/>
    protected internal override Tensor ProjectInputs(Tensor inputs)
    {
        return LinearOverLeadingAxes(inputs, Kernel!.Value, Bias?.Value);
    }

    /// <inheritdoc/>
    protected override (Tensor Output, Tensor[] State) StepProjected(Tensor projected, Tensor[] state) => Step(projected, state, projected);

    internal override Tensor? RecurrentWeight => RecurrentKernel?.Value;

    private (Tensor Output, Tensor[] State) Step(Tensor input, Tensor[] state, Tensor? projected)
    {
        // keras/layers/recurrent.py SimpleRNNCell.call: K.dot(inputs, kernel) (ReadVariableOp, MatMul), K.bias_add
        // (ReadVariableOp, BiasAdd), + K.dot(prev_output, recurrent_kernel) (ReadVariableOp, MatMul, Add), activation.
        // With the input part projected before the loop, the same TF1 ops are counted and only h·recurrent is built.
        var kernel = Read(Kernel!);
        CountTf1(input, 1);
        var h = projected ?? Uncounted(input, () => Linear(input, kernel));
        if (Bias != null)
        {
            var bias = Read(Bias);
            CountTf1(input, 1);
            if (projected == null) h = Uncounted(input, () => h + bias);
        }
        var recurrent = Read(RecurrentKernel!);
        CountTf1(input, 2);
        if (projected != null) recurrent = InStep(recurrent);
        var z = Uncounted(input, () => h + Linear(state[0], recurrent));
        var output = Activate(activation, z);
        return (output, [output]);
    }
}

/// <summary>TF1's BasicRNNCell: h' = activation([x, h]·kernel + bias) with one kernel [depth + units, units].</summary>
public sealed class BasicRNNCell(int numUnits, Func<Tensor, Tensor>? activation = null, string name = "basic_rnn_cell") : RnnCell(name)
{
    /// <summary>Units.</summary>
    public int NumUnits { get; } = numUnits;
    /// <summary>The kernel [depth + units, units].</summary>
    public Variable? Kernel { get; private set; }
    /// <summary>The bias [units].</summary>
    public Variable? Bias { get; private set; }

    /// <inheritdoc/>
    public override int[] StateSizes => [NumUnits];
    /// <inheritdoc/>
    public override int OutputSize => NumUnits;
    internal override IEnumerable<Variable> CallVariables => new[] { Kernel, Bias }.OfType<Variable>();

    /// <inheritdoc/>
    protected override void CreateVariables(int inputDepth, DType dtype)
    {
        Kernel = Weight("kernel", Initializers.GlorotUniform([inputDepth + NumUnits, NumUnits], dtype));
        Bias = Weight("bias", Initializers.Zeros([NumUnits], dtype));
    }

    /// <inheritdoc/>
    protected override (Tensor Output, Tensor[] State) Step(Tensor input, Tensor[] state)
    {
        // ops/rnn_cell_impl.py BasicRNNCell.call: concat([inputs, state], 1) (axis Const, ConcatV2), MatMul, BiasAdd, activation.
        var (kernel, bias) = (Read(Kernel!), Read(Bias!));
        CountTf1(input, 4);
        var z = Uncounted(input, () => Linear(TF.Concat([input, state[0]], 1), kernel) + bias);
        var output = Activate(activation, z);
        return (output, [output]);
    }

    /// <inheritdoc/>
    public override bool ProjectsInputs => true;

    // [x, h]·kernel = x·kernel[:depth] + h·kernel[depth:]: the input rows' product (with the bias) is projected, the
    // state rows are sliced once, outside the loop, where the projection is built.
    private Tensor? _stateRows;

    internal override Tensor? RecurrentWeight => _stateRows;

    /// <inheritdoc/>
    protected internal override Tensor ProjectInputs(Tensor inputs)
    {
        var kernel = Kernel!.Value;
        _stateRows = TF.Slice(kernel, [InputDepth, 0], [NumUnits, NumUnits]);
        return LinearOverLeadingAxes(inputs, TF.Slice(kernel, [0, 0], [InputDepth, NumUnits]), Bias!.Value);
    }

    /// <inheritdoc/>
    protected override (Tensor Output, Tensor[] State) StepProjected(Tensor projected, Tensor[] state)
    {
        _ = (Read(Kernel!), Read(Bias!));
        CountTf1(projected, 4);
        var stateRows = InStep(_stateRows ?? throw new InvalidOperationException($"BasicRNNCell '{Name}': project the inputs before stepping on them."));
        var z = Uncounted(projected, () => projected + Linear(state[0], stateRows));
        var output = Activate(activation, z);
        return (output, [output]);
    }
}

/// <summary>
/// TF1's BasicLSTMCell: [i, j, f, o] = [x, h]·kernel + bias; c' = c·σ(f + forget_bias) + σ(i)·tanh(j);
/// h' = tanh(c')·σ(o). State (c, h), output h. Forget bias 1.0 by default.
/// </summary>
public class BasicLSTMCell(int numUnits, double forgetBias = 1.0, string name = "basic_lstm_cell") : RnnCell(name)
{
    /// <summary>Units.</summary>
    public int NumUnits { get; } = numUnits;
    /// <summary>Added to the forget gate's pre-activation.</summary>
    public double ForgetBias { get; } = forgetBias;
    /// <summary>The kernel [depth + units, 4·units] (gates i, j, f, o).</summary>
    public Variable? Kernel { get; private set; }
    /// <summary>The bias [4·units].</summary>
    public Variable? Bias { get; private set; }

    /// <inheritdoc/>
    public override int[] StateSizes => [NumUnits, NumUnits];
    /// <inheritdoc/>
    public override int OutputSize => NumUnits;
    internal override IEnumerable<Variable> CallVariables => new[] { Kernel, Bias }.OfType<Variable>();

    /// <inheritdoc/>
    protected override void CreateVariables(int inputDepth, DType dtype)
    {
        Kernel = Weight("kernel", Initializers.GlorotUniform([inputDepth + NumUnits, 4 * NumUnits], dtype));
        Bias = Weight("bias", Initializers.Zeros([4 * NumUnits], dtype));
    }

    /// <inheritdoc/>
    protected override (Tensor Output, Tensor[] State) Step(Tensor input, Tensor[] state)
    {
        // ops/rnn_cell_impl.py BasicLSTMCell.call (LSTMCell.call creates as many): the axis Const `one`, concat (2),
        // MatMul, BiasAdd, split (size Const, Split), the forget-bias Const, then add, sigmoid, mul, sigmoid, tanh,
        // mul, add, tanh, sigmoid, mul.
        var (kernel, bias) = (Read(Kernel!), Read(Bias!));
        CountTf1(input, 18);
        return Uncounted(input, () =>
        {
            var (c, h) = (state[0], state[1]);
            var gates = TF.Split(Linear(TF.Concat([input, h], 1), kernel) + bias, 4, axis: 1);
            var (i, j, f, o) = (gates[0], gates[1], gates[2], gates[3]);
            var newC = c * TF.Sigmoid(f + ForgetBias) + TF.Sigmoid(i) * TF.Tanh(j);
            var newH = TF.Tanh(newC) * TF.Sigmoid(o);
            return (newH, new[] { newC, newH });
        });
    }
}

/// <summary>TF1's LSTMCell without peepholes or projection: the same computation as <see cref="BasicLSTMCell"/>.</summary>
public sealed class LSTMCell(int numUnits, double forgetBias = 1.0, string name = "lstm_cell") : BasicLSTMCell(numUnits, forgetBias, name);

/// <summary>
/// TF1's GRUCell: [r, u] = σ([x, h]·gate_kernel + gate_bias) (gate bias starts at 1); c = tanh([x, r·h]·candidate_kernel +
/// candidate_bias); h' = u·h + (1 − u)·c.
/// </summary>
public sealed class GRUCell(int numUnits, string name = "gru_cell") : RnnCell(name)
{
    /// <summary>Units.</summary>
    public int NumUnits { get; } = numUnits;
    /// <summary>Gate kernel [depth + units, 2·units].</summary>
    public Variable? GateKernel { get; private set; }
    /// <summary>Gate bias [2·units] (initialised to 1).</summary>
    public Variable? GateBias { get; private set; }
    /// <summary>Candidate kernel [depth + units, units].</summary>
    public Variable? CandidateKernel { get; private set; }
    /// <summary>Candidate bias [units].</summary>
    public Variable? CandidateBias { get; private set; }

    /// <inheritdoc/>
    public override int[] StateSizes => [NumUnits];
    /// <inheritdoc/>
    public override int OutputSize => NumUnits;
    internal override IEnumerable<Variable> CallVariables => new[] { GateKernel, GateBias, CandidateKernel, CandidateBias }.OfType<Variable>();

    /// <inheritdoc/>
    protected override void CreateVariables(int inputDepth, DType dtype)
    {
        GateKernel = Weight("gates/kernel", Initializers.GlorotUniform([inputDepth + NumUnits, 2 * NumUnits], dtype));
        GateBias = Weight("gates/bias", Initializers.Constant([2 * NumUnits], 1.0, dtype));
        CandidateKernel = Weight("candidate/kernel", Initializers.GlorotUniform([inputDepth + NumUnits, NumUnits], dtype));
        CandidateBias = Weight("candidate/bias", Initializers.Zeros([NumUnits], dtype));
    }

    /// <inheritdoc/>
    protected override (Tensor Output, Tensor[] State) Step(Tensor input, Tensor[] state)
    {
        // ops/rnn_cell_impl.py GRUCell.call: concat (2), MatMul, BiasAdd, sigmoid, split (size and axis Consts, Split),
        // r * state, concat (2), MatMul, BiasAdd, tanh, u * state, 1 - u (Const, Sub), * c, +.
        var (gateKernel, gateBias) = (Read(GateKernel!), Read(GateBias!));
        var (candidateKernel, candidateBias) = (Read(CandidateKernel!), Read(CandidateBias!));
        CountTf1(input, 19);
        return Uncounted(input, () =>
        {
            var h = state[0];
            var gates = TF.Split(TF.Sigmoid(Linear(TF.Concat([input, h], 1), gateKernel) + gateBias), 2, axis: 1);
            var (r, u) = (gates[0], gates[1]);
            var c = TF.Tanh(Linear(TF.Concat([input, r * h], 1), candidateKernel) + candidateBias);
            var newH = u * h + (1.0 - u) * c;
            return (newH, new[] { newH });
        });
    }
}

/// <summary>
/// Stacked cells (TF1's MultiRNNCell): each cell's output feeds the next; the state is all cells' states in order. Each
/// cell is built on its first call, as in TF1.
/// </summary>
public sealed class MultiRNNCell(IReadOnlyList<RnnCell> cells, string name = "multi_rnn_cell") : RnnCell(name)
{
    /// <summary>The stacked cells.</summary>
    public IReadOnlyList<RnnCell> Cells { get; } = cells.Count > 0 ? cells : throw new InvalidArgumentException("MultiRNNCell needs at least one cell.");

    /// <inheritdoc/>
    public override int[] StateSizes => Cells.SelectMany(c => c.StateSizes).ToArray();
    /// <inheritdoc/>
    public override int OutputSize => Cells[^1].OutputSize;
    internal override IEnumerable<Variable> CallVariables => Cells.SelectMany(c => c.CallVariables);

    internal override int Tf1ZeroStateOps(bool staticBatch, int batch) => Cells.Sum(c => c.Tf1ZeroStateOps(staticBatch, batch));

    /// <inheritdoc/>
    protected override void CreateVariables(int inputDepth, DType dtype)
    {
        // The cells create their variables on their first call (TF1's MultiRNNCell.call builds cell i when calling it).
    }

    /// <inheritdoc/>
    protected override (Tensor Output, Tensor[] State) Step(Tensor input, Tensor[] state)
    {
        var x = input;
        var next = new List<Tensor>();
        var offset = 0;
        foreach (var cell in Cells)
        {
            var n = cell.StateSizes.Length;
            var (output, s) = cell.Call(x, state[offset..(offset + n)]);
            next.AddRange(s);
            x = output;
            offset += n;
        }
        return (x, next.ToArray());
    }
}

/// <summary>
/// Dropout around a cell (TF1's DropoutWrapper): keeps each input, output and state unit with the given probability
/// and scales kept units by 1/keep_prob. Probabilities of 1 disable it. Its dropout ops count as Graph builds them,
/// not as TF1's DropoutWrapper (whose seeds also differ: it salts them with an md5 hash).
/// </summary>
public sealed class DropoutWrapper(RnnCell cell, double inputKeepProb = 1.0, double outputKeepProb = 1.0, double stateKeepProb = 1.0, int? seed = null)
    : RnnCell(cell.Name)
{
    /// <summary>The wrapped cell.</summary>
    public RnnCell Cell { get; } = cell;

    /// <inheritdoc/>
    public override int[] StateSizes => Cell.StateSizes;
    /// <inheritdoc/>
    public override int OutputSize => Cell.OutputSize;
    internal override IEnumerable<Variable> CallVariables => Cell.CallVariables;

    internal override int Tf1ZeroStateOps(bool staticBatch, int batch) => Cell.Tf1ZeroStateOps(staticBatch, batch);

    /// <inheritdoc/>
    protected override void CreateVariables(int inputDepth, DType dtype)
    {
        // The wrapped cell builds on its first call.
    }

    /// <inheritdoc/>
    protected override (Tensor Output, Tensor[] State) Step(Tensor input, Tensor[] state)
    {
        var (output, next) = Cell.Call(Dropout(input, inputKeepProb), state);
        return (Dropout(output, outputKeepProb), next.Select(s => Dropout(s, stateKeepProb)).ToArray());
    }

    private Tensor Dropout(Tensor x, double keep)
    {
        if (keep >= 1.0) return x;
        using (x.Graph.Tf1CountEachOp()) return Layers.Dropout(x, keep, seed);
    }
}
