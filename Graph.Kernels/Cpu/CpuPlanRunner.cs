using Graph.Core;
using Graph.Kernels.Fusion;

namespace Graph.Kernels.Cpu;

/// <summary>The <c>cpu</c> device: managed SIMD kernels and OpenBLAS (or the managed GEMM) in this process's memory.</summary>
internal sealed class CpuBackend : IBackend
{
    public static readonly CpuBackend Instance = new();

    private CpuBackend() { }

    public const string DeviceName = "cpu";

    public string Name => DeviceName;
    public bool UsesHostMemory => true;
    public void CheckSettings() => Gemm32.CheckSetting();
    public void Prepare() => CpuWarmUp.Kernels();
    public IPlanRunner CreateRunner(ExecutionPlan plan) => new CpuPlanRunner(plan);
    public IRunErrorLog? CreateErrorLog() => null;
    public IVariableResidency? CreateResidency() => null;
    public int CompiledKernelCount => 0;
    public long LaunchCount => 0;
    public long WaitCount => 0;
    public string GemmDescription => Gemm32.Description;
}

/// <summary>Finds the cpu device: always present.</summary>
internal sealed class CpuBackendFactory : IBackendFactory
{
    public bool Handles(string name) => name == CpuBackend.DeviceName;

    public IEnumerable<DeviceInfo> Found() =>
    [
        new(CpuBackend.DeviceName, $"managed SIMD ({(System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? "Vector256" : "scalar")}) on {Environment.ProcessorCount} cores; " +
                                   $"GEMM: {CpuBackend.Instance.GemmDescription}"),
    ];

    public IEnumerable<string> Unusable() => [];

    public void Require(string name) { }

    public IBackend Open(string name) => CpuBackend.Instance;
}

/// <summary>
/// Runs a plan on the cpu: one compiled step per kernel group over an array per value, plan buffers kept between runs.
/// </summary>
internal sealed class CpuPlanRunner : IPlanRunner
{
    private readonly ExecutionPlan _plan;
    private readonly Action<Array?[], RunState>[] _steps;
    private Array[]? _bufferArrays;

    public CpuPlanRunner(ExecutionPlan plan)
    {
        _plan = plan;
        _sliceViews = SliceViews(plan);
        _valueOffsets = new int[plan.ValueCount];
        var unread = UnreadLoopInputs(plan);
        var sums = ProductSums(plan, _sliceViews);
        var addedInto = sums.Values.ToHashSet();
        var batches = ProductBatches(plan, sums, _sliceViews);
        var batchedEarlier = new HashSet<KernelGroup>();
        foreach (var (last, run) in batches)
            foreach (var g in run)
                if (g != last) batchedEarlier.Add(g);
        _steps = new Action<Array?[], RunState>[plan.Groups.Count];
        _skipped = new bool[plan.Groups.Count];
        for (var i = 0; i < _steps.Length; i++)
        {
            var g = plan.Groups[i];
            // A kernel whose every result is only the initial value of a loop variable nothing reads need not run:
            // dynamic_rnn's output TensorArray when only the final state is used (2.5 MB of zeros a step for the
            // MNIST RNN). Its values stay null; the loop expects that. A product a later kernel computes in its own
            // chains (ProductSums) does not run either, nor one the last kernel of its batch runs (ProductBatches).
            _skipped[i] = g.Kind == GroupKind.Fused && g.Members.All(IsPure) && g.Outputs.All(unread.Contains) || addedInto.Contains(g) ||
                          batchedEarlier.Contains(g);
            _steps[i] = _skipped[i] ? static (_, _) => { }
                : sums.TryGetValue(g, out var first) ? CompileProductSum(g, first)
                : batches.TryGetValue(g, out var batch) ? CompileProductBatch(batch)
                : CompileStep(g);
        }
    }

