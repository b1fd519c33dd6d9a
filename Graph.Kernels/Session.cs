using System.Text;
using Graph.Core;

namespace Graph.Kernels;

/// <summary>Values to feed into a run, keyed by the tensor they replace (TF's feed_dict). Any tensor may be fed.</summary>
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
    public static string DefaultDevice => Environment.GetEnvironmentVariable("GRAPH_DEVICE") is { Length: > 0 } device ? device.Trim() : "cpu";

    /// <summary>Whether element-wise primitives are fused into shared kernels (on by default; off runs one kernel per primitive).</summary>
    public bool Fusion { get; init; } = true;

    /// <summary>
    /// An upper bound on the bytes a Run may hold (intermediate and fetched values plus variables); a plan that would
    /// exceed it fails before it runs with a <see cref="ResourceExhaustedException"/> naming the op. Null: no limit.
    /// </summary>
    public long? MemoryLimitBytes { get; init; }

    /// <summary>Whether to time every kernel into <see cref="Session.Profile"/> (off by default: it costs a little per kernel).</summary>
    public bool Profile { get; init; }
}

/// <summary>
/// Runs a graph (tf.Session): compiles the subgraph each (fetches, targets, fed tensors, feed shapes) key needs into
/// an <see cref="ExecutionPlan"/> once, caches it, and executes it; keeps variable values and random stream positions
/// across runs. Dispose it to free its memory. Unlike TF1's, a Session runs one Run at a time: its plans keep their
/// buffers and scratch arrays between runs, so call it from one thread at a time (separate sessions may run at once).
/// </summary>
public sealed class Session : IDisposable
{
    private readonly Dictionary<string, ExecutionPlan> _plans = new();
    private readonly SessionState _state = new();
    private bool _disposed;

    /// <summary>Creates a session on <paramref name="graph"/> (default: the default graph).</summary>
    public Session(ComputeGraph? graph = null, SessionOptions? options = null)
    {
        Graph = graph ?? ComputeGraph.Default;
        Options = options ?? new SessionOptions();
        Devices.Require(Options.Device);
        if (Options.Profile) Profile = new KernelProfile();
    }

    /// <summary>The graph this session runs.</summary>
    public ComputeGraph Graph { get; }

    /// <summary>The options it was created with.</summary>
    public SessionOptions Options { get; }

    /// <summary>How many execution plans this session has compiled (a repeated Run with the same key compiles none).</summary>
    public int PlansCompiled { get; private set; }

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
        ObjectDisposedException.ThrowIf(_disposed, this);
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
        foreach (var t in feedList)
            if (t.Graph != Graph) throw new InvalidArgumentException($"Cannot feed {t.Name}: it is not an element of this session's graph.");
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

