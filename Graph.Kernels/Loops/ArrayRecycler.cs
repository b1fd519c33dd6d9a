using Graph.Core;

namespace Graph.Kernels.Loops;

/// <summary>
/// Recycles the large arrays loop iterations produce and drop (loop state, per-iteration results, consumed records),
/// so a training step does not allocate (and later collect) large-object-heap arrays every iteration.
/// Only arrays known to be dead are returned; a rented array's contents are unspecified. It keeps at most
/// <paramref name="maxBytes"/> bytes: making room drops the arrays of the sizes least recently used first, so a loop
/// over many shapes (batch sizes, sequence lengths) does not keep arrays of every shape it saw.
/// </summary>
internal sealed class ArrayRecycler(long maxBytes)
{
    private const int MinLength = 4096, MaxPerBucket = 64;
    // Per dtype, the free arrays by length (a dictionary keyed by a (type, length) tuple, a value type, was JIT-compiled
    // on the first training step: ReadyToRun cannot hold the framework's generics over it).
    private readonly Dictionary<int, Bucket>?[] _free = new Dictionary<int, Bucket>?[Enum.GetValues<DType>().Length];
    private readonly LinkedList<Bucket> _recency = new(); // least recently used first

    private sealed class Bucket
    {
        public Bucket(DType dtype, int length)
        {
            (DType, Length) = (dtype, length);
            Node = new LinkedListNode<Bucket>(this);
        }

        public DType DType { get; }
        public int Length { get; }
        public Stack<Array> Arrays { get; } = new();
        public LinkedListNode<Bucket> Node { get; }
    }

    /// <summary>Bytes of the arrays kept for reuse.</summary>
    public long Bytes { get; private set; }

    /// <summary>An array of <paramref name="type"/>[<paramref name="length"/>], reused when one is free.</summary>
    public Array Rent(Type type, int length)
    {
        var dtype = DTypeExtensions.FromClrType(type);
        if (length >= MinLength && _free[(int)dtype] is { } free && free.TryGetValue(length, out var bucket) && bucket.Arrays.TryPop(out var array))
        {
            Bytes -= Buffer.ByteLength(array);
            Touch(bucket);
            return array;
        }
        return RunState.Uninitialized(dtype, length);
    }

    /// <summary>A copy of <paramref name="source"/> in a rented array.</summary>
    public Array RentCopy(Array source)
    {
        var copy = Rent(source.GetType().GetElementType()!, source.Length);
        Array.Copy(source, copy, source.Length);
        return copy;
    }

    /// <summary>Takes back a dead array.</summary>
    public void Return(Array array)
    {
        if (array.Length < MinLength) return;
        var bytes = (long)Buffer.ByteLength(array);
        if (bytes > maxBytes) return;
        var dtype = DTypeExtensions.FromClrType(array.GetType().GetElementType()!);
        var free = _free[(int)dtype] ??= new Dictionary<int, Bucket>();
        if (!free.TryGetValue(array.Length, out var bucket))
        {
            free[array.Length] = bucket = new Bucket(dtype, array.Length);
            _recency.AddLast(bucket.Node);
        }
        else Touch(bucket);
        // An array returned while it is already free would be handed out twice: two values in one array. Checking costs
        // a scan of at most MaxPerBucket references and turns such a bookkeeping error into this exception, not wrong numbers.
        if (bucket.Arrays.Contains(array))
            throw new InvalidOperationException($"Internal error: an array of {array.Length} {array.GetType().GetElementType()!.Name} was returned to the loop recycler twice.");
#if DEBUG
        // Debug builds (the test suite's) poison what comes back: a value still read after its array was returned, a
        // bookkeeping error that would otherwise pass unnoticed while nothing happened to reuse the array yet, reads NaN.
        Poison(array);
#endif
        if (bucket.Arrays.Count >= MaxPerBucket) return;
        for (var node = _recency.First; Bytes + bytes > maxBytes && node != null;)
        {
            var next = node.Next;
            var other = node.Value;
            if (other != bucket)
            {
                while (Bytes + bytes > maxBytes && other.Arrays.TryPop(out var dropped)) Bytes -= Buffer.ByteLength(dropped);
                if (other.Arrays.Count == 0)
                {
                    _recency.Remove(node);
                    _free[(int)other.DType]!.Remove(other.Length);
                }
            }
            node = next;
        }
        if (Bytes + bytes > maxBytes) return;
        bucket.Arrays.Push(array);
        Bytes += bytes;
    }

    /// <summary>
    /// Returns every array of <paramref name="dead"/> that is not in <paramref name="alive"/>, each once: a returned
    /// array is added to <paramref name="alive"/> (a reference-equality set the caller clears before its next use).
    /// </summary>
    public void ReturnAllExcept(List<Array> dead, HashSet<Array> alive)
    {
        foreach (var a in dead)
            if (alive.Add(a)) Return(a);
    }

#if DEBUG
    private static void Poison(Array array)
    {
        switch (array)
        {
            case float[] f: f.AsSpan().Fill(float.NaN); break;
            case double[] d: d.AsSpan().Fill(double.NaN); break;
            case int[] i: i.AsSpan().Fill(int.MinValue); break;
            case long[] l: l.AsSpan().Fill(long.MinValue); break;
        }
    }
#endif

    private void Touch(Bucket bucket)
    {
        if (_recency.Last == bucket.Node) return;
        _recency.Remove(bucket.Node);
        _recency.AddLast(bucket.Node);
    }
}
