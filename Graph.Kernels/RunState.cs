using Graph.Core;

namespace Graph.Kernels;

/// <summary>
/// What kernels may touch while one plan executes: its feeds, the session's persistent state, and the context shared
/// by every plan of one Session.Run (loop bodies run their own plans with their own feeds).
/// </summary>
internal sealed class RunState(SessionState session, IReadOnlyDictionary<Tensor, HostTensor> feeds, RunContext context, ISet<Tensor>? donatable = null,
    bool recycle = false)
{
    /// <summary>An array for a fetched value: recycled inside loops (the loop returns it when dead), new otherwise (the caller keeps it).</summary>
    public Array AllocateFetched(DType dtype, int length) =>
        recycle ? session.Recycler.Rent(dtype.ClrType(), length) : Uninitialized(dtype, length);

    /// <summary>A copy of <paramref name="data"/> for a fetch that must not share it (recycled inside loops, as <see cref="AllocateFetched"/>).</summary>
    public Array CopyFetched(Array data)
    {
        if (recycle) return session.Recycler.RentCopy(data);
        return (Array)data.Clone();
    }

    /// <summary>A new array whose contents the kernel will overwrite entirely (not zeroed: large outputs are cheaper).</summary>
    public static Array Uninitialized(DType dtype, int length) => dtype switch
    {
        DType.Float32 => GC.AllocateUninitializedArray<float>(length),
        DType.Float64 => GC.AllocateUninitializedArray<double>(length),
        DType.Int32 => GC.AllocateUninitializedArray<int>(length),
        DType.Int64 => GC.AllocateUninitializedArray<long>(length),
        _ => GC.AllocateUninitializedArray<bool>(length),
    };


    public HostTensor Feed(Tensor t) => feeds[t];

    /// <summary>Per fetch, an array the caller wants the value written into (<see cref="SessionCallable.RunInto"/>); null entries and a null list: none.</summary>
    public Array?[]? FetchTargets { get; init; }

    /// <summary>Values fed on the device (a device loop's variables and captured tensors); null on cpu.</summary>
    public IReadOnlyDictionary<Tensor, IDeviceValue>? DeviceFeeds { get; init; }

    /// <summary>The context shared by all plans of this Session.Run.</summary>
    public RunContext Context => context;

    /// <summary>The session's persistent state.</summary>
    public SessionState Session => session;

    /// <summary>Whether a kernel may overwrite the array fed for <paramref name="t"/> (a loop variable the loop owns).</summary>
    public bool MayDonate(Tensor t) => donatable?.Contains(t) == true;

    public HostTensor ReadVariable(Operation variable)
    {
        if (!session.Variables.TryGetValue(variable, out var v))
            throw new FailedPreconditionException(
                $"Attempting to use uninitialized value {variable.Name}: variable '{variable.Name}' has not been initialised in this session (run its initializer or the global variables initializer first).");
        context.ReadThisRun.Add(v.Data);
        return v;
    }

    /// <summary>
    /// The array a variable update writes: the variable's spare array (double buffering, so values read earlier in
    /// this run stay unchanged), or a new one when the spare does not fit or was read in this run.
    /// </summary>
    public Array VariableTarget(Operation variable, DType dtype, int[] dims)
    {
        var size = (int)Shape.Product(dims);
        if (session.Spares.TryGetValue(variable, out var spare) && spare.Length == size && spare.GetType().GetElementType() == dtype.ClrType()
            && !(context.AnyReadThisRun && context.ReadThisRun.Contains(spare)) && !(session.Variables.TryGetValue(variable, out var cur) && ReferenceEquals(cur.Data, spare)))
            return spare;
        return Array.CreateInstance(dtype.ClrType(), size);
    }

    /// <summary>Makes <paramref name="value"/> the variable's value; the previous array becomes its spare.</summary>
    public void CommitVariable(Operation variable, HostTensor value)
    {
        // The spare being replaced leaves the session: so does its device copy. Values read earlier in this run may still
        // be that array, so a value that lived only on the device comes back to it first.
        if (session.Spares.TryGetValue(variable, out var dropped) && !ReferenceEquals(dropped, value.Data))
        {
            if (context.AnyReadThisRun && context.ReadThisRun.Contains(dropped)) session.EnsureHost(dropped);
            session.ForgetDeviceCopy(dropped);
        }
        if (session.Variables.TryGetValue(variable, out var old) && !ReferenceEquals(old.Data, value.Data)) session.Spares[variable] = old.Data;
        session.Variables[variable] = value;
    }

    /// <summary>The seeds of a random stream; (0, 0) becomes a random pair drawn once per session, as in TF.</summary>
    public (long Seed, long Seed2) RandomSeeds(RandomPrim p)
    {
        if (!session.RandomSeeds.TryGetValue(p.StreamKey, out var seeds))
            session.RandomSeeds[p.StreamKey] = seeds = TfRandomStreams.ResolveSeeds(p.Seed, p.Seed2);
        return seeds;
    }

    /// <summary>The stream position for this run of <paramref name="p"/>; reserves the samples the run uses, as TF does.</summary>
    public ulong AdvanceRandom(RandomPrim p)
    {
        session.RandomPositions.TryGetValue(p.StreamKey, out var position);
        session.RandomPositions[p.StreamKey] = position + TfRandomStreams.SamplesReservedPerRun(p.Size);
        return position;
    }
}

