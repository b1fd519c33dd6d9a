namespace Graph.Core;

/// <summary>Standard collection names (TF's tf.GraphKeys).</summary>
public static class GraphKeys
{
    /// <summary>Every variable.</summary>
    public const string GlobalVariables = "variables";
    /// <summary>Variables an optimizer trains by default.</summary>
    public const string TrainableVariables = "trainable_variables";
    /// <summary>The op one training step runs (tf.GraphKeys.TRAIN_OP); <c>graph train --graph</c> runs its first item.</summary>
    public const string TrainOp = "train_op";
    /// <summary>The variable counting training steps (tf.GraphKeys.GLOBAL_STEP).</summary>
    public const string GlobalStep = "global_step";
    /// <summary>Named input and output tensors of the graph (<see cref="Signature"/>, TF's signature_def).</summary>
    public const string Signatures = "signatures";
}

/// <summary>
/// A static dataflow graph (TF1's tf.Graph): operations with unique names, name scopes, collections, control
/// dependency scopes and a graph-level random seed. Ops are added by the functions of <see cref="TF"/> to the
/// default graph (<see cref="Default"/>), or to another graph made default with <see cref="AsDefault"/>.
/// </summary>
public sealed class ComputeGraph
{
    private static ComputeGraph _global = new();
    [ThreadStatic] private static Stack<ComputeGraph>? _defaultStack;

    private readonly List<Operation> _ops = new();
    private readonly Dictionary<string, Operation> _byName = new();
    private readonly Dictionary<string, int> _namesInUse = new();
    private readonly Dictionary<string, List<object>> _collections = new();
    private readonly List<Operation[]> _controlStack = new();
    private string _nameStack = "";
    // The TF1 counting scopes, innermost first (a linked list rather than a Stack of the enum: that generic
    // instantiation over a value type is not in any ReadyToRun image and cost ~5 ms of JIT at every process's start).
    private Tf1ModeScope? _tf1Modes;
    private int _tf1LastId;

    /// <summary>The while-loop frame being built (ops created now belong to it), or null.</summary>
    public LoopFrame? CurrentFrame { get; internal set; }

    /// <summary>
    /// Incremented when building a gradient changes what an existing while loop records per iteration, so plans
    /// compiled before (whose loops record less) are not reused. Adding ops does not change it.
    /// </summary>
    public int LoopRecordVersion { get; internal set; }

    /// <summary>The graph that <see cref="TF"/> functions add ops to on this thread.</summary>
    public static ComputeGraph Default => _defaultStack is { Count: > 0 } s ? s.Peek() : _global;

    /// <summary>
    /// Replaces the global default graph with a new empty one (tf.reset_default_graph), optionally setting its
    /// graph-level seed (the notebook's <c>reset_graph()</c>). Throws inside an <see cref="AsDefault"/> scope.
    /// </summary>
    public static ComputeGraph ResetDefault(int? seed = null)
    {
        if (_defaultStack is { Count: > 0 })
            throw new InvalidOperationException("Do not reset the default graph inside a ComputeGraph.AsDefault() scope.");
        _global = new ComputeGraph { Seed = seed };
        return _global;
    }

    /// <summary>The graph-level random seed (tf.set_random_seed), or null.</summary>
    public int? Seed { get; set; }

    private string? _targetDevice;

    /// <summary>
    /// The device the graph is built to run on, for model-building code whose fastest structure depends on the device
    /// (dynamic_rnn multiplies the inputs of every time step in one product before its loop on a GPU, and per step on
    /// <c>cpu</c>). Unset, it is <see cref="DefaultDevice"/>, the device sessions default to. A session runs the graph
    /// on any device whatever this says; only the speed differs.
    /// </summary>
    public string TargetDevice
    {
        get => _targetDevice ?? DefaultDevice;
        set => _targetDevice = value;
    }

    /// <summary>
    /// The device sessions use unless told otherwise: the <c>GRAPH_DEVICE</c> environment variable if set (so a script
    /// written for <c>cpu</c> runs on a GPU unchanged), else <c>cpu</c>.
    /// </summary>
    public static string DefaultDevice => Environment.GetEnvironmentVariable("GRAPH_DEVICE") is { Length: > 0 } device ? device.Trim() : "cpu";

    /// <summary>The operations in creation order.</summary>
    public IReadOnlyList<Operation> Operations => _ops;

    /// <summary>
    /// The id TF1 1.15 would have given the last op created so far (TF's <c>ops.get_default_graph()._last_id</c>):
    /// with only a graph seed set, a random op's op seed is this number at the moment it asks for its seed. It counts
    /// the ops TF1 creates for each graph-building call, not the ops Graph builds (see <see cref="CountTf1Ops"/> and
    /// docs/tf1-mapping.md); <see cref="Operations"/> holds Graph's own ops.
    /// </summary>
    public int LastId => _tf1LastId;

