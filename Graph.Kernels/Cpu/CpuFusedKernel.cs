using System.Collections.Concurrent;
using System.Numerics;
using System.Numerics.Tensors;
using Graph.Core;
using Graph.Kernels.Fusion;

namespace Graph.Kernels.Cpu;

/// <summary>
/// Runs a fused group on the CPU: an optional head matmul, then the element-wise members evaluated chunk by chunk
/// (each member a vectorised pass over a chunk that stays in cache), stored outputs, and an optional tail reduction
/// over trailing axes. Chunks (or reduction rows) run in parallel on large tensors; the result never depends on the
/// number of threads.
/// </summary>
internal sealed class CpuFusedKernel
{
    private const int ChunkSize = 2048;
    private const long ParallelThreshold = 1 << 16;

    private readonly KernelGroup _group;
    private readonly Prim[] _members;               // element-wise members, dependency order
    private readonly Dictionary<Prim, int> _slot;   // member -> index in the scratch arrays
    private readonly long _total;                   // elements of the iteration space
    private readonly int _row;                      // reduction run length (1 without a tail)
    private readonly Dictionary<(Prim, Prim), int[]> _broadcastStrides = new();
    private Scratch? _scratch;

    public CpuFusedKernel(KernelGroup group)
    {
        _group = group;
        _members = group.Members.Where(m => m != group.Head && m != group.Tail).ToArray();
        _slot = _members.Select((m, i) => (m, i)).ToDictionary(x => x.m, x => x.i);
        _total = Shape.Product(group.Dims);
        _row = group.Tail is { } t ? (int)t.Axes.Aggregate(1L, (n, a) => n * t.Inputs[0].Dims[a]) : 1;
        foreach (var m in _members)
            foreach (var input in m.Inputs)
                if (!_slot.ContainsKey(input) && input.Size > 1 && !input.Dims.AsSpan().SequenceEqual(group.Dims) && m is not StridedPrim)
                    _broadcastStrides[(m, input)] = BroadcastStrides(input.Dims, group.Dims);
    }

    /// <summary>Computes the group: <paramref name="valueOf"/> gives input arrays, <paramref name="outputOf"/> the arrays to store into.</summary>
    public void Run(Func<Prim, Array> valueOf, Func<Prim, Array> outputOf)
    {
        if (_group.Head is { } head)
        {
            CpuReduceMatMul.MatMulInto(head, valueOf(head.Inputs[0]), valueOf(head.Inputs[1]), outputOf(head));
            if (_members.Length == 0) return;
        }
        if (_members.Length == 0 && _group.Tail is { } onlyReduce)
        {
            CpuReduceMatMul.ReduceInto(onlyReduce, valueOf(onlyReduce.Inputs[0]), outputOf(onlyReduce));
            return;
        }
        if (_total == 0) return;
        var inputs = _group.Inputs.ToDictionary(p => p, valueOf);
        if (_group.Head is { } h) inputs[h] = outputOf(h);
        var outputs = _group.Outputs.Where(o => o != _group.Head).ToDictionary(o => o, outputOf);
        // Whole rows per chunk when a reduction follows, so each row is reduced in one place.
        var rowsPerChunk = Math.Max(1, ChunkSize / _row);
        var chunk = (int)Math.Min(_total, (long)rowsPerChunk * _row);
        var chunks = (_total + chunk - 1) / chunk;
        if (_total == 0) chunks = 0;
        if (_total >= ParallelThreshold && chunks > 1)
            Parallel.ForEach(Partitioner.Create(0L, chunks, Math.Max(1, chunks / (4 * Environment.ProcessorCount))), range =>
            {
                var scratch = new Scratch(this, chunk);
                for (var c = range.Item1; c < range.Item2; c++) RunChunk(c * chunk, (int)Math.Min(chunk, _total - c * chunk), scratch, inputs, outputs);
            });
        else
        {
            // Sequential runs reuse one scratch (a plan never runs one kernel twice at once).
            var scratch = _scratch ??= new Scratch(this, Math.Max(chunk, 1));
            for (long c = 0; c < chunks; c++) RunChunk(c * chunk, (int)Math.Min(chunk, _total - c * chunk), scratch, inputs, outputs);
        }
    }

    private sealed class Scratch
    {
        public readonly Array[] Values;
        public readonly Array[] Operands;

        public Scratch(CpuFusedKernel k, int n)
        {
            Values = k._members.Select(m => Array.CreateInstance(m.DType.ClrType(), m.Size == 1 && k._total > 1 ? 1 : n)).ToArray();
            // Up to three operands per member may need a broadcast copy.
            Operands = k._members.SelectMany(m => Enumerable.Range(0, 3).Select(_ => (Array)Array.CreateInstance(m.Inputs.Count > 0 ? m.Inputs[0].DType.ClrType() : typeof(float), n))).ToArray();
            for (var i = 0; i < k._members.Length; i++)
                for (var j = 0; j < k._members[i].Inputs.Count && j < 3; j++)
                    Operands[i * 3 + j] = Array.CreateInstance(k._members[i].Inputs[j].DType.ClrType(), n);
        }
    }