/// <summary>State a Session keeps across runs: variable values and random stream positions.</summary>
/// <param name="recyclerBytes">The most bytes of arrays loop iterations keep for reuse.</param>
/// <param name="residency">Where the backend keeps copies of variable values (a device), or null.</param>
internal sealed class SessionState(long recyclerBytes, IVariableResidency? residency = null)
{
    public Dictionary<Operation, HostTensor> Variables { get; } = new();
    public Dictionary<Operation, Array> Spares { get; } = new();

    /// <summary>Bytes held by variable values and their spares.</summary>
    public long VariableBytes
    {
        get
        {
            // Read twice per Run: plain loops, no enumerator objects.
            long bytes = 0;
            foreach (var v in Variables.Values) bytes += Buffer.ByteLength(v.Data);
            foreach (var a in Spares.Values) bytes += Buffer.ByteLength(a);
            return bytes;
        }
    }
    public Dictionary<Operation, (long, long)> RandomSeeds { get; } = new();

    /// <summary>The backend's copies of variable values (device memory), or null when variables live only on the host.</summary>
    public IVariableResidency? Residency => residency;

    /// <summary>Brings <paramref name="host"/> up to date from its device copy if a device kernel wrote it last.</summary>
    public Array EnsureHost(Array host)
    {
        residency?.EnsureHost(host);
        return host;
    }

    /// <summary>Copies every stale variable value back to the host.</summary>
    public void SyncAllToHost() => residency?.SyncAllToHost();

    /// <summary>Frees the device copy of <paramref name="host"/>, if any.</summary>
    public void ForgetDeviceCopy(Array host) => residency?.Forget(host);

    /// <summary>Frees the device copies retired during a Run (called when the Run ends).</summary>
    public void DisposeRetired() => residency?.DisposeRetired();

    /// <summary>Drops a variable's value and spare arrays with their device copies (before the variable is set anew).</summary>
    public void ForgetVariableArrays(Operation variable)
    {
        if (Variables.TryGetValue(variable, out var value)) ForgetDeviceCopy(value.Data);
        if (Spares.Remove(variable, out var spare)) ForgetDeviceCopy(spare);
    }

    /// <summary>Frees every device copy.</summary>
    public void DisposeDeviceCopies() => residency?.Dispose();

    /// <summary>Large arrays loop iterations hand back for reuse.</summary>
    public Loops.ArrayRecycler Recycler { get; } = new(recyclerBytes);
    public Dictionary<Operation, ulong> RandomPositions { get; } = new();
}

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

/// <summary>The values one execution of a loop recorded for its gradient: per iteration, one array per saved tensor.</summary>
internal sealed class LoopRecord(bool inHostMemory)
{
    /// <summary>Whether the values were moved to host memory (swap_memory).</summary>
    public bool InHostMemory { get; } = inHostMemory;

    /// <summary>Per iteration, the saved values.</summary>
    public List<HostTensor[]> Iterations { get; } = new();

    /// <summary>Arrays that left the loop (its final state): never recycled.</summary>
    public HashSet<Array> Escaped { get; } = new(ReferenceEqualityComparer.Instance);

    /// <summary>Shapes of the values the gradient reads only for their shapes (the same every iteration).</summary>
    public Dictionary<Tensor, int[]> Shapes { get; } = new();

    /// <summary>Bytes held.</summary>
    public long Bytes { get; set; }

    /// <summary>The backend's half of the record (saved values in device or pinned memory), made by the backend on first use.</summary>
    public IDisposable? DeviceHalf { get; set; }

    /// <summary>Dimensions of the saved values (device records hold bare buffers).</summary>
    public int[][] SavedDims { get; set; } = [];

    /// <summary>Frees the device and pinned host memory of iterations not yet consumed.</summary>
    public void DisposeDeviceIterations() => DeviceHalf?.Dispose();
}

