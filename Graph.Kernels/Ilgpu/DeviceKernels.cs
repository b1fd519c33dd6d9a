using ILGPU;

namespace Graph.Kernels.Ilgpu;

/// <summary>Arithmetic of one element type inside hand-written generic kernels (closed per dtype with MakeGenericMethod).</summary>
public interface IDeviceArith<T> where T : unmanaged
{
    /// <summary>a + b</summary>
    T Add(T a, T b);
    /// <summary>a - b</summary>
    T Sub(T a, T b);
    /// <summary>a · b</summary>
    T Mul(T a, T b);
    /// <summary>Whether sums need compensation (floating point).</summary>
    bool Inexact { get; }
    /// <summary>What one Kahan step (sum = acc + term) lost to rounding, or 0 once the sum is not finite (see <see cref="DeviceMath.KahanCompensation(float, float, float)"/>).</summary>
    T KahanCompensation(T sum, T acc, T term);
    /// <summary>max(a, b), NaN first</summary>
    T Max(T a, T b);
    /// <summary>min(a, b), NaN first</summary>
    T Min(T a, T b);
    /// <summary>a &gt; b</summary>
    bool Greater(T a, T b);
    /// <summary>a &lt; b</summary>
    bool Less(T a, T b);
    /// <summary>0</summary>
    T Zero { get; }
    /// <summary>1</summary>
    T One { get; }
    /// <summary>The identity of max (the lowest value).</summary>
    T Lowest { get; }
    /// <summary>The identity of min (the highest value).</summary>
    T Highest { get; }
    /// <summary>An integer index as a value of T (ints and longs only).</summary>
    long ToLong(T a);
    /// <summary>A long as T.</summary>
    T FromLong(long a);
}

#pragma warning disable CS1591 // arithmetic of one dtype each; see IDeviceArith
public struct Float32Arith : IDeviceArith<float>
{
    public float Add(float a, float b) => a + b;
    public float Sub(float a, float b) => a - b;
    public bool Inexact => true;
    public float KahanCompensation(float sum, float acc, float term) => DeviceMath.KahanCompensation(sum, acc, term);
    public float Mul(float a, float b) => a * b;
    public float Max(float a, float b) => DeviceMath.Max(a, b);
    public float Min(float a, float b) => DeviceMath.Min(a, b);
    public bool Greater(float a, float b) => a > b;
    public bool Less(float a, float b) => a < b;
    public float Zero => 0f;
    public float One => 1f;
    public float Lowest => float.NegativeInfinity;
    public float Highest => float.PositiveInfinity;
    public long ToLong(float a) => (long)a;
    public float FromLong(long a) => a;
}

public struct Float64Arith : IDeviceArith<double>
{
    public double Add(double a, double b) => a + b;
    public double Sub(double a, double b) => a - b;
    public bool Inexact => true;
    public double KahanCompensation(double sum, double acc, double term) => DeviceMath.KahanCompensation(sum, acc, term);
    public double Mul(double a, double b) => a * b;
    public double Max(double a, double b) => DeviceMath.Max(a, b);
    public double Min(double a, double b) => DeviceMath.Min(a, b);
    public bool Greater(double a, double b) => a > b;
    public bool Less(double a, double b) => a < b;
    public double Zero => 0.0;
    public double One => 1.0;
    public double Lowest => double.NegativeInfinity;
    public double Highest => double.PositiveInfinity;
    public long ToLong(double a) => (long)a;
    public double FromLong(long a) => a;
}

public struct Int32Arith : IDeviceArith<int>
{
    public int Add(int a, int b) => a + b;
    public int Sub(int a, int b) => a - b;
    public bool Inexact => false;
    public int KahanCompensation(int sum, int acc, int term) => 0;
    public int Mul(int a, int b) => a * b;
    public int Max(int a, int b) => a > b ? a : b;
    public int Min(int a, int b) => a < b ? a : b;
    public bool Greater(int a, int b) => a > b;
    public bool Less(int a, int b) => a < b;
    public int Zero => 0;
    public int One => 1;
    public int Lowest => int.MinValue;
    public int Highest => int.MaxValue;
    public long ToLong(int a) => a;
    public int FromLong(long a) => (int)a;
}