    /// <summary>
    /// Adds <paramref name="count"/> ops to <see cref="LastId"/>: what a graph-building call whose ops do not map one
    /// to one onto TF1's declares TF1 would have created at this point. Ignored inside <see cref="Tf1NotCounted"/>.
    /// </summary>
    public void CountTf1Ops(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (Tf1Mode != Tf1Counting.None) _tf1LastId += count;
    }

    /// <summary>
    /// Counts the <c>Enter</c> ops TF1's while loops create when an op reads <paramref name="value"/> (a tensor, or a
    /// variable's value tensor, defined in <paramref name="definedIn"/>; null = outside every loop): one per enclosing
    /// loop frame, from the innermost outwards, that has not read it before (TF1's <c>WhileContext.AddValue</c>).
    /// Outside loops, and inside <see cref="Tf1NotCounted"/>, it counts nothing.
    /// </summary>
    public void CountTf1Capture(object value, LoopFrame? definedIn = null)
    {
        if (Tf1Mode == Tf1Counting.None) return;
        for (var frame = CurrentFrame; frame != null && !frame.Encloses(definedIn); frame = frame.Parent)
            if (frame.Tf1Captured.Add(value)) _tf1LastId++;
    }

    /// <summary>
    /// Until the returned scope is disposed, ops added directly (the one-to-one calls: placeholders, MatMul, Tanh, …)
    /// do not advance <see cref="LastId"/>, while calls that count their TF1 ops themselves (random ops, initializers,
    /// variables, layers, cells, and calls with constant arguments such as Transpose or Reshape, see
    /// <see cref="Tf1Call"/>) still do. The call that opens the scope counts its own TF1 ops with
    /// <see cref="CountTf1Ops"/>. Outside every scope each op added counts as one TF1 op, with the loop
    /// <c>Enter</c>s of its outside inputs.
    /// </summary>
    public IDisposable Tf1CountExplicitly() => PushTf1Mode(Tf1Counting.Explicit);

    /// <summary>
    /// Until the returned scope is disposed nothing advances <see cref="LastId"/>: for ops a call builds that have no
    /// counterpart in TF1 (Graph's own implementation of a TF1 call, already counted by that call).
    /// </summary>
    public IDisposable Tf1NotCounted() => PushTf1Mode(Tf1Counting.None);

    /// <summary>
    /// Makes every op added until the returned scope is disposed count as one TF1 op again (with its loop
    /// <c>Enter</c>s): for user code a composite calls back (an activation function, a while loop's condition and body).
    /// Inside <see cref="Tf1NotCounted"/> nothing counts still.
    /// </summary>
    public IDisposable Tf1CountEachOp() => PushTf1Mode(Tf1Counting.EachOp);

    /// <summary>
    /// Builds a call with <paramref name="build"/>, whatever ops that creates, and counts it as the
    /// <paramref name="tf1Ops"/> ops TF1 creates for it plus the loop <c>Enter</c>s of its tensor
    /// <paramref name="inputs"/>.
    /// </summary>
    public T Tf1Call<T>(int tf1Ops, IEnumerable<Tensor> inputs, Func<T> build)
    {
        T result;
        using (Tf1NotCounted()) result = build();
        CountTf1Ops(tf1Ops);
        foreach (var t in inputs) CountTf1Capture(t, t.Op.Frame);
        return result;
    }

    private enum Tf1Counting { EachOp, Explicit, None }

    private sealed class Tf1ModeScope(Tf1Counting mode, Tf1ModeScope? outer)
    {
        public Tf1Counting Mode { get; } = mode;
        public Tf1ModeScope? Outer { get; } = outer;
    }

    private Tf1Counting Tf1Mode => _tf1Modes == null ? Tf1Counting.EachOp : _tf1Modes.Mode;

    private IDisposable PushTf1Mode(Tf1Counting mode)
    {
        // Nothing inside a not-counted scope counts, whatever nested calls ask for.
        var scope = _tf1Modes = new Tf1ModeScope(Tf1Mode == Tf1Counting.None ? Tf1Counting.None : mode, _tf1Modes);
        return new Scope(() => _tf1Modes = scope.Outer);
    }

    /// <summary>Makes this graph the default one on this thread until the returned scope is disposed.</summary>
    public IDisposable AsDefault()
    {
        (_defaultStack ??= new Stack<ComputeGraph>()).Push(this);
        return new Scope(() => _defaultStack!.Pop());
    }

