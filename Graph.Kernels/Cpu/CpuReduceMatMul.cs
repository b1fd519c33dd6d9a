using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Numerics.Tensors;
using Graph.Core;

namespace Graph.Kernels.Cpu;

/// <summary>Reductions and matrix products on host arrays.</summary>
internal static class CpuReduceMatMul
{
    /// <summary>Reduces <paramref name="xData"/> (of <paramref name="p"/>'s input shape) into <paramref name="yData"/>.</summary>
    public static void ReduceInto(ReducePrim p, Array xData, Array yData)
    {
        var x = new HostTensor(xData, p.Inputs[0].Dims);
        var y = new HostTensor(yData, p.Dims);
        // Loops rather than LINQ over the axes (int): this runs on every step, and each LINQ instantiation over a value
        // type is JIT-compiled on the first one.
        var rank = x.Rank;
        var perm = new int[rank];
        long reduceCount = 1, keptCount = 1;
        var kept = 0;
        for (var i = 0; i < rank; i++)
            if (Array.IndexOf(p.Axes, i) < 0)
            {
                perm[kept++] = i;
                keptCount *= x.DimsSpan[i];
            }
        for (var j = 0; j < p.Axes.Length; j++)
        {
            perm[kept + j] = p.Axes[j];
            reduceCount *= x.DimsSpan[p.Axes[j]];
        }
        // Reduced axes leading (e.g. a bias gradient over the batch): accumulate whole rows (the axes are sorted).
        var prefix = p.Axes.Length == 0 || p.Axes[^1] == p.Axes.Length - 1;
        if (prefix && p.Op is ReduceOp.Sum or ReduceOp.Max or ReduceOp.Min or ReduceOp.Prod && reduceCount > 0 && keptCount >= 16)
        {
            switch (x.Data)
            {
                case float[] f: ReduceRows(p.Op, f, (float[])y.Data, (int)reduceCount, (int)keptCount); break;
                case double[] d: ReduceRows(p.Op, d, (double[])y.Data, (int)reduceCount, (int)keptCount); break;
                case int[] i: ReduceRows(p.Op, i, (int[])y.Data, (int)reduceCount, (int)keptCount); break;
                case long[] l: ReduceRows(p.Op, l, (long[])y.Data, (int)reduceCount, (int)keptCount); break;
                default: throw new InvalidArgumentException($"{p.OriginName}: cannot reduce {x.DType.Name()}.");
            }
            return;
        }
        // Otherwise bring the reduced axes last, then reduce contiguous runs.
        var data = x.Data;
        if (!HostOps.IsIdentity(perm)) data = HostOps.Transpose(x, perm).Data;
        switch (data)
        {
            case float[] f: ReduceRuns(p, f, y.Data, (int)reduceCount, (int)keptCount); break;
            case double[] d: ReduceRuns(p, d, y.Data, (int)reduceCount, (int)keptCount); break;
            case int[] i: ReduceRuns(p, i, y.Data, (int)reduceCount, (int)keptCount); break;
            case long[] l: ReduceRuns(p, l, y.Data, (int)reduceCount, (int)keptCount); break;
            default: throw new InvalidArgumentException($"{p.OriginName}: cannot reduce {x.DType.Name()}.");
        }
    }

    /// <summary>
    /// y = the rows of x combined element by element, in row order. Sums and products run on <see cref="VectorLoops"/>:
    /// a bias gradient sums thousands of short rows ([4200, 150] in the MNIST RNN's step), and TensorPrimitives' per-call
    /// cost made that 0.1–0.2 ms (and its instantiation a few ms of JIT on the first step).
    /// </summary>
    private static void ReduceRows<T>(ReduceOp op, T[] x, T[] y, int rows, int width) where T : unmanaged, INumber<T>, IMinMaxValue<T>
    {
        if (op == ReduceOp.Sum && Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported && width >= Vector256<T>.Count)
        {
            SumRows(x, y, rows, width);
            return;
        }
        x.AsSpan(0, width).CopyTo(y);
        for (var r = 1; r < rows; r++)
        {
            var row = x.AsSpan(r * width, width);
            switch (op)
            {
                case ReduceOp.Sum: VectorLoops.Zip<T, VectorLoops.Add<T>>(y, row, y); break;
                case ReduceOp.Max: TensorPrimitives.Max(y, row, y); break;
                case ReduceOp.Min: TensorPrimitives.Min(y, row, y); break;
                default: VectorLoops.Zip<T, VectorLoops.Multiply<T>>(y, row, y); break;
            }
        }
    }