    /// <summary>The plan for these fetches, targets and fed shapes (compiled on first use), with the run's memory limit checked.</summary>
    internal ExecutionPlan PlanFor(IReadOnlyList<Tensor> fetches, IReadOnlyList<Operation> targets, Dictionary<Tensor, HostTensor> fed)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var key = Graph.LoopRecordVersion + "#" + PlanKey(fetches, targets, fed);
        if (!_plans.TryGetValue(key, out var plan))
        {
            plan = Planner.Compile(fetches, targets, fed, PlanOptions);
            _plans[key] = plan;
            PlansCompiled++;
        }
        return plan;
    }

    /// <summary>Runs <paramref name="plan"/> on checked feeds; fetched values go into <paramref name="into"/> where it names arrays.</summary>
    internal HostTensor[] Execute(ExecutionPlan plan, Dictionary<Tensor, HostTensor> fed, Array?[]? into)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Interlocked.Exchange(ref _running, 1) != 0)
            throw new InvalidOperationException(
                "Session.Run was called while another Run of this session is in progress (from another thread): a Session runs one Run at a time, its plans reuse their buffers. Use one session per thread.");
        try
        {
            return ExecuteAlone(plan, fed, into);
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    private int _running;

    private PlanOptions PlanOptions => _planOptions ??= new PlanOptions(Options.Fusion, Options.Device);
    private PlanOptions? _planOptions;

    /// <summary>Whether a Run is in progress (for tests).</summary>
    internal bool IsRunning => Volatile.Read(ref _running) != 0;

    private HostTensor[] ExecuteAlone(ExecutionPlan plan, Dictionary<Tensor, HostTensor> fed, Array?[]? into)
    {
        LastPlan = plan;
        var variableBytes = _state.VariableBytes;
        var peak = plan.PeakBytes + variableBytes;
        if (Options.MemoryLimitBytes is { } limit && peak > limit)
        {
            var at = plan.PeakAt?.Members.Select(m => m.Origin).FirstOrDefault(o => o != null);
            throw new ResourceExhaustedException(
                $"OOM when running {(at is null ? "the plan" : $"{at.Type} '{at.Name}'")}: the run needs {peak} bytes ({plan.PeakBytes} for values, " +
                $"{variableBytes} for variables) but the device memory limit is {limit} bytes.");
        }
        // One log for the session's runs: its flags stay registered and zero between runs.
        var errors = Ilgpu.IlgpuDevices.IsIlgpu(Options.Device) ? _deviceErrors ??= NewDeviceErrorLog() : null;
        var context = new RunContext(PlanOptions) { Profile = Profile, ExtraLimit = Options.MemoryLimitBytes - peak, Errors = errors };
        HostTensor[] results;
        try
        {
            results = plan.Execute(new RunState(_state, fed, context) { FetchTargets = into });
            errors?.ThrowIfAny();
        }
        catch (Exception) when (errors is { Pending: true })
        {
            // A device kernel that failed earlier is the cause of whatever failed after it.
            errors.ThrowIfAny();
            throw;
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

    private IRunErrorLog? _deviceErrors;

    /// <summary>A device session's error log; in its own method so that cpu runs never load ILGPU's types.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private IRunErrorLog NewDeviceErrorLog() => new Ilgpu.DeviceErrorLog(Ilgpu.IlgpuDevice.Get(Options.Device));

    /// <summary>Checks each feed against its tensor's graph, dtype and static shape; converts ints fed to float tensors, as TF does.</summary>
    private Dictionary<Tensor, HostTensor> PrepareFeeds(FeedDict? feeds)
    {
        var result = new Dictionary<Tensor, HostTensor>();
        if (feeds == null) return result;
        foreach (var (tensor, value) in feeds)
        {
            if (tensor.Graph != Graph) throw new InvalidArgumentException($"Cannot feed {tensor.Name}: it is not an element of this session's graph.");
            result[tensor] = PrepareFeed(tensor, value);
        }
        return result;
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
        foreach (var (t, v) in feeds.OrderBy(f => f.Key.Op.Id).ThenBy(f => f.Key.Index))
        {
            sb.Append(t.Op.Id).Append(':').Append(t.Index).Append('[');
            foreach (var d in v.DimsSpan) sb.Append(d).Append(',');
            sb.Append(']');
        }
        return sb.ToString();
    }

    /// <summary>The current value of <paramref name="variable"/> in this session (a copy), or null before it is initialised.</summary>
    public HostTensor? GetVariableValue(Variable variable)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _state.Variables.TryGetValue(variable.Op, out var v) ? new HostTensor((Array)_state.EnsureHost(v.Data).Clone(), v.Dims) : null;
    }

    /// <summary>
    /// Sets <paramref name="variable"/> to <paramref name="value"/> (copied), as if assigned; the dtype and shape must match
    /// the variable's.
    /// </summary>
    public void SetVariableValue(Variable variable, HostTensor value)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (variable.Graph != Graph) throw new InvalidArgumentException($"Variable {variable.Name} is not an element of this session's graph.");
        if (value.DType != variable.DType || !variable.Shape.IsCompatibleWith(value.Shape) || !value.Shape.IsFullyDefined)
            throw new InvalidArgumentException(
                $"Cannot set variable {variable.Name} ({variable.DType.Name()} {variable.Shape}) to a value of {value.DType.Name()} {value.Shape}.");
        _state.ForgetVariableArrays(variable.Op);
        _state.DisposeRetired();
        _state.Variables[variable.Op] = new HostTensor((Array)value.Data.Clone(), value.Dims);
    }

    /// <summary>Frees the session's variable values and compiled plans.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var plan in _plans.Values) plan.Dispose();
        _plans.Clear();
        _state.DisposeDeviceCopies();
        _deviceErrors?.Dispose();
        _deviceErrors = null;
        _state.Variables.Clear();
        _state.Spares.Clear();
        _state.RandomPositions.Clear();
        _state.RandomSeeds.Clear();
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
