using System.Numerics;
using System.Numerics.Tensors;
using Graph.Core;

namespace Graph.Kernels.Cpu;

/// <summary>Element-wise primitives on host arrays: vectorised through TensorPrimitives where it has the op.</summary>
internal static class CpuElementwise
{
    private delegate void SpanBinary<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y);

    public static HostTensor Unary(UnaryPrim p, HostTensor x)
    {
        var y = HostTensor.Zeros(p.DType, p.Dims);
        switch (x.Data)
        {
            case float[] a when p.Op == UnaryOp.Tanh: AccurateMath.Tanh(a, (float[])y.Data); break;
            case float[] a: UnaryFloat(p.Op, a, (float[])y.Data); break;
            case double[] a: UnaryFloat(p.Op, a, (double[])y.Data); break;
            case int[] a: UnaryInt(p, a, (int[])y.Data); break;
            case long[] a: UnaryInt(p, a, (long[])y.Data); break;
            case bool[] a when p.Op == UnaryOp.LogicalNot:
                var r = (bool[])y.Data;
                for (var i = 0; i < a.Length; i++) r[i] = !a[i];
                break;
            default: throw Unsupported(p, x.DType);
        }
        return y;
    }

    private static void UnaryFloat<T>(UnaryOp op, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (op)
        {
            case UnaryOp.Neg: TensorPrimitives.Negate(x, y); break;
            case UnaryOp.Abs: TensorPrimitives.Abs(x, y); break;
            case UnaryOp.Square: TensorPrimitives.Multiply(x, x, y); break;
            case UnaryOp.Sqrt: TensorPrimitives.Sqrt(x, y); break;
            case UnaryOp.Rsqrt: TensorPrimitives.ReciprocalSqrt(x, y); break;
            case UnaryOp.Exp: TensorPrimitives.Exp(x, y); break;
            case UnaryOp.Log: TensorPrimitives.Log(x, y); break;
            case UnaryOp.Tanh:
                for (var i = 0; i < x.Length; i++) y[i] = T.Tanh(x[i]);
                break;
            case UnaryOp.Sigmoid: TensorPrimitives.Sigmoid(x, y); break;
            case UnaryOp.Relu: TensorPrimitives.Max(x, T.Zero, y); break;
            case UnaryOp.Reciprocal: TensorPrimitives.Reciprocal(x, y); break;
            case UnaryOp.Softplus:
                // max(x, 0) + log1p(exp(-|x|)) never overflows; log1p must stay accurate for tiny arguments.
                for (var i = 0; i < x.Length; i++) y[i] = T.Max(x[i], T.Zero) + Log1P(T.Exp(-T.Abs(x[i])));
                break;
            case UnaryOp.Sign:
                for (var i = 0; i < x.Length; i++) y[i] = x[i] > T.Zero ? T.One : x[i] < T.Zero ? -T.One : x[i];
                break;
            default: throw new InvalidOperationException($"Unary {op} is not defined for {typeof(T).Name}.");
        }
    }

    /// <summary>ln(1+v) without the cancellation of computing 1+v first (Goldberg's correction).</summary>
    private static T Log1P<T>(T v) where T : IFloatingPointIeee754<T>
    {
        var u = T.One + v;
        return u == T.One ? v : T.Log(u) * v / (u - T.One);
    }

    private static void UnaryInt<T>(UnaryPrim p, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IBinaryInteger<T>, ISignedNumber<T>
    {
        switch (p.Op)
        {
            case UnaryOp.Neg: TensorPrimitives.Negate(x, y); break;
            case UnaryOp.Abs: for (var i = 0; i < x.Length; i++) y[i] = x[i] < T.Zero ? -x[i] : x[i]; break;
            case UnaryOp.Square: TensorPrimitives.Multiply(x, x, y); break;
            case UnaryOp.Relu: TensorPrimitives.Max(x, T.Zero, y); break;
            case UnaryOp.Sign: for (var i = 0; i < x.Length; i++) y[i] = T.CreateTruncating(T.Sign(x[i])); break;
            default: throw Unsupported(p, DTypeExtensions.Of<T>());
        }
    }

    public static HostTensor Binary(BinaryPrim p, HostTensor a, HostTensor b)
    {
        var y = HostTensor.Zeros(p.DType, p.Dims);
        if (p.Op.IsComparison() || p.Op.IsLogical())
        {
            var (xa, xb) = (Expand(a, p.Dims), Expand(b, p.Dims));
            var r = (bool[])y.Data;
            switch (xa)
            {
                case float[] fa: Compare(p.Op, fa, (float[])xb, r); break;
                case double[] da: Compare(p.Op, da, (double[])xb, r); break;
                case int[] ia: Compare(p.Op, ia, (int[])xb, r); break;
                case long[] la: Compare(p.Op, la, (long[])xb, r); break;
                case bool[] ba: Logical(p, ba, (bool[])xb, r); break;
            }
            return y;
        }
        switch (a.Data)
        {
            case float[]: ArithmeticFloat<float>(p, a, b, y); break;
            case double[]: ArithmeticFloat<double>(p, a, b, y); break;
            case int[]: ArithmeticInt<int>(p, a, b, y); break;
            case long[]: ArithmeticInt<long>(p, a, b, y); break;
            default: throw Unsupported(p, a.DType);
        }
        return y;
    }

    private static void ArithmeticFloat<T>(BinaryPrim p, HostTensor a, HostTensor b, HostTensor y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        SpanBinary<T> op = p.Op switch
        {
            BinaryOp.Add => TensorPrimitives.Add,
            BinaryOp.Sub => TensorPrimitives.Subtract,
            BinaryOp.Mul => TensorPrimitives.Multiply,
            BinaryOp.Div => TensorPrimitives.Divide,
            BinaryOp.Pow => TensorPrimitives.Pow,
            BinaryOp.Max => TensorPrimitives.Max,
            BinaryOp.Min => TensorPrimitives.Min,
            _ => throw Unsupported(p, a.DType),
        };
        Broadcast(op, a, b, y);
    }

    private static void ArithmeticInt<T>(BinaryPrim p, HostTensor a, HostTensor b, HostTensor y) where T : unmanaged, IBinaryInteger<T>, ISignedNumber<T>
    {
        SpanBinary<T> op = p.Op switch
        {
            BinaryOp.Add => TensorPrimitives.Add,
            BinaryOp.Sub => TensorPrimitives.Subtract,
            BinaryOp.Mul => TensorPrimitives.Multiply,
            BinaryOp.Max => TensorPrimitives.Max,
            BinaryOp.Min => TensorPrimitives.Min,
            BinaryOp.Div => (x, z, r) =>
            {
                for (var i = 0; i < r.Length; i++)
                {
                    if (z[i] == T.Zero) throw new InvalidArgumentException($"{p.OriginName}: integer division by zero.");
                    r[i] = x[i] / z[i];
                }
            },
            BinaryOp.Pow => (x, z, r) =>
            {
                for (var i = 0; i < r.Length; i++) r[i] = IntPow(p, x[i], z[i]);
            },
            _ => throw Unsupported(p, a.DType),
        };
        Broadcast(op, a, b, y);
    }

    private static T IntPow<T>(Prim p, T x, T e) where T : IBinaryInteger<T>, ISignedNumber<T>
    {
        if (e < T.Zero) throw new InvalidArgumentException($"{p.OriginName}: integers to negative integer powers are not allowed.");
        var result = T.One;
        while (e > T.Zero)
        {
            if (T.IsOddInteger(e)) result *= x;
            x *= x;
            e >>= 1;
        }
        return result;
    }

    /// <summary>
    /// Applies a span operator under broadcasting: equal shapes in one call; an operand that repeats over leading axes
    /// (a bias row) block by block; anything else after expanding the operand.
    /// </summary>
    private static void Broadcast<T>(SpanBinary<T> op, HostTensor a, HostTensor b, HostTensor y) where T : unmanaged
    {
        var dims = y.DimsSpan.ToArray();
        var output = y.Span<T>();
        var aFull = a.DimsSpan.SequenceEqual(dims);
        var bFull = b.DimsSpan.SequenceEqual(dims);
        if (!aFull && !bFull)
        {
            op((T[])Expand(a, dims), (T[])Expand(b, dims), output);
            return;
        }
        var (full, part, partIsB) = aFull ? (a, b, true) : (b, a, false);
        if (part.DimsSpan.SequenceEqual(dims))
        {
            op(a.Span<T>(), b.Span<T>(), output);
            return;
        }
        var block = part.Size;
        if (block > 0 && IsTrailingBlock(part.DimsSpan, dims))
        {
            var f = full.Span<T>();
            var pb = part.Span<T>();
            for (var o = 0; o < output.Length; o += block)
            {
                if (partIsB) op(f.AsSpan(o, block), pb, output.AsSpan(o, block));
                else op(pb, f.AsSpan(o, block), output.AsSpan(o, block));
            }
            return;
        }
        var expanded = (T[])Expand(part, dims);
        if (partIsB) op(full.Span<T>(), expanded, output);
        else op(expanded, full.Span<T>(), output);
    }

    /// <summary>Whether <paramref name="part"/> equals the trailing axes of <paramref name="dims"/> (leading 1s allowed).</summary>
    private static bool IsTrailingBlock(ReadOnlySpan<int> part, ReadOnlySpan<int> dims)
    {
        var lead = dims.Length - part.Length;
        var i = 0;
        while (i < part.Length && part[i] == 1 && dims[lead + i] != 1) i++;
        return part[i..].SequenceEqual(dims[(lead + i)..]);
    }

    /// <summary>The data of <paramref name="x"/> broadcast to <paramref name="dims"/> (itself when equal).</summary>
    public static Array Expand(HostTensor x, int[] dims)
    {
        if (x.DimsSpan.SequenceEqual(dims)) return x.Data;
        var inStrides = HostOps.Strides(x.DimsSpan);
        var strides = new int[dims.Length];
        var lead = dims.Length - x.Rank;
        for (var i = lead; i < dims.Length; i++)
            strides[i] = x.DimsSpan[i - lead] == 1 ? 0 : inStrides[i - lead];
        var result = Array.CreateInstance(x.Data.GetType().GetElementType()!, checked((int)Shape.Product(dims)));
        HostOps.StridedCopy(x.Data, 0, strides, dims, result);
        return result;
    }

    private static void Compare<T>(BinaryOp op, T[] a, T[] b, bool[] r) where T : INumber<T>
    {
        for (var i = 0; i < r.Length; i++)
        {
            r[i] = op switch
            {
                BinaryOp.Equal => a[i] == b[i],
                BinaryOp.NotEqual => a[i] != b[i],
                BinaryOp.Less => a[i] < b[i],
                BinaryOp.LessEqual => a[i] <= b[i],
                BinaryOp.Greater => a[i] > b[i],
                BinaryOp.GreaterEqual => a[i] >= b[i],
                _ => throw new InvalidOperationException($"{op} is not a comparison."),
            };
        }
    }

    private static void Logical(BinaryPrim p, bool[] a, bool[] b, bool[] r)
    {
        for (var i = 0; i < r.Length; i++)
        {
            r[i] = p.Op switch
            {
                BinaryOp.LogicalAnd => a[i] && b[i],
                BinaryOp.LogicalOr => a[i] || b[i],
                BinaryOp.Equal => a[i] == b[i],
                BinaryOp.NotEqual => a[i] != b[i],
                _ => throw Unsupported(p, DType.Bool),
            };
        }
    }

    public static HostTensor Select(SelectPrim p, HostTensor c, HostTensor a, HostTensor b)
    {
        var y = HostTensor.Zeros(p.DType, p.Dims);
        var cond = (bool[])Expand(c, p.Dims);
        var (xa, xb) = (Expand(a, p.Dims), Expand(b, p.Dims));
        switch (y.Data)
        {
            case float[] r: Select(cond, (float[])xa, (float[])xb, r); break;
            case double[] r: Select(cond, (double[])xa, (double[])xb, r); break;
            case int[] r: Select(cond, (int[])xa, (int[])xb, r); break;
            case long[] r: Select(cond, (long[])xa, (long[])xb, r); break;
            case bool[] r: Select(cond, (bool[])xa, (bool[])xb, r); break;
        }
        return y;
    }

    private static void Select<T>(bool[] c, T[] a, T[] b, T[] r)
    {
        for (var i = 0; i < r.Length; i++) r[i] = c[i] ? a[i] : b[i];
    }

    private static Exception Unsupported(Prim p, DType dtype) =>
        new InvalidArgumentException($"{p.OriginName}: primitive {p.Describe()} is not defined for {dtype.Name()}.");
}