public struct Int64Arith : IDeviceArith<long>
{
    public long Add(long a, long b) => a + b;
    public long Sub(long a, long b) => a - b;
    public bool Inexact => false;
    public long KahanCompensation(long sum, long acc, long term) => 0;
    public long Mul(long a, long b) => a * b;
    public long Max(long a, long b) => a > b ? a : b;
    public long Min(long a, long b) => a < b ? a : b;
    public bool Greater(long a, long b) => a > b;
    public bool Less(long a, long b) => a < b;
    public long Zero => 0;
    public long One => 1;
    public long Lowest => long.MinValue;
    public long Highest => long.MaxValue;
    public long ToLong(long a) => a;
    public long FromLong(long a) => a;
}

/// <summary>Sizes of a (batched) matrix product and the element strides of its operands.</summary>
public struct MatMulShape
{
    public long Batch, M, N, K;
    public long ABatch, ARow, ADepth;   // A[b, m, k] at b*ABatch + m*ARow + k*ADepth
    public long BBatch, BDepth, BCol;   // B[b, k, n] at b*BBatch + k*BDepth + n*BCol
    public long Threads;
    public long Accumulate;             // 1: C += op(A)·op(B) (a loop gradient's running sum), 0: C = op(A)·op(B)
}

/// <summary>A reduction: kept and reduced axes of the input, as (extent, stride) pairs in <c>meta</c>.</summary>
public struct ReduceShape
{
    public long Outputs, KeptRank, Reduced, ReducedRank, Threads, Chunks;
    public int Op;
}

/// <summary>
/// A reduction of x viewed as [Rows, Columns] over its rows (the reduced axes lead, the kept ones trail): each group
/// reduces GroupColumns neighbouring columns, its Lanes (a power of two) splitting the rows.
/// </summary>
public struct ColumnsShape
{
    public long Rows, Columns;
    public int GroupColumns, Lanes, Op;
}

/// <summary>An [outer, axis, inner] view of a gather, scatter-add or concatenation.</summary>
public struct SliceShape
{
    public long Outer, Inner, SourceAxis, TargetAxis, Offset, Count, Threads;
}
#pragma warning restore CS1591

/// <summary>
/// Hand-written ILGPU kernels for the primitives that are not element-wise: grid-stride loops (launch any number of
/// threads), one element type each via <see cref="IDeviceArith{T}"/>, deterministic (no atomics: every output element is
/// computed by one thread in a fixed order).
/// </summary>
public static class DeviceKernels
{
    /// <summary>Reduction codes of <see cref="ReduceShape.Op"/> (Graph.Core's ReduceOp values).</summary>
    private const int Sum = 0, Max = 1, Min = 2, Prod = 3, ArgMax = 4;

    /// <summary>
    /// C[b, m, n] = Σ_k A[b, m, k]·B[b, k, n]; each thread computes four neighbouring columns of a row (a register
    /// tile that reuses each A element four times).
    /// </summary>
    public static void MatMul<T, TArith>(Index1D index, ArrayView<T> a, ArrayView<T> b, ArrayView<T> c, MatMulShape s)
        where T : unmanaged where TArith : struct, IDeviceArith<T>
    {
        var ops = default(TArith);
        var tiles = (s.N + 3) / 4;
        var work = s.Batch * s.M * tiles;
        for (long w = index.X; w < work; w += s.Threads)
        {
            var tile = w % tiles;
            var row = w / tiles;
            var m = row % s.M;
            var batch = row / s.M;
            var n0 = tile * 4;
            var aBase = batch * s.ABatch + m * s.ARow;
            var bBase = batch * s.BBatch + n0 * s.BCol;
            T acc0 = ops.Zero, acc1 = ops.Zero, acc2 = ops.Zero, acc3 = ops.Zero;
            var full = n0 + 4 <= s.N;
            for (long k = 0; k < s.K; k++)
            {
                var av = a[aBase + k * s.ADepth];
                var bk = bBase + k * s.BDepth;
                acc0 = ops.Add(acc0, ops.Mul(av, b[bk]));
                if (full || n0 + 1 < s.N) acc1 = ops.Add(acc1, ops.Mul(av, b[bk + s.BCol]));
                if (full || n0 + 2 < s.N) acc2 = ops.Add(acc2, ops.Mul(av, b[bk + 2 * s.BCol]));
                if (full) acc3 = ops.Add(acc3, ops.Mul(av, b[bk + 3 * s.BCol]));
            }
            var cBase = row * s.N + n0;
            if (s.Accumulate != 0)
            {
                // As the Accumulate kernel adds a finished product: the same bits as a product then a sum.
                acc0 = ops.Add(c[cBase], acc0);
                if (n0 + 1 < s.N) acc1 = ops.Add(c[cBase + 1], acc1);
                if (n0 + 2 < s.N) acc2 = ops.Add(c[cBase + 2], acc2);
                if (n0 + 3 < s.N) acc3 = ops.Add(c[cBase + 3], acc3);
            }
            c[cBase] = acc0;
            if (n0 + 1 < s.N) c[cBase + 1] = acc1;
            if (n0 + 2 < s.N) c[cBase + 2] = acc2;
            if (n0 + 3 < s.N) c[cBase + 3] = acc3;
        }
    }