    /// <summary>
    /// Kernels that compute another kernel's product in their own: a group whose head product P₂ is read only by
    /// (P₁ + bias) + P₂, where P₁ + bias is all of an earlier group (its head and a bias add, read only there), runs as
    /// (P₁ ⊕ P₂) + bias: one product over both depths (<see cref="Gemm32.MultiplySum"/>) with the bias in the epilogue,
    /// and the earlier group does not run. An RNN step's x_t·W_x + b + h·W_h (SimpleRNNCell): the short x_t·W_x product
    /// (depth 28 for the MNIST RNN) ran as a kernel of its own, 12 µs a step, and costs ~5 µs inside the other. The sum
    /// is reassociated, so its rounding differs from TF's order by float32 rounding. Conditions: both products float32
    /// of one shape on the AVX-512 kernel, nothing else reads P₁, P₁ + bias or P₂, none is fetched, the later group
    /// stores nothing but its head and its result and computes nothing but element-wise unary and binary members after
    /// the sum, and no kernel up to the later one writes the buffers of the values P₁ reads (which now live longer) or
    /// changes anything in place (a variable update, an in-place TensorArray write, a loop).
    /// Keyed by the later group; the value is the earlier one.
    /// </summary>
    private static Dictionary<KernelGroup, KernelGroup> ProductSums(ExecutionPlan plan, HashSet<GatherPrim> sliceViews)
    {
        var sums = new Dictionary<KernelGroup, KernelGroup>();
        var groupOf = new Dictionary<Prim, KernelGroup>();
        foreach (var g in plan.Groups)
            foreach (var m in g.Members)
                groupOf[m] = g;
        var fetched = plan.FetchPrims.ToHashSet();
        for (var index = 0; index < plan.Groups.Count; index++)
        {
            var later = plan.Groups[index];
            if (later.Kind != GroupKind.Fused || later.Head is not { } p2 || later.Tail != null || fetched.Contains(p2)) continue;
            if (plan.ReadersOf(p2) is not [({ } reader, _)] || reader is not BinaryPrim { Op: BinaryOp.Add } sum || !later.Contains(sum)) continue;
            var biased = sum.Inputs[0] == p2 ? sum.Inputs[1] : sum.Inputs[0];
            if (biased == p2 || later.Contains(biased) || fetched.Contains(biased) || !groupOf.TryGetValue(biased, out var earlier)) continue;
            if (earlier.Kind != GroupKind.Fused || earlier.Head is not { } p1 || earlier.Tail != null || earlier.Members.Count != 2 ||
                biased is not BinaryPrim { Op: BinaryOp.Add } || !earlier.Contains(biased) || fetched.Contains(p1))
                continue;
            var bias = biased.Inputs[0] == p1 ? biased.Inputs[1] : biased.Inputs[1] == p1 ? biased.Inputs[0] : null;
            if (bias == null || bias == p1 || bias.DType != DType.Float32 || !biased.Dims.AsSpan().SequenceEqual(p2.Dims) || !sum.Dims.AsSpan().SequenceEqual(p2.Dims) ||
                bias.Size != p2.Dims[^1] || bias.Dims.Length > 2 || bias.Dims[^1] != p2.Dims[^1])
                continue;
            if (plan.ReadersOf(p1).Count != 1 || plan.ReadersOf(biased).Count != 1 || !Gemm32.CanSum(p2, p1)) continue;
            // After the sum only element-wise unary and binary members (re-made over the new sum), and nothing stored but
            // the head (the product's array) and the root.
            var afterSum = later.Members.SkipWhile(m => m != sum).Skip(1).ToList();
            if (later.Members.Any(m => m != p2 && m != sum && !afterSum.Contains(m)) || afterSum.Any(m => m is not (UnaryPrim or BinaryPrim)) ||
                later.Outputs.Any(o => o != p2 && o != later.Members[^1]))
                continue;
            var operands = new[] { p1.Inputs[0], p1.Inputs[1], bias };
            if (operands.Any(o => o is GatherPrim g && sliceViews.Contains(g))) continue;
            // The values P₁ reads are now read at the later kernel: no kernel from the earlier one to it may reuse their buffers.
            // (Loops, not LINQ over ints: its instantiations were JIT-compiled in the first training step.)
            var from = earlier.Index;
            if (from >= index || plan.Groups[from] != earlier) continue;
            // Nor may a kernel in between change them in place: only views, pure element-wise and product kernels,
            // gathers and concats (which write plan buffers, checked next) may lie between.
            var clobbered = false;
            for (var k = from + 1; k < index && !clobbered; k++)
            {
                var between = plan.Groups[k];
                clobbered = between.Kind switch
                {
                    GroupKind.Binding => false,
                    GroupKind.Fused => between.Members.Any(m => !IsPure(m) && m is not (MatMulPrim or ReducePrim)),
                    _ => between.Members[0] is not (GatherPrim or ConcatPrim),
                };
            }
            foreach (var operand in operands)
            {
                var (kind, held) = plan.StorageOf(plan.ValueOf(operand));
                if (kind != StorageKind.Pooled) continue;
                for (var k = from + 1; k <= index && !clobbered; k++)
                    foreach (var o in plan.Groups[k].Outputs)
                        if (plan.StorageOf(plan.ValueOf(o)) is (StorageKind.Pooled, var buffer) && buffer == held) clobbered = true;
            }
            if (!clobbered) sums[later] = earlier;
        }
        return sums;
    }

