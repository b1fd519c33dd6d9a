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
    public static List<double>[] Interleave(int reps, params Func<double>[] contenders) => Interleave(reps, TimeSpan.Zero, contenders);

    /// <summary>
    /// As <see cref="Interleave(int, Func{double}[])"/>, idle for <paramref name="pause"/> before each sample (not
    /// timed), so threads the previous contender left spinning have gone to sleep: OpenBLAS's workers spin in
    /// sched_yield for 2^28 TSC cycles (0.1 s here) after each threaded call, on the cores the next contender uses.
    /// </summary>
    public static List<double>[] Interleave(int reps, TimeSpan pause, params Func<double>[] contenders)
    {
        var samples = contenders.Select(_ => new List<double>()).ToArray();
        for (var r = 0; r < reps; r++)
            for (var c = 0; c < contenders.Length; c++)
            {
                if (pause > TimeSpan.Zero) Thread.Sleep(pause);
                samples[c].Add(contenders[c]());
            }
        return samples;
    }

    /// <summary>Idle time before each GEMM sample (<see cref="Interleave(int, TimeSpan, Func{double}[])"/>): OpenBLAS's 0.1 s spin, plus margin.</summary>
    public static readonly TimeSpan OpenBlasSpinOut = TimeSpan.FromMilliseconds(130);

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
