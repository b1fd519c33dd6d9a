namespace Graph.Core.Data;

/// <summary>How <see cref="Batches.ShuffleBatch(HostTensor, HostTensor, int, int, BatchSplit, bool)"/> cuts an epoch's shuffled indices into batches.</summary>
public enum BatchSplit
{
    /// <summary>
    /// Consecutive batches of exactly <c>batchSize</c> rows; the last batch holds the remaining
    /// <c>n % batchSize</c> rows when that is not zero (⌈n / batchSize⌉ batches).
    /// </summary>
    Sequential,

    /// <summary>
    /// The notebook's <c>np.array_split(rnd_idx, n // batch_size)</c>: <c>max(1, n / batchSize)</c> batches whose
    /// sizes differ by at most one, the first <c>n % batches</c> of them one row larger (so no batch is smaller
    /// than <c>batchSize</c> unless the whole set is).
    /// </summary>
    ArraySplit,
}

/// <summary>Mini-batching helpers for training loops, in the role of the notebook's <c>shuffle_batch</c>.</summary>
public static class Batches
{
    /// <summary>
    /// A random permutation of <c>0 … n-1</c>, deterministic for a seed: starting from the identity,
    /// a Fisher–Yates shuffle with <c>new System.Random(seed)</c> that, for <c>i</c> from <c>n-1</c> down to 1,
    /// swaps element <c>i</c> with element <c>j = random.Next(i + 1)</c>.
    /// </summary>
    /// <param name="n">The number of indices (≥ 0).</param>
    /// <param name="seed">The seed of the <see cref="System.Random"/> that drives the shuffle.</param>
    public static int[] Permutation(int n, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        var perm = new int[n];
        for (var i = 0; i < n; i++) perm[i] = i;
        var random = new System.Random(seed);
        for (var i = n - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (perm[i], perm[j]) = (perm[j], perm[i]);
        }
        return perm;
    }

    /// <summary>
    /// Copies the rows (slices along the leading dimension) <paramref name="rows"/> of <paramref name="tensor"/>, in
    /// that order, into a new tensor of shape <c>[rows.Length, …]</c>, like numpy's <c>tensor[rows]</c>.
    /// </summary>
    /// <param name="tensor">A tensor of rank ≥ 1.</param>
    /// <param name="rows">Row indices, each in <c>[0, tensor.Dims[0])</c>; repeats are allowed.</param>
    public static HostTensor TakeRows(HostTensor tensor, ReadOnlySpan<int> rows) => TakeRowsInto(tensor, rows, null);