    /// <summary>
    /// The later kernel of a product sum (<see cref="ProductSums"/>): its head computed with the earlier kernel's product
    /// in the same chains, the bias added after, then its other members re-made over that sum.
    /// </summary>
    private Action<Array?[], RunState> CompileProductSum(KernelGroup later, KernelGroup earlier)
    {
        var plan = _plan;
        var (p2, p1) = (later.Head!, earlier.Head!);
        var sum = (BinaryPrim)plan.ReadersOf(p2)[0].Reader;
        var biased = sum.Inputs[0] == p2 ? sum.Inputs[1] : sum.Inputs[0];
        var bias = biased.Inputs[0] == p1 ? biased.Inputs[1] : biased.Inputs[0];
        // The members over the new sum, each re-made with its re-made inputs.
        var remade = new Dictionary<Prim, Prim> { [sum] = new BinaryPrim(BinaryOp.Add, p2, bias) };
        Prim Remade(Prim p) => remade.GetValueOrDefault(p, p);
        var group = new KernelGroup(GroupKind.Fused, p2) { Head = p2 };
        group.Add(remade[sum]);
        foreach (var m in later.Members.SkipWhile(m => m != sum).Skip(1))
        {
            var copy = m switch
            {
                UnaryPrim u => (Prim)new UnaryPrim(u.Op, Remade(u.Inputs[0])),
                BinaryPrim b => new BinaryPrim(b.Op, Remade(b.Inputs[0]), Remade(b.Inputs[1])),
                _ => throw new InternalException($"{m.Describe()} in a product sum."),
            };
            remade[m] = copy;
            group.Add(copy);
        }
        foreach (var input in later.Inputs.Where(i => i != biased).Concat([p1.Inputs[0], p1.Inputs[1], bias]))
            if (!group.Inputs.Contains(input)) group.Inputs.Add(input);
        foreach (var output in later.Outputs) group.Outputs.Add(Remade(output));
        group.Seal();
        var fused = new CpuFusedKernel(group, added: p1);
        var inputValues = plan.ValuesOf(fused.InputOrder);
        // Stored values keep the plan's value of the member they stand for.
        var original = new Dictionary<Prim, Prim>();
        foreach (var (member, copy) in remade) original[copy] = member;
        var outputs = new (Prim Prim, int Value)[fused.OutputOrder.Length];
        for (var i = 0; i < outputs.Length; i++)
        {
            var o = original.TryGetValue(fused.OutputOrder[i], out var member) ? member : fused.OutputOrder[i];
            outputs[i] = (o, plan.ValueOf(o));
        }
        var ins = new Array[inputValues.Length];
        var outs = new Array[outputs.Length];
        var (headSlot, rootSlot) = ProductInPlace(later, out var root) ? (Array.IndexOf(fused.OutputOrder, p2), Array.IndexOf(fused.OutputOrder, Remade(root))) : (-1, -1);
        return (values, state) =>
        {
            for (var i = 0; i < ins.Length; i++) ins[i] = values[inputValues[i]]!;
            AllocateOutputs(outputs, headSlot, rootSlot, outs, values, state);
            try
            {
                fused.Run(ins, outs);
            }
            finally
            {
                Array.Clear(ins);
                Array.Clear(outs);
            }
        };
    }

