using Graph.Core;

namespace Graph.Rnn;

/// <summary>
/// A recurrent cell (tf.nn.rnn_cell.RNNCell / a Keras cell): maps one step's input [batch, depth] and state to an
/// output and a new state. Its variables are created by <see cref="Build"/>, on first use or explicitly (before a
/// while loop, so they live outside it).
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

    /// <summary>Creates the variables for inputs of depth <paramref name="inputDepth"/> (once).</summary>
    public void Build(int inputDepth, DType dtype = DType.Float32)
    {
        if (Built)
        {
            if (inputDepth != InputDepth)
                throw new InvalidArgumentException($"{GetType().Name} '{Name}' was built for inputs of depth {InputDepth}, not {inputDepth}.");
            return;
        }
        if (inputDepth <= 0) throw new InvalidArgumentException($"{GetType().Name} '{Name}': the input depth must be known and positive, got {inputDepth}.");
        using (TF.NameScope(Name + "/")) CreateVariables(inputDepth, dtype);
        InputDepth = inputDepth;
        Built = true;
    }

    /// <summary>Creates the variables.</summary>
    protected abstract void CreateVariables(int inputDepth, DType dtype);

    /// <summary>One step: (output, new state) from the input [batch, depth] and the state.</summary>
    public (Tensor Output, Tensor[] State) Call(Tensor input, Tensor[] state)
    {
        if (!input.Shape.HasRank || input.Shape.Rank != 2)
            throw new InvalidArgumentException($"{GetType().Name} '{Name}': the input must have shape [batch, depth], got {input.Shape}.");
        if (state.Length != StateSizes.Length)
            throw new InvalidArgumentException($"{GetType().Name} '{Name}': expected {StateSizes.Length} state tensors, got {state.Length}.");
        Build(input.Shape[1], input.DType);
        return Step(input, state);
    }

    /// <summary>The cell's computation.</summary>
    protected abstract (Tensor Output, Tensor[] State) Step(Tensor input, Tensor[] state);

    /// <summary>A zero state for a batch shaped like <paramref name="batchLike"/>'s first dimension.</summary>
    public Tensor[] ZeroState(Tensor batchLike, DType dtype = DType.Float32) =>
        StateSizes.Select(size => TensorArray.Zeros(batchLike, TF.Zeros([size], dtype)).Flow).ToArray();

    /// <summary>Creates a variable in the cell's scope.</summary>
    protected static Variable Weight(string name, Tensor initialValue) => TF.Variable(initialValue, name: name);

    /// <summary>x · W for a [batch, depth] input.</summary>
    protected static Tensor Linear(Tensor x, Variable w) => TF.MatMul(x, w);
}

/// <summary>
/// Keras' SimpleRNNCell: h' = activation(x·kernel + h·recurrent_kernel + bias), output h'. Defaults as Keras: kernel
/// glorot_uniform, recurrent kernel orthogonal, bias zeros, tanh.
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
    protected override void CreateVariables(int inputDepth, DType dtype)
    {
        Kernel = Weight("kernel", Initializers.GlorotUniform([inputDepth, Units], dtype));
        RecurrentKernel = Weight("recurrent_kernel", Initializers.Orthogonal([Units, Units], dtype: dtype));
        if (useBias) Bias = Weight("bias", Initializers.Zeros([Units], dtype));
    }

    /// <inheritdoc/>
    protected override (Tensor Output, Tensor[] State) Step(Tensor input, Tensor[] state)
    {
        var z = Linear(input, Kernel!) + Linear(state[0], RecurrentKernel!);
        if (Bias != null) z += Bias.Value;
        var h = (activation ?? (t => TF.Tanh(t)))(z);
        return (h, [h]);
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

    /// <inheritdoc/>
    protected override void CreateVariables(int inputDepth, DType dtype)
    {
        Kernel = Weight("kernel", Initializers.GlorotUniform([inputDepth + NumUnits, NumUnits], dtype));
        Bias = Weight("bias", Initializers.Zeros([NumUnits], dtype));
    }

    /// <inheritdoc/>
    protected override (Tensor Output, Tensor[] State) Step(Tensor input, Tensor[] state)
    {
        var h = (activation ?? (t => TF.Tanh(t)))(Linear(TF.Concat([input, state[0]], 1), Kernel!) + Bias!.Value);
        return (h, [h]);
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

    /// <inheritdoc/>
    protected override void CreateVariables(int inputDepth, DType dtype)
    {
        Kernel = Weight("kernel", Initializers.GlorotUniform([inputDepth + NumUnits, 4 * NumUnits], dtype));
        Bias = Weight("bias", Initializers.Zeros([4 * NumUnits], dtype));
    }

    /// <inheritdoc/>
    protected override (Tensor Output, Tensor[] State) Step(Tensor input, Tensor[] state)
    {
        var (c, h) = (state[0], state[1]);
        var gates = TF.Split(Linear(TF.Concat([input, h], 1), Kernel!) + Bias!.Value, 4, axis: 1);
        var (i, j, f, o) = (gates[0], gates[1], gates[2], gates[3]);
        var newC = c * TF.Sigmoid(f + ForgetBias) + TF.Sigmoid(i) * TF.Tanh(j);
        var newH = TF.Tanh(newC) * TF.Sigmoid(o);
        return (newH, [newC, newH]);
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
        var h = state[0];
        var gates = TF.Split(TF.Sigmoid(Linear(TF.Concat([input, h], 1), GateKernel!) + GateBias!.Value), 2, axis: 1);
        var (r, u) = (gates[0], gates[1]);
        var c = TF.Tanh(Linear(TF.Concat([input, r * h], 1), CandidateKernel!) + CandidateBias!.Value);
        var newH = u * h + (1.0 - u) * c;
        return (newH, [newH]);
    }
}

/// <summary>Stacked cells (TF1's MultiRNNCell): each cell's output feeds the next; the state is all cells' states in order.</summary>
public sealed class MultiRNNCell(IReadOnlyList<RnnCell> cells, string name = "multi_rnn_cell") : RnnCell(name)
{
    /// <summary>The stacked cells.</summary>
    public IReadOnlyList<RnnCell> Cells { get; } = cells.Count > 0 ? cells : throw new InvalidArgumentException("MultiRNNCell needs at least one cell.");

    /// <inheritdoc/>
    public override int[] StateSizes => Cells.SelectMany(c => c.StateSizes).ToArray();
    /// <inheritdoc/>
    public override int OutputSize => Cells[^1].OutputSize;

    /// <inheritdoc/>
    protected override void CreateVariables(int inputDepth, DType dtype)
    {
        var depth = inputDepth;
        for (var i = 0; i < Cells.Count; i++)
        {
            using (TF.NameScope("cell_" + i + "/")) Cells[i].Build(depth, dtype);
            depth = Cells[i].OutputSize;
        }
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
/// and scales kept units by 1/keep_prob. Probabilities of 1 disable it.
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

    /// <inheritdoc/>
    protected override void CreateVariables(int inputDepth, DType dtype) => Cell.Build(inputDepth, dtype);

    /// <inheritdoc/>
    protected override (Tensor Output, Tensor[] State) Step(Tensor input, Tensor[] state)
    {
        var (output, next) = Cell.Call(Dropout(input, inputKeepProb), state);
        return (Dropout(output, outputKeepProb), next.Select(s => Dropout(s, stateKeepProb)).ToArray());
    }

    private Tensor Dropout(Tensor x, double keep) => keep >= 1.0 ? x : Layers.Dropout(x, keep, seed);
}