    /// <summary><see cref="TakeRows(HostTensor, ReadOnlySpan{int})"/> into <paramref name="into"/> (of the result's dtype and shape) when given.</summary>
    private static HostTensor TakeRowsInto(HostTensor tensor, ReadOnlySpan<int> rows, HostTensor? into)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var (rowSize, dims) = RowsLayout(tensor.DimsSpan, rows.Length);
        var result = into ?? HostTensor.Zeros(tensor.DType, dims);
        for (var k = 0; k < rows.Length; k++)
            Array.Copy(tensor.Data, (long)CheckedRow(rows[k], tensor.DimsSpan[0]) * rowSize, result.Data, (long)k * rowSize, rowSize);
        return result;
    }

    /// <summary>For taking <paramref name="count"/> rows of a tensor of <paramref name="dims"/>: a row's length and the result's dims.</summary>
    internal static (int RowSize, int[] Dims) RowsLayout(ReadOnlySpan<int> dims, int count)
    {
        if (dims.Length == 0) throw new ArgumentException("Rows can only be taken from a tensor of rank ≥ 1, not a scalar.");
        var result = dims.ToArray();
        result[0] = count;
        return ((int)Shape.Product(dims[1..]), result);
    }

    /// <summary><paramref name="row"/>, checked to lie in [0, <paramref name="rows"/>).</summary>
    internal static int CheckedRow(int row, int rows) =>
        (uint)row < (uint)rows ? row : throw new IndexOutOfRangeException($"Row index {row} is out of bounds for a leading dimension of size {rows}.");

    /// <summary>
    /// One epoch of shuffled mini-batches of the rows of <paramref name="X"/> and <paramref name="y"/>: the row
    /// indices are permuted by <see cref="Permutation"/>(n, <paramref name="seed"/>) and cut into batches per
    /// <paramref name="split"/>, so every row appears in exactly one batch. Rows are copied (any dtype, any
    /// trailing dimensions); the same seed gives the same batches. Use a different seed per epoch, e.g.
    /// <c>seed + epoch</c>.
    /// </summary>
    /// <remarks>
    /// The notebook's <c>shuffle_batch</c> shuffles with <c>np.random.permutation</c> and splits with
    /// <c>np.array_split(rnd_idx, len(X) // batch_size)</c>. The default here, <see cref="BatchSplit.Sequential"/>,
    /// gives batches of exactly <paramref name="batchSize"/> rows with a smaller last batch when the batch size does
    /// not divide the set; <see cref="BatchSplit.ArraySplit"/> reproduces the notebook's near-equal batch sizes.
    /// When the batch size divides the set, both are the same. The permutation is System.Random's, not numpy's.
    /// Arguments are checked when the method is called; batches are produced lazily.
    /// </remarks>
    /// <param name="X">The inputs, rank ≥ 1, one row per example along dimension 0.</param>
    /// <param name="y">The targets, rank ≥ 1, with the same leading dimension as <paramref name="X"/>.</param>
    /// <param name="batchSize">Rows per batch (≥ 1).</param>
    /// <param name="seed">The shuffle's seed.</param>
    /// <param name="split">How the shuffled indices are cut into batches.</param>
    /// <param name="reuseBuffers">
    /// Write every batch of a size into the same two arrays (one for X, one for y), made once per epoch, instead of
    /// new ones per batch: an epoch then allocates two or three batches' worth instead of the whole data set's, which
    /// the collector would otherwise have to find. A batch is valid only until the enumeration moves to the next one:
    /// feed it, do not keep it (no <c>ToList()</c>).
    /// </param>
    public static IEnumerable<(HostTensor X, HostTensor y)> ShuffleBatch(HostTensor X, HostTensor y, int batchSize, int seed, BatchSplit split = BatchSplit.Sequential,
        bool reuseBuffers = false)
    {
        ArgumentNullException.ThrowIfNull(X);
        var perm = Check(X.Shape, y, batchSize, split, seed, out var bounds);
        return Iterate((rows, into) => TakeRowsInto(X, rows, into), y, bounds, perm, reuseBuffers);
    }

    /// <summary>
    /// <see cref="ShuffleBatch(HostTensor, HostTensor, int, int, BatchSplit, bool)"/> over images kept as bytes
    /// (<see cref="MnistBytes"/>): the same batches, each batch's rows converted to float32 <c>b / divisor</c> as they
    /// are copied (<see cref="ByteTensor.TakeRows"/>; with the default 255 equal to the batches of the float32 data
    /// set, bit for bit), so the data set stays a quarter of its float32 size.
    /// </summary>
    /// <param name="X">The inputs as bytes, rank ≥ 1, one row per example along dimension 0.</param>
    /// <param name="y">The targets, rank ≥ 1, with the same leading dimension as <paramref name="X"/>.</param>
    /// <param name="batchSize">Rows per batch (≥ 1).</param>
    /// <param name="seed">The shuffle's seed.</param>
    /// <param name="split">How the shuffled indices are cut into batches.</param>
    /// <param name="divisor">What every byte is divided by (255: pixels in [0, 1]).</param>
    /// <param name="reuseBuffers">As for the float32 overload: one pair of arrays per batch size, each batch valid until the next.</param>
    public static IEnumerable<(HostTensor X, HostTensor y)> ShuffleBatch(ByteTensor X, HostTensor y, int batchSize, int seed, BatchSplit split = BatchSplit.Sequential,
        float divisor = 255f, bool reuseBuffers = false)
    {
        ArgumentNullException.ThrowIfNull(X);
        var perm = Check(X.Shape, y, batchSize, split, seed, out var bounds);
        ByteTensor.CheckDivisor(divisor);
        return Iterate((rows, into) => X.TakeRowsInto(rows, divisor, into), y, bounds, perm, reuseBuffers);
    }

    /// <summary>Checks ShuffleBatch's arguments when it is called; returns the epoch's permutation and its batches' bounds.</summary>
    private static int[] Check(Shape xShape, HostTensor y, int batchSize, BatchSplit split, int seed, out (int Start, int Count)[] bounds)
    {
        ArgumentNullException.ThrowIfNull(y);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (xShape.Rank == 0 || y.Rank == 0)
            throw new ArgumentException($"ShuffleBatch needs tensors of rank ≥ 1 (one row per example), got X {xShape} and y {y.Shape}.");
        if (xShape[0] != y.DimsSpan[0])
            throw new ArgumentException($"X and y must have the same number of rows, got X {xShape} and y {y.Shape}.");
        if (!Enum.IsDefined(split)) throw new ArgumentOutOfRangeException(nameof(split), split, "Unknown batch split.");
        var n = y.DimsSpan[0];
        bounds = BatchBounds(n, batchSize, split);
        return Permutation(n, seed);
    }

    /// <summary>Rows of the inputs as a batch: into <c>into</c> (a batch of the same size) when given, else a new tensor.</summary>
    private delegate HostTensor RowTaker(ReadOnlySpan<int> rows, HostTensor? into);

    private static IEnumerable<(HostTensor X, HostTensor y)> Iterate(RowTaker takeX, HostTensor y, (int Start, int Count)[] bounds, int[] perm, bool reuse)
    {
        // Batch sizes seen so far and their arrays, filled again by the next batch of a size: an epoch has at most two
        // sizes (arrays searched in order, not a dictionary keyed by size: see BatchBounds).
        var sizes = new int[2];
        var kept = new (HostTensor X, HostTensor y)[2];
        var seen = 0;
        foreach (var (start, count) in bounds)
        {
            var rows = perm.AsMemory(start, count);
            var slot = reuse ? Array.IndexOf(sizes, count, 0, seen) : -1;
            var previous = slot >= 0 ? kept[slot] : default;
            var batch = (takeX(rows.Span, previous.X), TakeRowsInto(y, rows.Span, previous.y));
            if (reuse && slot < 0)
            {
                if (seen == sizes.Length)
                {
                    Array.Resize(ref sizes, seen + 1);
                    Array.Resize(ref kept, seen + 1);
                }
                (slot, sizes[seen]) = (seen, count);
                seen++;
            }
            if (slot >= 0) kept[slot] = batch;
            yield return batch;
        }
    }

    /// <summary>The (start, count) of each batch of an epoch of <paramref name="n"/> rows.</summary>
    /// <remarks>An array, not a list: a List of the tuple is framework generic code over a value type that no
    /// ReadyToRun image holds, JIT-compiled (~20 methods) just before every process's first training step.</remarks>
    internal static (int Start, int Count)[] BatchBounds(int n, int batchSize, BatchSplit split)
    {
        if (n == 0) return [];
        if (split == BatchSplit.Sequential)
        {
            var sequential = new (int Start, int Count)[(n + batchSize - 1) / batchSize];
            for (var b = 0; b < sequential.Length; b++) sequential[b] = (b * batchSize, Math.Min(batchSize, n - b * batchSize));
            return sequential;
        }
        // np.array_split(a, sections): the first n % sections parts get n / sections + 1 elements, the rest n / sections.
        var sections = Math.Max(1, n / batchSize);
        var (each, extra) = (n / sections, n % sections);
        var bounds = new (int Start, int Count)[sections];
        var at = 0;
        for (var s = 0; s < sections; s++)
        {
            var count = each + (s < extra ? 1 : 0);
            bounds[s] = (at, count);
            at += count;
        }
        return bounds;
    }
}
