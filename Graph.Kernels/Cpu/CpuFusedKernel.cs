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
internal sealed class CpuFusedKernel : IProductEpilogue
{
    private const int ChunkSize = 2048;
    private const long ParallelThreshold = 1 << 14;

    private readonly KernelGroup _group;
    private readonly Prim[] _members;               // element-wise members, dependency order
    private readonly long _total;                   // elements of the iteration space
    private readonly int _row;                      // reduction run length (1 without a tail)
    private readonly int[][] _operand;              // per member and operand: member slot k >= 0, or input q as -(q + 1)
    private readonly int[]?[][] _strides;           // per member and operand: broadcast strides when an input needs them
    private readonly int[] _outputOf;               // per member: index into the outputs, or -1
    private readonly int _headIndex = -1, _headA = -1, _headB = -1, _tailSource = -1, _tailOutput = -1, _onlyReduceInput = -1;
    private readonly CpuVectorExpr? _vector;        // the members as one register-resident loop, where they allow it
    private readonly bool[] _copiesIntoOutput;      // per member: a strided copy written straight into its output
    private readonly int _vectorOutput = -1;
    private Scratch? _scratch;
    private Scratch?[]? _parallelScratch;
    private int _parallelChunk;

    /// <summary>The values the kernel reads, in the order <see cref="Run"/> takes them.</summary>
    public Prim[] InputOrder { get; }

    /// <summary>The values the kernel stores, in the order <see cref="Run"/> takes their arrays.</summary>
    public Prim[] OutputOrder { get; }

    /// <summary>
    /// The kernel of <paramref name="group"/>; with <paramref name="added"/>, its head is computed as head + added in one
    /// product over both depths (<see cref="Gemm32.MultiplySum"/>), whose operands are among the group's inputs.
    /// </summary>
    public CpuFusedKernel(KernelGroup group, MatMulPrim? added = null)
    {
        _group = group;
        _added = added;
        _members = group.Members.Where(m => m != group.Head && m != group.Tail).ToArray();
        var slot = new Dictionary<Prim, int>();
        for (var i = 0; i < _members.Length; i++) slot[_members[i]] = i;
        _total = Shape.Product(group.Dims);
        _row = group.Tail is { } t ? RowLength(t) : 1;
        InputOrder = group.Inputs.ToArray();
        OutputOrder = group.Outputs.ToArray();
        int InputIndex(Prim p) => Array.IndexOf(InputOrder, p);
        int OutputIndex(Prim p) => Array.IndexOf(OutputOrder, p);
        if (group.Head is { } head)
        {
            _headIndex = OutputIndex(head);
            _headA = InputIndex(head.Inputs[0]);
            _headB = InputIndex(head.Inputs[1]);
            if (added != null) (_addedA, _addedB) = (InputIndex(added.Inputs[0]), InputIndex(added.Inputs[1]));
        }
        if (group.Tail is { } tail)
        {
            _tailOutput = OutputIndex(tail);
            if (slot.TryGetValue(tail.Inputs[0], out var k)) _tailSource = k;
            else _onlyReduceInput = InputIndex(tail.Inputs[0]);
        }
        _operand = new int[_members.Length][];
        _strides = new int[]?[_members.Length][];
        _outputOf = new int[_members.Length];
        for (var i = 0; i < _members.Length; i++)
        {
            var m = _members[i];
            _outputOf[i] = OutputIndex(m);
            _operand[i] = new int[m.Inputs.Count];
            _strides[i] = new int[]?[m.Inputs.Count];
            for (var j = 0; j < m.Inputs.Count; j++)
            {
                var input = m.Inputs[j];
                if (slot.TryGetValue(input, out var k)) _operand[i][j] = k;
                else
                {
                    // The head's result is read from its output array.
                    _operand[i][j] = input == group.Head ? -(InputOrder.Length + 1) : -(InputIndex(input) + 1);
                    if (input.Size > 1 && !Ints.Equal(input.Dims, group.Dims) && m is not StridedPrim)
                        _strides[i][j] = BroadcastStrides(input.Dims, group.Dims);
                }
            }
        }
        // A strided member (a transpose, a slice) that is an output and that no other member reads copies its runs
        // straight into the output array, not through the chunk's scratch: the RNN's [150, 28, 28] → [28, 150, 28]
        // transpose of the digits is such a kernel alone (as a vector loop it paid a loop call per 28-float run).
        _copiesIntoOutput = new bool[_members.Length];
        for (var i = 0; i < _members.Length; i++)
            _copiesIntoOutput[i] = _members[i] is StridedPrim && _outputOf[i] >= 0 && _members[i].Size == _total && i != _tailSource && !ReadByAMember(i);
        if (_members.Length > 0 && _row == 1)
        {
            // Sources as Run sees them: the inputs, then the head's result.
            _vector = CpuVectorExpr.TryCreate(group, _members, p => p == group.Head ? InputOrder.Length : InputIndex(p));
            if (_vector != null) _vectorOutput = OutputIndex(_members[^1]);
            // The members as the product's epilogue, run by each of its parts over the elements it finished: they must
            // read the product only at the element they write.
            _epilogueInProduct = _vector != null && group.Head is { } h && Ints.Equal(h.Dims, group.Dims) &&
                                 _vector.ReadsInPlace(InputOrder.Length);
        }
    }

