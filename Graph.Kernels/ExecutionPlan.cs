using System.Text;
using Graph.Core;
using Graph.Kernels.Fusion;

namespace Graph.Kernels;

/// <summary>What the planner needs from the session's options.</summary>
/// <param name="Fusion">Whether element-wise primitives fuse.</param>
/// <param name="Backend">The backend the plan's kernels run on.</param>
internal sealed record PlanOptions(bool Fusion, IBackend Backend)
{
    /// <summary>Fused plans on the cpu device (tests).</summary>
    public static PlanOptions Cpu { get; } = new(true, Kernels.Cpu.CpuBackend.Instance);
}

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
/// primitives, grouped by the fusion pass into kernels over buffers assigned by liveness, and the backend's runner of
/// those kernels. Reused by every Run with the same key. The layout (values, their storage, the plan buffers) is the
/// same on every device; only the runner is the backend's.
/// </summary>
public sealed class ExecutionPlan
{
    private readonly List<KernelGroup> _groups;
    private readonly Dictionary<Prim, int> _valueIndex = new();
    private readonly List<Prim> _valuePrims = new();
    // Per value its storage, per plan buffer its element type and length: lists of small classes, not of tuples, whose
    // framework code over value types no ReadyToRun image holds (JIT-compiled with every process's first plan).
    private readonly List<ValueStorage> _storage = new();
    private readonly List<PlanBuffer> _buffers = new();

    private sealed class ValueStorage(StorageKind kind)
    {
        public StorageKind Kind { get; } = kind;
        public int Buffer { get; set; } = -1;
    }

