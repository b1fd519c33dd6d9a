using static Graph.Bench.Measure;

namespace Graph.Bench;

/// <summary>One reported number: Graph's median and, where there is one, the peer's.</summary>
/// <param name="Name">The metric's name in the output line.</param>
/// <param name="Graph">Graph's median.</param>
/// <param name="Peer">The peer's median, or null.</param>
/// <param name="Unit">ms, us, GFLOP/s or MB.</param>
/// <param name="PeerName">What the peer column is.</param>
/// <param name="Samples">Samples behind each median.</param>
internal sealed record Metric(string Name, double Graph, double? Peer, string Unit, string PeerName, int Samples)
{
    /// <summary>Graph / peer.</summary>
    public double? Ratio => Peer is { } p && p != 0 ? Graph / p : null;

    /// <summary>Whether a larger number is better (throughput) rather than smaller (time, memory).</summary>
    public bool HigherIsBetter => Unit == "GFLOP/s";

    public int Decimals => Unit switch { "GFLOP/s" => 2, "MB" => 1, _ => 3 };

    /// <summary>The line the issue asks for: <c>metric {name} graph {x} peer {y} ratio {x/y}</c>.</summary>
    public string Line => Peer is { } p
        ? $"metric {Name} graph {F(Graph, Decimals)} peer {F(p, Decimals)} ratio {F(Ratio ?? double.NaN)}"
        : $"metric {Name} graph {F(Graph, Decimals)}";
}

/// <summary>A target from the issue, evaluated on the measured numbers.</summary>
internal sealed record Target(string Name, string Goal, bool Met, string Measured, string Detail);

/// <summary>Everything one invocation measured, printed as it arrives and kept for docs/performance.md.</summary>
internal sealed class Report
{
    public List<Metric> Metrics { get; } = new();
    public List<string> Skips { get; } = new();
    public List<Target> Targets { get; } = new();
    public List<string> Lines { get; } = new();
    public Profile? Profile { get; set; }
    public Dictionary<string, string> Notes { get; } = new();

    public Metric? Find(string name) => Metrics.FirstOrDefault(m => m.Name == name);

    public void Add(Metric m)
    {
        Metrics.Add(m);
        Print(m.Line);
    }

    public void Skip(string what, string why)
    {
        var line = $"skip {what}: {why}";
        Skips.Add(line);
        Print(line);
    }

    public void Info(string line) => Print("info " + line);

    public void AddTarget(Target t)
    {
        Targets.Add(t);
        Print($"target {t.Name} {t.Goal}: {(t.Met ? "met" : "MISSED")} (measured {t.Measured}{(t.Met ? "" : "; " + t.Detail)})");
    }

    public void Print(string line)
    {
        Lines.Add(line);
        Console.WriteLine(line);
        Console.Out.Flush();
    }
}

/// <summary>The per-part time of one Graph training step (the profile scenario).</summary>
internal sealed class Profile
{
    /// <summary>(part, ms per training step, how it was measured).</summary>
    public List<(string Part, double Ms, string How)> Parts { get; } = new();
    public double StepMs { get; set; }
    public double ForwardMs { get; set; }
    public double ForwardBackwardMs { get; set; }
    public double? TorchStepMs { get; set; }
    public List<(string SubGraph, double Ms, int Kernels, string Gemm)> SubGraphs { get; } = new();
    public string StepPlanSummary { get; set; } = "";
    public string CellPlanDescribe { get; set; } = "";
    public double EmptyRunUs { get; set; }

    /// <summary>Step time with SessionOptions.Profile on, and the part of it inside kernels.</summary>
    public double ProfiledStepMs { get; set; }
    public double KernelTotalMs { get; set; }

    /// <summary>(kernel, calls per step, ms per step), most expensive first, from Session.Profile.</summary>
    public List<(string Kernel, double Calls, double Ms)> Kernels { get; } = new();
}