    /// <summary>
    /// Runs of kernels that are each a product alone (no epilogue), read none of each other's results and may run in
    /// one batch (<see cref="Gemm32.CanBatch"/>), with nothing between them but bindings and kernels that only compute
    /// values (<c>Passable</c>), none reading the run's products: the run's last kernel computes them all in one
    /// dispatch over the cores (<see cref="Gemm32.MultiplyBatch"/>), and the others do not run. An RNN's gradient step:
    /// dz·W_hᵀ, h_{t−1}ᵀ·dz and x_tᵀ·dz, three products of ~33, ~33 and ~11 µs whose parts met the other core's three
    /// times an iteration; the small one split poorly alone. Each product's values are the bits it computes alone. The
    /// earlier products now run at the last one's place: no product of a run may write a plan buffer another reads (a
    /// buffer its operand left free, reused by liveness), their results are distinct buffers, and no kernel passed over
    /// may write a buffer an earlier product reads or writes. Keyed by the run's last kernel.
    /// </summary>
    private static Dictionary<KernelGroup, KernelGroup[]> ProductBatches(ExecutionPlan plan, Dictionary<KernelGroup, KernelGroup> sums, HashSet<GatherPrim> sliceViews)
    {
        var inSums = sums.Keys.Concat(sums.Values).ToHashSet();
        // Batching is fusion across kernels: a plan without fusion runs every product as its own kernel.
        bool Batchable(KernelGroup g) =>
            plan.Options.Fusion && g.Kind == GroupKind.Fused && g.Head is MatMulPrim head && g.Members.Count == 1 && g.Tail == null && g.Outputs.Count == 1 &&
            Gemm32.CanBatch(head) && !inSums.Contains(g) && !head.Inputs.Any(i => i is GatherPrim view && sliceViews.Contains(view));
        // The plan buffer a value's array is (through reshapes, which bind the same array), or −1.
        int BufferOf(Prim p)
        {
            while (p is ReshapePrim) p = p.Inputs[0];
            return plan.StorageOf(plan.ValueOf(p)) is (StorageKind.Pooled, var buffer) ? buffer : -1;
        }
        // A kernel the run may pass over (the earlier products then run after it): one whose running changes nothing
        // but its values (pure element-wise work and reductions, gathers, concats). dynamic_rnn's gradient step reads x_t
        // between h_{t−1}ᵀ·dz and x_tᵀ·dz.
        static bool Passable(KernelGroup g) =>
            g.Kind == GroupKind.Fused && g.Head == null && g.Members.All(m => IsPure(m) || m is ReducePrim) ||
            g.Kind == GroupKind.Single && g.Members[0] is GatherPrim or ConcatPrim;
        var batches = new Dictionary<KernelGroup, KernelGroup[]>();
        var run = new List<KernelGroup>();
        // The kernels passed over, each with the number of the run's products before it. (Two lists and loops, not a
        // list of tuples and LINQ: framework code over value types is JIT-compiled in the first step's plan compile.)
        var passed = new List<KernelGroup>();
        var passedAfter = new List<int>();
        var produced = new HashSet<Prim>();
        void Close()
        {
            if (run.Count >= 2)
            {
                var outputs = new int[run.Count];
                for (var i = 0; i < outputs.Length; i++) outputs[i] = BufferOf(run[i].Head!);
                var clash = false;
                for (var i = 0; i < run.Count && !clash; i++)
                    for (var j = 0; j < run.Count && !clash; j++)
                        clash = i != j && outputs[j] >= 0 && (outputs[i] == outputs[j] || run[i].Head!.Inputs.Any(x => BufferOf(x) == outputs[j]));
                // A kernel passed over writes its buffers before the products ahead of it now run: none of those may read
                // or write one of them.
                for (var k = 0; k < passed.Count; k++)
                    for (var i = 0; i < passedAfter[k] && passedAfter[k] < run.Count && !clash; i++)
                        foreach (var o in passed[k].Outputs)
                            if (BufferOf(o) is var written and >= 0 && (written == outputs[i] || run[i].Head!.Inputs.Any(x => BufferOf(x) == written)))
                                clash = true;
                if (!clash) batches[run[^1]] = run.ToArray();
            }
            run.Clear();
            passed.Clear();
            passedAfter.Clear();
            produced.Clear();
        }
        foreach (var g in plan.Groups)
        {
            var readsRun = g.Members.Any(m => m.Inputs.Any(produced.Contains));
            if (g.Kind == GroupKind.Binding && !readsRun) continue;
            if (Batchable(g) && !readsRun)
            {
                run.Add(g);
                produced.Add(g.Head!);
                continue;
            }
            if (run.Count > 0 && Passable(g) && !readsRun)
            {
                passed.Add(g);
                passedAfter.Add(run.Count);
                continue;
            }
            Close();
            if (!Batchable(g)) continue;
            run.Add(g);
            produced.Add(g.Head!);
        }
        Close();
        return batches;
    }