    private sealed class PlanBuffer(DType dtype, int length)
    {
        public DType DType { get; } = dtype;
        public int Length { get; } = length;
    }
    private readonly int[] _fetchValues;
    private readonly Dictionary<int, int> _fetchOf = new();   // value index -> the first fetch of it
    private readonly Prim[] _fetchPrims;
    private readonly IPlanRunner _runner;

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
                    : g.Kind == GroupKind.Single && o is not (GatherPrim or ConcatPrim) ? StorageKind.KernelOwned
                    : StorageKind.Pooled;
                _storage.Add(new ValueStorage(kind));
            }
        AssignBuffers();
        _fetchValues = ValuesOf(fetches);
        for (var i = _fetchValues.Length - 1; i >= 0; i--) _fetchOf[_fetchValues[i]] = i;
        // (Loops for the byte counts: LINQ's Sum over a selector to long is framework generic code no ReadyToRun image
        // holds, JIT-compiled at every process's first plan.)
        static long Bytes(IEnumerable<Prim> values, bool skipScalarConstants)
        {
            long bytes = 0;
            foreach (var v in values)
                if (!(skipScalarConstants && v is ConstantPrim { Size: 1 })) bytes += v.Size * v.DType.Size();
            return bytes;
        }
        Kernels = groups.Where(g => g.Kind != GroupKind.Binding)
            .Select(g => new PlanKernel(g, Bytes(g.Inputs, skipScalarConstants: true), Bytes(g.Outputs, skipScalarConstants: false))).ToList();
        _runner = options.Backend.CreateRunner(this);
    }

    internal PlanOptions Options { get; }

    /// <summary>The primitives of this plan that read <paramref name="value"/>, with the input position (fetches are not readers).</summary>
    internal IReadOnlyList<(Prim Reader, int Input)> ReadersOf(Prim value)
    {
        if (_readers == null)
        {
            _readers = new Dictionary<Prim, List<(Prim Reader, int Input)>>();
            foreach (var g in _groups)
                foreach (var m in g.Members)
                    for (var i = 0; i < m.Inputs.Count; i++)
                    {
                        if (!_readers.TryGetValue(m.Inputs[i], out var list)) _readers[m.Inputs[i]] = list = new();
                        list.Add((m, i));
                    }
        }
        return _readers.TryGetValue(value, out var readers) ? readers : [];
    }
    private Dictionary<Prim, List<(Prim Reader, int Input)>>? _readers;

    /// <summary>
    /// The fetch index of <paramref name="product"/> when it is fetched once and read by nothing else (so a loop
    /// gradient's running sum may take it in place: <see cref="RunState.AccumulateInto"/>, <see cref="RunState.AccumulateTargets"/>), else null.
    /// </summary>
    internal int? SummableFetchOf(MatMulPrim product)
    {
        if (ReadersOf(product).Count > 0) return null;
        var count = 0;
        foreach (var f in _fetchPrims)
            if (f == product) count++;
        return count == 1 ? FirstFetchOf(_valueIndex[product]) : null;
    }

    /// <summary>Fed tensors whose arrays a kernel of this plan may overwrite in place (a TensorArray written where it lies).</summary>
    internal IReadOnlySet<Tensor> FeedsWrittenInPlace => _feedsWrittenInPlace ??= _groups.SelectMany(g => g.Members)
        .OfType<UpdateSlicePrim>().Where(u => u.Donate).Select(u => u.Inputs[0]).OfType<FeedPrim>().Select(f => f.Tensor).ToHashSet();
    private HashSet<Tensor>? _feedsWrittenInPlace;

    /// <summary>Frees what the plan's runner holds (device buffers, constants, loop plans; nothing on cpu).</summary>
    internal void Dispose() => _runner.Dispose();

    /// <summary>The backend's runner of this plan.</summary>
    internal IPlanRunner Runner => _runner;

    /// <summary>Runs the plan and returns the fetched values (copies where the session or caller still holds the array).</summary>
    internal HostTensor[] Execute(RunState state) => _runner.Execute(state);

    /// <summary>The value index of a stored primitive output.</summary>
    internal int ValueOf(Prim p) => _valueIndex[p];

    /// <summary>
    /// The value indices of <paramref name="prims"/>, in order. (A loop: LINQ from primitives to ints is framework
    /// generic code over a value type, which no ReadyToRun image holds, JIT-compiled by every process's first plan.)
    /// </summary>
    internal int[] ValuesOf(IReadOnlyList<Prim> prims)
    {
        var values = new int[prims.Count];
        for (var i = 0; i < values.Length; i++) values[i] = _valueIndex[prims[i]];
        return values;
    }

    /// <summary>How value <paramref name="value"/> is stored, and its plan buffer when pooled.</summary>
    internal (StorageKind Kind, int Buffer) StorageOf(int value) => (_storage[value].Kind, _storage[value].Buffer);

    /// <summary>Number of values (stored outputs of all groups).</summary>
    internal int ValueCount => _storage.Count;

    /// <summary>The value index of each fetch.</summary>
    internal IReadOnlyList<int> FetchValues => _fetchValues;

    /// <summary>The primitive of each fetch.</summary>
    internal IReadOnlyList<Prim> FetchPrims => _fetchPrims;

    /// <summary>The first fetch that reads value <paramref name="value"/>, or null.</summary>
    internal int? FirstFetchOf(int value) => _fetchOf.TryGetValue(value, out var f) ? f : null;

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
    internal long BufferBytes
    {
        get
        {
            long bytes = 0;
            foreach (var b in _buffers) bytes += (long)b.Length * b.DType.Size();
            return bytes;
        }
    }

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
                var kind = _storage[v].Kind;
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
                    _buffers.Add(new PlanBuffer(o.DType, checked((int)o.Size)));
                }
                _storage[v].Buffer = buffer;
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

    /// <summary>Dimensions of the fetched values.</summary>
    internal int[][] FetchDims => _fetchPrims.Select(p => p.Dims).ToArray();

    /// <summary>
    /// Whether a value's array may be a constant's, feed's or variable's (checks pass their input through; an
    /// in-place TensorArray write only ever reuses the array its loop owns).
    /// </summary>
    internal static bool SharedSource(Prim p) => p is CheckPrim;
}
