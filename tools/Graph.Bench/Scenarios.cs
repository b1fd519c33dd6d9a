using System.Diagnostics;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Graph.Core;
using Graph.Kernels;
using static Graph.Bench.Measure;

namespace Graph.Bench;

/// <summary>The scenarios. Each interleaves Graph and its peer sample by sample and reports medians.</summary>
internal sealed partial class Scenarios(Report report, int reps)
{
    /// <summary>Training steps averaged into one rnn-step sample.</summary>
    private const int StepsPerSample = 3;

    // ---------------------------------------------------------------- rnn-step

    public void RnnStep()
    {
        var batches = BenchData.FullBatches(seed: 0);
        using var graph = new GraphRnn();
        using var loop = new TorchRnnLoop();
        using var module = new TorchRnnModule();
        var at = new int[3];
        // Per contender: each step's time by its position in the sample (the first step follows the other contenders' runs).
        var byPosition = Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, StepsPerSample).Select(_ => new List<double>()).ToArray()).ToArray();
        Func<double> Sampler(Action<HostTensor, HostTensor> step, int who) => () =>
        {
            var sw = Stopwatch.StartNew();
            var last = 0.0;
            for (var s = 0; s < StepsPerSample; s++)
            {
                var (x, y) = batches[at[who]++ % batches.Count];
                step(x, y);
                var now = sw.Elapsed.TotalMilliseconds;
                byPosition[who][s].Add(now - last);
                last = now;
            }
            return sw.Elapsed.TotalMilliseconds / StepsPerSample;
        };
        // Graph's samples also record the GC's pause time and gen2 collections they contained.
        var (gcPause, gen2, graphSteps) = (TimeSpan.Zero, 0, 0);
        var graphSampler = Sampler(graph.Step, 0);
        double GraphSample()
        {
            var (p0, g0) = (GC.GetTotalPauseDuration(), GC.CollectionCount(2));
            var ms = graphSampler();
            (gcPause, gen2, graphSteps) = (gcPause + GC.GetTotalPauseDuration() - p0, gen2 + GC.CollectionCount(2) - g0, graphSteps + StepsPerSample);
            return ms;
        }
        var contenders = new[] { GraphSample, Sampler(loop.Step, 1), Sampler(module.Step, 2) };
        foreach (var c in contenders) WarmUp(c, seconds: 2, minSamples: 5); // plans, tiered JIT, libtorch's first-use costs
        (gcPause, gen2, graphSteps) = (TimeSpan.Zero, 0, 0);
        foreach (var positions in byPosition)
            foreach (var list in positions) list.Clear();
        var samples = Interleave(reps, contenders);
        var names = new[] { "graph", "loop", "nn.RNN" };
        report.Info("rnn-step median ms of the 1st, 2nd, … step of a sample (the 1st runs right after the other contenders): " +
                    string.Join("; ", names.Select((n, w) => $"{n} [{string.Join(" ", byPosition[w].Select(l => F(Median(l), 2)))}]")));
        for (var w = 0; w < names.Length; w++)
            report.Notes["rnn-step-positions-" + names[w]] = string.Join(" ", byPosition[w].Select(l => Median(l).ToString("R", Inv)));
        report.Info($"rnn-step graph GC: {F(gcPause.TotalMilliseconds / graphSteps, 2)} ms of GC pauses and {F((double)gen2 / graphSteps, 2)} gen2 collections per step (mean over {graphSteps} steps)");
        report.Notes["rnn-step-gc-ms"] = (gcPause.TotalMilliseconds / graphSteps).ToString("R", Inv);
        report.Notes["rnn-step-gen2"] = ((double)gen2 / graphSteps).ToString("R", Inv);
        var g = Median(samples[0]);
        // Secondary: one process, interleaved, TorchSharp PASSIVE with 2 threads. The fair scenario's numbers are the headline.
        report.Add(new Metric("rnn-step", g, Median(samples[1]), "ms", "TorchSharp hand-written loop (in-process, interleaved; secondary)", samples[0].Count));
        report.Add(new Metric("rnn-step-nn-rnn", g, Median(samples[2]), "ms", "TorchSharp torch.nn.RNN (in-process, interleaved; secondary)", samples[0].Count));
        report.Info($"rnn-step samples (ms/step, {StepsPerSample} steps each): graph [{string.Join(" ", samples[0].Select(v => F(v, 1)))}] " +
                    $"loop [{string.Join(" ", samples[1].Select(v => F(v, 1)))}] nn.RNN [{string.Join(" ", samples[2].Select(v => F(v, 1)))}]");
        Cuda("rnn-step-cuda");
    }

    /// <summary>
    /// The cuda variant: Graph's step on device <c>cuda</c> when this machine has an NVIDIA driver and Graph's Session
    /// accepts that device; otherwise a skip line saying why. There is no peer: the peer package is TorchSharp-cpu.
    /// </summary>
    private void Cuda(string what)
    {
        var driver = File.Exists("/proc/driver/nvidia/version") || File.Exists("/dev/nvidia0");
        if (!driver)
        {
            report.Skip(what, $"no CUDA on this machine (no NVIDIA driver: /proc/driver/nvidia/version absent; TorchSharp-cpu cuda.is_available() = {TorchSharp.torch.cuda.is_available()})");
            return;
        }
        GraphRnn model;
        try
        {
            model = new GraphRnn(device: "cuda");
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or NotSupportedException)
        {
            report.Skip(what, $"an NVIDIA driver is present but Graph's Session has no usable 'cuda' device: {e.Message}");
            return;
        }
        using (model)
        {
            var batches = BenchData.FullBatches(seed: 0);
            var at = 0;
            double Sample()
            {
                var sw = Stopwatch.StartNew();
                for (var i = 0; i < StepsPerSample; i++)
                {
                    var (x, y) = batches[at++ % batches.Count];
                    model.Step(x, y);
                }
                return sw.Elapsed.TotalMilliseconds / StepsPerSample;
            }
            WarmUp(Sample, seconds: 2, minSamples: 5);
            var samples = Enumerable.Range(0, reps).Select(_ => Sample()).ToList();
            report.Add(new Metric(what, Median(samples), null, "ms", "none (TorchSharp-cpu has no CUDA backend)", samples.Count));
        }
    }

    // ---------------------------------------------------------------- gemm

    /// <summary>The RNN's GEMM shapes: [m,k]·[k,n], with A or B transposed in the backward pass.</summary>
    internal static readonly (string Name, int M, int K, int N, bool Ta, bool Tb, string Role)[] GemmShapes =
    [
        ("150x28x150", 150, 28, 150, false, false, "forward x_t·Wx"),
        ("150x150x150", 150, 150, 150, false, false, "forward h·Wh"),
        ("150x178x150", 150, 178, 150, false, false, "forward [x_t,h]·W (BasicRNNCell / concatenated form)"),
        ("28x150x150-tn", 28, 150, 150, true, false, "backward dWx = x_tᵀ·dz"),
        ("150x150x28-nt", 150, 150, 28, false, true, "backward dx_t = dz·Wxᵀ"),
        ("150x150x150-tn", 150, 150, 150, true, false, "backward dWh = hᵀ·dz"),
        ("150x150x150-nt", 150, 150, 150, false, true, "backward dh = dz·Whᵀ"),
        ("178x150x150-tn", 178, 150, 150, true, false, "backward dW = [x_t,h]ᵀ·dz"),
        ("150x150x178-nt", 150, 150, 178, false, true, "backward d[x_t,h] = dz·Wᵀ"),
    ];

    /// <summary>A Session running MatMul of two fed placeholders, for one shape.</summary>
    internal sealed class GraphGemm : IDisposable
    {
        private readonly Session _session;
        private readonly Tensor _c;
        private readonly FeedDict _feed;
        private readonly SessionCallable _call;
        private readonly HostTensor[] _feedValues, _output;

        public GraphGemm(int m, int k, int n, bool ta, bool tb, int seed)
        {
            var g = new ComputeGraph();
            using (g.AsDefault())
            {
                var a = TF.Placeholder(DType.Float32, ta ? new Shape(k, m) : new Shape(m, k), "a");
                var b = TF.Placeholder(DType.Float32, tb ? new Shape(n, k) : new Shape(k, n), "b");
                _c = TF.MatMul(a, b, transposeA: ta, transposeB: tb);
                A = RandomFloats(m * k, seed);
                B = RandomFloats(k * n, seed + 1);
                _feed = new FeedDict { { a, HostTensor.From(A, a.Shape.ToArray()) }, { b, HostTensor.From(B, b.Shape.ToArray()) } };
            }
            _session = new Session(g);
            _call = _session.MakeCallable([_c], _feed.Keys.ToList());
            _feedValues = _feed.Values.ToArray();
            _output = [HostTensor.Zeros(DType.Float32, m, n)];
        }

        /// <summary>Session.Run: the product in a new array per call.</summary>
        public float[] Run() => _session.Run(_c, _feed).Span<float>();

        /// <summary>The callable's RunInto: the product written into one array kept across calls, as the peer's is.</summary>
        public float[] RunInto()
        {
            _call.RunInto(_feedValues, _output);
            return _output[0].Span<float>();
        }

        public float[] A { get; }
        public float[] B { get; }

        public void Dispose() => _session.Dispose();
    }

    internal static float[] RandomFloats(int n, int seed)
    {
        var r = new Random(seed);
        var x = new float[n];
        for (var i = 0; i < n; i++) x[i] = (float)(r.NextDouble() * 2 - 1);
        return x;
    }

    /// <summary>
    /// GFLOP/s of Graph's MatMul for each shape through a session callable writing into a kept array (used here and by
    /// the --child gemm-graph run).
    /// </summary>
    internal static double GraphGemmGflops(GraphGemm gemm, int m, int k, int n) => 2.0 * m * n * k / (MsPerCallFor(25, () => gemm.RunInto()) * 1e6);

    /// <summary>GFLOP/s of the same MatMul through Session.Run (feed dictionary, plan lookup, a new output array per call).</summary>
    internal static double GraphGemmSessionRunGflops(GraphGemm gemm, int m, int k, int n) => 2.0 * m * n * k / (MsPerCallFor(25, () => gemm.Run()) * 1e6);

    public unsafe void Gemm()
    {
        report.Add(new Metric("fma-peak", FmaPeak(), null, "GFLOP/s", "", 5));
        if (!OpenBlas.Available)
        {
            report.Skip("gemm", "libopenblas.so.0 not found (apt-get install -y libopenblas0-pthread); Graph's GEMM alone:");
        }
        else
        {
            report.Info($"OpenBLAS: {OpenBlas.Config.Trim()}, {OpenBlas.Threads} threads");
        }
        report.Notes["gemm-kernel"] = Devices.GemmOf("cpu");
        report.Info($"Graph's cpu GEMM: {report.Notes["gemm-kernel"]}");
        var ratios = new List<(string, double)>();
        using (var warm = new GraphGemm(150, 150, 150, false, false, seed: 1))
            WarmUp(() => GraphGemmGflops(warm, 150, 150, 150), seconds: 1, minSamples: 10); // Session.Run's code path, tiered JIT
        foreach (var (name, m, k, n, ta, tb, _) in GemmShapes)
        {
            using var gemm = new GraphGemm(m, k, n, ta, tb, seed: m + k + n);
            var (a, b) = (gemm.A, gemm.B);
            var c = new float[m * n];
            var flops = 2.0 * m * n * k;
            double Peer()
            {
                fixed (float* pa = a, pb = b, pc = c)
                {
                    var (ppa, ppb, ppc) = ((IntPtr)pa, (IntPtr)pb, (IntPtr)pc);
                    return flops / (MsPerCallFor(25, () => OpenBlas.Multiply(ta, tb, m, n, k, (float*)ppa, (float*)ppb, (float*)ppc)) * 1e6);
                }
            }
            double Graph() => GraphGemmGflops(gemm, m, k, n);
            double GraphSessionRun() => GraphGemmSessionRunGflops(gemm, m, k, n);
            var graphResult = gemm.Run();
            if (!gemm.RunInto().AsSpan().SequenceEqual(graphResult)) report.Info($"gemm-{name}: RunInto and Session.Run differ");
            if (OpenBlas.Available)
            {
                Peer();
                var diff = 0f;
                for (var i = 0; i < c.Length; i++) diff = Math.Max(diff, Math.Abs(c[i] - graphResult[i]));
                if (diff > 1e-3f) report.Info($"gemm-{name}: Graph and OpenBLAS differ by {diff}");
                // Diagnostic, not the peer: OpenBLAS writing into a fresh array per call, as a Session.Run's fetched output is.
                double PeerFreshOutput()
                {
                    fixed (float* pa = a, pb = b)
                    {
                        var (ppa, ppb) = ((IntPtr)pa, (IntPtr)pb);
                        return flops / (MsPerCallFor(25, () =>
                        {
                            var fresh = new float[m * n];
                            fixed (float* pc = fresh) OpenBlas.Multiply(ta, tb, m, n, k, (float*)ppa, (float*)ppb, pc);
                        }) * 1e6);
                    }
                }
                var s = Interleave(reps, OpenBlasSpinOut, Graph, Peer, PeerFreshOutput, GraphSessionRun);
                var metric = new Metric("gemm-" + name, Median(s[0]), Median(s[1]), "GFLOP/s", "OpenBLAS cblas_sgemm", s[0].Count);
                report.Add(metric);
                report.Info($"gemm-{name} openblas-fresh-output {F(Median(s[2]), 2)} GFLOP/s (OpenBLAS into a new float[{m * n}] per call)");
                report.Info($"gemm-{name} graph-session-run {F(Median(s[3]), 2)} GFLOP/s (Graph through Session.Run: a feed dictionary and a new output array per call)");
                report.Notes["gemm-fresh-" + name] = Median(s[2]).ToString("R", Inv);
                report.Notes["gemm-session-run-" + name] = Median(s[3]).ToString("R", Inv);
                report.Info($"gemm-{name} samples graph [{string.Join(" ", s[0].Select(v => F(v, 1)))}] peer [{string.Join(" ", s[1].Select(v => F(v, 1)))}]");
                ratios.Add((name, metric.Ratio!.Value));
            }
            else
            {
                Graph();
                var s = Interleave(reps, Graph);
                report.Add(new Metric("gemm-" + name, Median(s[0]), null, "GFLOP/s", "", s[0].Count));
            }
        }
        if (ratios.Count > 0)
        {
            var worst = ratios.MinBy(r => r.Item2);
            var missed = ratios.Where(r => r.Item2 < 0.95).ToList();
            report.AddTarget(new Target("gemm", ">= 0.95x OpenBLAS on every shape", missed.Count == 0,
                $"worst {worst.Item1} {F(worst.Item2)}x",
                $"{missed.Count} of {ratios.Count} shapes below: {string.Join(", ", missed.Select(r => $"{r.Item1} {F(r.Item2)}x"))}"));
            ManagedGemm();
        }
    }

    /// <summary>
    /// Graph's GEMM runs its AVX-512 kernel on AVX-512 CPUs and OpenBLAS elsewhere (managed for tiny products). To show
    /// the managed Vector256 kernel too, the bench re-runs the Graph side in a child process with AVX-512 off and in a
    /// private mount namespace where libopenblas.so.0 is hidden (unshare -m + a bind mount of /dev/null over it; needs
    /// root). Skipped otherwise.
    /// </summary>
    private void ManagedGemm()
    {
        var lib = "/usr/lib/x86_64-linux-gnu/libopenblas.so.0";
        string real;
        try
        {
            real = new FileInfo(lib).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? lib;
        }
        catch (IOException)
        {
            real = lib;
        }
        var unshare = new[] { "/usr/bin/unshare", "/bin/unshare" }.FirstOrDefault(File.Exists);
        if (unshare == null || Environment.UserName != "root" || !File.Exists(real))
        {
            report.Skip("gemm-managed", "needs root and unshare to hide libopenblas.so.0 from a child process");
            return;
        }
        var (exe, prefix) = Children.SelfCommand();
        var psi = new ProcessStartInfo(unshare) { RedirectStandardOutput = true, RedirectStandardError = true };
        // Without AVX-512 in the child too: on an AVX-512 CPU Graph would otherwise run its AVX-512 kernel there, which the
        // parent already measures; the column is the Vector256 kernel a machine without OpenBLAS and AVX-512 runs.
        psi.Environment["DOTNET_EnableAVX512"] = "0";
        foreach (var arg in new[] { "-m", "sh", "-c", "mount --bind /dev/null \"$0\" && exec \"$@\"", real, exe })
            psi.ArgumentList.Add(arg);
        foreach (var arg in prefix) psi.ArgumentList.Add(arg);
        foreach (var arg in new[] { "--child", "gemm-graph", "--reps", Math.Max(3, reps / 2).ToString(Inv) }) psi.ArgumentList.Add(arg);
        var (stdout, stderr, code) = Children.Run(psi);
        var values = stdout.Split('\n').Where(l => l.StartsWith("gemm-graph ", StringComparison.Ordinal))
            .Select(l => l.Split(' ')).ToDictionary(p => p[1], p => double.Parse(p[2], Inv));
        if (code != 0 || values.Count == 0 || !stdout.Contains("openblas hidden"))
        {
            report.Skip("gemm-managed", $"child without OpenBLAS failed (exit {code}): {stderr.Trim().Split('\n').LastOrDefault()}");
            return;
        }
        foreach (var (name, _, _, _, _, _, _) in GemmShapes)
            if (values.TryGetValue(name, out var v) && report.Find("gemm-" + name) is { Peer: { } peer })
                report.Add(new Metric($"gemm-{name}-managed", v, peer, "GFLOP/s", "OpenBLAS cblas_sgemm (parent process)", Math.Max(3, reps / 2)));
    }

    /// <summary>Child: Graph's GEMM for each shape, printed as <c>gemm-graph {name} {gflops}</c>.</summary>
    public static void ChildGemmGraph(int reps)
    {
        Console.WriteLine(OpenBlas.Available ? "openblas visible" : "openblas hidden");
        foreach (var (name, m, k, n, ta, tb, _) in GemmShapes)
        {
            using var gemm = new GraphGemm(m, k, n, ta, tb, seed: m + k + n);
            WarmUp(() => GraphGemmGflops(gemm, m, k, n), seconds: 0.5, minSamples: 5);
            var s = Enumerable.Range(0, reps).Select(_ => GraphGemmGflops(gemm, m, k, n)).ToList();
            Console.WriteLine($"gemm-graph {name} {Median(s).ToString("R", Inv)}");
        }
    }

    /// <summary>
    /// Single-thread FMA throughput: 12 independent chains of Vector256 fused multiply-adds (enough to cover the FMA latency
    /// on two pipes), timed by the clock on the wall, not by the core's nominal frequency. GFLOP/s, median of 5.
    /// </summary>
    private static double FmaPeak()
    {
        if (!Fma.IsSupported) return double.NaN;
        const long iterations = 20_000_000;
        FmaChains(1000);
        var samples = new List<double>();
        for (var r = 0; r < 5; r++)
        {
            var sw = Stopwatch.StartNew();
            _fmaSink = FmaChains(iterations); // kept, so the chains are not dead code
            var s = sw.Elapsed.TotalSeconds;
            samples.Add(iterations * 12.0 * 8 * 2 / s / 1e9);
        }
        return Median(samples);
    }

    private static float _fmaSink;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float FmaChains(long iterations)
    {
        var m = Vector256.Create(0.9999f);
        var a = Vector256.Create(0.0001f);
        var c0 = Vector256.Create(0.10f); var c1 = Vector256.Create(0.11f); var c2 = Vector256.Create(0.12f);
        var c3 = Vector256.Create(0.13f); var c4 = Vector256.Create(0.14f); var c5 = Vector256.Create(0.15f);
        var c6 = Vector256.Create(0.16f); var c7 = Vector256.Create(0.17f); var c8 = Vector256.Create(0.18f);
        var c9 = Vector256.Create(0.19f); var c10 = Vector256.Create(0.20f); var c11 = Vector256.Create(0.21f);
        for (long i = 0; i < iterations; i++)
        {
            c0 = Fma.MultiplyAdd(c0, m, a); c1 = Fma.MultiplyAdd(c1, m, a); c2 = Fma.MultiplyAdd(c2, m, a);
            c3 = Fma.MultiplyAdd(c3, m, a); c4 = Fma.MultiplyAdd(c4, m, a); c5 = Fma.MultiplyAdd(c5, m, a);
            c6 = Fma.MultiplyAdd(c6, m, a); c7 = Fma.MultiplyAdd(c7, m, a); c8 = Fma.MultiplyAdd(c8, m, a);
            c9 = Fma.MultiplyAdd(c9, m, a); c10 = Fma.MultiplyAdd(c10, m, a); c11 = Fma.MultiplyAdd(c11, m, a);
        }
        var sum = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11;
        return Vector256.Sum(sum);
    }

    // ---------------------------------------------------------------- fused

    public void Fused()
    {
        const int n = 1 << 20;
        var x = RandomFloats(n, 7);
        var g = new ComputeGraph();
        Tensor output;
        Tensor input;
        using (g.AsDefault())
        {
            input = TF.Placeholder(DType.Float32, new Shape(n), "x");
            var t = input * 1.5;        // 1 multiply
            t = t + 0.25;               // 2 add
            t = t * input;              // 3 multiply
            t = TF.Tanh(t);             // 4 tanh
            t = t - 0.1;                // 5 subtract
            t = t * t;                  // 6 multiply
            t = t + input;              // 7 add
            output = TF.Sigmoid(t);     // 8 sigmoid
        }
        using var session = new Session(g);
        var feed = new FeedDict { { input, HostTensor.From(x, n) } };
        var buffer = new float[n];
        void Primitives()
        {
            TensorPrimitives.Multiply(x, 1.5f, buffer);
            TensorPrimitives.Add(buffer, 0.25f, buffer);
            TensorPrimitives.Multiply(buffer, x, buffer);
            TensorPrimitives.Tanh(buffer, buffer);
            TensorPrimitives.Subtract(buffer, 0.1f, buffer);
            TensorPrimitives.Multiply(buffer, buffer, buffer);
            TensorPrimitives.Add(buffer, x, buffer);
            TensorPrimitives.Sigmoid(buffer, buffer);
        }
        var result = session.Run(output, feed).Span<float>();
        Primitives();
        WarmUp(() => MsPerCallFor(50, () => session.Run(output, feed)), seconds: 1, minSamples: 3);
        WarmUp(() => MsPerCallFor(50, Primitives), seconds: 0.5, minSamples: 3);
        var diff = 0f;
        for (var i = 0; i < n; i++) diff = Math.Max(diff, Math.Abs(result[i] - buffer[i]));
        report.Info($"fused: {session.LastPlan!.Kernels.Count} kernel(s) for 8 ops; max |Graph - TensorPrimitives| = {diff:G3}");
        var s = Interleave(reps, () => MsPerCallFor(50, () => session.Run(output, feed)), () => MsPerCallFor(50, Primitives));
        report.Add(new Metric("fused", Median(s[0]), Median(s[1]), "ms", "TensorPrimitives, one op at a time (in place)", s[0].Count));
    }

    // ---------------------------------------------------------------- run-overhead

    public void RunOverhead()
    {
        var g = new ComputeGraph();
        Tensor x, y;
        using (g.AsDefault())
        {
            x = TF.Placeholder(DType.Float32, new Shape(16), "x");
            y = TF.Tanh(x * 2.0 + 1.0); // multiply, add, tanh
        }
        using var session = new Session(g);
        var data = RandomFloats(16, 3);
        var feed = new FeedDict { { x, HostTensor.From(data, 16) } };
        session.Run(y, feed);
        report.Info($"run-overhead: {session.LastPlan!.Operations.Count} ops, {session.LastPlan.Kernels.Count} kernel(s): {session.LastPlan.Describe().Split('\n')[^1]}");
        const int calls = 20_000;
        double Graph() => MsPerCall(calls, () => session.Run(y, feed)) * 1000;
        double Peer()
        {
            TorchEnv.Ready();
            return MsPerCall(calls / 10, () =>
            {
                using var scope = TorchSharp.torch.NewDisposeScope();
                var t = TorchSharp.torch.tensor(data, [16]);
                var r = TorchSharp.torch.tanh(t * 2 + 1);
                _ = r.data<float>().ToArray();
            }) * 1000;
        }
        Graph();
        Peer();
        var s = Interleave(reps, Graph, Peer);
        var m = new Metric("run-overhead_us", Median(s[0]), Median(s[1]), "us", "TorchSharp eager: tensor from array, 3 ops, copy out", s[0].Count);
        report.Add(m);
        report.AddTarget(new Target("run-overhead", "<= 10 us", m.Graph <= 10, $"{F(m.Graph, 2)} us",
            $"{F(m.Graph - 10, 2)} us over ({F(m.Graph / 10, 2)}x the target)"));
    }

    // ---------------------------------------------------------------- test-forward

    public void TestForward()
    {
        var (x, y) = BenchData.TiledTest(10_000);
        using var graph = new GraphRnn();
        using var loop = new TorchRnnLoop();
        using var module = new TorchRnnModule();
        var acc = new float[3];
        Func<double> Timed(Func<HostTensor, HostTensor, float> eval, int who) => () =>
        {
            var sw = Stopwatch.StartNew();
            acc[who] = eval(x, y);
            return sw.Elapsed.TotalMilliseconds;
        };
        var contenders = new[] { Timed(graph.Evaluate, 0), Timed(loop.Evaluate, 1), Timed(module.Evaluate, 2) };
        foreach (var c in contenders) WarmUp(c, seconds: 1, minSamples: 2);
        var s = Interleave(Math.Max(3, Math.Min(reps, 7)), contenders);
        report.Info($"test-forward: 10,000 images (the 2,000 test digits tiled 5x), untrained weights; accuracy graph {acc[0]:F4} loop {acc[1]:F4} nn.RNN {acc[2]:F4}");
        report.Add(new Metric("test-forward", Median(s[0]), Median(s[1]), "ms", "TorchSharp hand-written loop, no_grad", s[0].Count));
        report.Add(new Metric("test-forward-nn-rnn", Median(s[0]), Median(s[2]), "ms", "TorchSharp torch.nn.RNN, no_grad", s[0].Count));
    }
}