    /// <summary>
    /// The last kernel of a batch of products (<see cref="ProductBatches"/>): every product of the run in one dispatch,
    /// each into its array (or added into the running sum a loop gradient hands for it, as a product kernel alone is).
    /// </summary>
    private Action<Array?[], RunState> CompileProductBatch(KernelGroup[] run)
    {
        var plan = _plan;
        var heads = run.Select(g => (MatMulPrim)g.Head!).ToArray();
        var (a, b, c) = (heads.Select(h => plan.ValueOf(h.Inputs[0])).ToArray(), heads.Select(h => plan.ValueOf(h.Inputs[1])).ToArray(),
            plan.ValuesOf(heads));
        var sumFetches = new int[run.Length];
        for (var i = 0; i < run.Length; i++) sumFetches[i] = SummedFetch(run[i]);
        // Kept by the step (a plan never runs one step twice at once), its arrays dropped after each run.
        var products = new Avx512Gemm.BatchedProduct[run.Length];
        return (values, state) =>
        {
            for (var i = 0; i < products.Length; i++)
            {
                var h = heads[i];
                var sum = sumFetches[i] >= 0 ? state.AccumulateTargets?[sumFetches[i]] : null;
                var result = values[c[i]] = sum ?? Allocate(h, c[i], state);
                var (_, m, n, k) = h.Sizes;
                products[i] = new Avx512Gemm.BatchedProduct
                {
                    Ta = h.TransposeA, Tb = h.TransposeB, Accumulate = sum != null, M = m, N = n, K = k,
                    A = (float[])values[a[i]]!, B = (float[])values[b[i]]!, C = (float[])result,
                };
            }
            try
            {
                Gemm32.MultiplyBatch(products, products.Length);
            }
            finally
            {
                Array.Clear(products);
            }
        };
    }

    /// <summary>The kernels that never run (see the constructor); the profile leaves them out.</summary>
    private readonly bool[] _skipped;

    /// <summary>Whether running <paramref name="p"/> has no effect beyond its value (no check, variable write or random draw).</summary>
    private static bool IsPure(Prim p) => p is StridedPrim or UnaryPrim or BinaryPrim or CastPrim or IotaPrim or SelectPrim or ConstantPrim;

    /// <summary>
    /// Values read by nothing but loops, as the initial value of a loop variable the loop never reads
    /// (<see cref="Loops.LoopRunner.LiveVariables"/>), and not fetched.
    /// </summary>
    private static HashSet<Prim> UnreadLoopInputs(ExecutionPlan plan)
    {
        var live = new Dictionary<LoopPrim, int[]>();
        // Whether a read is a loop's, as the initial value of a variable that loop never reads.
        bool Unread((Prim Reader, int Input) read)
        {
            if (read.Reader is not LoopPrim loop || read.Input >= loop.Frame.LoopVars.Count) return false;
            if (!live.TryGetValue(loop, out var vars)) live[loop] = vars = Loops.LoopRunner.LiveVariables(loop);
            return Array.IndexOf(vars, read.Input) < 0;
        }
        var unread = new HashSet<Prim>();
        foreach (var g in plan.Groups)
            foreach (var m in g.Members)
                if (m is LoopPrim loop)
                    foreach (var input in loop.Inputs)
                        if (!plan.FetchPrims.Contains(input) && plan.ReadersOf(input).All(Unread)) unread.Add(input);
        return unread;
    }

    /// <summary>
    /// Gathers read in place: one row along axis 0 of a fed or constant array (a TensorArray read in a loop body: the
    /// step's input projection at time t), read only by fused element-wise members. Their value is the whole array
    /// with the row's start in <see cref="_valueOffsets"/>, not a copy of the row (28 copies of 90 KB a step for the
    /// MNIST RNN). A fed or constant array is never a plan buffer, so nothing reuses it while the view is read.
    /// </summary>
    private static HashSet<GatherPrim> SliceViews(ExecutionPlan plan)
    {
        var fusedMembers = new HashSet<Prim>();
        foreach (var g in plan.Groups)
            if (g.Kind == GroupKind.Fused)
                foreach (var m in g.Members)
                    if (m != g.Head && m != g.Tail) fusedMembers.Add(m);
        var views = new HashSet<GatherPrim>();
        foreach (var g in plan.Groups)
            if (g.Kind == GroupKind.Single && g.Members[0] is GatherPrim { Axis: 0 } gather && gather.Inputs[1].Size == 1 &&
                gather.Inputs[0] is FeedPrim or ConstantPrim && gather.Inputs[0].Dims.Length >= 1 && !plan.FetchPrims.Contains(gather) &&
                plan.ReadersOf(gather).All(r => fusedMembers.Contains(r.Reader) && r.Reader is UnaryPrim or BinaryPrim or SelectPrim or CastPrim or StridedPrim))
                views.Add(gather);
        return views;
    }