    /// <summary>
    /// Reduces over any axes: one thread per output element walks its reduced elements in row-major order.
    /// <c>meta</c> holds (extent, input stride) for each kept axis, then for each reduced axis.
    /// </summary>
    public static void Reduce<T, TArith>(Index1D index, ArrayView<T> x, ArrayView<T> y, ArrayView<long> meta, ReduceShape s)
        where T : unmanaged where TArith : struct, IDeviceArith<T>
    {
        var ops = default(TArith);
        // Work item w reduces chunk w % Chunks of output w / Chunks into y[w]: with Chunks > 1 a few long reductions
        // spread over many threads, and a second pass reduces the partial results.
        var chunks = s.Chunks < 1 ? 1 : s.Chunks;
        var chunk = (s.Reduced + chunks - 1) / chunks;
        for (long w = index.X; w < s.Outputs * chunks; w += s.Threads)
        {
            var o = w / chunks;
            var from = w % chunks * chunk;
            var to = from + chunk < s.Reduced ? from + chunk : s.Reduced;
            var baseOffset = KeptOffset(o, meta, s.KeptRank);
            var acc = s.Op == Sum ? ops.Zero : s.Op == Prod ? ops.One : s.Op == Max ? ops.Lowest : ops.Highest;
            var compensation = ops.Zero;
            for (long r = from; r < to; r++)
            {
                var v = x[baseOffset + ReducedOffset(r, meta, s.KeptRank, s.ReducedRank)];
                if (s.Op == Sum && ops.Inexact)
                {
                    // Kahan summation: as accurate as a pairwise sum, in a fixed order.
                    var term = ops.Sub(v, compensation);
                    var sum = ops.Add(acc, term);
                    compensation = ops.KahanCompensation(sum, acc, term);
                    acc = sum;
                }
                else acc = s.Op == Sum ? ops.Add(acc, v) : s.Op == Prod ? ops.Mul(acc, v) : s.Op == Max ? ops.Max(acc, v) : ops.Min(acc, v);
            }
            y[w] = acc;
        }
    }

    /// <summary>The largest group <see cref="ReduceColumns{T, TArith}"/> is launched with (its shared memory holds one value per thread).</summary>
    public const int MaxColumnsGroup = 1024;

    /// <summary>
    /// Reduces x [Rows, Columns] over its rows (a bias gradient's sum over the batch, a mean over everything):
    /// reads are coalesced (a group's neighbouring threads read neighbouring columns), each lane reduces every
    /// Lanes-th row in order (Kahan for float sums), and the lanes' partial results combine in shared memory in a
    /// fixed tree order, so results are the same every run. Explicitly grouped: launch ⌈Columns / GroupColumns⌉ groups
    /// of GroupColumns·Lanes threads. (One thread per column walking all rows took 117 µs for 150×150 on an H200.)
    /// </summary>
    public static void ReduceColumns<T, TArith>(ArrayView<T> x, ArrayView<T> y, ColumnsShape s)
        where T : unmanaged where TArith : struct, IDeviceArith<T>
    {
        var ops = default(TArith);
        var partial = SharedMemory.Allocate<T>(MaxColumnsGroup);
        var thread = Group.IdxX;
        var column = thread % s.GroupColumns;
        var lane = thread / s.GroupColumns;
        var c = (long)Grid.IdxX * s.GroupColumns + column;
        var acc = s.Op == Sum ? ops.Zero : s.Op == Prod ? ops.One : s.Op == Max ? ops.Lowest : ops.Highest;
        if (c < s.Columns)
        {
            var compensation = ops.Zero;
            for (long r = lane; r < s.Rows; r += s.Lanes)
            {
                var v = x[r * s.Columns + c];
                if (s.Op == Sum && ops.Inexact)
                {
                    var term = ops.Sub(v, compensation);
                    var sum = ops.Add(acc, term);
                    compensation = ops.KahanCompensation(sum, acc, term);
                    acc = sum;
                }
                else acc = Combine(ops, s.Op, acc, v);
            }
        }
        partial[thread] = acc;
        Group.Barrier();
        for (var half = s.Lanes >> 1; half > 0; half >>= 1)
        {
            if (lane < half) partial[thread] = Combine(ops, s.Op, partial[thread], partial[thread + half * s.GroupColumns]);
            Group.Barrier();
        }
        if (lane == 0 && c < s.Columns) y[c] = partial[column];
    }

