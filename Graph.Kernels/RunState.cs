using Graph.Core;

namespace Graph.Kernels;

/// <summary>What kernels may touch during one Run: the feeds of the run and the session's persistent state.</summary>
internal sealed class RunState(SessionState session, IReadOnlyDictionary<Tensor, HostTensor> feeds)
{
    public HostTensor Feed(Tensor t) => feeds[t];

    public HostTensor ReadVariable(Operation variable) =>
        session.Variables.TryGetValue(variable, out var v)
            ? v
            : throw new FailedPreconditionException(
                $"Attempting to use uninitialized value {variable.Name}: variable '{variable.Name}' has not been initialised in this session (run its initializer or the global variables initializer first).");

    /// <summary>Stores a copy of <paramref name="value"/> as the variable's new value; values read earlier stay unchanged.</summary>
    public HostTensor AssignVariable(AssignVariablePrim p, HostTensor value)
    {
        var stored = new HostTensor((Array)value.Data.Clone(), value.Dims);
        session.Variables[p.Variable] = stored;
        return stored;
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
    public Dictionary<Operation, (long, long)> RandomSeeds { get; } = new();
    public Dictionary<Operation, ulong> RandomPositions { get; } = new();
}
