using System.Diagnostics;
using System.Globalization;

namespace Graph.Bench;

/// <summary>Timing helpers: interleaved repetitions and medians.</summary>
internal static class Measure
{
    public static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static double Median(IReadOnlyList<double> xs)
    {
        if (xs.Count == 0) return double.NaN;
        var s = xs.OrderBy(x => x).ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    /// <summary>
    /// Runs <paramref name="reps"/> rounds; each round takes one sample of every contender in turn (Graph, peer, Graph,
    /// peer, …). Returns the samples per contender.
    /// </summary>
    public static List<double>[] Interleave(int reps, params Func<double>[] contenders)
    {
        var samples = contenders.Select(_ => new List<double>()).ToArray();
        for (var r = 0; r < reps; r++)
            for (var c = 0; c < contenders.Length; c++)
                samples[c].Add(contenders[c]());
        return samples;
    }

    /// <summary>
    /// Warm-up: takes samples until <paramref name="seconds"/> have passed and at least <paramref name="minSamples"/> were
    /// taken: plans compile, the JIT runs (with tiered compilation, new code starts unoptimised), Graph's GEMM makes its
    /// per-shape dispatch decisions and libtorch's allocator settles, so the first second of a contender is not its steady state.
    /// </summary>
    public static void WarmUp(Func<double> sample, double seconds, int minSamples)
    {
        var sw = Stopwatch.StartNew();
        var n = 0;
        while (n < minSamples || sw.Elapsed.TotalSeconds < seconds)
        {
            sample();
            n++;
        }
    }

    /// <summary>Milliseconds per call of <paramref name="action"/>, averaged over <paramref name="count"/> calls.</summary>
    public static double MsPerCall(int count, Action action)
    {
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < count; i++) action();
        return sw.Elapsed.TotalMilliseconds / count;
    }

    /// <summary>Milliseconds per call, calling until at least <paramref name="minMs"/> have passed (at least once).</summary>
    public static double MsPerCallFor(double minMs, Action action)
    {
        var sw = Stopwatch.StartNew();
        var n = 0;
        do
        {
            action();
            n++;
        } while (sw.Elapsed.TotalMilliseconds < minMs);
        return sw.Elapsed.TotalMilliseconds / n;
    }

    /// <summary>Collects garbage so one contender's allocations are not paid by the next.</summary>
    public static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    public static string F(double x, int decimals = 3) => double.IsNaN(x) ? "nan" : x.ToString("F" + decimals, Inv);
}