    /// <summary>
    /// y = the sum of x's rows, in row order, four vectors of columns at a time held in registers over all rows; the
    /// columns split over the cores when there are many rows. A row at a time was a vector-loop call per row: the MNIST
    /// RNN's bias gradient ([4200, 150] → [150]) took 75–130 µs of a step on the calling thread alone.
    /// </summary>
    /// <remarks>
    /// Not inlined: the warm-up calls it so that this body is compiled before a training step needs it, and inlined into
    /// the warm-up it was not, so the first step JIT-compiled it on the calling thread.
    /// </remarks>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    internal static void SumRows<T>(T[] x, T[] y, int rows, int width) where T : unmanaged, INumber<T>
    {
        var lanes = Vector256<T>.Count;
        var parts = (long)rows * width >= 1 << 16 ? Math.Min(CoreTeam.Cores, width / (4 * lanes)) : 1;
        if (parts <= 1) SumColumns(x, y, rows, width, 0, width);
        else RowSums<T>.Run(x, y, rows, width, parts);
    }

    /// <summary><see cref="SumRows{T}"/> over the cores: whole vectors of columns per part, the last part the rest.</summary>
    private sealed class RowSums<T> : ShareJob where T : unmanaged, INumber<T>
    {
        [ThreadStatic] private static RowSums<T>? _cached;
        private T[] _x = [], _y = [];
        private int _rows, _width;

        public static void Run(T[] x, T[] y, int rows, int width, int parts)
        {
            var s = _cached ??= new RowSums<T>();
            (s._x, s._y, s._rows, s._width) = (x, y, rows, width);
            try
            {
                s.RunShares(width, parts, Vector256<T>.Count);
            }
            finally
            {
                (s._x, s._y) = ([], []);
            }
        }

        protected override void RunShare(long from, long to) => SumColumns(_x, _y, _rows, _width, (int)from, (int)to);
    }

    /// <summary>Columns [<paramref name="from"/>, <paramref name="to"/>) of <see cref="SumRows{T}"/> (at least one vector wide).</summary>
    private static void SumColumns<T>(T[] x, T[] y, int rows, int width, int from, int to) where T : unmanaged, INumber<T>
    {
        var lanes = Vector256<T>.Count;
        ref var xs = ref MemoryMarshal.GetArrayDataReference(x);
        ref var ys = ref MemoryMarshal.GetArrayDataReference(y);
        var j = from;
        for (; j + 4 * lanes <= to; j += 4 * lanes)
        {
            var (a0, a1, a2, a3) = (Vector256.LoadUnsafe(ref xs, (nuint)j), Vector256.LoadUnsafe(ref xs, (nuint)(j + lanes)),
                Vector256.LoadUnsafe(ref xs, (nuint)(j + 2 * lanes)), Vector256.LoadUnsafe(ref xs, (nuint)(j + 3 * lanes)));
            for (var r = 1; r < rows; r++)
            {
                var at = (nuint)((long)r * width + j);
                a0 += Vector256.LoadUnsafe(ref xs, at);
                a1 += Vector256.LoadUnsafe(ref xs, at + (nuint)lanes);
                a2 += Vector256.LoadUnsafe(ref xs, at + (nuint)(2 * lanes));
                a3 += Vector256.LoadUnsafe(ref xs, at + (nuint)(3 * lanes));
            }
            a0.StoreUnsafe(ref ys, (nuint)j);
            a1.StoreUnsafe(ref ys, (nuint)(j + lanes));
            a2.StoreUnsafe(ref ys, (nuint)(j + 2 * lanes));
            a3.StoreUnsafe(ref ys, (nuint)(j + 3 * lanes));
        }
        for (; j < to; j += lanes)
        {
            // The last vector ends at `to`, overlapping columns already summed: they get the same sum again.
            var at = Math.Min(j, to - lanes);
            var a = Vector256.LoadUnsafe(ref xs, (nuint)at);
            for (var r = 1; r < rows; r++) a += Vector256.LoadUnsafe(ref xs, (nuint)((long)r * width + at));
            a.StoreUnsafe(ref ys, (nuint)at);
        }
    }

    /// <summary>Fills <paramref name="result"/> with the identity of <paramref name="op"/>: what it gives over no elements.</summary>
    public static void FillIdentity(ReduceOp op, Array result)
    {
        switch (result)
        {
            case float[] f: Array.Fill(f, Identity<float>(op)); break;
            case double[] d: Array.Fill(d, Identity<double>(op)); break;
            case int[] i: Array.Fill(i, Identity<int>(op)); break;
            case long[] l: Array.Fill(l, Identity<long>(op)); break;
            default: Array.Clear(result); break;
        }
    }