    private void RunChunk(long start, int n, Scratch s, Dictionary<Prim, Array> inputs, Dictionary<Prim, Array> outputs)
    {
        for (var i = 0; i < _members.Length; i++)
        {
            var m = _members[i];
            var scalar = m.Size == 1 && _total > 1;
            var (mStart, mn) = scalar ? (0L, 1) : (start, n);
            var y = s.Values[i];
            switch (m)
            {
                case UnaryPrim u:
                {
                    var (x, xo) = Operand(i, 0, mStart, mn, s, inputs);
                    SpanOps.Unary(m, u.Op, x, xo, y, mn);
                    break;
                }
                case BinaryPrim b:
                {
                    var (a, ao) = Operand(i, 0, mStart, mn, s, inputs);
                    var (c, co) = Operand(i, 1, mStart, mn, s, inputs);
                    SpanOps.Binary(m, b.Op, a, ao, c, co, y, mn);
                    break;
                }
                case SelectPrim:
                {
                    var (c, co) = Operand(i, 0, mStart, mn, s, inputs);
                    var (a, ao) = Operand(i, 1, mStart, mn, s, inputs);
                    var (b, bo) = Operand(i, 2, mStart, mn, s, inputs);
                    SpanOps.Select((bool[])c, co, a, ao, b, bo, y, mn);
                    break;
                }
                case CastPrim:
                {
                    var (x, xo) = Operand(i, 0, mStart, mn, s, inputs);
                    SpanOps.Cast(x, xo, y, mn);
                    break;
                }
                case IotaPrim iota:
                    SpanOps.Iota(iota, mStart, y, mn);
                    break;
                case StridedPrim sp:
                    HostOps.StridedCopyRange(inputs[sp.Inputs[0]], sp.Offset, sp.Strides, sp.Dims, mStart, mn, y, 0);
                    break;
                case AssignVariablePrim:
                {
                    var (x, xo) = Operand(i, 0, mStart, mn, s, inputs);
                    Array.Copy(x, xo, y, 0, mn);
                    break;
                }
                default: throw new InvalidOperationException($"{m.OriginName}: {m.Describe()} cannot run in a fused kernel.");
            }
            if (outputs.TryGetValue(m, out var outArray) && (!scalar || start == 0)) Array.Copy(y, 0, outArray, mStart, mn);
        }
        if (_group.Tail is { } tail) ReduceRows(tail, start, n, s);
        return;

        void ReduceRows(ReducePrim tail, long first, int count, Scratch scratch)
        {
            var source = scratch.Values[_slot[tail.Inputs[0]]];
            var result = outputs[tail];
            var firstRow = first / _row;
            switch (source)
            {
                case float[] f: ReduceSegments(tail.Op, f, (float[])result, firstRow, count / _row, _row); break;
                case double[] d: ReduceSegments(tail.Op, d, (double[])result, firstRow, count / _row, _row); break;
                case int[] i32: ReduceSegments(tail.Op, i32, (int[])result, firstRow, count / _row, _row); break;
                case long[] i64: ReduceSegments(tail.Op, i64, (long[])result, firstRow, count / _row, _row); break;
                default: throw new InvalidArgumentException($"{tail.OriginName}: cannot reduce {tail.DType.Name()}.");
            }
        }
    }

    private static void ReduceSegments<T>(ReduceOp op, T[] values, T[] result, long firstRow, int rows, int length) where T : unmanaged, INumber<T>, IMinMaxValue<T>
    {
        for (var r = 0; r < rows; r++)
        {
            var span = values.AsSpan(r * length, length);
            result[firstRow + r] = op switch
            {
                ReduceOp.Sum => TensorPrimitives.Sum<T>(span),
                ReduceOp.Prod => length == 0 ? T.One : TensorPrimitives.Product<T>(span),
                ReduceOp.Max => TensorPrimitives.Max<T>(span),
                _ => TensorPrimitives.Min<T>(span),
            };
        }
    }

    /// <summary>Operand j of member i for elements [start, start+n): a member's chunk, a slice of an input, or a broadcast copy.</summary>
    private (Array, int) Operand(int i, int j, long start, int n, Scratch s, Dictionary<Prim, Array> inputs)
    {
        var m = _members[i];
        var x = m.Inputs[j];
        if (_slot.TryGetValue(x, out var k))
        {
            var v = s.Values[k];
            if (v.Length == 1 && n > 1)
            {
                var fill = s.Operands[i * 3 + j];
                SpanOps.Fill(v, 0, fill, n);
                return (fill, 0);
            }
            return (v, 0);
        }
        var array = inputs[x];
        if (x.Size == 1)
        {
            if (n == 1) return (array, 0);
            var fill = s.Operands[i * 3 + j];
            SpanOps.Fill(array, 0, fill, n);
            return (fill, 0);
        }
        if (_broadcastStrides.TryGetValue((m, x), out var strides))
        {
            var copy = s.Operands[i * 3 + j];
            HostOps.StridedCopyRange(array, 0, strides, _group.Dims, start, n, copy, 0);
            return (copy, 0);
        }
        return (array, (int)start);
    }

    private static int[] BroadcastStrides(int[] dims, int[] outDims)
    {
        var inStrides = HostOps.Strides(dims);
        var strides = new int[outDims.Length];
        var lead = outDims.Length - dims.Length;
        for (var i = lead; i < outDims.Length; i++)
            strides[i] = dims[i - lead] == 1 ? 0 : inStrides[i - lead];
        return strides;
    }
}
