using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Graph.Core;
using Graph.Kernels.Fusion;

namespace Graph.Kernels.Cpu;

/// <summary>
/// A float32 element-wise expression tree compiled into one register-resident loop: the tree is closed as a generic
/// struct type (<c>Bin&lt;Mul, Load&lt;I0&gt;, Un&lt;Tanh, Load&lt;I1&gt;&gt;&gt;</c>) and the JIT specialises and inlines it, so
/// each element is loaded once, every operation stays in a Vector256 register and only the root is stored. The chunk
/// interpreter of <see cref="CpuFusedKernel"/> instead makes one pass per member through scratch buffers, which costs
/// several times more on the small tensors of an RNN step (an epilogue over a 150×150 product, a tanh gradient).
/// Same operations in the same order as the interpreter (no contraction into FMAs), so results are bit-identical.
/// </summary>
internal sealed class CpuVectorExpr
{
    private const int MaxLeaves = 8, MaxNodes = 16;

    /// <summary>A value the tree reads: source array <see cref="Source"/> at <see cref="Offset"/> + Σ index·stride.</summary>
    private sealed record Leaf(int Source, int Offset, int[] Strides, bool Splat);

    private readonly Leaf[] _leaves;
    private readonly int[] _dims;
    private readonly bool _flat;     // every leaf is row-major contiguous or one element: one run over the whole range
    private readonly VectorLoop _loop;

    private CpuVectorExpr(Leaf[] leaves, int[] dims, bool flat, VectorLoop loop)
    {
        _leaves = leaves;
        _dims = dims;
        _flat = flat;
        _loop = loop;
    }

    /// <summary>
    /// Vector256.IsHardwareAccelerated, read once. ReadyToRun leaves a method that asks it to the JIT (the answer depends
    /// on the machine and the runtime's settings), and <see cref="TryCreate"/>, which runs for every fused kernel of
    /// the first plan, cost ~4 ms of JIT on the calling thread; only this field's initialiser is compiled now.
    /// </summary>
    private static readonly bool Vector256Accelerated = Vector256.IsHardwareAccelerated;

    /// <summary>
    /// The compiled loop for <paramref name="group"/>, or null when it is not a float32 tree of supported operations
    /// (one stored result at the root, every other member read once, no reduction, broadcasts with inner stride 0 or 1).
    /// </summary>
    /// <param name="group">The fused group.</param>
    /// <param name="members">The element-wise members in dependency order (the root last).</param>
    /// <param name="sourceOf">Index in the kernel's source arrays of a value read from outside the members.</param>
    public static CpuVectorExpr? TryCreate(KernelGroup group, Prim[] members, Func<Prim, int> sourceOf)
    {
        if (group.Tail != null || members.Length == 0 || members.Length > MaxNodes || !Vector256Accelerated) return null;
        // A bare strided copy computes nothing: the interpreter copies its runs straight into the output.
        if (members is [StridedPrim]) return null;
        var root = members[^1];
        if (group.Outputs.Any(o => o != root && o != group.Head)) return null;
        var inGroup = members.ToHashSet();
        var uses = new Dictionary<Prim, int>();
        foreach (var m in members)
        {
            if (m.DType != DType.Float32 || m.Size != Shape.Product(group.Dims)) return null;
            // x·x of one member reads it once (it becomes a square).
            foreach (var input in IsSquare(m) ? m.Inputs.Take(1) : m.Inputs)
                if (inGroup.Contains(input)) uses[input] = (uses.TryGetValue(input, out var n) ? n : 0) + 1;
        }
        if (members.Any(m => m != root && (!uses.TryGetValue(m, out var n) || n != 1))) return null;

        var dims = group.Dims;
        var rowMajor = HostOps.Strides(dims);
        var leaves = new List<Leaf>();
        Type? Build(Prim p)
        {
            if (inGroup.Contains(p))
                switch (p)
                {
                    case UnaryPrim u when UnaryType(u.Op) is { } op:
                        return Build(u.Inputs[0]) is { } x ? typeof(Un<,>).MakeGenericType(op, x) : null;
                    case BinaryPrim b when IsSquare(b):
                        return Build(b.Inputs[0]) is { } sx ? typeof(Un<,>).MakeGenericType(typeof(VectorLoops.Square<float>), sx) : null;
                    case BinaryPrim b when BinaryType(b.Op) is { } op:
                        return Build(b.Inputs[0]) is { } l && Build(b.Inputs[1]) is { } r ? typeof(Bin<,,>).MakeGenericType(op, l, r) : null;
                    // A strided member of lower rank (a size-1 fill absorbed into a size-1 group) stays with the interpreter.
                    case StridedPrim s when !inGroup.Contains(s.Inputs[0]) && s.Inputs[0].DType == DType.Float32 && s.Strides.Length == dims.Length:
                        return LeafType(new Leaf(sourceOf(s.Inputs[0]), s.Offset, s.Strides, s.Strides.All(x => x == 0)));
                    default:
                        return null;
                }
            if (p.DType != DType.Float32) return null;
            if (p.Size == 1) return LeafType(new Leaf(sourceOf(p), 0, new int[dims.Length], true));
            var strides = p.Dims.AsSpan().SequenceEqual(dims) ? rowMajor : CpuFusedKernel.BroadcastStrides(p.Dims, dims);
            return LeafType(new Leaf(sourceOf(p), 0, strides, false));
        }
        Type? LeafType(Leaf leaf)
        {
            var k = leaves.IndexOf(leaves.FirstOrDefault(l => l.Source == leaf.Source && l.Offset == leaf.Offset && l.Strides.AsSpan().SequenceEqual(leaf.Strides))!);
            if (k < 0)
            {
                if (leaves.Count == MaxLeaves) return null;
                k = leaves.Count;
                leaves.Add(leaf);
            }
            return (leaf.Splat ? typeof(Splat<>) : typeof(Load<>)).MakeGenericType(IndexTypes[k]);
        }

        var tree = Build(root);
        if (tree == null) return null;
        var flat = leaves.All(l => l.Splat || l.Strides.AsSpan().SequenceEqual(rowMajor));
        // Runs along the innermost axis: each leaf must advance by 0 or 1 element there, and runs must be long
        // enough for vectors to pay.
        if (!flat && (dims.Length == 0 || dims[^1] < 16 || leaves.Any(l => l.Strides[^1] is not (0 or 1)))) return null;
        // A leaf that is not contiguous along the run is read as one element per run (a splat).
        var resolved = leaves.Select(l => l with { Splat = l.Splat || (!flat && l.Strides[^1] == 0) }).ToArray();
        if (!resolved.SequenceEqual(leaves))
        {
            // Rebuild with the per-run splats.
            leaves.Clear();
            leaves.AddRange(resolved);
            tree = Rebuild(tree, resolved);
        }
        var method = typeof(Loop<>).MakeGenericType(tree).GetMethod(nameof(Loop<Splat<I0>>.Run), BindingFlags.Public | BindingFlags.Static)!;
        var expr = new CpuVectorExpr(resolved, dims, flat, method.CreateDelegate<VectorLoop>());
        CpuWarmUp.Enqueue(expr.Compile);
        return expr;
    }

