using System.Text;
using Graph.Core;

namespace Graph.Kernels;

/// <summary>Values to feed into a run, keyed by the tensor they replace (TF's feed_dict). Any tensor outside a while loop may be fed (one inside a loop is refused: the loop computes it each iteration).</summary>
public sealed class FeedDict : Dictionary<Tensor, HostTensor>
{
}

/// <summary>Options of a <see cref="Session"/>.</summary>
public sealed class SessionOptions
{
    /// <summary>
    /// The device that runs the kernels: <c>cpu</c> (managed SIMD, the default), <c>cuda</c> or <c>opencl</c> (ILGPU
    /// accelerators), or <c>ilgpu-cpu</c> (ILGPU's CPU simulator running the GPU kernels). <see cref="Devices.List"/>
    /// says which are present. The default is the <c>GRAPH_DEVICE</c> environment variable when it is set (so a script
    /// or program written for <c>cpu</c> runs on a GPU unchanged: <c>GRAPH_DEVICE=cuda dotnet run x.cs</c>), else <c>cpu</c>.
    /// </summary>
    public string Device { get; init; } = DefaultDevice;

    /// <summary>The device sessions use unless told otherwise: <c>GRAPH_DEVICE</c> if set, else <c>cpu</c>.</summary>
    public static string DefaultDevice => ComputeGraph.DefaultDevice;

    /// <summary>Whether element-wise primitives are fused into shared kernels (on by default; off runs one kernel per primitive).</summary>
    public bool Fusion { get; init; } = true;

    /// <summary>
    /// An upper bound on the bytes a Run may hold: intermediate and fetched values, plus variables as they will be
    /// after the run (a variable's first value, and the second array an update double-buffers into). A run that would
    /// exceed it fails before it runs with a <see cref="ResourceExhaustedException"/> naming the op or the variable, and
    /// changes nothing; <see cref="Session.SetVariableValue"/> and checkpoint restores are held to it too. Null (the
    /// default): on the cpu device the memory the .NET runtime may use on this machine, so a run too large for it fails
    /// the same way instead of running out of memory half-way; no limit on the other devices.
    /// </summary>
    public long? MemoryLimitBytes { get; init; }

    /// <summary>
    /// How many compiled plans the session keeps (default 16). A plan is compiled per key — the fetched tensors, target
    /// ops, fed tensors and the fed shapes — and keeps buffers for its values between runs, so a loop over many batch
    /// sizes or sequence lengths would otherwise keep one plan per shape forever. When adding a plan makes the session
    /// hold more than this many plans, or more than <see cref="PlanCacheBytes"/>, the least recently used plans are
    /// evicted and their memory freed (device memory at once); a later run with an evicted key compiles it again. The
    /// plan being run is never evicted. Must be at least 1.
    /// </summary>
    public int PlanCacheCapacity { get; init; } = 16;

    /// <summary>
    /// The most bytes of plan buffers the session keeps (default 32 MiB; see <see cref="PlanCacheCapacity"/> for the
    /// eviction policy). The newest plan is kept even when it alone holds more. It also bounds the large arrays that
    /// while-loop iterations hand back for reuse. Must not be negative.
    /// </summary>
    public long PlanCacheBytes { get; init; } = 32L << 20;

    /// <summary>Whether to time every kernel into <see cref="Session.Profile"/> (off by default: it costs a little per kernel).</summary>
    public bool Profile { get; init; }
}

/// <summary>
/// Runs a graph (tf.Session): compiles the subgraph each (fetches, targets, fed tensors, feed shapes) key needs into
/// an <see cref="ExecutionPlan"/> once, caches it (the least recently used plans are evicted beyond
/// <see cref="SessionOptions.PlanCacheCapacity"/> and <see cref="SessionOptions.PlanCacheBytes"/>), and executes it;
/// keeps variable values and random stream positions across runs. Dispose it to free its memory. Unlike TF1's, a
/// Session runs one Run at a time: its plans keep their buffers and scratch arrays between runs. A Run, a
/// <see cref="SessionCallable"/> call or a variable access started while another is in progress on another thread is
/// refused with an <see cref="InvalidOperationException"/>; use one session per thread (sessions may run at once).
/// </summary>
public sealed class Session : IDisposable
{
    private readonly PlanCache _plans;
    private readonly SessionState _state;
    private readonly IBackend _backend;
    // Volatile: Dispose on one thread waits for a Run on another (see Dispose).
    private volatile bool _disposed;

