using System.Runtime.InteropServices;

namespace Graph.Bench;

/// <summary>What the numbers were measured on.</summary>
internal sealed record MachineInfo(string Cpu, string CpuId, int Cores, string Memory, string DotNet, string Os, string Simd,
    string LoadAverage, string Date, string OpenBlas, string TorchSharp)
{
    public IEnumerable<string> Lines =>
    [
        $"cpu {Cpu} ({CpuId})",
        $"cores {Cores}",
        $"memory {Memory}",
        $"dotnet {DotNet}",
        $"os {Os}",
        $"simd {Simd}",
        $"loadavg {LoadAverage}",
        $"openblas {OpenBlas}",
        $"torchsharp {TorchSharp}",
        $"date {Date}",
    ];

    public static MachineInfo Collect()
    {
        var cpuinfo = Read("/proc/cpuinfo");
        string Field(string name) => cpuinfo.Split('\n').Select(l => l.Split(':', 2)).Where(p => p.Length == 2 && p[0].Trim() == name)
            .Select(p => p[1].Trim()).FirstOrDefault() ?? "?";
        var flags = Field("flags").Split(' ');
        var simd = string.Join(" ", new[] { "fma", "avx2", "avx512f", "avx512_bf16" }.Where(flags.Contains));
        var memKb = Read("/proc/meminfo").Split('\n').FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal))?
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        var memory = long.TryParse(memKb, out var kb) ? $"{kb / 1024.0 / 1024.0:F1} GiB" : "?";
        var os = Read("/etc/os-release").Split('\n').FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))?
            ["PRETTY_NAME=".Length..].Trim('"') ?? RuntimeInformation.OSDescription;
        var torchVersion = typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString() ?? "?";
        return new MachineInfo(
            Field("model name"),
            $"family {Field("cpu family")} model {Field("model")} stepping {Field("stepping")}",
            Environment.ProcessorCount,
            memory,
            $"{RuntimeInformation.FrameworkDescription} (SDK-built, {RuntimeInformation.ProcessArchitecture})",
            $"{os}, kernel {Environment.OSVersion.Version}",
            simd,
            Read("/proc/loadavg").Trim(),
            DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", Measure.Inv),
            Bench.OpenBlas.Available
                ? $"{Bench.OpenBlas.Config.Trim()} ({Bench.OpenBlas.Threads} threads; OPENBLAS_CORETYPE " +
                  $"{(Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE") is { Length: > 0 } ct ? $"= {ct} from the environment" : "unset: OpenBLAS's own choice")})"
                : "libopenblas.so.0 not found",
            $"TorchSharp {torchVersion} (TorchSharp-cpu 0.107.0, libtorch 2.10.0 CPU)");
    }

    private static string Read(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return "";
        }
    }
}

/// <summary>
/// How much CPU other processes used while the bench ran: busy time of all cores (/proc/stat) minus this process's and its
/// waited-for children's (/proc/self/stat). The number that says whether the machine was quiet.
/// </summary>
internal sealed class CpuAccounting
{
    private readonly double _busy0, _self0;
    private readonly System.Diagnostics.Stopwatch _wall = System.Diagnostics.Stopwatch.StartNew();

    public CpuAccounting() => (_busy0, _self0) = (BusySeconds(), SelfSeconds());

    /// <summary>(seconds of CPU used by other processes, wall seconds, cores).</summary>
    public (double Others, double Wall, int Cores) Others() =>
        (Math.Max(0, BusySeconds() - _busy0 - (SelfSeconds() - _self0)), _wall.Elapsed.TotalSeconds, Environment.ProcessorCount);

    private const double Tick = 100.0; // USER_HZ

    private static double BusySeconds()
    {
        try
        {
            var f = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(v => double.Parse(v, Measure.Inv)).ToArray();
            // user nice system idle iowait irq softirq steal: busy = all but idle and iowait (steal counted: another tenant).
            return (f.Take(8).Sum() - f[3] - f[4]) / Tick;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static double SelfSeconds()
    {
        try
        {
            var stat = File.ReadAllText("/proc/self/stat");
            var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // fields after the command: state(0) … utime(11) stime(12) cutime(13) cstime(14)
            return (double.Parse(f[11], Measure.Inv) + double.Parse(f[12], Measure.Inv) + double.Parse(f[13], Measure.Inv) + double.Parse(f[14], Measure.Inv)) / Tick;
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