    /// <summary>The op named <paramref name="name"/>; throws when there is none.</summary>
    public Operation GetOperation(string name) =>
        _byName.TryGetValue(name, out var op) ? op : throw new KeyNotFoundException($"The graph has no operation named '{name}'.");

    /// <summary>The tensor named <c>op:index</c>.</summary>
    public Tensor GetTensor(string name)
    {
        var colon = name.LastIndexOf(':');
        if (colon < 0) throw new ArgumentException($"Tensor names have the form 'op:index', got '{name}'.");
        return GetOperation(name[..colon]).Outputs[int.Parse(name[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture)];
    }

    /// <summary>The current name scope prefix (empty at top level, otherwise ending without a slash).</summary>
    public string CurrentNameScope => _nameStack;

    /// <summary>
    /// Opens a name scope (tf.name_scope): ops created inside are named <c>scope/op</c>. A scope name already used
    /// gets a suffix (<c>rnn_1</c>); a name ending in '/' re-enters that exact scope, and "" or "/" returns to the top level.
    /// </summary>
    public IDisposable NameScope(string name)
    {
        var previous = _nameStack;
        string scope;
        if (name.Length == 0 || name.EndsWith('/')) scope = name.TrimEnd('/');
        else scope = UniqueName(name);
        _nameStack = scope;
        return new Scope(() => _nameStack = previous);
    }

    /// <summary>
    /// Makes every op created inside the scope depend on <paramref name="ops"/> (tf.control_dependencies);
    /// pass null to clear the inherited dependencies.
    /// </summary>
    public IDisposable ControlDependencies(IEnumerable<Operation>? ops)
    {
        var saved = _controlStack.ToList();
        if (ops == null) _controlStack.Clear();
        else
        {
            var list = ops.ToArray();
            foreach (var op in list) CheckOwned(op, "control_dependencies");
            _controlStack.Add(list);
        }
        return new Scope(() =>
        {
            _controlStack.Clear();
            _controlStack.AddRange(saved);
        });
    }

    /// <summary>
    /// Until the returned scope is disposed, ops are built outside every loop frame and control-dependency scope
    /// (TF1's <c>ops.init_scope</c>): where variables and their initial values are created, even from a loop body.
    /// </summary>
    public IDisposable InitScope()
    {
        var controls = ControlDependencies(null);
        var frame = CurrentFrame;
        CurrentFrame = null;
        return new Scope(() =>
        {
            CurrentFrame = frame;
            controls.Dispose();
        });
    }

    /// <summary>
    /// Until the returned scope is disposed, ops are built in the loop frame <paramref name="t"/> was built in (none
    /// for a tensor outside every loop): how a loop-building call hoists work that does not change between iterations
    /// out of the body it is tracing (dynamic_rnn's input projection).
    /// </summary>
    public IDisposable FrameOf(Tensor t)
    {
        var frame = CurrentFrame;
        CurrentFrame = t.Op.Frame;
        return new Scope(() => CurrentFrame = frame);
    }

    /// <summary>Adds <paramref name="value"/> to collection <paramref name="key"/>.</summary>
    public void AddToCollection(string key, object value)
    {
        if (!_collections.TryGetValue(key, out var list)) _collections[key] = list = new List<object>();
        list.Add(value);
    }

    /// <summary>The keys of every collection, in the order they were first used (tf.Graph.get_all_collection_keys).</summary>
    public IReadOnlyList<string> CollectionKeys => _collections.Keys.ToList();

    /// <summary>
    /// Writes the whole graph (ops, attributes, shapes, name scopes, collections, while loops and their gradients) to
    /// <paramref name="path"/> in the saved-graph format of docs/interop.md (tf.train.export_meta_graph). Variable
    /// values are not part of it: save them with a Saver.
    /// </summary>
    public void Save(string path) => SavedGraph.Save(this, path);

    /// <summary>
    /// Reads a graph written by <see cref="Save"/> into a new graph (tf.train.import_meta_graph); throws
    /// <see cref="SavedGraphException"/> for a corrupt file or one of a newer format version.
    /// </summary>
    public static ComputeGraph Load(string path) => SavedGraph.Load(path);

    /// <summary>The items of collection <paramref name="key"/> of type <typeparamref name="T"/>, in insertion order.</summary>
    public IReadOnlyList<T> GetCollection<T>(string key) =>
        _collections.TryGetValue(key, out var list) ? list.OfType<T>().ToList() : new List<T>();

    /// <summary>
    /// Returns a unique op name within the current name scope (TF's <c>unique_name</c>): <c>MatMul</c>, then
    /// <c>MatMul_1</c>, … Names are compared case-insensitively as in TF.
    /// </summary>
    public string UniqueName(string name, bool markAsUsed = true)
    {
        if (_nameStack.Length > 0) name = _nameStack + "/" + name;
        var key = name.ToLowerInvariant();
        _namesInUse.TryGetValue(key, out var i);
        if (markAsUsed) _namesInUse[key] = i + 1;
        if (i > 0)
        {
            var baseKey = key;
            while (_namesInUse.ContainsKey(key))
            {
                key = $"{baseKey}_{i}";
                i++;
            }
            if (markAsUsed) _namesInUse[key] = 1;
            name = $"{name}_{i - 1}";
        }
        return name;
    }

    /// <summary>
    /// Adds an op: checks that every input belongs to this graph, gives it a unique name, attaches the current
    /// control dependencies and runs the op's shape rule. Op definitions call this; users call <see cref="TF"/>.
    /// </summary>
    public Operation AddOp(OpDef def, IEnumerable<Tensor> inputs, Dictionary<string, object>? attrs = null, string? name = null)
    {
        var inputArray = inputs.ToArray();
        // A name ending in '/' is a scope's own name, used exactly (as TF names a variable after its scope).
        var opName = name is not null && name.EndsWith('/') ? name[..^1] : UniqueName(string.IsNullOrEmpty(name) ? def.Type : name);
        var controls = _controlStack.SelectMany(c => c).Distinct().ToArray();
        return Insert(def, inputArray, attrs ?? new Dictionary<string, object>(), opName, controls, CurrentFrame);
    }

    /// <summary>
    /// Adds an op read from a saved graph: its exact name, control inputs and loop frame come from the file, not from
    /// the current scopes. The shape rule runs as for any op.
    /// </summary>
    internal Operation Import(OpDef def, Tensor[] inputs, Dictionary<string, object> attrs, string name, Operation[] controls, LoopFrame? frame)
    {
        if (_byName.ContainsKey(name)) throw new InvalidArgumentException($"The graph already has an operation named '{name}'.");
        return Insert(def, inputs, attrs, name, controls, frame);
    }

    private Operation Insert(OpDef def, Tensor[] inputArray, Dictionary<string, object> attrs, string opName, Operation[] controls, LoopFrame? frame)
    {
        foreach (var t in inputArray) CheckOwned(t, $"{def.Type} '{opName}'");
        var specs = def.Infer(new OpBuildContext(opName, inputArray, attrs));
        var op = new Operation(this, _ops.Count + 1, opName, def, inputArray, controls, attrs) { Frame = frame };
        // A loop, not LINQ: every op of every graph comes through here, and LINQ over the OutputSpec struct is generic
        // code no ReadyToRun image holds (JIT-compiled at each process's start).
        var outputs = new Tensor[specs.Length];
        for (var i = 0; i < outputs.Length; i++) outputs[i] = new Tensor(op, i, specs[i].DType, specs[i].Shape);
        op.SetOutputs(outputs);
        _ops.Add(op);
        _byName[opName] = op;
        if (Tf1Mode == Tf1Counting.EachOp)
        {
            _tf1LastId++;
            foreach (var t in inputArray) CountTf1Capture(t, t.Op.Frame);
        }
        return op;
    }

    /// <summary>How often each (lower-cased) name and scope was handed out, so a loaded graph names new ops as the saved one would.</summary>
    internal IReadOnlyDictionary<string, int> NamesInUse => _namesInUse;

    /// <summary>Replaces the record of names handed out (a loaded graph takes the saved graph's).</summary>
    internal void RestoreNamesInUse(IEnumerable<KeyValuePair<string, int>> names)
    {
        _namesInUse.Clear();
        foreach (var (k, v) in names) _namesInUse[k] = v;
    }

    /// <summary>Sets <see cref="LastId"/> (a loaded graph takes the saved graph's, so later random ops get the seeds they would have).</summary>
    internal void RestoreLastId(int lastId) => _tf1LastId = lastId;

    /// <summary>Throws naming <paramref name="usage"/> when <paramref name="t"/> belongs to another graph.</summary>
    public void CheckOwned(Tensor t, string usage)
    {
        if (t.Graph != this)
            throw new InvalidArgumentException($"{usage}: tensor {t.Name} must be from the same graph as the op being created; it belongs to another graph.");
    }

    private void CheckOwned(Operation op, string usage)
    {
        if (op.Graph != this)
            throw new InvalidArgumentException($"{usage}: operation {op.Name} must be from the same graph; it belongs to another graph.");
    }

    private sealed class Scope(Action onDispose) : IDisposable
    {
        private bool _disposed;

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            onDispose();
        }
    }
}
