using System.Diagnostics;
using Graph.Core.Data;
using static Graph.Bench.Measure;

namespace Graph.Bench;

/// <summary>
/// Work done in a separate process (the bench re-invokes itself with the hidden <c>--child KIND</c> argument): peak RSS
/// of one training epoch, and Graph's GEMM with OpenBLAS hidden.
/// </summary>
internal static class Children
{
    /// <summary>How to start this program again: the executable and the arguments before the bench's own.</summary>
    public static (string Exe, string[] Prefix) SelfCommand()
    {
        var process = Environment.ProcessPath!;
        var dll = typeof(Children).Assembly.Location;
        return Path.GetFileNameWithoutExtension(process) == "dotnet" ? (process, [dll]) : (process, []);
    }

    public static (string Stdout, string Stderr, int ExitCode) Run(ProcessStartInfo psi)
    {
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (stdout, err.Result, p.ExitCode);
    }

    private static (string Stdout, string Stderr, int ExitCode) RunSelf((string Name, string Value)[] env, params string[] args)
    {
        var (exe, prefix) = SelfCommand();
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in prefix.Concat(args)) psi.ArgumentList.Add(a);
        psi.Environment["OMP_WAIT_POLICY"] = Native.GetNativeEnvironment("OMP_WAIT_POLICY") ?? "PASSIVE";
        foreach (var (name, value) in env) psi.Environment[name] = value;
        return Run(psi);
    }

    /// <summary>(VmHWM MB, epoch ms) reported by a child of <paramref name="kind"/>.</summary>
    private static (double PeakMb, double EpochMs, string Line) Child(string kind, params (string Name, string Value)[] env)
    {
        var (stdout, stderr, code) = RunSelf(env, "--child", kind);
        var line = stdout.Split('\n').FirstOrDefault(l => l.StartsWith("child ", StringComparison.Ordinal));
        if (code != 0 || line == null) throw new InvalidOperationException($"child {kind} failed (exit {code}): {stderr.Trim()}");
        var parts = line.Split(' ');
        return (double.Parse(parts[3], Inv) / 1024, double.Parse(parts[5], Inv), line.Trim());
    }

    /// <summary>The memory scenario: one epoch on the embedded digits per process, Graph and TorchSharp interleaved.</summary>
    public static void Memory(Report report, int reps)
    {
        var n = Math.Max(1, Math.Min(reps, 3));
        var kinds = new[] { "memory-graph", "memory-torch-loop", "memory-torch-nn-rnn" };
        var peak = kinds.Select(_ => new List<double>()).ToArray();
        var epoch = kinds.Select(_ => new List<double>()).ToArray();
        var lines = new string[kinds.Length];
        for (var r = 0; r < n; r++) // interleaved: Graph, peer, peer (nn.RNN), Graph, …
            for (var k = 0; k < kinds.Length; k++)
            {
                var (mb, ms, line) = Child(kinds[k]);
                peak[k].Add(mb);
                epoch[k].Add(ms);
                lines[k] = line;
            }
        foreach (var line in lines) report.Info(line);
        for (var k = 0; k < kinds.Length; k++) report.Notes[kinds[k]] = lines[k];
        var baseGraph = Child("baseline-graph");
        var baseTorch = Child("baseline-torch");
        // What part of Graph's peak is the garbage collector's slack: the same epoch with the GC told to conserve memory.
        var conserve = Child("memory-graph", ("DOTNET_GCConserveMemory", "9"));
        foreach (var (key, line) in new[] { ("baseline-graph", baseGraph.Line), ("baseline-torch", baseTorch.Line), ("memory-graph-conserve", conserve.Line) })
        {
            report.Info(line);
            report.Notes[key] = line;
        }
        var m = new Metric("memory", Median(peak[0]), Median(peak[1]), "MB", "TorchSharp hand-written loop (VmHWM, separate process)", n);
        report.Add(m);
        report.Add(new Metric("memory-nn-rnn", Median(peak[0]), Median(peak[2]), "MB", "TorchSharp torch.nn.RNN (VmHWM, separate process)", n));
        report.Add(new Metric("memory-baseline", baseGraph.PeakMb, baseTorch.PeakMb, "MB", "process that loaded the data (and TorchSharp) and trained nothing", 1));
        report.Add(new Metric("memory-graph-gcconserve", conserve.PeakMb, Median(peak[1]), "MB", "as memory, Graph run with DOTNET_GCConserveMemory=9 (not the default)", 1));
        report.Add(new Metric("epoch", Median(epoch[0]), Median(epoch[1]), "ms", "TorchSharp hand-written loop: one epoch, 8,000 digits, batch 150", n));
        report.Add(new Metric("epoch-nn-rnn", Median(epoch[0]), Median(epoch[2]), "ms", "TorchSharp torch.nn.RNN: one epoch", n));
        // The memory target (issue 20: <= 0.4) is evaluated by the fair scenario, on its one-epoch processes.
    }

    /// <summary>Child entry: trains one epoch (or nothing, for a baseline) and prints <c>child {kind} vmhwm_kb {n} epoch_ms {t}</c>.</summary>
    public static int ChildMain(string kind)
    {
        var data = BenchData.DigitBytes;
        var sw = Stopwatch.StartNew();
        long steps = 0, maxCommitted = 0, allocatedAtStart = 0;
        void Sample()
        {
            if (steps++ == 0) allocatedAtStart = GC.GetTotalAllocatedBytes();
            maxCommitted = Math.Max(maxCommitted, GC.GetGCMemoryInfo().TotalCommittedBytes);
        }
        switch (kind)
        {
            case "memory-graph":
            {
                using var model = new GraphRnn();
                sw.Restart();
                foreach (var (x, y) in Batches.ShuffleBatch(data.TrainImages, data.TrainLabels, BenchData.BatchSize, seed: 0, reuseBuffers: true))
                {
                    model.Step(x, y);
                    Sample();
                }
                break;
            }
            case "memory-torch-loop":
            case "memory-torch-nn-rnn":
            {
                using TorchRnn model = kind == "memory-torch-loop" ? new TorchRnnLoop() : new TorchRnnModule();
                sw.Restart();
                foreach (var (x, y) in Batches.ShuffleBatch(data.TrainImages, data.TrainLabels, BenchData.BatchSize, seed: 0, reuseBuffers: true))
                {
                    model.Step(x, y);
                    Sample();
                }
                break;
            }
            case "baseline-graph":
                break;
            case "baseline-torch":
            {
                TorchEnv.Ready();
                using var t = TorchSharp.torch.ones(10);
                _ = t.sum().item<float>();
                break;
            }
            default:
                Console.Error.WriteLine($"unknown child kind {kind}");
                return 2;
        }
        var ms = sw.Elapsed.TotalMilliseconds;
        var perStep = steps > 1 ? (GC.GetTotalAllocatedBytes() - allocatedAtStart) / (steps - 1.0) / (1 << 20) : 0;
        Console.WriteLine($"child {kind} vmhwm_kb {Native.PeakRssKb()} epoch_ms {ms.ToString("F1", Inv)} steps {steps} " +
                          $"managed_alloc_mb_per_step {perStep.ToString("F2", Inv)} gc_committed_max_mb {(maxCommitted / 1048576.0).ToString("F1", Inv)} " +
                          $"gc_counts {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}");
        return 0;
    }
}