    /// <summary>The elements each reduction of <paramref name="tail"/> sums (the product of its axes' sizes).</summary>
    private static int RowLength(ReducePrim tail)
    {
        long n = 1;
        foreach (var a in tail.Axes) n *= tail.Inputs[0].Dims[a];
        return (int)n;
    }

    /// <summary>Whether a member reads member <paramref name="i"/>'s result.</summary>
    private bool ReadByAMember(int i)
    {
        foreach (var reads in _operand)
            if (Ints.Contains(reads, i)) return true;
        return false;
    }

    private readonly bool _epilogueInProduct;

    /// <summary>A product added to the head's in the same chains (an RNN step's x_t·W_x beside h·W_h), and where its operands are among the inputs.</summary>
    private readonly MatMulPrim? _added;
    private readonly int _addedA = -1, _addedB = -1;

    /// <summary>The head product (plus the added one) into <paramref name="c"/>.</summary>
    private void MultiplyHead(MatMulPrim head, Array[] inputs, Array c)
    {
        if (_added == null) CpuReduceMatMul.MatMulInto(head, inputs[_headA], inputs[_headB], c);
        else Gemm32.MultiplySum(head, (float[])inputs[_headA], (float[])inputs[_headB], _added, (float[])inputs[_addedA], (float[])inputs[_addedB], (float[])c, null);
    }

    /// <summary>
    /// Computes the group from <paramref name="inputs"/> (in <see cref="InputOrder"/>) into <paramref name="outputs"/>
    /// (in <see cref="OutputOrder"/>). Input i starts at element <paramref name="inputOffsets"/>[i] of its array (a
    /// slice read in place; never an operand of the head product or of a reduction).
    /// </summary>
    public void Run(Array[] inputs, Array[] outputs, int[]? inputOffsets = null)
    {
        _offsets = inputOffsets;
        try
        {
            RunGroup(inputs, outputs);
        }
        finally
        {
            _offsets = null;
        }
    }

    /// <summary>Adds the product of a kernel that is only its head product into <paramref name="sum"/> (see <see cref="Gemm32.AddsInPlace"/>).</summary>
    public void AddProductInto(Array[] inputs, Array sum)
    {
        if (_added != null) throw new InternalException($"{_group.Head!.OriginName}: a sum of two products is not added into a running sum.");
        CpuReduceMatMul.MatMulInto(_group.Head!, inputs[_headA], inputs[_headB], sum, accumulate: true);
    }

    /// <summary>Where each input starts in its array during the current call (null: at 0).</summary>
    private int[]? _offsets;

    private int OffsetOf(int input) => _offsets != null && input < _offsets.Length ? _offsets[input] : 0;

    private void RunGroup(Array[] inputs, Array[] outputs)
    {
        if (_group.Head is { } head)
        {
            if (_epilogueInProduct && ProductWithEpilogue(head, inputs, outputs)) return;
            MultiplyHead(head, inputs, outputs[_headIndex]);
            if (_members.Length == 0) return;
        }
        if (_members.Length == 0 && _group.Tail is { } onlyReduce)
        {
            CpuReduceMatMul.ReduceInto(onlyReduce, inputs[_onlyReduceInput], outputs[_tailOutput]);
            return;
        }
        if (_total == 0)
        {
            // Reducing empty rows gives the reduction's identity (TF1's: 0, 1, −inf or the lowest, +inf or the highest).
            if (_group.Tail is { } emptyRows) CpuReduceMatMul.FillIdentity(emptyRows.Op, outputs[_tailOutput]);
            return;
        }
        var sources = _headIndex >= 0 ? SourcesWithHead(inputs, outputs[_headIndex]) : inputs;
        try
        {
            RunChunks(sources, outputs);
        }
        finally
        {
            if (_sourcesWithHead != null) Array.Clear(_sourcesWithHead);
        }
    }

