namespace Graph.Kernels.Loops;

/// <summary>
/// Recycles the large arrays loop iterations produce and drop (loop state, per-iteration results, consumed records),
/// so a training step does not allocate (and later collect) large-object-heap arrays every iteration.
/// Only arrays known to be dead are returned; a rented array's contents are unspecified.
/// </summary>
internal sealed class ArrayRecycler
{
    private const int MinLength = 4096, MaxPerBucket = 64;
    private readonly Dictionary<(Type, int), Stack<Array>> _free = new();

    /// <summary>An array of <paramref name="type"/>[<paramref name="length"/>], reused when one is free.</summary>
    public Array Rent(Type type, int length)
    {
        if (length >= MinLength && _free.TryGetValue((type, length), out var stack) && stack.Count > 0) return stack.Pop();
        return RunState.Uninitialized(Graph.Core.DTypeExtensions.FromClrType(type), length);
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
        var key = (array.GetType().GetElementType()!, array.Length);
        if (!_free.TryGetValue(key, out var stack)) _free[key] = stack = new Stack<Array>();
        if (stack.Count < MaxPerBucket) stack.Push(array);
    }

    /// <summary>Returns every array of <paramref name="dead"/> that is not in <paramref name="alive"/>.</summary>
    public void ReturnAllExcept(IEnumerable<Array> dead, ISet<Array> alive)
    {
        foreach (var a in dead.Distinct(ReferenceEqualityComparer.Instance).Cast<Array>())
            if (!alive.Contains(a)) Return(a);
    }
}
