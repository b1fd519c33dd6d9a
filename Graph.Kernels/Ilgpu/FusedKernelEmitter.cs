using System.Globalization;
using System.Reflection;
using System.Reflection.Emit;
using System.Text;
using Graph.Core;
using Graph.Kernels.Fusion;
using ILGPU;

namespace Graph.Kernels.Ilgpu;

/// <summary>
/// Generates the ILGPU kernel of a fused group as IL in a dynamic assembly (ILGPU reads IL from an
/// <see cref="AssemblyBuilder"/>; it cannot read a DynamicMethod). The kernel is a grid-stride loop over the group's
/// iteration space (or over the rows of its tail reduction): per element each member is computed once into a local,
/// operands are read from their buffers with broadcasting index arithmetic on the plan's concrete shapes, scalar
/// constants are inlined, stored members are written, and a tail reduction accumulates each row in order.
/// Parameters: <c>(Index1D, views of <see cref="Inputs"/>, views of <see cref="Outputs"/>, [error flag], long threads)</c>.
/// </summary>
internal sealed class FusedKernelEmitter
{
    private static readonly ModuleBuilder Module = AssemblyBuilder
        .DefineDynamicAssembly(new AssemblyName("Graph.Kernels.Generated"), AssemblyBuilderAccess.Run)
        .DefineDynamicModule("Graph.Kernels.Generated");
    private static int _kernelCount;

    private readonly KernelGroup _group;
    private readonly ReducePrim? _tail;
    private readonly Prim[] _members;
    private readonly Dictionary<Prim, int> _inputParam = new();
    private readonly Dictionary<Prim, int> _outputParam = new();
    private readonly Dictionary<Prim, LocalBuilder> _locals = new();
    private readonly long _total;
    private readonly long _rowLength;
    private ILGenerator _il = null!;
    private int _errorParam = -1, _threadsParam;

    /// <summary>
    /// Prepares the kernel of <paramref name="group"/>: which values it reads and writes, and its cache key. With
    /// <paramref name="separateTail"/> the kernel stores the tail reduction's input instead of reducing it (a few long
    /// rows are reduced faster by a separate multi-thread reduction).
    /// </summary>
    public FusedKernelEmitter(KernelGroup group, bool separateTail = false)
    {
        _group = group;
        _tail = separateTail ? null : group.Tail;
        _members = group.Members.Where(m => m != group.Head && m != group.Tail).ToArray();
        _total = Shape.Product(group.Dims);
        _rowLength = _tail is { } t ? t.Axes.Aggregate(1L, (n, a) => n * t.Inputs[0].Dims[a]) : 1;
        var memberSet = new HashSet<Prim>(_members);
        var inputs = new List<Prim>();
        foreach (var m in _members)
            foreach (var i in m.Inputs)
                if (!memberSet.Contains(i) && i is not ConstantPrim { Size: 1 } && !inputs.Contains(i)) inputs.Add(i);
        Inputs = inputs.ToArray();
        var outputs = group.Outputs.Where(o => o != group.Head && (o != group.Tail || _tail != null)).ToList();
        if (separateTail && group.Tail is { } reduced && !outputs.Contains(reduced.Inputs[0])) outputs.Add(reduced.Inputs[0]);
        Outputs = outputs.ToArray();
        for (var k = 0; k < Inputs.Length; k++) _inputParam[Inputs[k]] = 1 + k;
        for (var k = 0; k < Outputs.Length; k++) _outputParam[Outputs[k]] = 1 + Inputs.Length + k;
        NeedsErrorFlag = _members.Any(m => m is BinaryPrim { Op: BinaryOp.Div or BinaryOp.Pow } && !m.DType.IsFloating());
        Key = Describe();
    }

    /// <summary>Values the kernel reads (in parameter order): outside inputs, including a head matmul's result.</summary>
    public Prim[] Inputs { get; }

    /// <summary>Values the kernel writes (in parameter order): stored members and the tail reduction.</summary>
    public Prim[] Outputs { get; }

    /// <summary>Whether the kernel takes an error flag (integer division or power).</summary>
    public bool NeedsErrorFlag { get; }

    /// <summary>What the kernel computes, with dtypes, shapes and inlined constants: equal keys give identical kernels.</summary>
    public string Key { get; }

    /// <summary>Work items of one launch: elements, or rows when a reduction ends the group.</summary>
    public long Work => _tail?.Size ?? _total;