    private readonly HashSet<GatherPrim> _sliceViews;

    /// <summary>Per value: where it starts in its array (non-zero only for a slice view).</summary>
    private readonly int[] _valueOffsets;

    /// <summary>
    /// Whether the group's product may be computed straight into its epilogue's result array, which the epilogue then
    /// overwrites element by element: nothing outside the group (nor a fetch) reads the product, every member that reads
    /// it reads the same element it writes (element-wise, no broadcast, no strided view), and the result has the
    /// product's size and type. Saves a buffer the size of the product (2.5 MB for the MNIST RNN's input projection)
    /// and a pass over it.
    /// </summary>
    private bool ProductInPlace(KernelGroup g, out Prim root)
    {
        root = g.Members[^1];
        if (g.Head is not { } head || g.Tail != null || root == head || g.Outputs.Count != 2 || !g.Outputs.Contains(root) ||
            root is AssignVariablePrim || root.Size != head.Size || root.DType != head.DType || _plan.FirstFetchOf(_plan.ValueOf(head)) != null)
            return false;
        foreach (var (reader, _) in _plan.ReadersOf(head))
            if (!g.Members.Contains(reader) || reader is not (UnaryPrim or BinaryPrim or SelectPrim or CastPrim) ||
                !reader.Dims.AsSpan().SequenceEqual(head.Dims))
                return false;
        return true;
    }

    /// <summary>Nothing to free: the plan buffers are managed arrays.</summary>
    public void Dispose() { }

    /// <summary>A loop gradient's runner; the warm-up learns that the caller has reached its training step.</summary>
    private static Func<Array[], RunState, Array> NewLoopGradRunner(LoopGradPrim p)
    {
        CpuWarmUp.NoteTrainingPlan();
        return new Loops.LoopGradRunner(p).Run;
    }

