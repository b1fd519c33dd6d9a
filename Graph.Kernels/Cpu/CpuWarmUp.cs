using System.Collections.Concurrent;
using System.Numerics.Tensors;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Graph.Core;

namespace Graph.Kernels.Cpu;

/// <summary>
/// Compiles the cpu device's kernels on a background thread before the first run needs them.
/// <para>
/// Why: the kernels' vector code (AVX-512 GEMM tiles, Vector256 element-wise loops, the fused expressions closed as
/// generic types when a plan is built) is not in a ReadyToRun image: crossgen2 leaves hardware-dependent vector code,
/// and instantiations made at run time, to the JIT. The first training step of the MNIST RNN JIT-compiled ~60 methods
/// (~60 ms) on the calling thread, the GEMM tiles alone ~16 ms. When a cpu session opens, the kernels every plan uses
/// are run once on tiny inputs here, and each fused expression is compiled as soon as its plan makes it, while the
/// caller builds the graph and its plans on the other core. Then one training step of a tiny model is rehearsed here
/// (<see cref="RehearseTraining"/>), which binds the cold ReadyToRun code of the planner and the loop runners. A method
/// the caller reaches first is compiled once, by whichever thread gets there first (the runtime compiles each method
/// once), so a late warm-up costs nothing but the other core's time.
/// </para>
/// Off on one core (it would only compete with the caller) and with <c>GRAPH_CPU_WARMUP=0</c>.
/// </summary>
internal static class CpuWarmUp
{
    /// <summary>Whether warm-up work runs at all (more than one core, not turned off by the environment).</summary>
    public static bool Enabled { get; } = Environment.ProcessorCount > 1 && Environment.GetEnvironmentVariable("GRAPH_CPU_WARMUP") != "0";

    private static readonly ConcurrentQueue<Action> Pending = new();
    /// <summary>Counts the queued calls: the warm-up thread blocks on it between them.</summary>
    private static readonly SemaphoreSlim Queued = new(0);
    private static int _draining, _kernelsQueued, _outstanding;

    /// <summary>
    /// How long the warm-up thread waits for more work before it ends. Plans come one after another at start-up (the
    /// initializers', then the training step's), and starting a thread cost the caller ~0.7 ms each time.
    /// </summary>
    private static readonly TimeSpan Linger = TimeSpan.FromSeconds(1);

    /// <summary>Queues the fixed kernels and the training rehearsal once per process (called when a cpu session opens).</summary>
    public static void Kernels()
    {
        if (Enabled && Interlocked.Exchange(ref _kernelsQueued, 1) == 0)
        {
            Enqueue(RunKernelsOnce);
            Enqueue(RehearseTraining);
        }
    }

    /// <summary>Runs <paramref name="compile"/> on the warm-up thread (a call whose only purpose is to get code compiled and bound).</summary>
    public static void Enqueue(Action compile)
    {
        if (!Enabled) return;
        Interlocked.Increment(ref _outstanding);
        Pending.Enqueue(compile);
        Queued.Release();
        if (Interlocked.CompareExchange(ref _draining, 1, 0) == 0)
            new Thread(Drain) { IsBackground = true, Name = "Graph cpu warm-up" }.Start();
    }

    private static Exception? _failure;

    /// <summary>Whether the fixed kernels and the rehearsal have been queued in this process (by a session or <see cref="Devices.Prepare"/>).</summary>
    internal static bool KernelsQueued => Volatile.Read(ref _kernelsQueued) != 0;

    /// <summary>The first exception a warm-up call threw in this process (none is expected).</summary>
    internal static Exception? Failure => Volatile.Read(ref _failure);

