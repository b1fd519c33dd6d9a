using Graph.Core;
using Graph.Kernels.Cpu;
using Graph.Kernels.Fusion;
using ILGPU;
using ILGPU.Runtime;

namespace Graph.Kernels.Ilgpu;

/// <summary>
/// Executes a plan's kernel groups on an ILGPU device. Values live in device buffers: plan buffers assigned by
/// liveness (kept across runs), variables in the session's device copies (kept across runs, so a training step
/// uploads only its feeds), constants uploaded once per plan. Primitives without a device kernel — random numbers
/// (TF1's Philox stream, bit-identical with the cpu device), index checks with their exact messages, the orthogonal
/// initializer, TensorArray slice updates and loop control — run on the host with their inputs copied back.
/// Results that leave the plan (fetches, variable updates, loop state) are copied to host arrays.
/// </summary>
internal sealed class DevicePlanRunner : IPlanRunner
{
    private readonly IlgpuDevice _device;
    private readonly ExecutionPlan _plan;
    private readonly IReadOnlyList<KernelGroup> _groups;
    private readonly Action<Slot?[], Run>[] _steps;
    private readonly Dictionary<int, DeviceBuffer> _pooled = new();
    private readonly Dictionary<Prim, DeviceBuffer> _constants = new();
    private readonly Dictionary<object, DeviceBuffer> _metadata = new();
    private readonly List<IDisposable> _loops = new();

    /// <summary>Where one value is during a run: a host array, a device buffer, or both (equal contents).</summary>
    internal sealed class Slot
    {
        public Array? Host;
        public DeviceBuffer? Device;
        /// <summary>Whether <see cref="Host"/> was made by this run (a fetch may hand it out without a copy).</summary>
        public bool HostOwned;
        /// <summary>The variable whose value this is (its device copy lives in the session).</summary>
        public Operation? Variable;
        /// <summary>The constant whose value this is (its device copy lives in the plan).</summary>
        public ConstantPrim? Constant;
        /// <summary>The fed tensor whose value this is (a device loop's variable may be handed back as its own).</summary>
        public Tensor? Feed;
        /// <summary>A loop's results (owned by the run).</summary>
        public DeviceBuffer[]? Tuple;
    }

    /// <summary>One execution: the run state and the device buffers to free when it ends.</summary>
    internal sealed class Run(RunState state)
    {
        public RunState State { get; } = state;
        public List<DeviceBuffer> Temporaries { get; } = new();
    }

    public DevicePlanRunner(IlgpuDevice device, ExecutionPlan plan)
    {
        _device = device;
        _plan = plan;
        var groups = _groups = plan.Groups;
        // An index check read only by gathers (as their indices) is done by the gather kernels themselves.
        foreach (var check in groups.SelectMany(g => g.Members).OfType<CheckIndicesPrim>())
            if (plan.ReadersOf(check) is { Count: > 0 } list && list.All(r => r.Reader is GatherPrim && r.Input == 1))
                foreach (var (reader, _) in list) _checkedBy[(GatherPrim)reader] = check;
        // A product fetched once and read by nothing else may be added straight into a caller's running sum.
        foreach (var p in plan.FetchPrims)
            if (p is MatMulPrim product && plan.SummableFetchOf(product) is { } fetch)
                _accumulable[product] = fetch;
        _steps = groups.Select(Compile).ToArray();
    }

    // Fetched products a GEMM may add into RunState.AccumulateInto's buffer for their fetch index.
    private readonly Dictionary<MatMulPrim, int> _accumulable = new();

    // Gathers whose indices come from an index check they perform themselves (the check launches nothing).
    private readonly Dictionary<GatherPrim, CheckIndicesPrim> _checkedBy = new();

    /// <summary>Frees the plan's device memory: its buffers, uploaded constants, kernel metadata and loop plans.</summary>
    public void Dispose()
    {
        foreach (var b in _pooled.Values.Concat(_constants.Values).Concat(_metadata.Values)) b.Dispose();
        _pooled.Clear();
        _constants.Clear();
        _metadata.Clear();
        foreach (var loop in _loops) loop.Dispose();
    }

    /// <summary>Runs the plan and returns the fetched values on the host: copied from the device, or copies of shared host arrays.</summary>
    public HostTensor[] Execute(RunState state) => Execute(state, HostResults);

