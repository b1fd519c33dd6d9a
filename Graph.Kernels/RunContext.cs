using Graph.Core;

namespace Graph.Kernels;

/// <summary>Kernel failures a run reports when it ends (a device's error flags); made by the backend (<see cref="IBackend.CreateErrorLog"/>).</summary>
internal interface IRunErrorLog : IDisposable
{
    /// <summary>Whether a flag may be set that was not yet read.</summary>
    bool Pending { get; }

    /// <summary>Reads the flags and throws the first failure, naming its op.</summary>
    void ThrowIfAny();
}

/// <summary>State shared by every plan one Session.Run executes (the outer plan and loop bodies).</summary>
internal sealed class RunContext(PlanOptions options)
{
    /// <summary>Plan options for loop bodies.</summary>
    public PlanOptions Options { get; } = options;

    /// <summary>Where kernel times go when profiling, else null.</summary>
    public KernelProfile? Profile { get; init; }

    /// <summary>Variable arrays read during this run (never reused as an update target within it); made on first use.</summary>
    public HashSet<Array> ReadThisRun => _readThisRun ??= new(ReferenceEqualityComparer.Instance);
    private HashSet<Array>? _readThisRun;

    /// <summary>Whether any variable array was read in this run.</summary>
    public bool AnyReadThisRun => _readThisRun is { Count: > 0 };

    /// <summary>Per forward loop op: a stack of executions, each the values recorded per iteration for its gradient.</summary>
    public Dictionary<Operation, Stack<LoopRecord>> LoopRecords => _loopRecords ??= new();
    private Dictionary<Operation, Stack<LoopRecord>>? _loopRecords;

    /// <summary>The loop records made in this run (none without loops), for disposal when it ends.</summary>
    public IEnumerable<LoopRecord> AllLoopRecords => _loopRecords?.Values.SelectMany(r => r) ?? [];

    /// <summary>
    /// Arrays that loops of the outer plan handed to it and that no one else holds (their final state, their gradients'
    /// sums): when the run ends, <see cref="RecycleLoopOutputs"/> gives those no fetched result holds back to the
    /// session's recycler, so a training step does not leave large arrays to the collector.
    /// </summary>
    public void AddLoopOutput(Array array) => (_loopOutputs ??= new(ReferenceEqualityComparer.Instance)).Add(array);
    private HashSet<Array>? _loopOutputs;

    /// <summary>Returns the loop outputs of <see cref="AddLoopOutput"/> that are not (part of) <paramref name="results"/> to <paramref name="recycler"/>.</summary>
    public void RecycleLoopOutputs(Loops.ArrayRecycler recycler, HostTensor[] results)
    {
        if (_loopOutputs == null) return;
        foreach (var r in results) _loopOutputs.Remove(r.Data);
        foreach (var a in _loopOutputs) recycler.Return(a);
        _loopOutputs = null;
    }

    /// <summary>Error flags of this run's device kernels, checked when the run ends (null on cpu, whose kernels throw).</summary>
    public IRunErrorLog? Errors { get; init; }

    /// <summary>Bytes of recorded loop values held in device memory right now, and the most held at once.</summary>
    public long RecordedDeviceBytes { get; set; }

    /// <summary>Bytes of recorded loop values held in host memory (swap_memory) right now.</summary>
    public long RecordedHostBytes { get; set; }

    /// <summary>The most device bytes used beyond the outer plan's own values at any moment (loop state, body plans, records).</summary>
    public long PeakExtraBytes { get; private set; }

    /// <summary>Device bytes loops may use beyond the outer plan before the run fails (null: no limit).</summary>
    public long? ExtraLimit { get; init; }

    /// <summary>
    /// Notes the device bytes in use beyond the outer plan right now; past <see cref="ExtraLimit"/> the run fails
    /// naming <paramref name="where"/> (loops run before the updates that depend on them, so no variable has changed).
    /// </summary>
    public void NoteExtra(long bytes, Operation where)
    {
        PeakExtraBytes = Math.Max(PeakExtraBytes, bytes);
        if (bytes > ExtraLimit)
            throw new ResourceExhaustedException(
                $"OOM when running {where.Type} '{where.Name}': its iterations hold {bytes} bytes beyond the plan's values, over the device memory limit " +
                "(with swap_memory the values kept for the gradient move to host memory).");
    }
}