    /// <summary>The inputs with the head's result joined as the last one (in an array kept for the next call).</summary>
    private Array[] SourcesWithHead(Array[] inputs, Array product)
    {
        var sources = _sourcesWithHead ??= new Array[inputs.Length + 1];
        inputs.CopyTo(sources, 0);
        sources[^1] = product;
        return sources;
    }

    /// <summary>
    /// The head product with the members as its epilogue, where the product's kernel takes one (<see cref="Gemm32.TryMultiply(MatMulPrim, float[], float[], float[], IProductEpilogue)"/>):
    /// each part of the product evaluates the members over the elements it finished, while they are in its cache, and
    /// the kernel is one pass over the cores instead of two. The 28 forward steps' tanh(h·W + x_t·U + b) of the MNIST
    /// RNN, and its [4,200 × 150] input projection plus bias. False (nothing done) where the product runs otherwise, or
    /// where the result would overwrite an operand the other parts still read.
    /// </summary>
    private bool ProductWithEpilogue(MatMulPrim head, Array[] inputs, Array[] outputs)
    {
        if (inputs[_headA] is not float[] a || inputs[_headB] is not float[] b || outputs[_headIndex] is not float[] c ||
            outputs[_vectorOutput] is not float[] result || ReferenceEquals(result, a) || ReferenceEquals(result, b))
            return false;
        if (_added != null && (ReferenceEquals(result, inputs[_addedA]) || ReferenceEquals(result, inputs[_addedB]))) return false;
        var sources = SourcesWithHead(inputs, c);
        try
        {
            _vector!.CheckBounds(sources, _members[^1], _offsets);
            (_epilogueSources, _epilogueResult) = (sources, result);
            if (_added == null) return Gemm32.TryMultiply(head, a, b, c, this);
            Gemm32.MultiplySum(head, a, b, _added, (float[])inputs[_addedA], (float[])inputs[_addedB], c, this);
            return true;
        }
        finally
        {
            (_epilogueSources, _epilogueResult) = (null, null);
            Array.Clear(sources);
        }
    }

    private Array[]? _epilogueSources;
    private float[]? _epilogueResult;

    void IProductEpilogue.Apply(long start, int count) => _vector!.RunChecked(_epilogueSources!, _epilogueResult!, start, count, _offsets);

    private void RunChunks(Array[] sources, Array[] outputs)
    {
        // The vector loop reads without bounds checks: its sources are checked once here for the whole run.
        _vector?.CheckBounds(sources, _members[^1], _offsets);
        // Whole rows per chunk when a reduction follows, so each row is reduced in one place.
        var rowsPerChunk = Math.Max(1, ChunkSize / _row);
        var chunk = (int)Math.Min(_total, (long)rowsPerChunk * _row);
        var chunks = (_total + chunk - 1) / chunk;
        if (_total >= ParallelThreshold && chunks > 1)
        {
            // One contiguous run of chunks per core, each with its own scratch kept for the next call.
            var parts = (int)Math.Min(CoreTeam.Cores, chunks);
            if (_parallelScratch == null || _parallelScratch.Length < parts || _parallelChunk != chunk)
            {
                _parallelScratch = new Scratch[parts];
                _parallelChunk = chunk;
            }
            // The parts read this call's arrays from fields, through one delegate made once: a kernel inside a loop body
            // runs tens of times a step, and a closure per call was garbage for the collector each time.
            (_partSources, _partOutputs, _partCount) = (sources, outputs, parts);
            try
            {
                CoreTeam.Run(parts, _runPart ??= RunPart);
            }
            finally
            {
                (_partSources, _partOutputs) = (null, null);
            }
        }
        else
        {
            // Sequential runs reuse one scratch (a plan never runs one kernel twice at once).
            var scratch = _scratch ??= new Scratch(this, Math.Max(chunk, 1));
            for (long c = 0; c < chunks; c++) RunChunk(c * chunk, (int)Math.Min(chunk, _total - c * chunk), scratch, sources, outputs);
        }
    }

    private Array[]? _sourcesWithHead, _partSources, _partOutputs;
    private int _partCount;
    private Action<int>? _runPart;

