using Graph.Core;

namespace Graph.Kernels;

/// <summary>What kernels may touch during one Run: the feeds of the run and the session's persistent state.</summary>
internal sealed class RunState(SessionState session, IReadOnlyDictionary<Tensor, HostTensor> feeds)
{
    private readonly HashSet<Array> _readThisRun = new(ReferenceEqualityComparer.Instance);

    public HostTensor Feed(Tensor t) => feeds[t];

    public HostTensor ReadVariable(Operation variable)
    {
        if (!session.Variables.TryGetValue(variable, out var v))
            throw new FailedPreconditionException(
                $"Attempting to use uninitialized value {variable.Name}: variable '{variable.Name}' has not been initialised in this session (run its initializer or the global variables initializer first).");
        _readThisRun.Add(v.Data);
        return v;
    }

    /// <summary>
    /// The array a variable update writes: the variable's spare array (double buffering, so values read earlier in
    /// this run stay unchanged), or a new one when the spare does not fit or was read in this run.
    /// </summary>
    public Array VariableTarget(Operation variable, DType dtype, int[] dims)
    {
        var size = (int)Shape.Product(dims);
        if (session.Spares.TryGetValue(variable, out var spare) && spare.Length == size && spare.GetType() == dtype.ClrType().MakeArrayType()
            && !_readThisRun.Contains(spare) && !(session.Variables.TryGetValue(variable, out var cur) && ReferenceEquals(cur.Data, spare)))
            return spare;
        return Array.CreateInstance(dtype.ClrType(), size);
    }

    /// <summary>Makes <paramref name="value"/> the variable's value; the previous array becomes its spare.</summary>
    public void CommitVariable(Operation variable, HostTensor value)
    {
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
internal sealed class SessionState
{
    public Dictionary<Operation, HostTensor> Variables { get; } = new();
    public Dictionary<Operation, Array> Spares { get; } = new();

    /// <summary>Bytes held by variable values and their spares.</summary>
    public long VariableBytes => Variables.Values.Sum(v => (long)Buffer.ByteLength(v.Data)) + Spares.Values.Sum(a => (long)Buffer.ByteLength(a));
    public Dictionary<Operation, (long, long)> RandomSeeds { get; } = new();
    public Dictionary<Operation, ulong> RandomPositions { get; } = new();
}