    /// <summary>Makes the JIT compile the loop (a call over no elements reads nothing).</summary>
    private void Compile()
    {
        var none = new Operands();
        var dst = 0f;
        _loop(ref none, ref dst, 0);
    }

    /// <summary>The same tree with each leaf's Load/Splat choice taken from <paramref name="leaves"/>.</summary>
    private static Type Rebuild(Type t, Leaf[] leaves)
    {
        var def = t.GetGenericTypeDefinition();
        var args = t.GetGenericArguments();
        if (def == typeof(Load<>) || def == typeof(Splat<>))
        {
            var k = Array.IndexOf(IndexTypes, args[0]);
            return (leaves[k].Splat ? typeof(Splat<>) : typeof(Load<>)).MakeGenericType(args[0]);
        }
        return def.MakeGenericType(args.Select(a => a.IsGenericType ? Rebuild(a, leaves) : a).ToArray());
    }

    /// <summary>
    /// Refuses sources too short for the positions the leaves read over the whole iteration space: the loop itself reads
    /// without bounds checks. <see cref="RunChecked"/> relies on it having passed for the same sources and offsets.
    /// </summary>
    public void CheckBounds(Array[] sources, Prim origin, int[]? offsets)
    {
        for (var k = 0; k < _leaves.Length; k++) CheckBounds(origin, k, (float[])sources[_leaves[k].Source], BaseOf(offsets, _leaves[k].Source));
    }

    private static int BaseOf(int[]? offsets, int source) => offsets != null && source < offsets.Length ? offsets[source] : 0;

    /// <summary>
    /// Whether every leaf that reads source <paramref name="source"/> reads element i of the iteration space at element i
    /// of the source: computing the expression over a range then needs only that range of the source.
    /// </summary>
    public bool ReadsInPlace(int source)
    {
        var rowMajor = HostOps.Strides(_dims);
        return _leaves.All(l => l.Source != source || (l.Offset == 0 && !l.Splat && l.Strides.AsSpan().SequenceEqual(rowMajor)));
    }