    private Action<Array?[], RunState> CompileStep(KernelGroup g)
    {
        var plan = _plan;
        if (g.Kind == GroupKind.Binding)
        {
            var p = g.Members[0];
            var v = plan.ValueOf(p);
            return p switch
            {
                ConstantPrim c => (values, _) => values[v] = c.Value.Data,
                FeedPrim f => (values, state) => values[v] = state.Feed(f.Tensor).Data,
                ReadVariablePrim r => (values, state) => values[v] = state.ReadVariable(r.Variable).Data,
                ReshapePrim r => (values, _) => values[v] = values[plan.ValueOf(r.Inputs[0])],
                TupleElementPrim e => (values, _) => values[v] = ((Array[])values[plan.ValueOf(e.Inputs[0])]!)[e.Index],
                _ => throw new InvalidOperationException($"{p.Describe()} is not a binding."),
            };
        }
        if (g.Kind == GroupKind.Single && g.Members[0] is LoopPrim or LoopGradPrim)
        {
            var p = g.Members[0];
            var inputs = plan.ValuesOf(p.Inputs);
            var output = plan.ValueOf(p);
            Func<Array[], RunState, Array> run = p switch
            {
                LoopPrim loop => new Loops.LoopRunner(loop).Run,
                _ => NewLoopGradRunner((LoopGradPrim)p),
            };
            // Kept by the step (a plan never runs one step twice at once), emptied after each run.
            var args = new Array[inputs.Length];
            return (values, state) =>
            {
                for (var i = 0; i < args.Length; i++) args[i] = values[inputs[i]]!;
                try
                {
                    values[output] = run(args, state);
                }
                finally
                {
                    Array.Clear(args);
                }
            };
        }
        if (g.Kind == GroupKind.Single && g.Members[0] is GatherPrim view && _sliceViews.Contains(view))
        {
            var (source, at, output) = (plan.ValueOf(view.Inputs[0]), plan.ValueOf(view.Inputs[1]), plan.ValueOf(view));
            var rows = view.Inputs[0].Dims[0];
            var row = checked((int)(view.Inputs[0].Size / Math.Max(rows, 1)));
            return (values, _) =>
            {
                var i = new CpuMovement.IndexReader(values[at]!, view)[0];
                // The index check before the gather has refused this already; a view must never point outside its array.
                if (i < 0 || i >= rows) throw new InvalidArgumentException($"{view.OriginName}: index {i} is out of range [0, {rows}).");
                values[output] = values[source];
                _valueOffsets[output] = checked((int)i * row);
            };
        }
        if (g.Kind == GroupKind.Single && g.Members[0] is GatherPrim gather)
        {
            // Into a plan buffer (or the fetch's array): a gather inside a loop body runs every step.
            var (source, at, output) = (plan.ValueOf(gather.Inputs[0]), plan.ValueOf(gather.Inputs[1]), plan.ValueOf(gather));
            return (values, state) => CpuMovement.GatherInto(gather, new HostTensor(values[source]!, gather.Inputs[0].Dims),
                new HostTensor(values[at]!, gather.Inputs[1].Dims), values[output] = Allocate(gather, output, state));
        }
        if (g.Kind == GroupKind.Single && g.Members[0] is ConcatPrim concat)
        {
            // Into a plan buffer (or the fetch's array), as a gather.
            var (sources, output) = (plan.ValuesOf(concat.Inputs), plan.ValueOf(concat));
            var parts = new Array[sources.Length];
            return (values, state) =>
            {
                for (var i = 0; i < parts.Length; i++) parts[i] = values[sources[i]]!;
                CpuMovement.ConcatInto(concat, parts, values[output] = Allocate(concat, output, state));
                Array.Clear(parts);
            };
        }
        if (g.Kind == GroupKind.Single)
        {
            var p = g.Members[0];
            var kernel = CpuSingleKernels.Compile(p);
            var inputs = plan.ValuesOf(p.Inputs);
            var output = plan.ValueOf(p);
            return (values, state) =>
            {
                var args = new HostTensor[inputs.Length];
                for (var i = 0; i < args.Length; i++) args[i] = new HostTensor(values[inputs[i]]!, p.Inputs[i].Dims);
                values[output] = kernel(args, state).Data;
            };
        }
        var fused = new CpuFusedKernel(g);
        var inputValues = plan.ValuesOf(fused.InputOrder);
        // (Loops here: LINQ over tuples and bools is framework generic code no ReadyToRun image holds, JIT-compiled by
        // every process's first plan.)
        var outputs = new (Prim Prim, int Value)[fused.OutputOrder.Length];
        var assignCount = 0;
        for (var i = 0; i < outputs.Length; i++)
        {
            outputs[i] = (fused.OutputOrder[i], plan.ValueOf(fused.OutputOrder[i]));
            if (outputs[i].Prim is AssignVariablePrim) assignCount++;
        }
        var assigns = new (Prim Prim, int Value)[assignCount];
        assignCount = 0;
        foreach (var o in outputs)
            if (o.Prim is AssignVariablePrim) assigns[assignCount++] = o;
        // Argument arrays kept by the step (a plan never runs one step twice at once), emptied after each run so
        // they hold no values alive.
        var ins = new Array[inputValues.Length];
        var outs = new Array[outputs.Length];
        // Where each input starts in its array, when one of them is a slice view.
        var viewInputs = new bool[inputValues.Length];
        var anyView = false;
        for (var i = 0; i < viewInputs.Length; i++)
            anyView |= viewInputs[i] = fused.InputOrder[i] is GatherPrim gp && _sliceViews.Contains(gp);
        var offsets = anyView ? new int[inputValues.Length] : null;
        var (headSlot, rootSlot) = ProductInPlace(g, out var root) ? (Array.IndexOf(fused.OutputOrder, g.Head!), Array.IndexOf(fused.OutputOrder, root)) : (-1, -1);
        var sumFetch = SummedFetch(g);
        return (values, state) =>
        {
            for (var i = 0; i < ins.Length; i++) ins[i] = values[inputValues[i]]!;
            if (sumFetch >= 0 && state.AccumulateTargets?[sumFetch] is { } sum)
            {
                // The caller's running sum of this fetch: the product is added into it, and the sum is the fetched value.
                fused.AddProductInto(ins, sum);
                values[outputs[0].Value] = sum;
                Array.Clear(ins);
                return;
            }
            if (offsets != null)
                for (var i = 0; i < ins.Length; i++) offsets[i] = viewInputs[i] ? _valueOffsets[inputValues[i]] : 0;
            AllocateOutputs(outputs, headSlot, rootSlot, outs, values, state);
            try
            {
                fused.Run(ins, outs, offsets);
            }
            finally
            {
                Array.Clear(ins);
                Array.Clear(outs);
            }
            foreach (var (o, v) in assigns) state.CommitVariable(((AssignVariablePrim)o).Variable, new HostTensor(values[v]!, o.Dims));
        };
    }

