namespace Graph.Core.Data;

/// <summary>
/// Data-parallel sharding: every rank draws the same global batches (same shuffle seed) and takes its own contiguous
/// part of each, so the N ranks' shards of a batch are disjoint and together are the batch. Part sizes differ by at most
/// one row (the first <c>rows % N</c> ranks get one more), as numpy's <c>array_split</c> cuts.
/// </summary>
public static class Sharding
{
    /// <summary>The rows [Start, Start + Count) of a batch of <paramref name="rows"/> rows that rank <paramref name="rank"/> of <paramref name="size"/> takes.</summary>
    /// <exception cref="ArgumentException">The rank is not in [0, size), or the batch has fewer rows than there are ranks (a rank would get none).</exception>
    public static (int Start, int Count) Bounds(int rows, int rank, int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        if (rank < 0 || rank >= size) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"Rank {rank} is not in [0, {size}).");
        if (rows < size)
            throw new ArgumentException($"A batch of {rows} row{(rows == 1 ? "" : "s")} cannot be sharded over {size} ranks: every rank needs at least one row (use a global batch of at least {size}).");
        var (each, extra) = (rows / size, rows % size);
        return (rank * each + Math.Min(rank, extra), each + (rank < extra ? 1 : 0));
    }

    /// <summary>Rank <paramref name="rank"/>'s rows of <paramref name="batch"/> (a copy; any dtype, rank ≥ 1, rows along dimension 0).</summary>
    public static HostTensor Shard(HostTensor batch, int rank, int size)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Rank == 0) throw new ArgumentException("A scalar has no rows to shard.", nameof(batch));
        if (size == 1) return batch;
        var (start, count) = Bounds(batch.DimsSpan[0], rank, size);
        return Batches.TakeRows(batch, Enumerable.Range(start, count).ToArray());
    }

    /// <summary>Rank <paramref name="rank"/>'s shard of every (inputs, targets) batch of <paramref name="batches"/>, lazily.</summary>
    public static IEnumerable<(HostTensor X, HostTensor y)> Shard(IEnumerable<(HostTensor X, HostTensor y)> batches, int rank, int size)
    {
        ArgumentNullException.ThrowIfNull(batches);
        Bounds(size, rank, size); // checks rank and size now, not at the first batch
        return batches.Select(b => (Shard(b.X, rank, size), Shard(b.y, rank, size)));
    }
}
