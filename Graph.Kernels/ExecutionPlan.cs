using System.Runtime.CompilerServices;
using System.Text;
using Graph.Core;
using Graph.Kernels.Cpu;
using Graph.Kernels.Fusion;

namespace Graph.Kernels;

/// <summary>What the planner needs from the session's options.</summary>
/// <param name="Fusion">Whether element-wise primitives fuse.</param>
/// <param name="Device">The device the plan's kernels run on.</param>
internal sealed record PlanOptions(bool Fusion, string Device = "cpu");

/// <summary>Where a value lives while a plan runs.</summary>
internal enum StorageKind
{
    /// <summary>A constant, feed, variable read or view of another value: no storage of its own.</summary>
    Binding,
    /// <summary>A plan buffer, reused by later values once this one is dead.</summary>
    Pooled,
    /// <summary>A new array each run, handed to the caller (a fetched value).</summary>
    Fresh,
    /// <summary>The variable's storage (a variable update).</summary>
    Variable,
    /// <summary>An array the kernel allocates itself.</summary>
    KernelOwned,
}

/// <summary>One compiled kernel of a plan, for reports and tests.</summary>
public sealed class PlanKernel
{
    internal PlanKernel(KernelGroup group, long bytesRead, long bytesWritten)
    {
        Group = group;
        BytesRead = bytesRead;
        BytesWritten = bytesWritten;
    }

    /// <summary>The fused group: its primitives, inputs and outputs.</summary>
    public KernelGroup Group { get; }

    /// <summary>Bytes the kernel reads from memory (its inputs, once each).</summary>
    public long BytesRead { get; }

    /// <summary>Bytes it writes (its stored outputs).</summary>
    public long BytesWritten { get; }

    /// <summary>The graph ops whose primitives it computes.</summary>
    public IReadOnlyList<Operation> Ops => Group.Origins.ToList();
}

/// <summary>
/// What a Session compiled for one (fetches, targets, fed tensors and their shapes) key: the needed graph ops lowered to
/// primitives, grouped by the fusion pass into kernels over buffers assigned by liveness. Reused by every Run with
/// the same key.
/// </summary>
public sealed class ExecutionPlan
{
    private readonly List<KernelGroup> _groups;
    private readonly Dictionary<Prim, int> _valueIndex = new();
    private readonly List<Prim> _valuePrims = new();
    private readonly List<(StorageKind Kind, int Buffer)> _storage = new();
    private readonly List<(DType DType, int Length)> _buffers = new();
    private readonly Action<Array?[], RunState>[] _steps;
    private readonly int[] _fetchValues;
    private readonly Dictionary<int, int> _fetchOf = new();   // value index -> the first fetch of it
    private readonly Prim[] _fetchPrims;
    private Array[]? _bufferArrays;
    // Typed object, not DevicePlanRunner: a field of that type would make the runtime load ILGPU (1.3 MB resident)
    // for every plan, cpu ones included. Only the device paths below cast it.
    private readonly object? _deviceRunner;
    private Ilgpu.DevicePlanRunner DeviceRunner => (Ilgpu.DevicePlanRunner)_deviceRunner!;

    internal ExecutionPlan(IReadOnlyList<Operation> ops, List<KernelGroup> groups, Prim[] fetches, PlanOptions options)
    {
        Operations = ops;
        _groups = groups;
        Options = options;
        _fetchPrims = fetches;
        var fetched = new HashSet<Prim>(fetches);

        // Values: every stored output of a group.
        foreach (var g in groups)
            foreach (var o in g.Outputs)
            {
                _valueIndex[o] = _storage.Count;
                _valuePrims.Add(o);
                var kind = g.Kind == GroupKind.Binding ? StorageKind.Binding
                    : o is AssignVariablePrim ? StorageKind.Variable
                    : fetched.Contains(o) ? StorageKind.Fresh
                    : g.Kind == GroupKind.Single && o is not GatherPrim ? StorageKind.KernelOwned
                    : StorageKind.Pooled;
                _storage.Add((kind, -1));
            }
        AssignBuffers();
        if (Ilgpu.IlgpuDevices.IsIlgpu(options.Device))
        {
            _deviceRunner = CreateDeviceRunner(groups, options);
            _steps = [];
        }
        else _steps = groups.Select(CompileStep).ToArray();
        _fetchValues = fetches.Select(p => _valueIndex[p]).ToArray();
        for (var i = _fetchValues.Length - 1; i >= 0; i--) _fetchOf[_fetchValues[i]] = i;
        Kernels = groups.Where(g => g.Kind != GroupKind.Binding).Select(g => new PlanKernel(g,
            g.Inputs.Where(i => i is not ConstantPrim { Size: 1 }).Sum(i => i.Size * i.DType.Size()),
            g.Outputs.Sum(o => o.Size * o.DType.Size()))).ToList();
    }

