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


    /// <summary>Whether this state runs a loop body or condition (its fetched arrays are recycled by the loop), not a Session.Run's outer plan.</summary>
    public bool InLoop => recycle;

    public HostTensor Feed(Tensor t) => feeds[t];

    /// <summary>
    /// The host value fed for <paramref name="t"/>, if any. A value may be fed both here and in
    /// <see cref="DeviceFeeds"/> (equal contents): a counted loop's counter, known to the host in every iteration.
    /// </summary>
    public bool TryGetFeed(Tensor t, out HostTensor value) => feeds.TryGetValue(t, out value!);

    /// <summary>
    /// Fed tensors a fetch may return as they were fed, without a copy (a loop variable no kernel writes in place, which
    /// the loop records for its gradient: the record then shares the array with the state, and the gradient loop counts
    /// the records that hold it). Null: every fetched feed is copied.
    /// </summary>
    public IReadOnlySet<Tensor>? SharedFeeds { get; init; }

    /// <summary>Per fetch, an array the caller wants the value written into (<see cref="SessionCallable.RunInto"/>); null entries and a null list: none.</summary>
    public Array?[]? FetchTargets { get; init; }

    /// <summary>Values fed on the device (a device loop's variables and captured tensors); null on cpu.</summary>
    public IReadOnlyDictionary<Tensor, IDeviceValue>? DeviceFeeds { get; init; }

    /// <summary>
    /// Per fetch index, a value of the fetch's dtype and size that the fetch is to be added into (a loop gradient's
    /// running sum). A runner may compute the sum in place and return that value as the fetch (a GEMM that adds into
    /// its output); else it returns the fetch as usual and the caller adds it.
    /// </summary>
    public IReadOnlyDictionary<int, IDeviceValue>? AccumulateInto { get; init; }

    /// <summary>
    /// The host form of <see cref="AccumulateInto"/>, per fetch index (null entries: none), set anew for each iteration
    /// of a loop gradient on the cpu: a GEMM whose product is that fetch adds it into the array and returns the array.
    /// </summary>
    public Array?[]? AccumulateTargets { get; set; }

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
        var stream = Stream(p);
        return (stream.Seed, stream.Seed2);
    }

    /// <summary>The stream position for this run of <paramref name="p"/>; reserves the samples the run uses, as TF does.</summary>
    public ulong AdvanceRandom(RandomPrim p)
    {
        var stream = Stream(p);
        var position = stream.Position;
        stream.Position = position + TfRandomStreams.SamplesReservedPerRun(p.Size);
        return position;
    }

    private RandomStream Stream(RandomPrim p)
    {
        if (!session.RandomStreams.TryGetValue(p.StreamKey, out var stream))
        {
            var (seed, seed2) = TfRandomStreams.ResolveSeeds(p.Seed, p.Seed2);
            session.RandomStreams[p.StreamKey] = stream = new RandomStream(seed, seed2);
        }
        return stream;
    }
}
