using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Graph.Kernels.Cpu;

/// <summary>
/// Runs the parts of one kernel on all cores: the calling thread and <c>ProcessorCount − 1</c> worker threads of
/// Graph's own that spin for a while after each job before they sleep.
/// <para>
/// Why not <see cref="Parallel.For(int, int, Action{int})"/>: a training step runs a few hundred kernels of 10–100 µs,
/// and on the virtual machines measured here a thread-pool worker took 20–40 µs to wake, so the calling thread had
/// usually done every part itself before help came (two 18 µs halves took 48 µs). The workers here spin between
/// jobs for <see cref="SpinMicroseconds"/> (a step's kernels follow each other closer than that), then block.
/// </para>
/// <para>
/// Parts are claimed from a shared counter by whichever thread is free, the caller included, so a sleeping or
/// descheduled worker never holds a job up. Parts must write disjoint outputs; which thread runs a part never changes
/// what it computes. A job started while another runs (a second session on another thread, a part that itself runs a
/// job) runs its parts on the calling thread.
/// </para>
/// </summary>
internal static class CoreTeam
{
    /// <summary>How long an idle worker spins for the next job before it blocks.</summary>
    public const int SpinMicroseconds = 1000;

    private sealed class Job(Action<int> body, int parts)
    {
        public readonly Action<int> Body = body;
        public readonly int Parts = parts;
        public int Next;
        public int Remaining = parts;
        public Exception? Error;

        /// <summary>Claims and runs parts until none are left; true when this thread ran the job's last part.</summary>
        public void Work()
        {
            int part;
            while ((part = Interlocked.Increment(ref Next) - 1) < Parts)
            {
                try
                {
                    Body(part);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref Error, e, null);
                }
                Interlocked.Decrement(ref Remaining);
            }
        }
    }

    private static readonly int WorkerCount = Math.Max(0, Environment.ProcessorCount - 1);
    private static readonly SemaphoreSlim Wake = new(0);
    private static volatile Job? _current;
    private static int _busy, _sleeping, _started;

    /// <summary>The number of parts a job is worth splitting into: one per core.</summary>
    public static int Cores => WorkerCount + 1;

    /// <summary>
    /// Part <paramref name="part"/> of <paramref name="parts"/> equal shares of [0, <paramref name="count"/>), cut at
    /// multiples of <paramref name="unit"/> (whole vectors, whole rows); the last part ends at <paramref name="count"/>.
    /// </summary>
    public static (long Start, long End) Share(long count, int part, int parts, int unit = 1)
    {
        var units = (count + unit - 1) / unit;
        return (Math.Min(count, units * part / parts * unit), Math.Min(count, units * (part + 1) / parts * unit));
    }

    /// <summary>Runs <paramref name="body"/>(0 … <paramref name="parts"/> − 1), spread over the cores; returns when all are done.</summary>
    public static void Run(int parts, Action<int> body)
    {
        if (parts <= 1 || WorkerCount == 0 || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            for (var part = 0; part < parts; part++) body(part);
            return;
        }
        try
        {
            if (Volatile.Read(ref _started) == 0) StartWorkers();
            var job = new Job(body, parts);
            _current = job;
            var sleeping = Volatile.Read(ref _sleeping);
            if (sleeping > 0) Wake.Release(Math.Min(sleeping, parts - 1));
            job.Work();
            WaitForParts(job);
            _current = null;
            if (job.Error != null) ExceptionDispatchInfo.Capture(job.Error).Throw();
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>
    /// Waits for the parts other threads claimed. Pause-spins rather than yielding: on the paravirtualised VMs measured a
    /// sched_yield is a slow syscall, and SpinWait.SpinOnce's yields made the caller return late (a perf profile of
    /// training had ~1 ms per step of the calling thread inside sched_yield here). After <see cref="SpinMicroseconds"/> a
    /// worker that has not finished is likely descheduled, and the caller yields its core to it.
    /// </summary>
    private static void WaitForParts(Job job)
    {
        if (Volatile.Read(ref job.Remaining) == 0) return;
        var yieldAfter = Stopwatch.GetTimestamp() + Stopwatch.Frequency * SpinMicroseconds / 1_000_000;
        while (Volatile.Read(ref job.Remaining) > 0)
        {
            if (Stopwatch.GetTimestamp() < yieldAfter) Thread.SpinWait(8);
            else Thread.Yield();
        }
    }

    private static void StartWorkers()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0) return;
        for (var i = 0; i < WorkerCount; i++)
            new Thread(WorkerLoop) { IsBackground = true, Name = $"Graph core {i + 1}" }.Start();
    }

    private static void WorkerLoop()
    {
        Job? last = null;
        var spinTicks = Stopwatch.Frequency * SpinMicroseconds / 1_000_000;
        while (true)
        {
            var idleSince = Stopwatch.GetTimestamp();
            Job? job;
            while ((job = _current) == null || job == last)
            {
                if (Stopwatch.GetTimestamp() - idleSince > spinTicks)
                {
                    Interlocked.Increment(ref _sleeping);
                    // A job posted between the check above and the increment finds _sleeping still 0 and wakes no
                    // one: look again before blocking, and block with a timeout so such a miss costs at most 1 ms.
                    if ((job = _current) == null || job == last) Wake.Wait(1);
                    Interlocked.Decrement(ref _sleeping);
                    idleSince = Stopwatch.GetTimestamp();
                    continue;
                }
                Thread.SpinWait(16);
            }
            last = job;
            job.Work();
        }
    }
}

/// <summary>
/// A job cut into equal shares of [0, count) at multiples of a unit, one per part (<see cref="CoreTeam.Share"/>), for
/// work whose parts differ only in their range. A subclass holds the call's operands in fields and its owner keeps one
/// instance per thread, so a call allocates nothing: a closure and delegate per call was garbage tens of times a step.
/// </summary>
internal abstract class ShareJob
{
    private readonly Action<int> _part;
    private long _count;
    private int _parts, _unit;

    protected ShareJob() => _part = part =>
    {
        var (from, to) = CoreTeam.Share(_count, part, _parts, _unit);
        RunShare(from, to);
    };

    /// <summary>Runs <see cref="RunShare"/> over <paramref name="parts"/> shares of [0, <paramref name="count"/>) on the cores.</summary>
    protected void RunShares(long count, int parts, int unit)
    {
        (_count, _parts, _unit) = (count, parts, unit);
        if (parts <= 1) RunShare(0, count);
        else CoreTeam.Run(parts, _part);
    }

    /// <summary>The work over [<paramref name="from"/>, <paramref name="to"/>).</summary>
    protected abstract void RunShare(long from, long to);
}