    /// <summary>Waits until everything queued so far has run; false on timeout.</summary>
    internal static bool WaitIdle(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Volatile.Read(ref _outstanding) != 0)
        {
            if (DateTime.UtcNow > deadline) return false;
            Thread.Sleep(1);
        }
        return true;
    }

    /// <summary>Set on the warm-up thread: plans it builds are its own, not the caller's.</summary>
    [ThreadStatic] private static bool _onWarmUpThread;

    /// <summary>Whether a caller's plan with a loop gradient (a training step) has been built in this process.</summary>
    private static int _callerTraining;

    /// <summary>
    /// Notes that the caller built a plan with a loop gradient: from then on the training rehearsal has nothing left
    /// to prepare (the caller is binding that code itself) and would only take the other core from the caller's step.
    /// </summary>
    internal static void NoteTrainingPlan()
    {
        if (!_onWarmUpThread) Volatile.Write(ref _callerTraining, 1);
    }

    private static void Drain()
    {
        _onWarmUpThread = true;
        while (true)
        {
            while (Queued.Wait(Linger))
            {
                if (!Pending.TryDequeue(out var compile)) continue;
                try
                {
                    compile();
                }
                catch (Exception e)
                {
                    // Warm-up calls compute nothing anyone reads: a failure here is met again, and reported, where a
                    // run calls the same code. The first is kept for tests.
                    Interlocked.CompareExchange(ref _failure, e, null);
                }
                Interlocked.Decrement(ref _outstanding);
            }
            Volatile.Write(ref _draining, 0);
            // Work queued between the last wait and the reset found the flag still set: take it on here.
            if (Pending.IsEmpty || Interlocked.CompareExchange(ref _draining, 1, 0) != 0) return;
        }
    }

    /// <summary>Every kernel an RNN training plan runs whatever its shapes, each once on a few elements (single-threaded sizes).</summary>
    private static void RunKernelsOnce()
    {
        if (Avx512Gemm.IsSupported)
        {
            // 18 rows: a 12-row and a 6-row panel; 32, 22 and 16 columns: the full, three-quarter and half column tiles;
            // both B layouts (PackB's two paths) and both stores (overwrite, add into C).
            // A is not zero: a zero A skips the tiles (IsZeroProduct), whose own path the last two calls take.
            var a = new float[18 * 16];
            a.AsSpan().Fill(1f);
            var b = new float[16 * 32];
            var c = new float[18 * 32];
            foreach (var n in (ReadOnlySpan<int>)[32, 22, 16])
            {
                Avx512Gemm.Multiply(false, false, 18, n, 9, a, 0, b, 0, c, 0);
                Avx512Gemm.Multiply(true, true, 18, n, 9, a, 0, b, 0, c, 0, accumulate: true);
            }
            // A sum of two products (an RNN step's x_t·W_x + h·W_h), whose tiles take both depths in one pass.
            Avx512Gemm.MultiplySum(false, false, 9, a, 0, b, 0, false, false, 7, a, 0, b, 0, 18, 32, c, 0);
            a.AsSpan().Clear();
            Avx512Gemm.Multiply(false, false, 18, 32, 9, a, 0, b, 0, c, 0);
            Avx512Gemm.Multiply(true, false, 18, 32, 9, a, 0, b, 0, c, 0, accumulate: true);
        }
        var x = new float[40];
        var y = new float[40];
        VectorLoops.Map<float, TanhOp>(x, y);
        VectorLoops.Map<float, ExpOp>(x, y);
        VectorLoops.Map<float, SigmoidOp>(x, y);
        VectorLoops.Zip<float, VectorLoops.Add<float>>(x, x, y);
        VectorLoops.Zip<float, VectorLoops.Subtract<float>>(x, x, y);
        VectorLoops.Zip<float, VectorLoops.Multiply<float>>(x, x, y);
        VectorLoops.Zip<float, VectorLoops.Divide<float>>(x, y, y);
        VectorLoops.Map<float, VectorLoops.Square<float>>(x, y);
        VectorLoops.Map<float, VectorLoops.SquareRoot<float>>(x, y);
        TensorPrimitives.Sum<float>(x);
        TensorPrimitives.Max<float>(x);
        // A bias gradient's leading-axis sum and an RNN input gradient's scatter-add of large slices, on their paths over
        // the cores (the rehearsal's tensors are too small to reach them).
        // (64 columns: two parts of whole 4-vector column groups; 32 would be one part, and the two-part path's code was
        // then JIT-compiled on the caller's first step.)
        CpuReduceMatMul.SumRows(new float[1024 * 64], new float[64], 1024, 64);
        CpuMovement.ScatterAddInto(new float[2 << 14], [2, 1 << 14], 0, new float[1 << 14], new[] { 1 }, new bool[2]);
        // The typed bodies behind the interpreter's dispatch on array type, compiled without a call (they take prims).
        foreach (var (owner, name, typeArgument) in TypedBodies) Prepare(owner, name, typeArgument);
        InstantiationsOfOtherAssemblies();
    }

    /// <summary>
    /// Generic instantiations a first training step reaches that no ReadyToRun image holds: generics of another
    /// assembly (CoreLib, Graph.Core) closed over value types here, which crossgen2 leaves to the JIT outside a shared
    /// version bubble. Measured: 16 such methods took 5–9 ms of the caller's first step. Each line makes the runtime
    /// compile one of them (shared canonical code where the type argument is a reference type).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void InstantiationsOfOtherAssemblies()
    {
        // The loop counter's increment (int add) and the optimizer's float64 scalar division.
        var ints = new int[4];
        VectorLoops.Zip<int, VectorLoops.Add<int>>(ints, ints.AsSpan(0), ints);
        var doubles = new double[4];
        VectorLoops.Zip<double, VectorLoops.Divide<double>>(doubles.AsSpan(0, 4), doubles, doubles);
        // A host-evaluated loop condition's read.
        _ = new HostTensor(new[] { true }).Item<bool>();
        _ = new HostTensor(new double[1]).Span<double>();
        // Buffers larger than 2 KB take the allocator's out-of-line path, one instantiation per element type.
        foreach (var dtype in (ReadOnlySpan<DType>)[DType.Float32, DType.Float64, DType.Int32, DType.Int64, DType.Bool])
            _ = RunState.Uninitialized(dtype, 4096);
        // Plan building: the readers of a value.
        IReadOnlyList<(Prim Reader, int Input)> readers = new (Prim, int)[1];
        _ = readers.Count > 0 && readers.All(r => r.Input == 0);
        IList<int> list = ints;
        _ = list[0];
        // A GEMM's sizes (MatMulPrim.Sizes) and kernel choice.
        var sizes = new ValueTuple<int, int, int, int>(ints[0], 1, 1, 1);
        _ = Gemm32.ForShape(sizes.Item2, sizes.Item3, sizes.Item4);
        // The loop runner: sparse captured gradients and the use counts of saved values.
        (Graph.Core.Tensor, Graph.Core.Tensor, int)? sparse = (null!, null!, 0);
        _ = sparse.Value;
        var uses = new Dictionary<Array, int>(ReferenceEqualityComparer.Instance) { [ints] = 1 };
        _ = CollectionsMarshal.GetValueRefOrNullRef(uses, ints);
    }

    /// <summary>
    /// Builds, compiles and runs one step of a tiny recurrent model's training (a while loop over a TensorArray, its
    /// gradient loop, a dense layer, sparse cross-entropy, Adam) in a graph and session of its own.
    /// <para>
    /// Why: the first run of a plan that cold code reaches costs more than the JIT: ReadyToRun code binds each call
    /// and type on first use, and the planner, fusion pass, loop runners and optimizer lowering are thousands of such
    /// first uses. Measured on the MNIST RNN: the first training step took ~37 ms after a one-second pause, ~25 ms when
    /// a batch-of-2 step of the same model had run before; this rehearsal takes ~20 ms of the other core. Its garbage
    /// also brings the process's first collections forward, to before the training's arrays exist: without it, the
    /// first gen0 collection came at the epoch's last (smaller) batch and paused ~7 ms promoting the first step's
    /// loop records (that step 13 → 6 ms, medians of fair one-epoch children).
    /// </para>
    /// </summary>
    private static void RehearseTraining()
    {
        // A caller that builds its model faster than the kernels above compile is already in its first training step;
        // rehearsing then ran beside that step on the core its products share (measured: model built ~45 ms earlier,
        // the rehearsal ran until the first step's end).
        if (Volatile.Read(ref _callerTraining) != 0) return;
        // 16 units: the fused element-wise kernels over [batch, units] (the step's bias add, tanh and its gradient) are
        // then as wide as a vector loop needs, so their loops are compiled here; narrower, the interpreter runs them.
        const int batch = 2, steps = 3, depth = 4, units = 16, classes = 3;
        var g = new ComputeGraph { Seed = 1 };
        using var scope = g.AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(-1, steps, depth), "x");
        var labels = TF.Placeholder(DType.Int32, new Shape(-1), "labels");
        var kernel = TF.Variable(TF.RandomNormal([depth, units], stddev: 0.1), name: "kernel");
        var recurrent = TF.Variable(TF.RandomNormal([units, units], stddev: 0.1), name: "recurrent");
        var bias = TF.Variable(TF.Zeros([units]), name: "bias");
        var timeFirst = TF.Transpose(x, [1, 0, 2]);
        // The step as dynamic_rnn builds it for cpu (SimpleRNNCell's order): both products inside the loop.
        var state = TF.ZerosLike(TF.MatMul(TF.Gather(timeFirst, TF.Constant(0)), kernel));
        var outputs = TensorArray.Zeros(timeFirst, state);
        var final = TF.WhileLoop(v => TF.Less(v[0], TF.Constant(steps)), v =>
        {
            var h = TF.Tanh(TF.MatMul(TF.Gather(timeFirst, v[0]), kernel) + bias + TF.MatMul(v[1], recurrent));
            return [v[0] + 1, h, new TensorArray(v[2]).Write(v[0], h).Flow];
        }, [TF.Constant(0), state, outputs.Flow]);
        var logits = TF.MatMul(final[1], TF.Variable(TF.RandomNormal([units, classes], stddev: 0.1), name: "dense"));
        var loss = TF.ReduceMean(TF.Nn.SparseSoftmaxCrossEntropyWithLogits(labels, logits));
        var training = new AdamOptimizer().Minimize(loss);
        var init = TF.GlobalVariablesInitializer();
        using var session = new Session(g, new SessionOptions { Device = "cpu" });
        session.Run(init);
        session.Run(training, new FeedDict
        {
            { x, HostTensor.From(new float[batch * steps * depth], [batch, steps, depth]) },
            { labels, HostTensor.From(new int[batch], [batch]) },
        });
    }

    /// <summary>Private generic kernel bodies and the instantiations a float32 training plan uses.</summary>
    private static readonly (Type Owner, string Name, Type TypeArgument)[] TypedBodies =
    [
        (typeof(SpanOps), "UnaryFloat", typeof(float)),
        (typeof(SpanOps), "ArithmeticFloat", typeof(float)),
        (typeof(SpanOps), "ArithmeticFloat", typeof(double)),
        (typeof(SpanOps), "ArithmeticInt", typeof(int)),
        (typeof(SpanOps), "Compare", typeof(int)),
        (typeof(SpanOps), "Compare", typeof(float)),
        (typeof(SpanOps), "CastFrom", typeof(int)),
        (typeof(SpanOps), "CastFrom", typeof(float)),
        (typeof(SpanOps), "CastFrom", typeof(double)),
        (typeof(CpuReduceMatMul), "ReduceRows", typeof(float)),
        (typeof(CpuReduceMatMul), "ReduceRuns", typeof(float)),
        (typeof(CpuFusedKernel), "ReduceSegments", typeof(float)),
        (typeof(CpuMovement), "ScatterAdd", typeof(float)),
    ];

    /// <summary>JIT-compiles private generic method <paramref name="name"/> of <paramref name="owner"/> for <paramref name="typeArgument"/>.</summary>
    private static void Prepare(Type owner, string name, Type typeArgument)
    {
        var method = owner.GetMethod(name, BindingFlags.NonPublic | BindingFlags.Static)
                     ?? throw new MissingMethodException(owner.Name, name);
        RuntimeHelpers.PrepareMethod(method.MakeGenericMethod(typeArgument).MethodHandle);
    }
}
