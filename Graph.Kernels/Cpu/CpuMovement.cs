using Graph.Core;

namespace Graph.Kernels.Cpu;

/// <summary>Data movement, indexing and generator primitives on host arrays.</summary>
internal static class CpuMovement
{
    /// <summary>
    /// The concatenation <paramref name="p"/> of <paramref name="parts"/> written into <paramref name="y"/> (a plan
    /// buffer: a concat inside a loop body, BasicRNNCell's [x, h], runs every step, and a new 107 KB array per step was
    /// a large-object allocation each time: 74 µs of a 2 µs copy).
    /// </summary>
    public static void ConcatInto(ConcatPrim p, Array[] parts, Array y)
    {
        var outer = (int)Shape.Product(p.Dims.AsSpan(0, p.Axis));
        var inner = (int)Shape.Product(p.Dims.AsSpan(p.Axis + 1));
        var outRow = p.Dims[p.Axis] * inner;
        var offset = 0;
        for (var k = 0; k < parts.Length; k++)
        {
            var block = p.Inputs[k].Dims[p.Axis] * inner;
            if (parts[k] is float[] source && y is float[] target)
                for (var o = 0; o < outer; o++) source.AsSpan(o * block, block).CopyTo(target.AsSpan(o * outRow + offset, block));
            else
                for (var o = 0; o < outer; o++) Array.Copy(parts[k], o * block, y, o * outRow + offset, block);
            offset += block;
        }
    }

    public static HostTensor Gather(GatherPrim p, HostTensor parameters, HostTensor indices)
    {
        // Every element is copied below (indices were checked): no need to zero the result first.
        var y = new HostTensor(RunState.Uninitialized(p.DType, checked((int)p.Size)), p.Dims);
        GatherInto(p, parameters, indices, y.Data);
        return y;
    }

    /// <summary>The gather <paramref name="p"/> written into <paramref name="y"/> (a plan buffer: no array per run).</summary>
    public static void GatherInto(GatherPrim p, HostTensor parameters, HostTensor indices, Array y)
    {
        var outer = (int)Shape.Product(parameters.DimsSpan[..p.Axis]);
        var inner = (int)Shape.Product(parameters.DimsSpan[(p.Axis + 1)..]);
        var axisSize = parameters.DimsSpan[p.Axis];
        var pos = 0;
        var idx = new IndexReader(indices.Data, p);
        for (var o = 0; o < outer; o++)
            for (var j = 0; j < idx.Length; j++)
            {
                Array.Copy(parameters.Data, (o * axisSize + (int)idx[j]) * inner, y, pos, inner);
                pos += inner;
            }
    }

    public static HostTensor ScatterAdd(ScatterAddPrim p, HostTensor updates, HostTensor indices)
    {
        var y = HostTensor.Zeros(p.DType, p.Dims);
        ScatterAddInto(y.Data, p.Dims, p.Axis, updates.Data, indices.Data);
        return y;
    }

    /// <summary>
    /// Adds slices of <paramref name="updates"/> into <paramref name="target"/> (dims <paramref name="dims"/>) at
    /// <paramref name="indices"/> along <paramref name="axis"/>. With <paramref name="written"/> (one flag per index
    /// along the axis) the target need not be zeroed first: an index's first update is copied in, later ones added,
    /// and <see cref="ClearUnwritten"/> zeroes the slices no update reached (an RNN's input gradient receives one slice
    /// per iteration, so clearing the whole sequence first was a pass over memory every step for nothing).
    /// </summary>
    public static void ScatterAddInto(Array target, int[] dims, int axis, Array updates, Array indices, bool[]? written = null)
    {
        switch (target)
        {
            case float[] f: ScatterAdd(dims, axis, (float[])updates, indices, f, written); break;
            case double[] d: ScatterAdd(dims, axis, (double[])updates, indices, d, written); break;
            case int[] i: ScatterAdd(dims, axis, (int[])updates, indices, i, written); break;
            case long[] l: ScatterAdd(dims, axis, (long[])updates, indices, l, written); break;
            default: throw new InvalidArgumentException($"Scatter-add is not defined for {target.GetType().GetElementType()!.Name}.");
        }
    }