    /// <summary>Creates a session on <paramref name="graph"/> (default: the default graph).</summary>
    public Session(ComputeGraph? graph = null, SessionOptions? options = null)
    {
        Graph = graph ?? ComputeGraph.Default;
        Options = options ?? new SessionOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(Options.PlanCacheCapacity, 1, "options.PlanCacheCapacity");
        ArgumentOutOfRangeException.ThrowIfNegative(Options.PlanCacheBytes, "options.PlanCacheBytes");
        if (Options.MemoryLimitBytes is < 0) throw new ArgumentOutOfRangeException("options.MemoryLimitBytes", Options.MemoryLimitBytes, "The memory limit must not be negative.");
        _backend = Backends.Open(Options.Device);
        _backend.CheckSettings();
        _backend.Prepare();
        _plans = new PlanCache(Options.PlanCacheCapacity, Options.PlanCacheBytes);
        _state = new SessionState(Options.PlanCacheBytes, _backend.CreateResidency());
        if (Options.Profile) Profile = new KernelProfile();
    }

    /// <summary>The graph this session runs.</summary>
    public ComputeGraph Graph { get; }

    /// <summary>The options it was created with.</summary>
    public SessionOptions Options { get; }

    /// <summary>How many execution plans this session has compiled (a repeated Run with the same key compiles none, unless its plan was evicted).</summary>
    public int PlansCompiled { get; private set; }

    /// <summary>How many compiled plans the session holds now (at most <see cref="SessionOptions.PlanCacheCapacity"/>).</summary>
    public int PlansCached => _plans.Count;

    /// <summary>The bytes of plan buffers the session holds now (at most <see cref="SessionOptions.PlanCacheBytes"/>, or one plan's).</summary>
    public long PlanCacheBytes => _plans.Bytes;

    /// <summary>The plan the last Run executed.</summary>
    public ExecutionPlan? LastPlan { get; private set; }

    /// <summary>Kernel times of every Run since the session was created (or the profile cleared), when <see cref="SessionOptions.Profile"/> is on.</summary>
    public KernelProfile? Profile { get; }

    /// <summary>Peak device bytes of the last Run: intermediate and fetched values alive at once, plus variable storage.</summary>
    public long LastRunPeakBytes { get; private set; }

    /// <summary>Computes one tensor.</summary>
    public HostTensor Run(Tensor fetch, FeedDict? feeds = null) => Run([fetch], [], feeds)[0];

    /// <summary>Computes two tensors in one run.</summary>
    public (HostTensor, HostTensor) Run(Tensor fetch1, Tensor fetch2, FeedDict? feeds = null)
    {
        var r = Run([fetch1, fetch2], [], feeds);
        return (r[0], r[1]);
    }

    /// <summary>Computes several tensors in one run.</summary>
    public HostTensor[] Run(IReadOnlyList<Tensor> fetches, FeedDict? feeds = null) => Run(fetches, [], feeds);

    /// <summary>Runs an op for its effects (e.g. an initializer or a training op).</summary>
    public void Run(Operation target, FeedDict? feeds = null) => Run([], [target], feeds);

    /// <summary>
    /// Runs <paramref name="targets"/> and computes <paramref name="fetches"/> in one step, with
    /// <paramref name="feeds"/> replacing the values of the tensors they name.
    /// </summary>
    public HostTensor[] Run(IReadOnlyList<Tensor> fetches, IReadOnlyList<Operation> targets, FeedDict? feeds = null)
    {
        using var alone = EnterRun();
        var fed = PrepareFeeds(feeds);
        CheckMembers(fetches, targets);
        return Execute(PlanFor(fetches, targets, fed), fed, null);
    }

