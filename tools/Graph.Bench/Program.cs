// Graph.Bench: Graph against TorchSharp (libtorch) and against the machine's limit.
//   dotnet run -c Release --project tools/Graph.Bench -- [scenario...] [--reps N] [--markdown docs/performance.md]
// Scenarios: fair rnn-step gemm fused run-overhead test-forward memory profile distributed (default: all of them, in that order).
// Each prints `metric {name} graph {x} peer {y} ratio {x/y}` (medians; times in ms) and `target ...` lines.
using System.Diagnostics;
using Graph.Bench;
using static Graph.Bench.Measure;

string[] allScenarios = ["fair", "rnn-step", "gemm", "fused", "run-overhead", "test-forward", "memory", "profile", "distributed"];

string? Option(string name)
{
    var i = Array.IndexOf(args, "--" + name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine($"usage: Graph.Bench [{string.Join("|", allScenarios)}|all]... [--reps N (default 15)] [--markdown FILE]");
    Console.WriteLine("Prints `metric {name} graph {x} peer {y} ratio {x/y}` lines (medians; ms, us, GFLOP/s or MB) and `target` lines;");
    Console.WriteLine("--markdown writes docs/performance.md (see tools/bench.sh).");
    return 0;
}
var reps = int.Parse(Option("reps") ?? "15", Inv);
if (reps < 1)
{
    Console.Error.WriteLine("--reps must be at least 1");
    return 2;
}

// Hidden entry points: the build step that patches the output folder's libLibTorchSharp.so, and the child processes.
if (args.Contains("--patch-libtorchsharp"))
{
    var path = TorchEnv.LibraryPath;
    if (!File.Exists(path))
    {
        Console.WriteLine($"Graph.Bench: {path} not found; nothing to patch");
        return 0;
    }
    var outcome = ElfVersionPatch.Ensure(path, TorchEnv.GlibcxxVersion);
    Console.WriteLine($"Graph.Bench: {TorchEnv.GlibcxxVersion} in {path}: {outcome}");
    return 0;
}
if (Option("child") is { } child)
{
    if (child == "gemm-graph")
    {
        Scenarios.ChildGemmGraph(reps);
        return 0;
    }
    return child.StartsWith("fair-", StringComparison.Ordinal) ? FairScenario.ChildMain(child) : Children.ChildMain(child);
}

var markdown = Option("markdown");
var optionValues = new[] { Option("reps"), markdown }.Where(v => v != null).ToHashSet();
var requested = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal) && !optionValues.Contains(a)).ToList();
if (requested.Count == 0 || requested.Contains("all")) requested = allScenarios.ToList();
var unknown = requested.Except(allScenarios).ToList();
if (unknown.Count > 0)
{
    Console.Error.WriteLine($"unknown scenario(s): {string.Join(", ", unknown)}; known: {string.Join(" ", allScenarios)}");
    return 2;
}

// OMP_WAIT_POLICY must be in the native environment before libtorch (libgomp) loads; TorchEnv.Ready sets it and the
// thread count the first time a scenario touches TorchSharp.
if (Native.GetNativeEnvironment("OMP_WAIT_POLICY") is null) Native.SetNativeEnvironment("OMP_WAIT_POLICY", "PASSIVE");

var report = new Report();
var cpu = new CpuAccounting();
var machine = MachineInfo.Collect();
foreach (var line in machine.Lines) report.Print("machine " + line);
report.Print($"run scenarios {string.Join(" ", requested)} reps {reps}");
var scenarios = new Scenarios(report, reps);
var total = Stopwatch.StartNew();
foreach (var name in allScenarios.Where(requested.Contains))
{
    var clock = Stopwatch.StartNew();
    report.Print($"== {name}");
    switch (name)
    {
        case "fair": FairScenario.Run(report, reps); break;
        case "rnn-step": scenarios.RnnStep(); break;
        case "gemm": scenarios.Gemm(); break;
        case "fused": scenarios.Fused(); break;
        case "run-overhead": scenarios.RunOverhead(); break;
        case "test-forward": scenarios.TestForward(); break;
        case "memory": Children.Memory(report, reps); break;
        case "profile": scenarios.ProfileStep(); break;
        case "distributed": DistributedScenario.Run(report, reps); break;
    }
    report.Print($"time {name} {F(clock.Elapsed.TotalSeconds, 1)} s");
}
if (requested.Contains("rnn-step") || requested.Contains("test-forward"))
    report.Info($"TorchSharp threads {TorchEnv.Threads}, OMP_WAIT_POLICY={Native.GetNativeEnvironment("OMP_WAIT_POLICY")} (in-process scenarios)");
report.Print($"time total {F(total.Elapsed.TotalSeconds, 1)} s");
var (others, wall, cores) = cpu.Others();
report.Print($"machine other-processes-cpu {F(others, 1)} s over {F(wall, 1)} s wall ({F(100 * others / (wall * cores), 1)}% of {cores} cores)");
report.Notes["other-cpu-percent"] = (100 * others / (wall * cores)).ToString("R", Inv);
report.Notes["other-cpu"] = $"{F(others, 1)} s of CPU time over the {F(wall, 1)} s run ({F(100 * others / (wall * cores), 1)}% of the {cores} cores)";

if (markdown != null)
{
    File.WriteAllText(markdown, PerformanceDoc.Render(report, machine, requested, reps, Path.Combine(Path.GetDirectoryName(Path.GetFullPath(markdown))!, "measurements")));
    Console.WriteLine($"wrote {markdown}");
}
return 0;