    /// <summary>Zeroes the slices of <paramref name="target"/> along <paramref name="axis"/> whose index <paramref name="written"/> does not mark.</summary>
    public static void ClearUnwritten(Array target, int[] dims, int axis, bool[] written)
    {
        var (outer, inner) = AroundAxis(dims, axis);
        for (var o = 0; o < outer; o++)
            for (var i = 0; i < written.Length; i++)
                if (!written[i]) Array.Clear(target, (o * written.Length + i) * inner, inner);
    }

    /// <summary>Elements before <paramref name="axis"/> (the slices' count per index) and after it (a slice's length).</summary>
    private static (int Outer, int Inner) AroundAxis(int[] dims, int axis) =>
        ((int)Shape.Product(dims.AsSpan(0, axis)), (int)Shape.Product(dims.AsSpan(axis + 1)));

    private static void ScatterAdd<T>(int[] dims, int axis, T[] updates, Array indices, T[] y, bool[]? written) where T : unmanaged, System.Numerics.INumber<T>
    {
        // int32 or int64 indices read in place (a conversion to int64 was an array per call, tens of calls a step).
        var idx = new IndexReader(indices, null);
        var (outer, inner) = AroundAxis(dims, axis);
        var axisSize = dims[axis];
        // Which positions of idx copy rather than add: an index not written before this call, at its first position.
        Span<bool> assign = written == null ? default : idx.Length <= 256 ? stackalloc bool[idx.Length] : new bool[idx.Length];
        if (written != null)
            for (var j = 0; j < idx.Length; j++)
            {
                var i = (int)idx[j];
                if (written[i]) continue;
                assign[j] = true;
                written[i] = true;
            }
        var pos = 0;
        for (var o = 0; o < outer; o++)
            for (var j = 0; j < idx.Length; j++)
            {
                var at = (o * axisSize + (int)idx[j]) * inner;
                var copy = written != null && assign[j];
                if (inner >= SliceParts<T>.Threshold && CoreTeam.Cores > 1) SliceParts<T>.Run(updates, pos, y, at, inner, copy);
                else if (copy) updates.AsSpan(pos, inner).CopyTo(y.AsSpan(at, inner));
                else VectorLoops.Zip<T, VectorLoops.Add<T>>(y.AsSpan(at, inner), updates.AsSpan(pos, inner), y.AsSpan(at, inner));
                pos += inner;
            }
    }

    /// <summary>
    /// A large slice copied or added into its place by all cores: an RNN's input gradient receives one [batch, units]
    /// slice per gradient iteration (90 KB for the MNIST RNN, 28 a step), which the calling thread copied alone while
    /// the other core waited.
    /// </summary>
    private sealed class SliceParts<T> : ShareJob where T : unmanaged, System.Numerics.INumber<T>
    {
        /// <summary>Elements from which a slice is split over the cores.</summary>
        public const int Threshold = 1 << 14;

        [ThreadStatic] private static SliceParts<T>? _cached;
        private T[] _src = [], _dst = [];
        private int _srcAt, _dstAt;
        private bool _copy;

        public static void Run(T[] src, int srcAt, T[] dst, int dstAt, int count, bool copy)
        {
            var s = _cached ??= new SliceParts<T>();
            (s._src, s._srcAt, s._dst, s._dstAt, s._copy) = (src, srcAt, dst, dstAt, copy);
            try
            {
                // Whole 16-element blocks per part (the last part the rest).
                s.RunShares(count, CoreTeam.Cores, 16);
            }
            finally
            {
                (s._src, s._dst) = ([], []);
            }
        }

        protected override void RunShare(long from, long to)
        {
            var src = _src.AsSpan(_srcAt + (int)from, (int)(to - from));
            var dst = _dst.AsSpan(_dstAt + (int)from, (int)(to - from));
            if (_copy) src.CopyTo(dst);
            else VectorLoops.Zip<T, VectorLoops.Add<T>>(dst, src, dst);
        }
    }