    private static T Combine<T, TArith>(TArith ops, int op, T a, T b) where T : unmanaged where TArith : struct, IDeviceArith<T> =>
        op == Sum ? ops.Add(a, b) : op == Prod ? ops.Mul(a, b) : op == Max ? ops.Max(a, b) : ops.Min(a, b);

    /// <summary>The index of the first maximum (or minimum) along the reduced axis, by the cpu device's comparisons (a NaN never wins unless first).</summary>
    public static void ArgReduce<T, TArith, TIndex, TIndexArith>(Index1D index, ArrayView<T> x, ArrayView<TIndex> y, ArrayView<long> meta, ReduceShape s)
        where T : unmanaged where TArith : struct, IDeviceArith<T> where TIndex : unmanaged where TIndexArith : struct, IDeviceArith<TIndex>
    {
        var ops = default(TArith);
        for (long o = index.X; o < s.Outputs; o += s.Threads)
        {
            var baseOffset = KeptOffset(o, meta, s.KeptRank);
            long best = 0;
            var bestValue = x[baseOffset + ReducedOffset(0, meta, s.KeptRank, s.ReducedRank)];
            for (long r = 1; r < s.Reduced; r++)
            {
                var v = x[baseOffset + ReducedOffset(r, meta, s.KeptRank, s.ReducedRank)];
                if (s.Op == ArgMax ? ops.Greater(v, bestValue) : ops.Less(v, bestValue))
                {
                    best = r;
                    bestValue = v;
                }
            }
            y[o] = default(TIndexArith).FromLong(best);
        }
    }

    private static long KeptOffset(long o, ArrayView<long> meta, long keptRank)
    {
        long offset = 0;
        for (var axis = keptRank - 1; axis >= 0; axis--)
        {
            var extent = meta[2 * axis];
            offset += o % extent * meta[2 * axis + 1];
            o /= extent;
        }
        return offset;
    }

    private static long ReducedOffset(long r, ArrayView<long> meta, long keptRank, long reducedRank)
    {
        long offset = 0;
        for (var axis = reducedRank - 1; axis >= 0; axis--)
        {
            var at = 2 * (keptRank + axis);
            var extent = meta[at];
            offset += r % extent * meta[at + 1];
            r /= extent;
        }
        return offset;
    }

    /// <summary>
    /// y[o, j, i] = params[o, indices[j], i] for params [Outer, SourceAxis, Inner] and Count indices; an index outside
    /// [0, SourceAxis) sets the error flag and records its position and value as <see cref="CheckIndices{TIndex, TIndexArith}"/>
    /// does (the run then fails with the check's message) and yields 0.
    /// </summary>
    public static void Gather<T, TIndex, TIndexArith>(Index1D index, ArrayView<T> parameters, ArrayView<TIndex> indices, ArrayView<T> y, ArrayView<int> error,
        ArrayView<long> evidence, SliceShape s)
        where T : unmanaged where TIndex : unmanaged where TIndexArith : struct, IDeviceArith<TIndex>
    {
        var total = s.Outer * s.Count * s.Inner;
        for (long e = index.X; e < total; e += s.Threads)
        {
            var i = e % s.Inner;
            var j = e / s.Inner % s.Count;
            var o = e / (s.Inner * s.Count);
            var at = default(TIndexArith).ToLong(indices[j]);
            if (at < 0 || at >= s.SourceAxis)
            {
                // The index check of the gather's op, done here (one launch less than a separate check kernel).
                error[0] = DeviceMath.IndexOutOfRange;
                var value = at > int.MaxValue ? int.MaxValue : at < int.MinValue ? int.MinValue : (int)at;
                Atomic.Max(ref evidence[0], DeviceMath.IndexEvidence(j < int.MaxValue ? (int)j : int.MaxValue - 1, value));
                y[e] = default;
            }
            else y[e] = parameters[(o * s.SourceAxis + at) * s.Inner + i];
        }
    }