    internal PlanOptions Options { get; }

    /// <summary>Frees device memory the plan holds (plan buffers, constants, loop plans); nothing on cpu.</summary>
    internal void Dispose()
    {
        if (_deviceRunner != null) DisposeDeviceRunner();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private object CreateDeviceRunner(List<KernelGroup> groups, PlanOptions options) =>
        new Ilgpu.DevicePlanRunner(Ilgpu.IlgpuDevice.Get(options.Device), groups, p => _valueIndex[p], v => _storage[v]);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void DisposeDeviceRunner() => DeviceRunner.Dispose();

    [MethodImpl(MethodImplOptions.NoInlining)]
    private HostTensor[] ExecuteDevicePlan(RunState state) => DeviceRunner.Execute(state, _storage.Count, DeviceResults);

    /// <summary>Concrete shapes of the tensors asked for with shape queries when the plan was compiled.</summary>
    internal Dictionary<Tensor, int[]> QueriedDims { get; } = new();

    /// <summary>The graph ops the plan executes, in execution order.</summary>
    public IReadOnlyList<Operation> Operations { get; }

    /// <summary>The compiled kernels in execution order (sources and views need none).</summary>
    public IReadOnlyList<PlanKernel> Kernels { get; }

    /// <summary>All groups, including bindings (constants, feeds, variable reads, reshapes).</summary>
    public IReadOnlyList<KernelGroup> Groups => _groups;

    /// <summary>Most bytes of intermediate and fetched values alive at once while the plan runs.</summary>
    public long PeakBytes { get; private set; }

    /// <summary>The kernel during which <see cref="PeakBytes"/> is reached.</summary>
    public KernelGroup? PeakAt { get; private set; }

    /// <summary>Number of distinct plan buffers (after reuse by liveness).</summary>
    public int BufferCount => _buffers.Count;

    /// <summary>Bytes of the plan buffers, which the plan keeps between runs once it has run.</summary>
    internal long BufferBytes => _buffers.Sum(b => (long)b.Length * b.DType.Size());

    /// <summary>
    /// The fusion report: one block per kernel with the primitives it fused, the ops they came from and the bytes it
    /// reads and writes, ending with <c>kernels {K} ops {M}</c>.
    /// </summary>
    public string Describe()
    {
        var sb = new StringBuilder();
        var n = 0;
        foreach (var k in Kernels)
        {
            var g = k.Group;
            sb.AppendLine($"kernel {n++}: {string.Join(" -> ", g.Members.Select(m => m.Describe()))}");
            sb.AppendLine($"  dims {Shape.Format(g.Dims)}  reads {k.BytesRead} B  writes {k.BytesWritten} B  ops {string.Join(", ", k.Ops.Select(o => o.Name))}");
        }
        sb.Append($"kernels {Kernels.Count} ops {Operations.Count}");
        return sb.ToString();
    }

    /// <summary>Liveness: a pooled value's buffer returns to the free list after its last reader; equal (dtype, length) buffers are reused.</summary>
    private void AssignBuffers()
    {
        var lastUse = new int[_storage.Count];
        for (var i = 0; i < lastUse.Length; i++) lastUse[i] = -1;
        // A view (a reshape, or checked indices passed through) keeps its source alive as long as the view is read.
        Prim Root(Prim p)
        {
            while (p is ReshapePrim or CheckPrim && _valueIndex.ContainsKey(p.Inputs[0])) p = p.Inputs[0];
            return p;
        }
        for (var k = 0; k < _groups.Count; k++)
        {
            var g = _groups[k];
            foreach (var o in g.Outputs) lastUse[_valueIndex[Root(o)]] = Math.Max(lastUse[_valueIndex[Root(o)]], k);
            var reads = g.Kind == GroupKind.Binding ? g.Members.SelectMany(m => m.Inputs) : g.Inputs;
            foreach (var i in reads)
                if (_valueIndex.TryGetValue(Root(i), out var v)) lastUse[v] = Math.Max(lastUse[v], k);
        }
        foreach (var f in _fetchPrims) lastUse[_valueIndex[Root(f)]] = int.MaxValue;

        var free = new List<int>();
        long live = 0;
        var liveValues = new List<int>();
        for (var k = 0; k < _groups.Count; k++)
        {
            var g = _groups[k];
            foreach (var o in g.Outputs)
            {
                var v = _valueIndex[o];
                var (kind, _) = _storage[v];
                if (kind is StorageKind.Binding or StorageKind.Variable) continue;
                live += o.Size * o.DType.Size();
                liveValues.Add(v);
                if (kind != StorageKind.Pooled) continue;
                var reuse = free.FindIndex(b => _buffers[b].DType == o.DType && _buffers[b].Length == o.Size);
                int buffer;
                if (reuse >= 0)
                {
                    buffer = free[reuse];
                    free.RemoveAt(reuse);
                }
                else
                {
                    buffer = _buffers.Count;
                    _buffers.Add((o.DType, checked((int)o.Size)));
                }
                _storage[v] = (kind, buffer);
            }
            if (live > PeakBytes)
            {
                PeakBytes = live;
                PeakAt = g;
            }
            foreach (var v in liveValues.ToList())
                if (lastUse[v] <= k)
                {
                    liveValues.Remove(v);
                    var prim = _valuePrims[v];
                    live -= prim.Size * prim.DType.Size();
                    if (_storage[v].Kind == StorageKind.Pooled) free.Add(_storage[v].Buffer);
                }
        }
    }

    private Action<Array?[], RunState> CompileStep(KernelGroup g)
    {
        if (g.Kind == GroupKind.Binding)
        {
            var p = g.Members[0];
            var v = _valueIndex[p];
            return p switch
            {
                ConstantPrim c => (values, _) => values[v] = c.Value.Data,
                FeedPrim f => (values, state) => values[v] = state.Feed(f.Tensor).Data,
                ReadVariablePrim r => (values, state) => values[v] = state.ReadVariable(r.Variable).Data,
                ReshapePrim r => (values, _) => values[v] = values[_valueIndex[r.Inputs[0]]],
                TupleElementPrim e => (values, _) => values[v] = ((Array[])values[_valueIndex[e.Inputs[0]]]!)[e.Index],
                _ => throw new InvalidOperationException($"{p.Describe()} is not a binding."),
            };
        }
        if (g.Kind == GroupKind.Single && g.Members[0] is LoopPrim or LoopGradPrim)
        {
            var p = g.Members[0];
            var inputs = p.Inputs.Select(i => _valueIndex[i]).ToArray();
            var output = _valueIndex[p];
            Func<Array[], RunState, Array> run = p switch
            {
                LoopPrim loop => new Loops.LoopRunner(loop).Run,
                _ => new Loops.LoopGradRunner((LoopGradPrim)p).Run,
            };
            return (values, state) => values[output] = run(inputs.Select(i => values[i]!).ToArray(), state);
        }
        if (g.Kind == GroupKind.Single && g.Members[0] is GatherPrim gather)
        {
            // Into a plan buffer (or the fetch's array): a gather inside a loop body runs every step.
            var (source, at, output) = (_valueIndex[gather.Inputs[0]], _valueIndex[gather.Inputs[1]], _valueIndex[gather]);
            return (values, state) => CpuMovement.GatherInto(gather, new HostTensor(values[source]!, gather.Inputs[0].Dims),
                new HostTensor(values[at]!, gather.Inputs[1].Dims), values[output] = Allocate(gather, output, state));
        }
        if (g.Kind == GroupKind.Single)
        {
            var p = g.Members[0];
            var kernel = CpuBackend.Compile(p);
            var inputs = p.Inputs.Select(i => _valueIndex[i]).ToArray();
            var output = _valueIndex[p];
            return (values, state) =>
            {
                var args = new HostTensor[inputs.Length];
                for (var i = 0; i < args.Length; i++) args[i] = new HostTensor(values[inputs[i]]!, p.Inputs[i].Dims);
                values[output] = kernel(args, state).Data;
            };
        }
        var fused = new CpuFusedKernel(g);
        var inputValues = fused.InputOrder.Select(p => _valueIndex[p]).ToArray();
        var outputs = fused.OutputOrder.Select(o => (Prim: o, Value: _valueIndex[o])).ToArray();
        var assigns = outputs.Where(o => o.Prim is AssignVariablePrim).ToArray();
        // Argument arrays kept by the step (a plan never runs one step twice at once), emptied after each run so
        // they hold no values alive.
        var ins = new Array[inputValues.Length];
        var outs = new Array[outputs.Length];
        return (values, state) =>
        {
            for (var i = 0; i < ins.Length; i++) ins[i] = values[inputValues[i]]!;
            for (var i = 0; i < outs.Length; i++) outs[i] = values[outputs[i].Value] = Allocate(outputs[i].Prim, outputs[i].Value, state);
            try
            {
                fused.Run(ins, outs);
            }
            finally
            {
                Array.Clear(ins);
                Array.Clear(outs);
            }
            foreach (var (o, v) in assigns) state.CommitVariable(((AssignVariablePrim)o).Variable, new HostTensor(values[v]!, o.Dims));
        };
    }

    private Array Allocate(Prim o, int v, RunState state)
    {
        var (kind, buffer) = _storage[v];
        return kind switch
        {
            StorageKind.Pooled => _bufferArrays![buffer] ??= Array.CreateInstance(o.DType.ClrType(), checked((int)o.Size)),
            StorageKind.Variable => state.VariableTarget(((AssignVariablePrim)o).Variable, o.DType, o.Dims),
            StorageKind.Fresh => state.FetchTargets is { } into && _fetchOf.TryGetValue(v, out var f) && into[f] is { } target ? target
                : state.AllocateFetched(o.DType, checked((int)o.Size)),
            _ => Array.CreateInstance(o.DType.ClrType(), checked((int)o.Size)),
        };
    }

    /// <summary>Runs the plan and returns the fetched values (copies where the session or caller still holds the array).</summary>
    internal HostTensor[] Execute(RunState state)
    {
        if (_deviceRunner != null) return ExecuteDevicePlan(state);
        _bufferArrays ??= new Array[_buffers.Count];
        var values = new Array?[_storage.Count];
        var profile = state.Context.Profile;
        if (profile == null)
            foreach (var step in _steps) step(values, state);
        else
            for (var i = 0; i < _steps.Length; i++)
            {
                var start = System.Diagnostics.Stopwatch.GetTimestamp();
                _steps[i](values, state);
                var g = _groups[i];
                if (g.Kind != GroupKind.Binding && g.Members[0] is not LoopPrim and not LoopGradPrim)
                    profile.Add(g, System.Diagnostics.Stopwatch.GetElapsedTime(start));
            }
        var results = new HostTensor[_fetchValues.Length];
        for (var i = 0; i < results.Length; i++)
        {
            var p = _fetchPrims[i];
            var data = values[_fetchValues[i]]!;
            if (state.FetchTargets?[i] is { } target)
            {
                if (!ReferenceEquals(data, target)) Array.Copy(data, target, target.Length);
                results[i] = new HostTensor(target, p.Dims);
                continue;
            }
            var owned = _storage[_fetchValues[i]].Kind is StorageKind.Fresh or StorageKind.KernelOwned && !SharedSource(p);
            results[i] = new HostTensor(owned ? data : state.CopyFetched(data), p.Dims);
        }
        return results;
    }

    /// <summary>
    /// Runs the plan on its ILGPU device and returns the fetched values as device buffers the caller owns (a device
    /// loop's next state and saved values: nothing crosses to the host).
    /// </summary>
    internal Ilgpu.DeviceBuffer[] ExecuteOnDevice(RunState state) =>
        DeviceRunner.Execute(state, _storage.Count, (slots, run) =>
        {
            // Every result is a distinct buffer: a value fetched twice (or a loop variable passed through and also
            // saved) is copied for the second fetch, so each buffer has one owner.
            var results = new Ilgpu.DeviceBuffer[_fetchValues.Length];
            for (var i = 0; i < results.Length; i++)
            {
                var buffer = DeviceRunner.Claim(slots[_fetchValues[i]]!, _fetchPrims[i], run);
                results[i] = Array.IndexOf(results, buffer, 0, i) < 0 ? buffer : buffer.Clone();
            }
            return results;
        });

    /// <summary>Dimensions of the fetched values.</summary>
    internal int[][] FetchDims => _fetchPrims.Select(p => p.Dims).ToArray();

    /// <summary>The fetched values of a device run, on the host: copied from the device, or copies of shared host arrays.</summary>
    private HostTensor[] DeviceResults(Ilgpu.DevicePlanRunner.Slot?[] slots, Ilgpu.DevicePlanRunner.Run run)
    {
        var results = new HostTensor[_fetchValues.Length];
        for (var i = 0; i < results.Length; i++)
        {
            var p = _fetchPrims[i];
            var slot = slots[_fetchValues[i]]!;
            var target = run.State.FetchTargets?[i];
            Array data;
            if (slot.Host != null)
            {
                if (slot.Variable != null) run.State.Session.EnsureHost(slot.Host);
                if (target != null) Array.Copy(slot.Host, data = target, target.Length);
                else data = slot.HostOwned && !SharedSource(p) ? slot.Host : run.State.CopyFetched(slot.Host);
            }
            else
            {
                data = target ?? run.State.AllocateFetched(p.DType, checked((int)p.Size));
                slot.Device!.Download(data);
            }
            results[i] = new HostTensor(data, p.Dims);
        }
        return results;
    }

    /// <summary>
    /// Whether a value's array may be a constant's, feed's or variable's (checks pass their input through; an
    /// in-place TensorArray write only ever reuses the array its loop owns).
    /// </summary>
    private static bool SharedSource(Prim p) => p is CheckPrim;
}