    /// <summary>
    /// A function that runs <paramref name="fetches"/> (and <paramref name="targets"/>) with values for
    /// <paramref name="feedList"/> given in order (TF1's <c>Session.make_callable</c>): the fetches, feeds and plan are
    /// resolved once, so a call costs less than <see cref="Run(IReadOnlyList{Tensor}, IReadOnlyList{Operation}, FeedDict?)"/>,
    /// and <see cref="SessionCallable.RunInto"/> writes the results into arrays the caller keeps.
    /// </summary>
    public SessionCallable MakeCallable(IReadOnlyList<Tensor> fetches, IReadOnlyList<Tensor>? feedList = null, IReadOnlyList<Operation>? targets = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        feedList ??= [];
        targets ??= [];
        CheckMembers(fetches, targets);
        foreach (var t in feedList) CheckFeedable(t);
        var repeated = feedList.GroupBy(t => t).FirstOrDefault(g => g.Count() > 1);
        if (repeated != null) throw new InvalidArgumentException($"MakeCallable: {repeated.Key.Name} appears twice in the feed list.");
        return new SessionCallable(this, fetches.ToArray(), feedList.ToArray(), targets.ToArray());
    }

    private void CheckMembers(IReadOnlyList<Tensor> fetches, IReadOnlyList<Operation> targets)
    {
        foreach (var t in fetches)
            if (t.Graph != Graph) throw new InvalidArgumentException($"Fetch {t.Name} is not an element of this session's graph.");
        foreach (var op in targets)
            if (op.Graph != Graph) throw new InvalidArgumentException($"Target op {op.Name} is not an element of this session's graph.");
    }

    /// <summary>The cached plan for these fetches, targets and fed shapes, compiled on first use (call inside <see cref="EnterRun"/>).</summary>
    internal PlanCache.Entry PlanFor(IReadOnlyList<Tensor> fetches, IReadOnlyList<Operation> targets, Dictionary<Tensor, HostTensor> fed)
    {
        var key = Graph.LoopRecordVersion + "#" + PlanKey(fetches, targets, fed);
        if (_plans.Get(key) is { } entry) return entry;
        var plan = Planner.Compile(fetches, targets, fed, PlanOptions);
        PlansCompiled++;
        return _plans.Add(key, plan);
    }

    private const string ConcurrentRunMessage =
        "A Run of this session (Session.Run, a callable or a variable access) was started while another is in progress on another thread: " +
        "a Session runs one Run at a time, its plans reuse their buffers. Use one session per thread.";