    /// <summary>
    /// Part <paramref name="part"/> of <see cref="_partCount"/> of the current parallel call: an equal share of the
    /// elements (whole rows when a reduction follows, else whole 16-float vectors), run in chunks. Whole chunks per
    /// part gave the last part a partial chunk more: 12,260 against 10,240 elements of a 150×150 epilogue.
    /// </summary>
    private void RunPart(int part)
    {
        var chunk = _parallelChunk;
        var scratch = _parallelScratch![part] ??= new Scratch(this, chunk);
        var (start, end) = CoreTeam.Share(_total, part, _partCount, _row > 1 ? _row : 16);
        for (var at = start; at < end; at += chunk) RunChunk(at, (int)Math.Min(chunk, end - at), scratch, _partSources!, _partOutputs!);
    }

    private sealed class Scratch
    {
        public readonly Array[] Values;
        /// <summary>Per member and operand: a buffer for a broadcast or filled copy, where the operand may need one.</summary>
        public readonly Array?[][] Operands;

        public Scratch(CpuFusedKernel k, int n)
        {
            Values = k._members.Select(m => Array.CreateInstance(m.DType.ClrType(), m.Size == 1 && k._total > 1 ? 1 : n)).ToArray();
            Operands = k._members.Select((m, i) => m.Inputs.Select((input, j) =>
                    input.Size == 1 || k._strides[i][j] != null ? Array.CreateInstance(input.DType.ClrType(), n) : null).ToArray())
                .ToArray();
        }
    }

    private void RunChunk(long start, int n, Scratch s, Array[] inputs, Array[] outputs)
    {
        if (_vector != null)
        {
            _vector.RunChecked(inputs, outputs[_vectorOutput], start, n, _offsets);
            return;
        }
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
                {
                    var source = -_operand[i][0] - 1;
                    var (into, at) = _copiesIntoOutput[i] ? (outputs[_outputOf[i]], (int)mStart) : (y, 0);
                    HostOps.StridedCopyRange(inputs[source], OffsetOf(source) + sp.Offset, sp.Strides, sp.Dims, mStart, mn, into, at);
                    if (_copiesIntoOutput[i]) continue;
                    break;
                }
                case AssignVariablePrim:
                {
                    var (x, xo) = Operand(i, 0, mStart, mn, s, inputs);
                    Array.Copy(x, xo, y, 0, mn);
                    break;
                }
                default: throw new InvalidOperationException($"{m.OriginName}: {m.Describe()} cannot run in a fused kernel.");
            }
            if (_outputOf[i] >= 0 && (!scalar || start == 0)) Array.Copy(y, 0, outputs[_outputOf[i]], mStart, mn);
        }
        if (_group.Tail is { } tail) ReduceRows(tail, start, n, s);
        return;

        void ReduceRows(ReducePrim tail, long first, int count, Scratch scratch)
        {
            var source = scratch.Values[_tailSource];
            var result = outputs[_tailOutput];
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
    private (Array, int) Operand(int i, int j, long start, int n, Scratch s, Array[] inputs)
    {
        var source = _operand[i][j];
        if (source >= 0)
        {
            var v = s.Values[source];
            if (v.Length == 1 && n > 1)
            {
                var fill = s.Operands[i][j]!;
                SpanOps.Fill(v, 0, fill, n);
                return (fill, 0);
            }
            return (v, 0);
        }
        var array = inputs[-source - 1];
        var offset = OffsetOf(-source - 1);
        if (_members[i].Inputs[j].Size == 1)
        {
            if (n == 1) return (array, offset);
            var fill = s.Operands[i][j]!;
            SpanOps.Fill(array, offset, fill, n);
            return (fill, 0);
        }
        if (_strides[i][j] is { } strides)
        {
            var copy = s.Operands[i][j]!;
            HostOps.StridedCopyRange(array, offset, strides, _group.Dims, start, n, copy, 0);
            return (copy, 0);
        }
        return (array, offset + (int)start);
    }

    /// <summary>Strides that read an input of <paramref name="dims"/> broadcast (numpy rules) over <paramref name="outDims"/>.</summary>
    internal static int[] BroadcastStrides(int[] dims, int[] outDims)
    {
        var inStrides = HostOps.Strides(dims);
        var strides = new int[outDims.Length];
        var lead = outDims.Length - dims.Length;
        for (var i = lead; i < outDims.Length; i++)
            strides[i] = dims[i - lead] == 1 ? 0 : inStrides[i - lead];
        return strides;
    }
}