    /// <summary>
    /// Checks that each of Count indices lies in [0, TargetAxis) (labels, sequence lengths, gather positions). A bad
    /// one sets the error flag and records, in one 64-bit atomic maximum, the first bad position with its value (both
    /// saturated to 32 bits): the run then fails with the cpu device's message, and no host copy or wait is needed on
    /// the way.
    /// </summary>
    public static void CheckIndices<TIndex, TIndexArith>(Index1D index, ArrayView<TIndex> indices, ArrayView<int> error, ArrayView<long> evidence, SliceShape s)
        where TIndex : unmanaged where TIndexArith : struct, IDeviceArith<TIndex>
    {
        for (long e = index.X; e < s.Count; e += s.Threads)
        {
            var v = default(TIndexArith).ToLong(indices[e]);
            if (v >= 0 && v < s.TargetAxis) continue;
            error[0] = DeviceMath.IndexOutOfRange;
            var position = e < int.MaxValue ? (int)e : int.MaxValue - 1;
            var value = v > int.MaxValue ? int.MaxValue : v < int.MinValue ? int.MinValue : (int)v;
            Atomic.Max(ref evidence[0], DeviceMath.IndexEvidence(position, value));
        }
    }

    /// <summary>
    /// y[index, i] = value[i] for y [TargetAxis, Inner] (a TensorArray write); an index outside [0, TargetAxis) sets the
    /// error flag and writes nothing.
    /// </summary>
    public static void UpdateRow<T, TIndex, TIndexArith>(Index1D index, ArrayView<T> value, ArrayView<TIndex> row, ArrayView<T> y, ArrayView<int> error, SliceShape s)
        where T : unmanaged where TIndex : unmanaged where TIndexArith : struct, IDeviceArith<TIndex>
    {
        var at = default(TIndexArith).ToLong(row[0]);
        if (at < 0 || at >= s.TargetAxis)
        {
            if (index.X == 0) error[0] = DeviceMath.IndexOutOfRange;
            return;
        }
        for (long e = index.X; e < s.Inner; e += s.Threads) y[at * s.Inner + e] = value[e];
    }

    /// <summary>y += x, element-wise (a loop gradient's sum over iterations).</summary>
    public static void Accumulate<T, TArith>(Index1D index, ArrayView<T> x, ArrayView<T> y, SliceShape s)
        where T : unmanaged where TArith : struct, IDeviceArith<T>
    {
        for (long e = index.X; e < s.Inner; e += s.Threads) y[e] = default(TArith).Add(y[e], x[e]);
    }

    /// <summary>
    /// y[o, indices[j], i] += updates[o, j, i] for every j, into y [Outer, TargetAxis, Inner]: one thread per (o, i)
    /// column walks the indices in order, so repeated indices accumulate deterministically.
    /// </summary>
    public static void ScatterAddInto<T, TArith, TIndex, TIndexArith>(Index1D index, ArrayView<T> updates, ArrayView<TIndex> indices, ArrayView<T> y, ArrayView<int> error, SliceShape s)
        where T : unmanaged where TArith : struct, IDeviceArith<T> where TIndex : unmanaged where TIndexArith : struct, IDeviceArith<TIndex>
    {
        var ops = default(TArith);
        var columns = s.Outer * s.Inner;
        for (long c = index.X; c < columns; c += s.Threads)
        {
            var i = c % s.Inner;
            var o = c / s.Inner;
            for (long j = 0; j < s.Count; j++)
            {
                var at = default(TIndexArith).ToLong(indices[j]);
                if (at < 0 || at >= s.TargetAxis)
                {
                    error[0] = DeviceMath.IndexOutOfRange;
                    continue;
                }
                var target = (o * s.TargetAxis + at) * s.Inner + i;
                y[target] = ops.Add(y[target], updates[(o * s.Count + j) * s.Inner + i]);
            }
        }
    }

    /// <summary>Copies a part [Outer, SourceAxis, Inner] into y [Outer, TargetAxis, Inner] at Offset along the axis (one input of a concatenation).</summary>
    public static void CopyPart<T>(Index1D index, ArrayView<T> part, ArrayView<T> y, SliceShape s) where T : unmanaged
    {
        var total = s.Outer * s.SourceAxis * s.Inner;
        for (long e = index.X; e < total; e += s.Threads)
        {
            var i = e % s.Inner;
            var a = e / s.Inner % s.SourceAxis;
            var o = e / (s.Inner * s.SourceAxis);
            y[(o * s.TargetAxis + s.Offset + a) * s.Inner + i] = part[e];
        }
    }
}