    private string Describe()
    {
        var sb = new StringBuilder("fused ").Append(Shape.Format(_group.Dims));
        string Ref(Prim p) => Array.IndexOf(_members, p) is var k and >= 0 ? $"m{k}"
            : p is ConstantPrim { Size: 1 } c ? $"c{c.DType.Name()}:{Convert.ToString(c.Value.Data.GetValue(0), CultureInfo.InvariantCulture)}"
            : $"in{Array.IndexOf(Inputs, p)}:{p.DType.Name()}{Shape.Format(p.Dims)}";
        foreach (var m in _members)
        {
            sb.Append(';').Append(m.GetType().Name).Append(' ').Append(m.Describe()).Append(' ').Append(m.DType.Name()).Append(Shape.Format(m.Dims)).Append('(');
            sb.AppendJoin(',', m.Inputs.Select(Ref)).Append(')');
            if (Array.IndexOf(Outputs, m) is var o and >= 0) sb.Append("->out").Append(o);
        }
        if (_tail is { } tail) sb.Append(";tail ").Append(tail.Op).Append(' ').Append(_rowLength).Append('(').Append(Ref(tail.Inputs[0])).Append(")->out").Append(Array.IndexOf(Outputs, tail));
        return sb.ToString();
    }

    /// <summary>Emits the kernel method.</summary>
    public MethodInfo Emit()
    {
        var parameters = new List<Type> { typeof(Index1D) };
        parameters.AddRange(Inputs.Concat(Outputs).Select(p => ViewType(DeviceBuffer.ElementType(p.DType))));
        if (NeedsErrorFlag)
        {
            _errorParam = parameters.Count;
            parameters.Add(typeof(ArrayView<int>));
        }
        _threadsParam = parameters.Count;
        parameters.Add(typeof(long));
        TypeBuilder type;
        lock (Module) type = Module.DefineType($"FusedKernel{Interlocked.Increment(ref _kernelCount)}", TypeAttributes.Public | TypeAttributes.Abstract | TypeAttributes.Sealed);
        var method = type.DefineMethod("Run", MethodAttributes.Public | MethodAttributes.Static, typeof(void), parameters.ToArray());
        _il = method.GetILGenerator();
        foreach (var m in _members) _locals[m] = _il.DeclareLocal(LocalType(m.DType));
        var i = _il.DeclareLocal(typeof(long));
        if (_tail is { } tail) EmitRows(tail, i);
        else
            GridStride(i, _total, () => EmitElement(i));
        _il.Emit(OpCodes.Ret);
        Type created;
        lock (Module) created = type.CreateType();
        return created.GetMethod("Run")!;
    }