    /// <summary>
    /// Claims the session for one Run (or variable access) on this thread until the scope is disposed; refuses with a
    /// clear error while another thread holds it, so no two threads share the plans' buffers, the feeds of a callable
    /// or the plan cache.
    /// </summary>
    internal RunScope EnterRun()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Interlocked.Exchange(ref _running, 1) != 0)
        {
            // A Dispose in progress holds the claim too: that is a disposed session, not a concurrent run.
            ObjectDisposedException.ThrowIf(_disposed, this);
            throw new InvalidOperationException(ConcurrentRunMessage);
        }
        if (_disposed)
        {
            // Disposed between the check above and the claim (Dispose waits for no claim taken after it began).
            Volatile.Write(ref _running, 0);
            ObjectDisposedException.ThrowIf(true, this);
        }
        _runningThread = Environment.CurrentManagedThreadId;
        return new RunScope(this);
    }

    /// <summary>The claim <see cref="EnterRun"/> returns; disposing it releases the session.</summary>
    internal readonly struct RunScope(Session session) : IDisposable
    {
        /// <summary>Releases the session.</summary>
        public void Dispose()
        {
            session._runningThread = 0;
            Volatile.Write(ref session._running, 0);
        }
    }

    private int _running;

    private readonly object _disposeLock = new();

    /// <summary>The managed thread holding the claim (0: none), so that a Dispose inside a Run fails instead of waiting for itself.</summary>
    private volatile int _runningThread;

    private PlanOptions PlanOptions => _planOptions ??= new PlanOptions(Options.Fusion, _backend);
    private PlanOptions? _planOptions;

    /// <summary>Whether a Run is in progress (for tests).</summary>
    internal bool IsRunning => Volatile.Read(ref _running) != 0;

    /// <summary>The memory a cpu session may use when no limit is set: what the .NET runtime may use on this machine (or container).</summary>
    private static readonly Lazy<long> HostMemory = new(() => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);

    /// <summary>The limit runs are held to: <see cref="SessionOptions.MemoryLimitBytes"/>, else the host's memory on a device that uses it.</summary>
    private long? EffectiveMemoryLimit => Options.MemoryLimitBytes ?? (_backend.UsesHostMemory ? HostMemory.Value : null);

    /// <summary>Runs a cached plan on checked feeds (inside <see cref="EnterRun"/>); fetched values go into <paramref name="into"/> where it names arrays.</summary>
    internal HostTensor[] Execute(PlanCache.Entry entry, Dictionary<Tensor, HostTensor> fed, Array?[]? into)
    {
        _plans.Touch(entry);
        var plan = entry.Plan;
        LastPlan = plan;
        var peak = CheckMemory(entry);
        // One log for the session's runs: its flags stay registered and zero between runs.
        var errors = _errors ??= _backend.CreateErrorLog();
        var context = new RunContext(PlanOptions) { Profile = Profile, ExtraLimit = EffectiveMemoryLimit - peak, Errors = errors };
        HostTensor[] results;
        try
        {
            results = plan.Execute(new RunState(_state, fed, context) { FetchTargets = into });
            errors?.ThrowIfAny();
            context.RecycleLoopOutputs(_state.Recycler, results);
        }
        catch (Exception) when (errors is { Pending: true })
        {
            // A device kernel that failed earlier is the cause of whatever failed after it.
            errors.ThrowIfAny();
            throw;
        }
        catch (OutOfMemoryException e)
        {
            throw new ResourceExhaustedException(
                $"OOM when running {PeakOp(plan)}: the host ran out of memory; the plan holds {plan.PeakBytes} bytes of values at its peak " +
                $"and the session {_state.VariableBytes} bytes of variables. Use smaller batches or set SessionOptions.MemoryLimitBytes to fail before running.", e);
        }
        finally
        {
            _state.DisposeRetired();
            // Device memory of loop records no gradient consumed in this run.
            foreach (var record in context.AllLoopRecords) record.DisposeDeviceIterations();
        }
        LastRunPeakBytes = plan.PeakBytes + _state.VariableBytes + context.PeakExtraBytes;
        return results;
    }

    /// <summary>The op at which <paramref name="plan"/> holds the most bytes, for messages.</summary>
    private static string PeakOp(ExecutionPlan plan) =>
        plan.PeakAt?.Members.Select(m => m.Origin).FirstOrDefault(o => o != null) is { } at ? $"{at.Type} '{at.Name}'" : "the plan";

    /// <summary>
    /// The bytes the run will hold at its peak — the plan's values, the variables, and the arrays its updates add (a
    /// variable's first value, the second array double buffering needs) — failing before anything runs when that is
    /// over the limit.
    /// </summary>
    private long CheckMemory(PlanCache.Entry entry)
    {
        var variableBytes = _state.VariableBytes;
        long growth = 0;
        Operation? firstGrowing = null;
        foreach (var (variable, bytes) in entry.AssignedVariables)
        {
            var doubleBuffered = _state.Variables.ContainsKey(variable) && _state.Spares.TryGetValue(variable, out var spare) && Buffer.ByteLength(spare) == bytes;
            if (doubleBuffered) continue;
            growth += bytes;
            firstGrowing ??= variable;
        }
        var plan = entry.Plan;
        var peak = plan.PeakBytes + variableBytes + growth;
        if (EffectiveMemoryLimit is not { } limit || peak <= limit) return peak;
        var what = Options.MemoryLimitBytes is null ? "the memory this process may use" : "the device memory limit";
        if (firstGrowing != null && variableBytes + growth > limit)
        {
            var v = firstGrowing.Output;
            throw new ResourceExhaustedException(
                $"OOM when allocating variable '{firstGrowing.Name}' ({v.DType.Name()} {v.Shape}): after this run the session's variables would hold " +
                $"{variableBytes + growth} bytes (updates keep two arrays per variable) but {what} is {limit} bytes.");
        }
        throw new ResourceExhaustedException(
            $"OOM when running {PeakOp(plan)}: the run needs {peak} bytes ({plan.PeakBytes} for values, " +
            $"{variableBytes + growth} for variables) but {what} is {limit} bytes.");
    }

    // The backend's error log, made by the first run (null on cpu, whose kernels throw).
    private IRunErrorLog? _errors;

    /// <summary>Checks each feed against its tensor's graph, dtype and static shape; converts ints fed to float tensors, as TF does.</summary>
    private Dictionary<Tensor, HostTensor> PrepareFeeds(FeedDict? feeds)
    {
        var result = new Dictionary<Tensor, HostTensor>();
        if (feeds == null) return result;
        foreach (var (tensor, value) in feeds)
        {
            CheckFeedable(tensor);
            result[tensor] = PrepareFeed(tensor, value);
        }
        return result;
    }

    /// <summary>
    /// Refuses a feed of a tensor of another graph, or of one inside a while loop (its condition or body, a loop variable
    /// included): the loop computes it anew each iteration from its own plans, so a fed value would be silently ignored.
    /// TF1 refuses such feeds too (prevent_feeding on the loop's Enter outputs).
    /// </summary>
    private void CheckFeedable(Tensor tensor)
    {
        if (tensor.Graph != Graph) throw new InvalidArgumentException($"Cannot feed {tensor.Name}: it is not an element of this session's graph.");
        if (tensor.Op.Frame is { } frame)
            throw new InvalidArgumentException(
                $"Cannot feed {tensor.Name}: it is computed inside while loop '{frame.Name}' (its condition or body), which computes it each iteration; " +
                "feed a tensor from outside the loop that it reads instead.");
    }

    /// <summary>Checks one feed's dtype and static shape against its tensor; converts ints fed to float tensors, as TF does.</summary>
    internal static HostTensor PrepareFeed(Tensor tensor, HostTensor value)
    {
        if (value is null) throw new ArgumentNullException(nameof(value), $"The feed for {tensor.Name} is null.");
        var v = value;
        if (v.DType != tensor.DType)
        {
            var convertible = tensor.DType.IsFloating() ? v.DType.IsNumeric() : tensor.DType == DType.Int64 && v.DType == DType.Int32;
            if (!convertible)
                throw new InvalidArgumentException(
                    $"Cannot feed a value of dtype {v.DType.Name()} for Tensor '{tensor.Name}', which has dtype {tensor.DType.Name()}.");
            v = v.AsType(tensor.DType);
        }
        if (!tensor.Shape.IsCompatibleWith(v.Shape))
            throw new InvalidArgumentException(
                $"Cannot feed value of shape {v.Shape} for Tensor '{tensor.Name}', which has shape {tensor.Shape}.");
        return v;
    }

    private static string PlanKey(IReadOnlyList<Tensor> fetches, IReadOnlyList<Operation> targets, Dictionary<Tensor, HostTensor> feeds)
    {
        var sb = new StringBuilder();
        foreach (var t in fetches) sb.Append(t.Op.Id).Append(':').Append(t.Index).Append(',');
        sb.Append('|');
        foreach (var op in targets) sb.Append(op.Id).Append(',');
        sb.Append('|');
        // Fed tensors in (op, output) order, sorted as references (LINQ's sorter over the dictionary's entries, a value
        // type, was JIT-compiled on the first step and allocated on every Run).
        var fed = new Tensor[feeds.Count];
        feeds.Keys.CopyTo(fed, 0);
        Array.Sort(fed, static (a, b) => a.Op.Id != b.Op.Id ? a.Op.Id.CompareTo(b.Op.Id) : a.Index.CompareTo(b.Index));
        foreach (var t in fed)
        {
            sb.Append(t.Op.Id).Append(':').Append(t.Index).Append('[');
            foreach (var d in feeds[t].DimsSpan) sb.Append(d).Append(',');
            sb.Append(']');
        }
        return sb.ToString();
    }

    /// <summary>
    /// The current value of <paramref name="variable"/> in this session (a copy), or null before it is initialised. A
    /// variable of another graph is an error, as in <see cref="SetVariableValue"/> (it would read as never initialised).
    /// </summary>
    public HostTensor? GetVariableValue(Variable variable)
    {
        RequireMember(variable);
        using var alone = EnterRun();
        return _state.Variables.TryGetValue(variable.Op, out var v) ? new HostTensor((Array)_state.EnsureHost(v.Data).Clone(), v.Dims) : null;
    }

    private void RequireMember(Variable variable)
    {
        if (variable.Graph != Graph) throw new InvalidArgumentException($"Variable {variable.Name} is not an element of this session's graph.");
    }

    /// <summary>
    /// Sets <paramref name="variable"/> to <paramref name="value"/> (copied), as if assigned; the dtype and shape must match
    /// the variable's, and the session's variables must stay within <see cref="SessionOptions.MemoryLimitBytes"/>.
    /// </summary>
    public void SetVariableValue(Variable variable, HostTensor value) => SetVariableValues([(variable, value)]);

    /// <summary>
    /// Sets several variables at once (a checkpoint restore): every value is checked — dtype, shape, the memory limit
    /// for all of them together — before any is set, so a refused call changes nothing.
    /// </summary>
    internal void SetVariableValues(IReadOnlyList<(Variable Variable, HostTensor Value)> values)
    {
        using var alone = EnterRun();
        long freed = 0, added = 0;
        foreach (var (variable, value) in values)
        {
            RequireMember(variable);
            ArgumentNullException.ThrowIfNull(value, nameof(value));
            if (value.DType != variable.DType || !variable.Shape.IsCompatibleWith(value.Shape) || !value.Shape.IsFullyDefined)
                throw new InvalidArgumentException(
                    $"Cannot set variable {variable.Name} ({variable.DType.Name()} {variable.Shape}) to a value of {value.DType.Name()} {value.Shape}.");
            if (_state.Variables.TryGetValue(variable.Op, out var old)) freed += Buffer.ByteLength(old.Data);
            if (_state.Spares.TryGetValue(variable.Op, out var spare)) freed += Buffer.ByteLength(spare);
            added += Buffer.ByteLength(value.Data);
        }
        var total = _state.VariableBytes - freed + added;
        if (EffectiveMemoryLimit is { } limit && total > limit)
            throw new ResourceExhaustedException(
                $"OOM when setting variable '{values[0].Variable.Name}'{(values.Count > 1 ? $" and {values.Count - 1} more" : "")}: the session's variables would hold {total} bytes " +
                $"but {(Options.MemoryLimitBytes is null ? "the memory this process may use" : "the device memory limit")} is {limit} bytes.");
        foreach (var (variable, value) in values)
        {
            _state.ForgetVariableArrays(variable.Op);
            _state.Variables[variable.Op] = new HostTensor((Array)value.Data.Clone(), value.Dims);
        }
        _state.DisposeRetired();
    }

    /// <summary>
    /// Frees the session's variable values and compiled plans. A Run (or callable call, or variable access) in progress
    /// on another thread finishes first: Dispose waits for it, so it completes with its results, and any Run started
    /// after Dispose began is refused with an <see cref="ObjectDisposedException"/>. Calling Dispose from inside a Run on
    /// the same thread is refused with an <see cref="InvalidOperationException"/>.
    /// </summary>
    public void Dispose()
    {
        lock (_disposeLock)
        {
            if (_disposed) return;
            if (Volatile.Read(ref _running) != 0 && _runningThread == Environment.CurrentManagedThreadId)
                throw new InvalidOperationException("Session.Dispose was called from inside a Run of the same session on the same thread; dispose it after the Run returns.");
            _disposed = true;
        }
        // New Runs are refused from here on; the one in progress (if any) keeps the session's state until it ends. The
        // claim is then taken for good, so nothing runs on the freed state.
        var spin = new SpinWait();
        while (Interlocked.CompareExchange(ref _running, 1, 0) != 0) spin.SpinOnce(sleep1Threshold: 20);
        _plans.Clear();
        _state.DisposeDeviceCopies();
        _errors?.Dispose();
        _errors = null;
        _state.Variables.Clear();
        _state.Spares.Clear();
        _state.RandomStreams.Clear();
    }
}

/// <summary>TF1's <c>tensor.eval()</c> and <c>op.run()</c> conveniences.</summary>
public static class SessionExtensions
{
    /// <summary>Computes <paramref name="tensor"/> in <paramref name="session"/> (tensor.eval(session=...)).</summary>
    public static HostTensor Eval(this Tensor tensor, Session session, FeedDict? feeds = null) => session.Run(tensor, feeds);

    /// <summary>Computes a variable's value in <paramref name="session"/>.</summary>
    public static HostTensor Eval(this Variable variable, Session session) => session.Run(variable.Value);

    /// <summary>Runs <paramref name="op"/> in <paramref name="session"/> (op.run(session=...)).</summary>
    public static void Run(this Operation op, Session session, FeedDict? feeds = null) => session.Run(op, feeds);
}