    /// <summary>The buffer with row <c>index</c> replaced: in place when the planner allowed it and the array is the loop's own.</summary>
    public static Array UpdateSlice(UpdateSlicePrim p, Array buffer, Array index, Array value, RunState state)
    {
        var rows = p.Dims.Length == 0 ? 1 : p.Dims[0];
        var i = new IndexReader(index, p)[0];
        if (i < 0 || i >= rows)
            throw new InvalidArgumentException($"{p.OriginName}: TensorArray index {i} is out of range; the array has size {rows}.");
        var inPlace = p.Donate && p.Inputs[0] is FeedPrim f && state.MayDonate(f.Tensor);
        var result = inPlace ? buffer : (Array)buffer.Clone();
        var row = value.Length;
        Array.Copy(value, 0, result, i * row, row);
        return result;
    }

    /// <summary>Modified Gram–Schmidt on the columns, in float64.</summary>
    public static HostTensor Orthogonalize(OrthogonalizePrim p, HostTensor x)
    {
        var (m, n) = (p.Dims[0], p.Dims[1]);
        var a = x.ToArray<double>();
        for (var j = 0; j < n; j++)
        {
            for (var k = 0; k < j; k++)
            {
                double dot = 0;
                for (var i = 0; i < m; i++) dot += a[i * n + k] * a[i * n + j];
                for (var i = 0; i < m; i++) a[i * n + j] -= dot * a[i * n + k];
            }
            double norm = 0;
            for (var i = 0; i < m; i++) norm += a[i * n + j] * a[i * n + j];
            norm = Math.Sqrt(norm);
            if (norm == 0) throw new InvalidArgumentException($"{p.OriginName}: the matrix has linearly dependent columns.");
            for (var i = 0; i < m; i++) a[i * n + j] /= norm;
        }
        return new HostTensor(a, p.Dims).AsType(p.DType);
    }

    /// <summary>The elements of an int32 or int64 index array as int64 (any other array is refused, naming <c>origin</c>).</summary>
    internal readonly struct IndexReader
    {
        private readonly Array _indices;

        public IndexReader(Array indices, Prim? origin)
        {
            if (indices is not (int[] or long[]))
                throw new InvalidArgumentException($"{(origin == null ? "" : origin.OriginName + ": ")}indices must be int32 or int64.");
            _indices = indices;
        }

        public int Length => _indices.Length;
        public long this[int j] => _indices is int[] ints ? ints[j] : ((long[])_indices)[j];
    }

    public static HostTensor Random(RandomPrim p, (long Seed, long Seed2) seeds, ulong skip)
    {
        var y = HostTensor.Zeros(p.DType, p.Dims);
        switch (y.Data, p.Kind)
        {
            case (float[] f, RandomKind.StandardNormal): TfRandomStreams.StandardNormal(f, seeds.Seed, seeds.Seed2, skip); break;
            case (double[] d, RandomKind.StandardNormal): TfRandomStreams.StandardNormal(d, seeds.Seed, seeds.Seed2, skip); break;
            case (float[] f, RandomKind.Uniform): TfRandomStreams.Uniform(f, seeds.Seed, seeds.Seed2, skip); break;
            case (double[] d, RandomKind.Uniform): TfRandomStreams.Uniform(d, seeds.Seed, seeds.Seed2, skip); break;
            case (float[] f, RandomKind.TruncatedNormal): TfRandomStreams.TruncatedNormal(f, seeds.Seed, seeds.Seed2, skip); break;
            case (double[] d, RandomKind.TruncatedNormal): TfRandomStreams.TruncatedNormal(d, seeds.Seed, seeds.Seed2, skip); break;
            default: throw new InvalidArgumentException($"{p.OriginName}: random values of {p.DType.Name()} are not supported.");
        }
        return y;
    }
}
