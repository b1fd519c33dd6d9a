using System.Diagnostics;
using System.Text.RegularExpressions;
using static Graph.Bench.Measure;

namespace Graph.Bench;

/// <summary>
/// The <c>distributed</c> scenario (docs/distributed.md): the notebook's MNIST RNN trained by <c>graph train</c> as
/// 2 MPI ranks × 1 thread (<c>mpirun -np 2 … --distributed</c>, global batch 150 = 75 per rank) against 1 process ×
/// 2 threads (global batch 150), on the embedded digits; reports the median time of epoch 1 (epoch 0 compiles the plans)
/// and the allreduce time per step rank 0 measured. Runs the CLI built by <c>dotnet build -c Release tools/Graph.Cli</c>.
/// Rerun alone: <c>dotnet run -c Release --project tools/Graph.Bench -- distributed --reps 3</c>.
/// </summary>
internal static partial class DistributedScenario
{
    public static void Run(Report report, int reps)
    {
        var mpirun = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "mpirun")).FirstOrDefault(File.Exists);
        if (mpirun == null)
        {
            report.Skip("distributed", "mpirun is not installed (Debian: apt-get install openmpi-bin libopenmpi-dev)");
            return;
        }
        var cli = CliPath();
        if (cli == null)
        {
            report.Skip("distributed", "the CLI is not built: dotnet build -c Release tools/Graph.Cli");
            return;
        }
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var samples = Math.Clamp(reps, 1, 5); // each sample is two trainings of two epochs
        var (ranks, single, allreduce) = (new List<double>(), new List<double>(), new List<double>());
        for (var s = 0; s < samples; s++)
        {
            var distributed = Train(mpirun, ["-np", "2", "--allow-run-as-root", "--bind-to", "core", "-x", "DOTNET_PROCESSOR_COUNT=1", dotnet, cli, "train", "--distributed", "--epochs", "2"], null);
            var alone = Train(dotnet, [cli, "train", "--epochs", "2"], "2");
            if (distributed.Epoch1 is not { } d || alone.Epoch1 is not { } a || distributed.AllReduceMs is not { } ar)
            {
                report.Skip("distributed", $"a training run printed no epoch-1 time; outputs:\n{distributed.Output}\n{alone.Output}");
                return;
            }
            ranks.Add(d);
            single.Add(a);
            allreduce.Add(ar);
            report.Info($"distributed sample {s}: 2 ranks x 1 thread epoch 1 {F(d, 2)} s (allreduce {F(ar, 3)} ms/step); 1 process x 2 threads {F(a, 2)} s");
        }
        report.Add(new Metric("distributed-epoch", Median(ranks) * 1000, Median(single) * 1000, "ms", "1 process x 2 threads", samples));
        report.Add(new Metric("distributed-allreduce-step", Median(allreduce), null, "ms", "", samples));
        report.Notes["distributed-epoch-ms"] = (Median(ranks) * 1000).ToString("R", Inv);
        report.Notes["distributed-single-epoch-ms"] = (Median(single) * 1000).ToString("R", Inv);
        report.Notes["distributed-allreduce-ms"] = Median(allreduce).ToString("R", Inv);
    }

    private static string? CliPath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "graph.sln")))
            {
                var path = Path.Combine(dir.FullName, "tools", "Graph.Cli", "bin", "Release", "net10.0", "graph.dll");
                return File.Exists(path) ? path : null;
            }
        return null;
    }

    [GeneratedRegex(@"^epoch 1 .* time (?<s>[0-9.]+)s", RegexOptions.Multiline)]
    private static partial Regex EpochOne();

    [GeneratedRegex(@"distributed: allreduce (?<ms>[0-9.]+) ms per step", RegexOptions.Multiline)]
    private static partial Regex AllReduceLine();

    private static (double? Epoch1, double? AllReduceMs, string Output) Train(string program, string[] args, string? processorCount)
    {
        var start = new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (processorCount != null) start.Environment["DOTNET_PROCESSOR_COUNT"] = processorCount;
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        output += stderr.Result;
        double? Parse(Match m, string group) => m.Success ? double.Parse(m.Groups[group].Value, Inv) : null;
        return (Parse(EpochOne().Match(output), "s"), Parse(AllReduceLine().Match(output), "ms"), output);
    }
}
