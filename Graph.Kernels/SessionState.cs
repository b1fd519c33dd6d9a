using Graph.Core;

namespace Graph.Kernels;

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
    /// <summary>
    /// Each random stream's seeds and position, by the stream's op. A class per stream, not tuple or integer values:
    /// a dictionary over a value type is framework generic code no ReadyToRun image holds, JIT-compiled (~16 methods)
    /// in every process's first run of its initializers.
    /// </summary>
    public Dictionary<Operation, RandomStream> RandomStreams { get; } = new();

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
}

/// <summary>A random stream's seeds (resolved once per session, as in TF) and the position its next run starts at.</summary>
internal sealed class RandomStream(long seed, long seed2)
{
    public long Seed { get; } = seed;
    public long Seed2 { get; } = seed2;
    public ulong Position { get; set; }
}