    /// <summary>
    /// Gives each stored value of a fused kernel its array (a plan buffer, the fetch's array or the variable's), and the
    /// head product the array of the result it is computed into (<see cref="ProductInPlace"/>, slots ≥ 0) unless that
    /// is a caller's fetch target, which might be one of the operands.
    /// </summary>
    private void AllocateOutputs((Prim Prim, int Value)[] outputs, int headSlot, int rootSlot, Array[] outs, Array?[] values, RunState state)
    {
        for (var i = 0; i < outs.Length; i++)
            if (i != headSlot) outs[i] = values[outputs[i].Value] = Allocate(outputs[i].Prim, outputs[i].Value, state);
        if (headSlot >= 0)
            outs[headSlot] = values[outputs[headSlot].Value] = IsFetchTarget(outputs[rootSlot].Value, outs[rootSlot], state)
                ? Allocate(outputs[headSlot].Prim, outputs[headSlot].Value, state)
                : outs[rootSlot];
    }

    /// <summary>
    /// The fetch index of a kernel that is a product alone, fetched once and read by nothing else, whose GEMM can add into
    /// an array (<see cref="Gemm32.AddsInPlace"/>): a loop gradient's body may hand a running sum for it
    /// (<see cref="RunState.AccumulateTargets"/>). −1 otherwise.
    /// </summary>
    private int SummedFetch(KernelGroup g) =>
        g.Head is { } head && g.Members.Count == 1 && Gemm32.AddsInPlace(head) && _plan.SummableFetchOf(head) is { } fetch ? fetch : -1;

    /// <summary>Whether <paramref name="array"/>, value <paramref name="v"/>'s, is an array the caller asked the run to fetch into.</summary>
    private bool IsFetchTarget(int v, Array array, RunState state) =>
        state.FetchTargets is { } into && _plan.FirstFetchOf(v) is { } f && ReferenceEquals(into[f], array);

    private Array Allocate(Prim o, int v, RunState state)
    {
        var (kind, buffer) = _plan.StorageOf(v);
        return kind switch
        {
            StorageKind.Pooled => _bufferArrays![buffer] ??= Array.CreateInstance(o.DType.ClrType(), checked((int)o.Size)),
            StorageKind.Variable => state.VariableTarget(((AssignVariablePrim)o).Variable, o.DType, o.Dims),
            StorageKind.Fresh => state.FetchTargets is { } into && _plan.FirstFetchOf(v) is { } f && into[f] is { } target ? target
                : state.AllocateFetched(o.DType, checked((int)o.Size)),
            _ => Array.CreateInstance(o.DType.ClrType(), checked((int)o.Size)),
        };
    }

    public HostTensor[] Execute(RunState state)
    {
        _bufferArrays ??= new Array[_plan.BufferCount];
        // One values array per plan (runs of a session never overlap and a plan never runs inside itself), emptied when
        // the run ends so that it holds no value alive: loop bodies execute their plans tens of times a step.
        var values = _values ??= new Array?[_plan.ValueCount];
        try
        {
            return Execute(state, values);
        }
        finally
        {
            Array.Clear(values);
        }
    }

    private Array?[]? _values;

    private HostTensor[] Execute(RunState state, Array?[] values)
    {
        var profile = state.Context.Profile;
        if (profile == null)
            foreach (var step in _steps) step(values, state);
        else
            for (var i = 0; i < _steps.Length; i++)
            {
                var start = System.Diagnostics.Stopwatch.GetTimestamp();
                _steps[i](values, state);
                var g = _plan.Groups[i];
                if (g.Kind != GroupKind.Binding && g.Members[0] is not LoopPrim and not LoopGradPrim && !_skipped[i])
                    profile.Add(g, System.Diagnostics.Stopwatch.GetElapsedTime(start));
            }
        var fetches = _plan.FetchPrims;
        var results = new HostTensor[fetches.Count];
        for (var i = 0; i < results.Length; i++)
        {
            var p = fetches[i];
            var value = _plan.FetchValues[i];
            var data = values[value]!;
            if (state.FetchTargets?[i] is { } target)
            {
                if (!ReferenceEquals(data, target)) Array.Copy(data, target, target.Length);
                results[i] = new HostTensor(target, p.Dims);
                continue;
            }
            var owned = _plan.StorageOf(value).Kind is StorageKind.Fresh or StorageKind.KernelOwned && !ExecutionPlan.SharedSource(p)
                        || p is FeedPrim f && state.SharedFeeds?.Contains(f.Tensor) == true;
            results[i] = new HostTensor(owned ? data : state.CopyFetched(data), p.Dims);
        }
        return results;
    }
}