    /// <summary>for (w = index.X; w &lt; count; w += threads) body();</summary>
    private void GridStride(LocalBuilder w, long count, Action body)
    {
        var loop = _il.DefineLabel();
        var end = _il.DefineLabel();
        _il.Emit(OpCodes.Ldarga_S, (byte)0);
        _il.Emit(OpCodes.Call, typeof(Index1D).GetProperty("X")!.GetMethod!);
        _il.Emit(OpCodes.Conv_I8);
        _il.Emit(OpCodes.Stloc, w);
        _il.MarkLabel(loop);
        _il.Emit(OpCodes.Ldloc, w);
        _il.Emit(OpCodes.Ldc_I8, count);
        _il.Emit(OpCodes.Bge, end);
        body();
        _il.Emit(OpCodes.Ldloc, w);
        _il.Emit(OpCodes.Ldarg, (short)_threadsParam);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Stloc, w);
        _il.Emit(OpCodes.Br, loop);
        _il.MarkLabel(end);
    }

    /// <summary>One thread per row: the row's elements in order, accumulated into the tail's output.</summary>
    private void EmitRows(ReducePrim tail, LocalBuilder i)
    {
        var row = _il.DeclareLocal(typeof(long));
        var j = _il.DeclareLocal(typeof(long));
        var acc = _il.DeclareLocal(LocalType(tail.DType));
        var source = _locals[tail.Inputs[0]];
        var kahan = tail.Op == ReduceOp.Sum && tail.DType.IsFloating();
        var compensation = kahan ? _il.DeclareLocal(LocalType(tail.DType)) : null;
        var term = kahan ? _il.DeclareLocal(LocalType(tail.DType)) : null!;
        var sum = kahan ? _il.DeclareLocal(LocalType(tail.DType)) : null!;
        GridStride(row, Work, () =>
        {
            EmitConstant(tail.DType, tail.Op switch
            {
                ReduceOp.Sum => 0.0,
                ReduceOp.Prod => 1.0,
                ReduceOp.Max => double.NegativeInfinity,
                _ => double.PositiveInfinity,
            });
            _il.Emit(OpCodes.Stloc, acc);
            if (compensation != null)
            {
                EmitConstant(tail.DType, 0.0);
                _il.Emit(OpCodes.Stloc, compensation);
            }
            var inner = _il.DefineLabel();
            var innerEnd = _il.DefineLabel();
            _il.Emit(OpCodes.Ldc_I8, 0L);
            _il.Emit(OpCodes.Stloc, j);
            _il.MarkLabel(inner);
            _il.Emit(OpCodes.Ldloc, j);
            _il.Emit(OpCodes.Ldc_I8, _rowLength);
            _il.Emit(OpCodes.Bge, innerEnd);
            _il.Emit(OpCodes.Ldloc, row);
            _il.Emit(OpCodes.Ldc_I8, _rowLength);
            _il.Emit(OpCodes.Mul);
            _il.Emit(OpCodes.Ldloc, j);
            _il.Emit(OpCodes.Add);
            _il.Emit(OpCodes.Stloc, i);
            EmitElement(i);
            if (compensation != null)
            {
                // Kahan summation: a float sum of a long row in order stays as accurate as a pairwise one.
                _il.Emit(OpCodes.Ldloc, source);
                _il.Emit(OpCodes.Ldloc, compensation);
                _il.Emit(OpCodes.Sub);
                _il.Emit(OpCodes.Stloc, term);
                _il.Emit(OpCodes.Ldloc, acc);
                _il.Emit(OpCodes.Ldloc, term);
                _il.Emit(OpCodes.Add);
                _il.Emit(OpCodes.Stloc, sum);
                _il.Emit(OpCodes.Ldloc, sum);
                _il.Emit(OpCodes.Ldloc, acc);
                _il.Emit(OpCodes.Ldloc, term);
                var type = LocalType(tail.DType);
                _il.Emit(OpCodes.Call, typeof(DeviceMath).GetMethod(nameof(DeviceMath.KahanCompensation), [type, type, type])!);
                _il.Emit(OpCodes.Stloc, compensation);
                _il.Emit(OpCodes.Ldloc, sum);
            }
            else
            {
                _il.Emit(OpCodes.Ldloc, acc);
                _il.Emit(OpCodes.Ldloc, source);
                CallMath(tail.Op switch
                {
                    ReduceOp.Sum => "Add",
                    ReduceOp.Prod => "Mul",
                    ReduceOp.Max => "Max",
                    _ => "Min",
                }, tail.DType, 2, tail);
            }
            _il.Emit(OpCodes.Stloc, acc);
            _il.Emit(OpCodes.Ldloc, j);
            _il.Emit(OpCodes.Ldc_I8, 1L);
            _il.Emit(OpCodes.Add);
            _il.Emit(OpCodes.Stloc, j);
            _il.Emit(OpCodes.Br, inner);
            _il.MarkLabel(innerEnd);
            Store(_outputParam[tail], tail.DType, () => _il.Emit(OpCodes.Ldloc, row), () => _il.Emit(OpCodes.Ldloc, acc));
        });
    }

    /// <summary>Computes every member at element <paramref name="i"/> and stores the stored ones.</summary>
    private void EmitElement(LocalBuilder i)
    {
        foreach (var m in _members)
        {
            // A scalar member (size 1) in a larger space is element 0 of its own space.
            var scalar = m.Size == 1 && _total > 1;
            void Index()
            {
                if (scalar) _il.Emit(OpCodes.Ldc_I8, 0L);
                else _il.Emit(OpCodes.Ldloc, i);
            }
            var local = _locals[m];
            switch (m)
            {
                case UnaryPrim u:
                    Operand(m, 0, Index);
                    CallMath(u.Op.ToString(), m.DType, 1, m);
                    _il.Emit(OpCodes.Stloc, local);
                    break;
                case BinaryPrim b:
                    Operand(m, 0, Index);
                    Operand(m, 1, Index);
                    if (b.Op is BinaryOp.Div or BinaryOp.Pow && !m.DType.IsFloating())
                    {
                        _il.Emit(OpCodes.Ldarg, (short)_errorParam);
                        CallMath(b.Op.ToString(), m.Inputs[0].DType, 3, m);
                    }
                    else CallMath(b.Op.ToString(), m.Inputs[0].DType, 2, m);
                    _il.Emit(OpCodes.Stloc, local);
                    break;
                case SelectPrim:
                {
                    var otherwise = _il.DefineLabel();
                    var done = _il.DefineLabel();
                    Operand(m, 0, Index);
                    _il.Emit(OpCodes.Brfalse, otherwise);
                    Operand(m, 1, Index);
                    _il.Emit(OpCodes.Stloc, local);
                    _il.Emit(OpCodes.Br, done);
                    _il.MarkLabel(otherwise);
                    Operand(m, 2, Index);
                    _il.Emit(OpCodes.Stloc, local);
                    _il.MarkLabel(done);
                    break;
                }
                case CastPrim:
                    Operand(m, 0, Index);
                    EmitConvert(m.Inputs[0].DType, m.DType);
                    _il.Emit(OpCodes.Stloc, local);
                    break;
                case AssignVariablePrim:
                    Operand(m, 0, Index);
                    _il.Emit(OpCodes.Stloc, local);
                    break;
                case IotaPrim iota:
                {
                    var inner = Shape.Product(m.Dims.AsSpan(iota.Axis + 1));
                    Index();
                    _il.Emit(OpCodes.Ldc_I8, inner);
                    _il.Emit(OpCodes.Div);
                    _il.Emit(OpCodes.Ldc_I8, (long)m.Dims[iota.Axis]);
                    _il.Emit(OpCodes.Rem);
                    EmitConvert(DType.Int64, m.DType);
                    _il.Emit(OpCodes.Stloc, local);
                    break;
                }
                case StridedPrim s:
                {
                    var source = s.Inputs[0];
                    if (source is ConstantPrim { Size: 1 } c) EmitConstant(c.DType, c.Value.Data.GetValue(0)!);
                    else Load(_inputParam[source], source.DType, () => StridedIndex(Index, m.Dims, s.Offset, s.Strides.Select(x => (long)x).ToArray()));
                    _il.Emit(OpCodes.Stloc, local);
                    break;
                }
                default:
                    throw new InvalidOperationException($"{m.OriginName}: {m.Describe()} cannot run in a fused ILGPU kernel.");
            }
            if (_outputParam.TryGetValue(m, out var param)) Store(param, m.DType, Index, () => _il.Emit(OpCodes.Ldloc, local));
        }
    }

    /// <summary>Pushes operand <paramref name="j"/> of <paramref name="m"/> at the member's element index, broadcasting.</summary>
    private void Operand(Prim m, int j, Action index)
    {
        var input = m.Inputs[j];
        if (_locals.TryGetValue(input, out var local))
        {
            _il.Emit(OpCodes.Ldloc, local);
            return;
        }
        if (input is ConstantPrim { Size: 1 } c)
        {
            EmitConstant(c.DType, c.Value.Data.GetValue(0)!);
            return;
        }
        var param = _inputParam[input];
        if (input.Size == 1) Load(param, input.DType, () => _il.Emit(OpCodes.Ldc_I8, 0L));
        else if (input.Dims.AsSpan().SequenceEqual(m.Dims)) Load(param, input.DType, index);
        else Load(param, input.DType, () => StridedIndex(index, m.Dims, 0, BroadcastStrides(input.Dims, m.Dims)));
    }

    /// <summary>Pushes <c>offset + Σ_k coord_k(index) · strides[k]</c> for an index into <paramref name="dims"/>.</summary>
    private void StridedIndex(Action index, int[] dims, long offset, long[] strides)
    {
        _il.Emit(OpCodes.Ldc_I8, offset);
        var inner = 1L;
        for (var k = dims.Length - 1; k >= 0; k--)
        {
            if (strides[k] != 0 && dims[k] != 1)
            {
                index();
                if (inner != 1)
                {
                    _il.Emit(OpCodes.Ldc_I8, inner);
                    _il.Emit(OpCodes.Div);
                }
                if (k > 0)
                {
                    _il.Emit(OpCodes.Ldc_I8, (long)dims[k]);
                    _il.Emit(OpCodes.Rem);
                }
                _il.Emit(OpCodes.Ldc_I8, strides[k]);
                _il.Emit(OpCodes.Mul);
                _il.Emit(OpCodes.Add);
            }
            inner *= dims[k];
        }
    }

    private static long[] BroadcastStrides(int[] dims, int[] outDims)
    {
        var strides = new long[outDims.Length];
        var lead = outDims.Length - dims.Length;
        long stride = 1;
        for (var k = dims.Length - 1; k >= 0; k--)
        {
            strides[k + lead] = dims[k] == 1 ? 0 : stride;
            stride *= dims[k];
        }
        return strides;
    }

    private void Load(int param, DType dtype, Action index)
    {
        var element = DeviceBuffer.ElementType(dtype);
        _il.Emit(OpCodes.Ldarga, (short)param);
        index();
        _il.Emit(OpCodes.Call, ItemGetter(element));
        _il.Emit(OpCodes.Ldobj, element);
    }

    private void Store(int param, DType dtype, Action index, Action value)
    {
        var element = DeviceBuffer.ElementType(dtype);
        _il.Emit(OpCodes.Ldarga, (short)param);
        index();
        _il.Emit(OpCodes.Call, ItemGetter(element));
        value();
        if (dtype == DType.Bool) _il.Emit(OpCodes.Conv_U1);
        _il.Emit(OpCodes.Stobj, element);
    }

    private static MethodInfo ItemGetter(Type element) =>
        ViewType(element).GetProperty("Item", [typeof(long)])!.GetMethod!;

    private static Type ViewType(Type element) => typeof(ArrayView<>).MakeGenericType(element);

    private static Type LocalType(DType dtype) => dtype == DType.Bool ? typeof(bool) : dtype.ClrType();

    /// <summary>Calls the <see cref="DeviceMath"/> function <paramref name="name"/> for operands of <paramref name="dtype"/>.</summary>
    private void CallMath(string name, DType dtype, int arity, Prim origin)
    {
        var t = LocalType(dtype);
        Type[] types = arity switch
        {
            1 => [t],
            2 => [t, t],
            _ => [t, t, typeof(ArrayView<int>)],
        };
        var method = typeof(DeviceMath).GetMethod(name, types)
                     ?? throw new InvalidArgumentException($"{origin.OriginName}: {name} is not defined for {dtype.Name()}.");
        _il.Emit(OpCodes.Call, method);
    }

    private void EmitConstant(DType dtype, object value)
    {
        switch (dtype)
        {
            case DType.Float32: _il.Emit(OpCodes.Ldc_R4, Convert.ToSingle(value, CultureInfo.InvariantCulture)); break;
            case DType.Float64: _il.Emit(OpCodes.Ldc_R8, Convert.ToDouble(value, CultureInfo.InvariantCulture)); break;
            case DType.Int32:
                _il.Emit(OpCodes.Ldc_I4, value is double d ? (double.IsNegativeInfinity(d) ? int.MinValue : double.IsPositiveInfinity(d) ? int.MaxValue : (int)d) : Convert.ToInt32(value, CultureInfo.InvariantCulture));
                break;
            case DType.Int64:
                _il.Emit(OpCodes.Ldc_I8, value is double e ? (double.IsNegativeInfinity(e) ? long.MinValue : double.IsPositiveInfinity(e) ? long.MaxValue : (long)e) : Convert.ToInt64(value, CultureInfo.InvariantCulture));
                break;
            default: _il.Emit(OpCodes.Ldc_I4, Convert.ToBoolean(value, CultureInfo.InvariantCulture) ? 1 : 0); break;
        }
    }

    /// <summary>Converts the value on the stack with C cast semantics (to bool: x != 0; from bool: 0 or 1).</summary>
    private void EmitConvert(DType from, DType to)
    {
        if (from == DType.Bool && to != DType.Bool)
        {
            // A select, not a conversion: ILGPU's PTX and OpenCL backends turn conv.r4 of a bool into a move of its
            // bits (true became 1.4e-45, the float with bit pattern 1).
            var isTrue = _il.DefineLabel();
            var done = _il.DefineLabel();
            _il.Emit(OpCodes.Brtrue, isTrue);
            EmitConstant(to, 0);
            _il.Emit(OpCodes.Br, done);
            _il.MarkLabel(isTrue);
            EmitConstant(to, 1);
            _il.MarkLabel(done);
            return;
        }
        switch (to)
        {
            case DType.Float32: _il.Emit(OpCodes.Conv_R4); break;
            case DType.Float64: _il.Emit(OpCodes.Conv_R8); break;
            case DType.Int32: _il.Emit(OpCodes.Conv_I4); break;
            case DType.Int64: _il.Emit(OpCodes.Conv_I8); break;
            default:
                if (from == DType.Bool) break;
                EmitConstant(from, 0);
                _il.Emit(OpCodes.Ceq);
                _il.Emit(OpCodes.Ldc_I4_0);
                _il.Emit(OpCodes.Ceq);
                break;
        }
    }
}
