using System.Text;
using Graph.Kernels.Fusion;

namespace Graph.Kernels;

/// <summary>Time spent per kind of kernel across profiled runs (<see cref="SessionOptions.Profile"/>).</summary>
public sealed class KernelProfile
{
    private readonly Dictionary<string, (int Count, TimeSpan Time)> _entries = new();

    internal void Add(KernelGroup group, TimeSpan time)
    {
        var key = string.Join(" -> ", group.Members.Select(m => m.Describe())) + " " + Core.Shape.Format(group.Dims);
        _entries.TryGetValue(key, out var e);
        _entries[key] = (e.Count + 1, e.Time + time);
    }

    /// <summary>Total kernel time recorded.</summary>
    public TimeSpan Total => _entries.Values.Aggregate(TimeSpan.Zero, (t, e) => t + e.Time);

    /// <summary>Kernels by total time, most expensive first.</summary>
    public IReadOnlyList<(string Kernel, int Count, TimeSpan Time)> Entries =>
        _entries.OrderByDescending(e => e.Value.Time).Select(e => (e.Key, e.Value.Count, e.Value.Time)).ToList();

    /// <summary>Clears the recorded times.</summary>
    public void Clear() => _entries.Clear();

    /// <summary>One line per kernel kind: total ms, calls, share.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        var total = Total.TotalMilliseconds;
        foreach (var (kernel, count, time) in Entries)
            sb.AppendLine($"{time.TotalMilliseconds,9:F3} ms {count,6}x {100 * time.TotalMilliseconds / Math.Max(total, 1e-9),5:F1}%  {kernel}");
        sb.Append($"{total,9:F3} ms total");
        return sb.ToString();
    }
}