    /// <summary>
    /// Computes elements [start, start + n) of the root into <paramref name="output"/> at the same positions, once
    /// <see cref="CheckBounds(Array[], Prim, int[])"/> has passed for these sources and offsets (once per kernel run, not
    /// per chunk). Source s starts at element <paramref name="offsets"/>[s] of its array (0 where the array is shorter or
    /// null): a slice read in place.
    /// </summary>
    public void RunChecked(Array[] sources, Array output, long start, int n, int[]? offsets = null)
    {
        int BaseOf(int source) => CpuVectorExpr.BaseOf(offsets, source);
        var dst = (float[])output;
        var operands = new Operands();
        if (_flat)
        {
            for (var k = 0; k < _leaves.Length; k++)
            {
                var l = _leaves[k];
                Operands.Set(ref operands, k, (float[])sources[l.Source], BaseOf(l.Source) + (l.Splat ? l.Offset : l.Offset + start));
            }
            _loop(ref operands, ref dst[start], n);
            return;
        }
        // Runs along the innermost axis; each leaf's position at a run's start from the multi-index.
        var rank = _dims.Length;
        Span<int> index = stackalloc int[rank];
        var rem = start;
        for (var axis = rank - 1; axis >= 0; axis--)
        {
            index[axis] = (int)(rem % _dims[axis]);
            rem /= _dims[axis];
        }
        var inner = _dims[^1];
        var done = 0;
        while (done < n)
        {
            var run = Math.Min(inner - index[rank - 1], n - done);
            for (var k = 0; k < _leaves.Length; k++)
            {
                var l = _leaves[k];
                var pos = BaseOf(l.Source) + l.Offset;
                for (var axis = 0; axis < rank; axis++) pos += index[axis] * l.Strides[axis];
                Operands.Set(ref operands, k, (float[])sources[l.Source], pos);
            }
            _loop(ref operands, ref dst[start + done], run);
            done += run;
            index[rank - 1] += run;
            for (var axis = rank - 1; axis > 0 && index[axis] == _dims[axis]; axis--)
            {
                index[axis] = 0;
                index[axis - 1]++;
            }
        }
    }

    /// <summary>Refuses a source too short for the positions a leaf reads: the loop itself reads without bounds checks.</summary>
    private void CheckBounds(Prim origin, int k, float[] source, int baseOffset)
    {
        var l = _leaves[k];
        var (first, last) = HostOps.StridedReach((long)baseOffset + l.Offset, l.Strides, _dims);
        if (Shape.Product(_dims) > 0 && (last >= source.Length || first < 0))
            throw new InternalException($"{origin.OriginName}: fused kernel operand {k} has {source.Length} elements; its view over {Shape.Format(_dims)} reads elements {first} to {last}.");
    }

    /// <summary>x·x: the same bits as a square, which reads x once.</summary>
    private static bool IsSquare(Prim p) => p is BinaryPrim { Op: BinaryOp.Mul } b && b.Inputs[0] == b.Inputs[1];

    private static Type? UnaryType(UnaryOp op) => op switch
    {
        UnaryOp.Neg => typeof(VectorLoops.Negate<float>),
        UnaryOp.Abs => typeof(AbsOp),
        UnaryOp.Square => typeof(VectorLoops.Square<float>),
        UnaryOp.Sqrt => typeof(VectorLoops.SquareRoot<float>),
        UnaryOp.Tanh => typeof(TanhOp),
        UnaryOp.Exp => typeof(ExpOp),
        UnaryOp.Sigmoid => typeof(SigmoidOp),
        _ => null,
    };

    private static Type? BinaryType(BinaryOp op) => op switch
    {
        BinaryOp.Add => typeof(VectorLoops.Add<float>),
        BinaryOp.Sub => typeof(VectorLoops.Subtract<float>),
        BinaryOp.Mul => typeof(VectorLoops.Multiply<float>),
        BinaryOp.Div => typeof(VectorLoops.Divide<float>),
        _ => null,
    };

    private static readonly Type[] IndexTypes = [typeof(I0), typeof(I1), typeof(I2), typeof(I3), typeof(I4), typeof(I5), typeof(I6), typeof(I7)];

    private delegate void VectorLoop(ref Operands operands, ref float dst, int n);