    /// <summary>0 for a sum, 1 for a product, −inf (an integer's lowest) for a max, +inf (its highest) for a min.</summary>
    private static T Identity<T>(ReduceOp op) where T : INumber<T> => op switch
    {
        ReduceOp.Prod => T.One,
        ReduceOp.Max => T.CreateSaturating(double.NegativeInfinity),
        ReduceOp.Min => T.CreateSaturating(double.PositiveInfinity),
        _ => T.Zero,
    };

    private static void ReduceRuns<T>(ReducePrim p, T[] x, Array output, int run, int count) where T : unmanaged, INumber<T>, IMinMaxValue<T>
    {
        switch (p.Op)
        {
            case ReduceOp.ArgMax or ReduceOp.ArgMin:
                for (var o = 0; o < count; o++)
                {
                    var span = x.AsSpan(o * run, run);
                    long index = ArgExtreme(span, p.Op == ReduceOp.ArgMax);
                    if (output is long[] l) l[o] = index;
                    else ((int[])output)[o] = (int)index;
                }
                break;
            default:
                var y = (T[])output;
                // Empty runs give the identity, as in TF1 (a softmax over zero classes shifts by their max).
                if (run == 0)
                {
                    Array.Fill(y, Identity<T>(p.Op), 0, count);
                    break;
                }
                for (var o = 0; o < count; o++)
                {
                    var span = x.AsSpan(o * run, run);
                    y[o] = p.Op switch
                    {
                        ReduceOp.Sum => TensorPrimitives.Sum<T>(span),
                        ReduceOp.Prod => TensorPrimitives.Product<T>(span),
                        ReduceOp.Max => TensorPrimitives.Max<T>(span),
                        _ => TensorPrimitives.Min<T>(span),
                    };
                }
                break;
        }
    }

    /// <summary>First index of the largest (or smallest) value; -0 and +0 tie as in TF and numpy.</summary>
    private static int ArgExtreme<T>(ReadOnlySpan<T> values, bool max) where T : INumber<T>
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
            if (max ? values[i] > values[best] : values[i] < values[best]) best = i;
        return best;
    }

    /// <summary>Computes the product of <paramref name="aArray"/> and <paramref name="bArray"/> into <paramref name="yData"/>.</summary>
    public static void MatMulInto(MatMulPrim p, Array aArray, Array bArray, Array yData, bool accumulate = false)
    {
        var (batch, m, n, k) = p.Sizes;
        if (yData is float[] yf && Gemm32.TryMultiply(p, (float[])aArray, (float[])bArray, yf, accumulate)) return;
        if (accumulate) throw new InternalException($"{p.OriginName}: only float32 products add into a sum.");
        var a = new HostTensor(aArray, p.Inputs[0].Dims);
        var b = new HostTensor(bArray, p.Inputs[1].Dims);
        // Bring both operands to row-major [batch, m, k] and [batch, k, n].
        var rank = a.Rank;
        var swap = Enumerable.Range(0, rank).Select(i => i < rank - 2 ? i : 2 * rank - 3 - i).ToArray();
        var aData = p.TransposeA ? HostOps.Transpose(a, swap).Data : a.Data;
        var bData = p.TransposeB ? HostOps.Transpose(b, swap).Data : b.Data;
        switch (yData)
        {
            case float[] c: Gemm((float[])aData, (float[])bData, c, batch, m, n, k); break;
            case double[] c: Gemm((double[])aData, (double[])bData, c, batch, m, n, k); break;
            case int[] c: Gemm((int[])aData, (int[])bData, c, batch, m, n, k); break;
            case long[] c: Gemm((long[])aData, (long[])bData, c, batch, m, n, k); break;
            default: throw new InvalidArgumentException($"{p.OriginName}: matmul is not defined for {p.DType.Name()}.");
        }
    }

    /// <summary>C = A·B per batch: each output row accumulates scaled rows of B (vectorised axpy), rows in parallel when large.</summary>
    private static void Gemm<T>(T[] a, T[] b, T[] c, int batch, int m, int n, int k) where T : unmanaged, INumber<T>
    {
        Array.Clear(c);
        var work = (long)batch * m * n * k;
        void Row(int index)
        {
            var (bi, i) = (index / m, index % m);
            var crow = c.AsSpan((bi * m + i) * n, n);
            var arow = a.AsSpan((bi * m + i) * k, k);
            var bBase = bi * k * n;
            for (var kk = 0; kk < k; kk++)
            {
                TensorPrimitives.MultiplyAdd(b.AsSpan(bBase + kk * n, n), arow[kk], crow, crow);
            }
        }
        if (work >= 1 << 20) CoreTeam.Run(batch * m, Row);
        else
            for (var r = 0; r < batch * m; r++) Row(r);
    }
}