    /// <summary>
    /// Runs the plan and returns the fetched values as device buffers the caller owns (a device loop's next state and
    /// saved values: nothing crosses to the host).
    /// </summary>
    public DeviceBuffer[] ExecuteOnDevice(RunState state) => Execute(state, (slots, run) =>
    {
        // Every result is a distinct buffer: a value fetched twice (or a loop variable passed through and also
        // saved) is copied for the second fetch, so each buffer has one owner.
        var results = new DeviceBuffer[_plan.FetchValues.Count];
        for (var i = 0; i < results.Length; i++)
        {
            var slot = slots[_plan.FetchValues[i]]!;
            if (run.State.AccumulateInto?.TryGetValue(i, out var sum) == true && ReferenceEquals(slot.Device, sum))
            {
                results[i] = slot.Device; // added in place: the caller's own buffer
                continue;
            }
            var buffer = Claim(slot, _plan.FetchPrims[i], run);
            results[i] = Array.IndexOf(results, buffer, 0, i) < 0 ? buffer : buffer.Clone();
        }
        return results;
    });

    private HostTensor[] HostResults(Slot?[] slots, Run run)
    {
        var results = new HostTensor[_plan.FetchValues.Count];
        for (var i = 0; i < results.Length; i++)
        {
            var p = _plan.FetchPrims[i];
            var slot = slots[_plan.FetchValues[i]]!;
            var target = run.State.FetchTargets?[i];
            Array data;
            if (slot.Host != null)
            {
                if (slot.Variable != null) run.State.Session.EnsureHost(slot.Host);
                if (target != null) Array.Copy(slot.Host, data = target, target.Length);
                else data = slot.HostOwned && !ExecutionPlan.SharedSource(p) ? slot.Host : run.State.CopyFetched(slot.Host);
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

    /// <summary>Runs the plan's steps; <paramref name="fetch"/> turns the final slots into results before temporaries are freed.</summary>
    private T Execute<T>(RunState state, Func<Slot?[], Run, T> fetch)
    {
        var run = new Run(state);
        var slots = new Slot?[_plan.ValueCount];
        var profile = state.Context.Profile;
        try
        {
            for (var i = 0; i < _steps.Length; i++)
            {
                var start = System.Diagnostics.Stopwatch.GetTimestamp();
                _steps[i](slots, run);
                if (profile != null && _groups[i].Kind != GroupKind.Binding && _groups[i].Members[0] is not LoopPrim and not LoopGradPrim)
                {
                    _device.Accelerator.Synchronize();
                    profile.Add(_groups[i], System.Diagnostics.Stopwatch.GetElapsedTime(start));
                }
            }
            return fetch(slots, run);
        }
        finally
        {
            foreach (var b in run.Temporaries) b.Dispose();
        }
    }

    /// <summary>The host array of a slot, copied from the device on first need.</summary>
    public Array OnHost(Slot slot, Prim p, Run run)
    {
        if (slot.Host != null) return slot.Variable != null ? run.State.Session.EnsureHost(slot.Host) : slot.Host;
        var host = RunState.Uninitialized(p.DType, checked((int)p.Size));
        slot.Device!.Download(host);
        slot.Host = host;
        slot.HostOwned = true;
        return host;
    }

    /// <summary>The device buffer of a slot, copied from the host on first need (variables and constants keep theirs).</summary>
    public DeviceBuffer OnDevice(Slot slot, Prim p, Run run)
    {
        if (slot.Device is { Valid: true }) return slot.Device;
        var host = slot.Host ?? throw new InvalidOperationException($"{p.OriginName}: value of {p.Describe()} is nowhere.");
        if (slot.Variable != null)
        {
            var copies = run.State.Session.DeviceCopies();
            if (!copies.TryGetCopy(host, out var copy))
            {
                copy = DeviceBuffer.FromHost(_device, p.DType, host);
                copies.SetCopy(host, copy);
            }
            return slot.Device = copy;
        }
        if (slot.Constant != null)
        {
            if (!_constants.TryGetValue(slot.Constant, out var constant) || !constant.Valid)
                _constants[slot.Constant] = constant = DeviceBuffer.FromHost(_device, p.DType, host);
            return slot.Device = constant;
        }
        var buffer = DeviceBuffer.FromHost(_device, p.DType, host);
        run.Temporaries.Add(buffer);
        return slot.Device = buffer;
    }

    /// <summary>
    /// A fetched value as a buffer the caller owns: a buffer made by this run is handed over, a loop variable the
    /// loop owns (updated in place) is returned as is, anything else (a constant, a variable's device copy, a plan
    /// buffer, a host value) is copied.
    /// </summary>
    public DeviceBuffer Claim(Slot slot, Prim p, Run run)
    {
        var device = slot.Device is { Valid: true } d ? d : null;
        if (device == null) return DeviceBuffer.FromHost(_device, p.DType, slot.Host!);
        if (run.Temporaries.Remove(device)) return device;
        if (slot.Feed != null && run.State.MayDonate(slot.Feed) && run.State.TryGetDeviceFeed(slot.Feed, out var fed) && ReferenceEquals(fed, device))
            return device;
        return device.Clone();
    }

    /// <summary>The buffer a kernel writes value <paramref name="o"/> into.</summary>
    private DeviceBuffer Output(Prim o, Run run)
    {
        var (kind, buffer) = _plan.StorageOf(_plan.ValueOf(o));
        if (kind == StorageKind.Pooled)
        {
            if (!_pooled.TryGetValue(buffer, out var pooled) || !pooled.Valid)
                _pooled[buffer] = pooled = DeviceBuffer.Allocate(_device, o.DType, o.Size);
            return pooled;
        }
        var fresh = DeviceBuffer.Allocate(_device, o.DType, o.Size);
        // Dies with the run, unless it becomes a variable's value (committed) or a result (claimed).
        run.Temporaries.Add(fresh);
        return fresh;
    }

    private Action<Slot?[], Run> Compile(KernelGroup g)
    {
        var p = g.Members[0];
        if (g.Kind == GroupKind.Binding)
        {
            var v = _plan.ValueOf(p);
            return p switch
            {
                ConstantPrim c => (slots, _) => slots[v] = new Slot { Host = c.Value.Data, Constant = c },
                // A value fed on the device may also be known to the host (a counted loop's counter): kernels that
                // take it as an index then need no device copy of it.
                FeedPrim f => (slots, run) => slots[v] = run.State.TryGetDeviceFeed(f.Tensor, out var onDevice)
                    ? new Slot { Device = onDevice, Host = run.State.TryGetFeed(f.Tensor, out var known) ? known.Data : null, Feed = f.Tensor }
                    : new Slot { Host = run.State.Feed(f.Tensor).Data, Feed = f.Tensor },
                ReadVariablePrim r => (slots, run) => slots[v] = new Slot { Host = run.State.ReadVariable(r.Variable).Data, Variable = r.Variable },
                ReshapePrim r => (slots, _) => slots[v] = slots[_plan.ValueOf(r.Inputs[0])],
                TupleElementPrim e => (slots, _) => slots[v] = new Slot { Device = slots[_plan.ValueOf(e.Inputs[0])]!.Tuple![e.Index] },
                _ => throw new InvalidOperationException($"{p.Describe()} is not a binding."),
            };
        }
        if (g.Kind == GroupKind.Single) return CompileSingle(p);
        if (g.Head != null && g.Members.Count == 1) return CompileMatMul(g.Head, _accumulable.TryGetValue(g.Head, out var fetch) ? fetch : null);
        if (g.Tail != null && g.Members.Count == 1) return CompileReduce(g.Tail);
        return CompileFused(g);
    }

    private Action<Slot?[], Run> CompileSingle(Prim p)
    {
        var inputs = _plan.ValuesOf(p.Inputs);
        var output = _plan.ValueOf(p);
        switch (p)
        {
            case GatherPrim or ScatterAddPrim:
                return CompileIndexed(p, inputs, output);
            case ConcatPrim c:
                return CompileConcat(c, inputs, output);
            case CheckIndicesPrim check when _checkedBy.ContainsValue(check):
                return (slots, _) => slots[output] = slots[inputs[0]];
            case CheckIndicesPrim check:
            {
                // On the device, with an error flag: no copy to the host and no wait (labels are checked every step).
                var shape = new SliceShape { Count = check.Size, TargetAxis = check.Limit, Threads = Threads(check.Size) };
                var indexType = check.DType;
                return (slots, run) =>
                {
                    var input = slots[inputs[0]]!;
                    slots[output] = input;
                    if (check.Size == 0) return;
                    var (flag, evidence) = run.State.Context.DeviceErrors()!.IndexCheck(check);
                    var kernel = Hand(nameof(DeviceKernels.CheckIndices), check, indexType.ClrType(), DeviceOps.ArithOf(indexType));
                    Launch(kernel, check.Size, OnDevice(input, check.Inputs[0], run).View, flag, evidence, shape);
                };
            }
            case CheckPrim check:
            {
                // NaN/Inf checks and assertions: on the host with their operands copied back.
                return (slots, run) =>
                {
                    var operands = new HostTensor[inputs.Length];
                    for (var i = 0; i < operands.Length; i++) operands[i] = new HostTensor(OnHost(slots[inputs[i]]!, check.Inputs[i], run), check.Inputs[i].Dims);
                    CheckDeviceErrors(run);
                    CpuChecks.Run(check, operands);
                    slots[output] = slots[inputs[0]];
                };
            }
            case LoopPrim or LoopGradPrim:
            {
                Func<DeviceBuffer[], Array?[], RunState, DeviceBuffer[]> loop;
                if (p is LoopPrim l)
                {
                    var runner = new DeviceLoopRunner(_device, l);
                    _loops.Add(runner);
                    loop = runner.Run;
                }
                else
                {
                    var runner = new DeviceLoopGradRunner(_device, (LoopGradPrim)p);
                    _loops.Add(runner);
                    loop = (args, _, state) => runner.Run(args, state);
                }
                return (slots, run) =>
                {
                    var args = new DeviceBuffer[inputs.Length];
                    var host = new Array?[inputs.Length];
                    for (var i = 0; i < args.Length; i++)
                    {
                        var slot = slots[inputs[i]]!;
                        args[i] = OnDevice(slot, p.Inputs[i], run);
                        // A variable's host array may be behind its device copy; other host values are current.
                        host[i] = slot.Variable == null ? slot.Host : null;
                    }
                    var results = loop(args, host, run.State);
                    run.Temporaries.AddRange(results.Where(r => r != null));
                    slots[output] = new Slot { Tuple = results };
                };
            }
            case UpdateSlicePrim u:
                return CompileUpdateSlice(u, inputs, output);
            default:
            {
                // Host kernels: random numbers, the orthogonal initializer, TensorArray slice updates.
                var kernel = CpuSingleKernels.Compile(p);
                return (slots, run) =>
                {
                    var args = new HostTensor[inputs.Length];
                    for (var i = 0; i < args.Length; i++) args[i] = new HostTensor(OnHost(slots[inputs[i]]!, p.Inputs[i], run), p.Inputs[i].Dims);
                    CheckDeviceErrors(run);
                    slots[output] = new Slot { Host = kernel(args, run.State).Data, HostOwned = true };
                };
            }
        }
    }

    private Kernel Hand(string name, Prim origin, params Type[] types) => DeviceOps.Hand(_device, name, origin, types);

    private void Launch(Kernel kernel, long work, params object[] args) => DeviceOps.Launch(_device, kernel, work, args);

    private int Threads(long work) => _device.ThreadsFor(work);

    /// <summary>The error flag of the kernel computing <paramref name="origin"/> (see <see cref="DeviceErrorLog"/>).</summary>
    private static object ErrorFlag(Run run, Prim origin, Func<string>? detail = null) => run.State.Context.DeviceErrors()!.Flag(origin, origin, detail);

    /// <summary>Fails now if a device kernel of this run failed (before effects that must not follow a failure).</summary>
    private static void CheckDeviceErrors(Run run) => run.State.Context.DeviceErrors()?.ThrowIfAny();

    /// <summary>
    /// The GEMM of <paramref name="m"/>. When it is fetch <paramref name="accumulableFetch"/> and the run names a running
    /// sum for that fetch (<see cref="RunState.AccumulateInto"/>), the GEMM adds into the sum (cuBLAS beta 1, or the
    /// kernel's accumulate flag) and the sum is the fetched value: one launch instead of a product and an add.
    /// </summary>
    private Action<Slot?[], Run> CompileMatMul(MatMulPrim m, int? accumulableFetch = null)
    {
        var (batch, rows, cols, depth) = m.Sizes;
        var a = _plan.ValueOf(m.Inputs[0]);
        var b = _plan.ValueOf(m.Inputs[1]);
        var output = _plan.ValueOf(m);
        var shape = new MatMulShape
        {
            Batch = batch, M = rows, N = cols, K = depth,
            ABatch = (long)rows * depth, ARow = m.TransposeA ? 1 : depth, ADepth = m.TransposeA ? rows : 1,
            BBatch = (long)depth * cols, BDepth = m.TransposeB ? 1 : cols, BCol = m.TransposeB ? depth : 1,
        };
        var work = batch * rows * ((cols + 3L) / 4);
        shape.Threads = Threads(work);
        var accumulating = shape with { Accumulate = 1 };
        var element = DeviceBuffer.ElementType(m.DType);
        // cuBLAS where the device has it (cuda); Graph's register-tiled kernel elsewhere (opencl, ilgpu-cpu). Looked up
        // again after a context reset, which disposes the old context's cuBLAS: the plan outlives it.
        var servedByBlas = Cuda.CuBlas.Serves(m.DType);
        Cuda.CuBlas? blas = null;
        var blasGeneration = -1;
        return (slots, run) =>
        {
            if (servedByBlas && blasGeneration != _device.Generation)
            {
                // The generation first: a reset between the two reads leaves an old number, so the next run looks again.
                blasGeneration = _device.Generation;
                blas = _device.Blas;
            }
            var sum = accumulableFetch is { } fetch && run.State.AccumulateInto?.TryGetValue(fetch, out var into) == true ? (DeviceBuffer)into : null;
            var y = sum ?? Output(m, run);
            slots[output] = new Slot { Device = y };
            if ((long)batch * rows * cols == 0) return;
            var left = OnDevice(slots[a]!, m.Inputs[0], run);
            var right = OnDevice(slots[b]!, m.Inputs[1], run);
            if (depth == 0)
            {
                if (sum == null) y.Zero();
            }
            else if (blas != null)
            {
                _device.Launches++;
                blas.Gemm(m, m.DType, batch, rows, cols, depth, m.TransposeA, m.TransposeB, left, right, y, accumulate: sum != null);
            }
            else Launch(Hand(nameof(DeviceKernels.MatMul), m, element, DeviceOps.ArithOf(m.DType)), work, left.View, right.View, y.View, sum != null ? accumulating : shape);
            if (sum != null) _device.AccumulatingGemms++;
        };
    }

    private Action<Slot?[], Run> CompileReduce(ReducePrim r)
    {
        var reduce = ReduceOn(r);
        var input = _plan.ValueOf(r.Inputs[0]);
        var output = _plan.ValueOf(r);
        return (slots, run) =>
        {
            var y = Output(r, run);
            slots[output] = new Slot { Device = y };
            reduce(OnDevice(slots[input]!, r.Inputs[0], run), y, run);
        };
    }

    /// <summary>
    /// The reduction <paramref name="r"/> of a device buffer into another. One thread per output walks its reduced
    /// elements; when there are fewer outputs than the device has threads and they are long, each is cut into chunks
    /// reduced by threads of their own, and a second pass reduces the partial results (same order every run).
    /// </summary>
    private Action<DeviceBuffer, DeviceBuffer, Run> ReduceOn(ReducePrim r)
    {
        var x = r.Inputs[0];
        var leading = r.Axes.Length > 0 && r.Axes.Select((a, i) => a == i).All(b => b);
        if (leading && r.Op is not (ReduceOp.ArgMax or ReduceOp.ArgMin)) return ReduceLeadingAxes(r);
        var strides = HostOps.Strides(x.Dims);
        var kept = Enumerable.Range(0, x.Dims.Length).Where(a => !r.Axes.Contains(a)).ToArray();
        var meta = kept.Concat(r.Axes).SelectMany(a => new long[] { x.Dims[a], strides[a] }).ToArray();
        var shape = new ReduceShape
        {
            Outputs = r.Size, KeptRank = kept.Length, Reduced = r.Axes.Aggregate(1L, (n, a) => n * x.Dims[a]),
            ReducedRank = r.Axes.Length, Op = (int)r.Op, Chunks = 1,
        };
        var arg = r.Op is ReduceOp.ArgMax or ReduceOp.ArgMin;
        var capacity = (long)Threads(long.MaxValue);
        if (!arg && shape.Outputs > 0 && shape.Outputs < capacity && shape.Reduced >= 2048)
            shape.Chunks = Math.Max(1, Math.Min((shape.Reduced + 1023) / 1024, capacity / shape.Outputs));
        shape.Threads = Threads(shape.Outputs * shape.Chunks);
        // The second pass: the partial results [Outputs, Chunks], reduced along their last axis.
        var partialShape = shape with { KeptRank = 1, Reduced = shape.Chunks, ReducedRank = 1, Chunks = 1, Threads = Threads(shape.Outputs) };
        var partialMeta = new long[] { shape.Outputs, shape.Chunks, shape.Chunks, 1 };
        var element = DeviceBuffer.ElementType(x.DType);
        var metaKey = new object();
        var partialKey = new object();
        return (source, y, run) =>
        {
            if (shape.Outputs == 0) return;
            if (arg && shape.Reduced == 0) throw new InvalidArgumentException($"{r.OriginName}: cannot take {r.Op} over an empty axis.");
            var metaBuffer = Metadata(metaKey, meta);
            var kernel = arg
                ? Hand(nameof(DeviceKernels.ArgReduce), r, element, DeviceOps.ArithOf(x.DType), r.DType.ClrType(), DeviceOps.ArithOf(r.DType))
                : Hand(nameof(DeviceKernels.Reduce), r, element, DeviceOps.ArithOf(x.DType));
            if (shape.Chunks == 1)
            {
                Launch(kernel, shape.Outputs, source.View, y.View, metaBuffer.View, shape);
                return;
            }
            var partials = DeviceBuffer.Allocate(_device, r.DType, shape.Outputs * shape.Chunks);
            run.Temporaries.Add(partials);
            Launch(kernel, shape.Outputs * shape.Chunks, source.View, partials.View, metaBuffer.View, shape);
            Launch(kernel, shape.Outputs, partials.View, y.View, Metadata(partialKey, partialMeta).View, partialShape);
        };
    }

    /// <summary>
    /// A reduction over the leading axes (the kept ones trail, contiguous): x as [rows, columns] reduced by
    /// <see cref="DeviceKernels.ReduceColumns{T, TArith}"/> — coalesced reads, the rows split among a group's lanes.
    /// </summary>
    private Action<DeviceBuffer, DeviceBuffer, Run> ReduceLeadingAxes(ReducePrim r)
    {
        var x = r.Inputs[0];
        var rows = r.Axes.Aggregate(1L, (n, a) => n * x.Dims[a]);
        var columns = r.Size; // the kept axes
        var maxGroup = Math.Max(2, _device.MaxGroupSize);
        // Up to 32 neighbouring columns per group (a warp reads them in one transaction), the rest of the group as lanes.
        var groupColumns = (int)Math.Min(Math.Min(32, maxGroup / 2), NextPowerOfTwo(columns));
        var lanes = (int)Math.Min(maxGroup / groupColumns, NextPowerOfTwo(rows));
        var shape = new ColumnsShape { Rows = rows, Columns = columns, GroupColumns = groupColumns, Lanes = lanes, Op = (int)r.Op };
        var groups = (int)((columns + groupColumns - 1) / groupColumns);
        var element = DeviceBuffer.ElementType(x.DType);
        var key = $"{nameof(DeviceKernels.ReduceColumns)}<{element.Name},{DeviceOps.ArithOf(x.DType).Name}>";
        return (source, y, _) =>
        {
            if (columns == 0) return;
            var kernel = _device.Load(key, () => typeof(DeviceKernels).GetMethod(nameof(DeviceKernels.ReduceColumns))!.MakeGenericMethod(element, DeviceOps.ArithOf(x.DType)),
                r, explicitlyGrouped: true);
            _device.Launches++;
            kernel.Launch(_device.Accelerator.DefaultStream, new KernelConfig(groups, groupColumns * lanes), source.View, y.View, shape);
        };
    }

    private static long NextPowerOfTwo(long n)
    {
        var p = 1L;
        while (p < n) p <<= 1;
        return p;
    }

    /// <summary>A kernel's shape metadata on the device, uploaded once per plan.</summary>
    private DeviceBuffer Metadata(object key, long[] values)
    {
        if (!_metadata.TryGetValue(key, out var buffer) || !buffer.Valid)
            _metadata[key] = buffer = DeviceBuffer.FromHost(_device, DType.Int64, values.Length == 0 ? new long[1] : values);
        return buffer;
    }

    private Action<Slot?[], Run> CompileIndexed(Prim p, int[] inputs, int output)
    {
        var gather = p is GatherPrim;
        var axis = p is GatherPrim g ? g.Axis : ((ScatterAddPrim)p).Axis;
        var big = gather ? p.Inputs[0].Dims : p.Dims;
        var indices = p.Inputs[1];
        var shape = new SliceShape
        {
            Outer = Shape.Product(big.AsSpan(0, axis)), Inner = Shape.Product(big.AsSpan(axis + 1)),
            SourceAxis = gather ? big[axis] : 0, TargetAxis = gather ? 0 : big[axis], Count = indices.Size,
        };
        var work = p.Size;
        shape.Threads = Threads(work);
        var element = DeviceBuffer.ElementType(p.DType);
        // One contiguous slice (a TensorArray read): at an index the host knows, no kernel.
        var oneSlice = gather && work > 0 && shape.Outer == 1 && shape.Count == 1;
        return (slots, run) =>
        {
            if (oneSlice && HostIndex(slots[inputs[1]]!) is { } index && index >= 0 && index < shape.SourceAxis)
            {
                GatherSlice(slots[inputs[0]]!, index * shape.Inner, p, output, slots, run);
                return;
            }
            var y = Output(p, run);
            slots[output] = new Slot { Device = y };
            if (work == 0) return;
            var source = OnDevice(slots[inputs[0]]!, p.Inputs[0], run);
            var at = OnDevice(slots[inputs[1]]!, indices, run);
            if (!gather)
            {
                // Zeros, then each index's slice added in order: cost of the updates, not of the whole result per index.
                y.Zero();
                DeviceOps.ScatterAddInto(_device, source, at, y, p.Dims, axis, indices.Dims, p, p, run.State.Context);
                return;
            }
            var kernel = Hand(nameof(DeviceKernels.Gather), p, element, indices.DType.ClrType(), DeviceOps.ArithOf(indices.DType));
            var (flag, evidence) = _checkedBy.TryGetValue((GatherPrim)p, out var check)
                ? run.State.Context.DeviceErrors()!.IndexCheck(check)
                : (ErrorFlag(run, p), run.State.Context.DeviceErrors()!.Evidence(p));
            Launch(kernel, work, source.View, at.View, y.View, flag, evidence, shape);
        };
    }

    /// <summary>
    /// The index a slot holds when the host knows it: a host value, or a counted loop's counter (fed with its host
    /// value). Null for anything else, and for a variable, whose host array may be behind its device copy.
    /// </summary>
    private static long? HostIndex(Slot slot) => slot is { Host: { Length: 1 } host, Variable: null }
        ? host switch { int[] i => i[0], long[] l => l[0], _ => null }
        : null;

    /// <summary>
    /// The result of gather <paramref name="p"/> when it is the <see cref="Prim.Size"/> elements of its source from
    /// <paramref name="offset"/> on. No kernel (the index was checked on the host): from a plan constant, a slice of
    /// both its host array and its device copy (a loop limit taken from a shape stays known to the host); on the host
    /// from a source only the host holds (no upload); else a slice of the source's device buffer (no copy) when nothing
    /// writes or frees that buffer before the run ends — a feed the run may not donate (a loop's captured tensor such
    /// as dynamic_rnn's projected inputs, or a saved value) — and a device copy otherwise (plan buffers are reused by
    /// later values; loop variables are updated in place).
    /// </summary>
    private void GatherSlice(Slot source, long offset, Prim p, int output, Slot?[] slots, Run run)
    {
        if (source is { Host: { } host, Variable: null } && (source.Constant != null || source.Device is not { Valid: true }))
        {
            var part = Array.CreateInstance(host.GetType().GetElementType()!, p.Size);
            Array.Copy(host, offset, part, 0, p.Size);
            var constant = source.Constant != null ? OnDevice(source, p.Inputs[0], run).Slice(offset, p.Size) : null;
            slots[output] = new Slot { Host = part, HostOwned = true, Device = constant };
            return;
        }
        var slice = OnDevice(source, p.Inputs[0], run).Slice(offset, p.Size);
        if (source.Feed != null && !run.State.MayDonate(source.Feed))
        {
            slots[output] = new Slot { Device = slice };
            return;
        }
        var copy = Output(p, run);
        copy.CopyFrom(slice);
        slots[output] = new Slot { Device = copy };
    }

    private Action<Slot?[], Run> CompileConcat(ConcatPrim c, int[] inputs, int output)
    {
        var outer = Shape.Product(c.Dims.AsSpan(0, c.Axis));
        var inner = Shape.Product(c.Dims.AsSpan(c.Axis + 1));
        var element = DeviceBuffer.ElementType(c.DType);
        return (slots, run) =>
        {
            var y = Output(c, run);
            slots[output] = new Slot { Device = y };
            long offset = 0;
            var kernel = Hand(nameof(DeviceKernels.CopyPart), c, element);
            for (var k = 0; k < inputs.Length; k++)
            {
                var part = c.Inputs[k];
                var work = part.Size;
                if (work > 0)
                    Launch(kernel, work, OnDevice(slots[inputs[k]]!, part, run).View, y.View, new SliceShape
                    {
                        Outer = outer, Inner = inner, SourceAxis = part.Dims[c.Axis], TargetAxis = c.Dims[c.Axis], Offset = offset, Threads = Threads(work),
                    });
                offset += part.Dims[c.Axis];
            }
        };
    }

    /// <summary>A TensorArray write: in place when the planner allowed it and the buffer is the device loop's own.</summary>
    private Action<Slot?[], Run> CompileUpdateSlice(UpdateSlicePrim u, int[] inputs, int output)
    {
        var rows = u.Dims.Length == 0 ? 1 : u.Dims[0];
        var value = u.Inputs[2];
        var index = u.Inputs[1];
        var shape = new SliceShape { Outer = 1, Inner = value.Size, TargetAxis = rows, SourceAxis = 1, Count = 1 };
        shape.Threads = Threads(value.Size);
        var element = DeviceBuffer.ElementType(u.DType);
        return (slots, run) =>
        {
            var bufferSlot = slots[inputs[0]]!;
            var source = OnDevice(bufferSlot, u.Inputs[0], run);
            var inPlace = u.Donate && u.Inputs[0] is FeedPrim f && run.State.MayDonate(f.Tensor) && run.State.DeviceFeeds?.ContainsKey(f.Tensor) == true;
            DeviceBuffer target;
            if (inPlace) target = source;
            else
            {
                target = Output(u, run);
                target.CopyFrom(source);
            }
            slots[output] = new Slot { Device = target, Feed = inPlace ? ((FeedPrim)u.Inputs[0]).Tensor : null };
            if (value.Size == 0) return;
            if (HostIndex(slots[inputs[1]]!) is { } row && row >= 0 && row < rows)
            {
                // A row the host knows (a counted loop's step): written straight into the array, no kernel. An index
                // out of range takes the kernel, which reports it.
                target.Slice(row * value.Size, value.Size).CopyFrom(OnDevice(slots[inputs[2]]!, value, run));
                return;
            }
            var kernel = Hand(nameof(DeviceKernels.UpdateRow), u, element, index.DType.ClrType(), DeviceOps.ArithOf(index.DType));
            var flag = ErrorFlag(run, u, () => $"{u.OriginName}: a TensorArray index is out of range; the array has size {rows}.");
            Launch(kernel, value.Size, OnDevice(slots[inputs[2]]!, value, run).View, OnDevice(slots[inputs[1]]!, index, run).View, target.View, flag, shape);
        };
    }

    private Action<Slot?[], Run> CompileFused(KernelGroup g)
    {
        // A few long rows: the kernel stores the reduction's input and a multi-thread reduction follows.
        var tail = g.Tail;
        var separate = tail != null && tail.Size < Threads(long.MaxValue) && tail.Inputs[0].Size / Math.Max(1, tail.Size) >= 2048;
        var emitter = new FusedKernelEmitter(g, separate);
        var reduceTail = separate ? ReduceOn(tail!) : null;
        var head = g.Head != null ? CompileMatMul(g.Head) : null;
        var inputs = _plan.ValuesOf(emitter.Inputs);
        var stored = new HashSet<Prim>(g.Outputs);
        // A value the plan does not store (the reduction's input) gets a buffer for this run: value -1.
        var outputs = emitter.Outputs.Select(o => (Prim: o, Value: stored.Contains(o) ? _plan.ValueOf(o) : -1)).ToArray();
        var work = emitter.Work;
        var threads = (long)Threads(work);
        var origin = g.Members.First(m => m != g.Head);
        var commitsVariables = outputs.Any(o => o.Prim is AssignVariablePrim);
        return (slots, run) =>
        {
            head?.Invoke(slots, run);
            var args = new object[inputs.Length + outputs.Length + (emitter.NeedsErrorFlag ? 2 : 1)];
            var at = 0;
            for (var k = 0; k < inputs.Length; k++) args[at++] = OnDevice(slots[inputs[k]]!, emitter.Inputs[k], run).View;
            var buffers = new DeviceBuffer[outputs.Length];
            for (var k = 0; k < outputs.Length; k++)
            {
                if (outputs[k].Value >= 0) buffers[k] = Output(outputs[k].Prim, run);
                else run.Temporaries.Add(buffers[k] = DeviceBuffer.Allocate(_device, outputs[k].Prim.DType, outputs[k].Prim.Size));
                args[at++] = buffers[k].View;
            }
            if (emitter.NeedsErrorFlag) args[at++] = ErrorFlag(run, origin);
            args[at] = threads;
            if (work > 0)
            {
                var kernel = _device.Load(emitter.Key, emitter.Emit, origin);
                Launch(kernel, work, args);
            }
            if (reduceTail != null)
            {
                var y = Output(tail!, run);
                reduceTail(buffers[Array.IndexOf(emitter.Outputs, tail!.Inputs[0])], y, run);
                slots[_plan.ValueOf(tail)] = new Slot { Device = y };
            }
            // A variable update is not committed behind a failed kernel (the cpu device would have stopped before it).
            if (commitsVariables) CheckDeviceErrors(run);
            for (var k = 0; k < outputs.Length; k++)
            {
                var (o, v) = outputs[k];
                if (v < 0) continue;
                var slot = slots[v] = new Slot { Device = buffers[k] };
                if (o is AssignVariablePrim assign)
                {
                    // The new value stays on the device; its host array is brought up to date only when read
                    // (GetVariableValue, checkpoints, a host kernel), not every step.
                    var host = run.State.VariableTarget(assign.Variable, o.DType, o.Dims);
                    run.State.CommitVariable(assign.Variable, new HostTensor(host, o.Dims));
                    run.Temporaries.Remove(buffers[k]);
                    run.State.Session.DeviceCopies().SetDeviceValue(host, buffers[k]);
                    slot.Variable = assign.Variable;
                    slot.Host = host;
                }
            }
        };
    }
}