    /// <summary>Where each leaf reads in the current run (refs, so the arrays need no pinning).</summary>
    private ref struct Operands
    {
        public ref float R0, R1, R2, R3, R4, R5, R6, R7;

        /// <summary>Leaf k reads from <paramref name="array"/>[<paramref name="index"/>] on.</summary>
        public static void Set(ref Operands o, int k, float[] array, long index)
        {
            switch (k)
            {
                case 0: o.R0 = ref array[index]; break;
                case 1: o.R1 = ref array[index]; break;
                case 2: o.R2 = ref array[index]; break;
                case 3: o.R3 = ref array[index]; break;
                case 4: o.R4 = ref array[index]; break;
                case 5: o.R5 = ref array[index]; break;
                case 6: o.R6 = ref array[index]; break;
                default: o.R7 = ref array[index]; break;
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ref float At<TK>(ref Operands o) where TK : IIndex
        {
            // TK.Value is a constant for each closed type: the JIT keeps one branch.
            if (TK.Value == 0) return ref o.R0;
            if (TK.Value == 1) return ref o.R1;
            if (TK.Value == 2) return ref o.R2;
            if (TK.Value == 3) return ref o.R3;
            if (TK.Value == 4) return ref o.R4;
            if (TK.Value == 5) return ref o.R5;
            if (TK.Value == 6) return ref o.R6;
            return ref o.R7;
        }
    }

    private interface IIndex { static abstract int Value { get; } }
    private struct I0 : IIndex { public static int Value => 0; }
    private struct I1 : IIndex { public static int Value => 1; }
    private struct I2 : IIndex { public static int Value => 2; }
    private struct I3 : IIndex { public static int Value => 3; }
    private struct I4 : IIndex { public static int Value => 4; }
    private struct I5 : IIndex { public static int Value => 5; }
    private struct I6 : IIndex { public static int Value => 6; }
    private struct I7 : IIndex { public static int Value => 7; }

    /// <summary>A node of the tree: its value at element j of the run, a vector (of either width) at a time or one.</summary>
    private interface IExpr
    {
        static abstract TV Vector<TV, TW>(ref Operands o, nint j) where TV : struct where TW : struct, IFloatVector<TV>;
        static abstract float Scalar(ref Operands o, nint j);
    }

    private struct Load<TK> : IExpr where TK : struct, IIndex
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Vector<TV, TW>(ref Operands o, nint j) where TV : struct where TW : struct, IFloatVector<TV> => TW.Load(ref Operands.At<TK>(ref o), j);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Scalar(ref Operands o, nint j) => Unsafe.Add(ref Operands.At<TK>(ref o), j);
    }

    private struct Splat<TK> : IExpr where TK : struct, IIndex
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Vector<TV, TW>(ref Operands o, nint j) where TV : struct where TW : struct, IFloatVector<TV> => TW.Create(Operands.At<TK>(ref o));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Scalar(ref Operands o, nint j) => Operands.At<TK>(ref o);
    }

    private struct Un<TOp, TX> : IExpr where TOp : struct, VectorLoops.IUnary<float> where TX : struct, IExpr
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Vector<TV, TW>(ref Operands o, nint j) where TV : struct where TW : struct, IFloatVector<TV> => TW.Apply<TOp>(TX.Vector<TV, TW>(ref o, j));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Scalar(ref Operands o, nint j) => TOp.Apply(TX.Scalar(ref o, j));
    }

    private struct Bin<TOp, TA, TB> : IExpr where TOp : struct, VectorLoops.IBinary<float> where TA : struct, IExpr where TB : struct, IExpr
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Vector<TV, TW>(ref Operands o, nint j) where TV : struct where TW : struct, IFloatVector<TV> =>
            TW.Apply<TOp>(TA.Vector<TV, TW>(ref o, j), TB.Vector<TV, TW>(ref o, j));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Scalar(ref Operands o, nint j) => TOp.Apply(TA.Scalar(ref o, j), TB.Scalar(ref o, j));
    }

    private readonly struct AbsOp : VectorLoops.IUnary<float>
    {
        public static float Apply(float x) => MathF.Abs(x);
        public static Vector256<float> Apply(Vector256<float> x) => Vector256.Abs(x);
        public static Vector512<float> Apply(Vector512<float> x) => Vector512.Abs(x);
    }

    /// <summary>The loop: vectors of sixteen where the CPU runs 512-bit vectors, then of eight, then single elements.</summary>
    private static class Loop<TExpr> where TExpr : struct, IExpr
    {
        public static void Run(ref Operands o, ref float dst, int n)
        {
            nint j = 0;
            if (Vector512.IsHardwareAccelerated)
                for (; j <= n - Vector512<float>.Count; j += Vector512<float>.Count)
                    V512.Store(TExpr.Vector<Vector512<float>, V512>(ref o, j), ref dst, j);
            for (; j <= n - Vector256<float>.Count; j += Vector256<float>.Count)
                V256.Store(TExpr.Vector<Vector256<float>, V256>(ref o, j), ref dst, j);
            for (; j < n; j++) Unsafe.Add(ref dst, j) = TExpr.Scalar(ref o, j);
        }
    }
}
