using System.Numerics;
using System.Numerics.Tensors;
using Graph.Core;

namespace Graph.Kernels.Cpu;

/// <summary>
/// Element-wise primitives over equal-length runs of typed arrays, vectorised through <see cref="VectorLoops"/> (the
/// exactly rounded arithmetic), TensorPrimitives (the rest) and <see cref="AccurateMath"/> (where TensorPrimitives is
/// too inexact). The fused CPU kernels evaluate every node of a
/// fused expression with these, chunk by chunk.
/// </summary>
internal static class SpanOps
{
    private delegate void SpanBinary<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y);

    /// <summary>y[0..n) = op(x[xo..xo+n)).</summary>
    public static void Unary(Prim origin, UnaryOp op, Array x, int xo, Array y, int n)
    {
        switch (x)
        {
            case float[] a when op == UnaryOp.Tanh: VectorLoops.Map<float, TanhOp>(a.AsSpan(xo, n), ((float[])y).AsSpan(0, n)); break;
            case float[] a when op == UnaryOp.Exp: VectorLoops.Map<float, ExpOp>(a.AsSpan(xo, n), ((float[])y).AsSpan(0, n)); break;
            case float[] a when op == UnaryOp.Sigmoid: VectorLoops.Map<float, SigmoidOp>(a.AsSpan(xo, n), ((float[])y).AsSpan(0, n)); break;
            case float[] a: UnaryFloat(origin, op, a.AsSpan(xo, n), ((float[])y).AsSpan(0, n)); break;
            case double[] a: UnaryFloat(origin, op, a.AsSpan(xo, n), ((double[])y).AsSpan(0, n)); break;
            case int[] a: UnaryInt(origin, op, a.AsSpan(xo, n), ((int[])y).AsSpan(0, n)); break;
            case long[] a: UnaryInt(origin, op, a.AsSpan(xo, n), ((long[])y).AsSpan(0, n)); break;
            case bool[] a when op == UnaryOp.LogicalNot:
                var r = (bool[])y;
                for (var i = 0; i < n; i++) r[i] = !a[xo + i];
                break;
            default: throw Unsupported(origin, op.ToString(), x);
        }
    }

    private static void UnaryFloat<T>(Prim origin, UnaryOp op, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (op)
        {
            case UnaryOp.Neg: VectorLoops.Map<T, VectorLoops.Negate<T>>(x, y); break;
            case UnaryOp.Abs: TensorPrimitives.Abs(x, y); break;
            case UnaryOp.Square: VectorLoops.Map<T, VectorLoops.Square<T>>(x, y); break;
            case UnaryOp.Sqrt: VectorLoops.Map<T, VectorLoops.SquareRoot<T>>(x, y); break;
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
            default: throw new InvalidArgumentException($"{origin.OriginName}: {op} is not defined for {typeof(T).Name}.");
        }
    }

    /// <summary>ln(1+v) without the cancellation of computing 1+v first (Goldberg's correction).</summary>
    private static T Log1P<T>(T v) where T : IFloatingPointIeee754<T>
    {
        var u = T.One + v;
        return u == T.One ? v : T.Log(u) * v / (u - T.One);
    }

    private static void UnaryInt<T>(Prim origin, UnaryOp op, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IBinaryInteger<T>, ISignedNumber<T>, IMinMaxValue<T>
    {
        switch (op)
        {
            case UnaryOp.Neg: VectorLoops.Map<T, VectorLoops.Negate<T>>(x, y); break;
            case UnaryOp.Abs: for (var i = 0; i < x.Length; i++) y[i] = x[i] < T.Zero ? -x[i] : x[i]; break;
            case UnaryOp.Square: VectorLoops.Map<T, VectorLoops.Square<T>>(x, y); break;
            case UnaryOp.Relu: TensorPrimitives.Max(x, T.Zero, y); break;
            case UnaryOp.Sign: for (var i = 0; i < x.Length; i++) y[i] = T.CreateTruncating(T.Sign(x[i])); break;
            default: throw new InvalidArgumentException($"{origin.OriginName}: {op} is not defined for {DTypeExtensions.Of<T>().Name()}.");
        }
    }

    /// <summary>y[0..n) = op(a[ao..ao+n), b[bo..bo+n)).</summary>
    public static void Binary(Prim origin, BinaryOp op, Array a, int ao, Array b, int bo, Array y, int n)
    {
        if (op.IsComparison() || op.IsLogical())
        {
            var r = ((bool[])y).AsSpan(0, n);
            switch (a)
            {
                case float[] fa: Compare(op, fa.AsSpan(ao, n), ((float[])b).AsSpan(bo, n), r); break;
                case double[] da: Compare(op, da.AsSpan(ao, n), ((double[])b).AsSpan(bo, n), r); break;
                case int[] ia: Compare(op, ia.AsSpan(ao, n), ((int[])b).AsSpan(bo, n), r); break;
                case long[] la: Compare(op, la.AsSpan(ao, n), ((long[])b).AsSpan(bo, n), r); break;
                case bool[] ba: Logical(origin, op, ba.AsSpan(ao, n), ((bool[])b).AsSpan(bo, n), r); break;
                default: throw Unsupported(origin, op.ToString(), a);
            }
            return;
        }
        switch (a)
        {
            case float[] fa: ArithmeticFloat(origin, op, fa.AsSpan(ao, n), ((float[])b).AsSpan(bo, n), ((float[])y).AsSpan(0, n)); break;
            case double[] da: ArithmeticFloat(origin, op, da.AsSpan(ao, n), ((double[])b).AsSpan(bo, n), ((double[])y).AsSpan(0, n)); break;
            case int[] ia: ArithmeticInt(origin, op, ia.AsSpan(ao, n), ((int[])b).AsSpan(bo, n), ((int[])y).AsSpan(0, n)); break;
            case long[] la: ArithmeticInt(origin, op, la.AsSpan(ao, n), ((long[])b).AsSpan(bo, n), ((long[])y).AsSpan(0, n)); break;
            default: throw Unsupported(origin, op.ToString(), a);
        }
    }

    private static void ArithmeticFloat<T>(Prim origin, BinaryOp op, ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (op)
        {
            case BinaryOp.Add: VectorLoops.Zip<T, VectorLoops.Add<T>>(a, b, y); break;
            case BinaryOp.Sub: VectorLoops.Zip<T, VectorLoops.Subtract<T>>(a, b, y); break;
            case BinaryOp.Mul: VectorLoops.Zip<T, VectorLoops.Multiply<T>>(a, b, y); break;
            case BinaryOp.Div: VectorLoops.Zip<T, VectorLoops.Divide<T>>(a, b, y); break;
            case BinaryOp.Pow: TensorPrimitives.Pow(a, b, y); break;
            case BinaryOp.Max: TensorPrimitives.Max(a, b, y); break;
            case BinaryOp.Min: TensorPrimitives.Min(a, b, y); break;
            default: throw new InvalidArgumentException($"{origin.OriginName}: {op} is not defined for {typeof(T).Name}.");
        }
    }

    private static void ArithmeticInt<T>(Prim origin, BinaryOp op, ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IBinaryInteger<T>, ISignedNumber<T>, IMinMaxValue<T>
    {
        switch (op)
        {
            case BinaryOp.Add: VectorLoops.Zip<T, VectorLoops.Add<T>>(a, b, y); break;
            case BinaryOp.Sub: VectorLoops.Zip<T, VectorLoops.Subtract<T>>(a, b, y); break;
            case BinaryOp.Mul: VectorLoops.Zip<T, VectorLoops.Multiply<T>>(a, b, y); break;
            case BinaryOp.Max: TensorPrimitives.Max(a, b, y); break;
            case BinaryOp.Min: TensorPrimitives.Min(a, b, y); break;
            case BinaryOp.Div:
                for (var i = 0; i < y.Length; i++)
                {
                    if (b[i] == T.Zero) throw new InvalidArgumentException($"{origin.OriginName}: integer division by zero.");
                    if (b[i] == T.NegativeOne && a[i] == T.MinValue)
                        throw new InvalidArgumentException(
                            $"{origin.OriginName}: integer division overflow: {a[i]} / -1 does not fit {DTypeExtensions.Of<T>().Name()}");
                    y[i] = a[i] / b[i];
                }
                break;
            case BinaryOp.Pow:
                for (var i = 0; i < y.Length; i++) y[i] = IntPow(origin, a[i], b[i]);
                break;
            default: throw new InvalidArgumentException($"{origin.OriginName}: {op} is not defined for {DTypeExtensions.Of<T>().Name()}.");
        }
    }

    private static T IntPow<T>(Prim origin, T x, T e) where T : IBinaryInteger<T>, ISignedNumber<T>
    {
        if (e < T.Zero) throw new InvalidArgumentException($"{origin.OriginName}: integers to negative integer powers are not allowed.");
        var result = T.One;
        while (e > T.Zero)
        {
            if (T.IsOddInteger(e)) result *= x;
            x *= x;
            e >>= 1;
        }
        return result;
    }

    private static void Compare<T>(BinaryOp op, ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<bool> r) where T : INumber<T>
    {
        switch (op)
        {
            case BinaryOp.Equal: for (var i = 0; i < r.Length; i++) r[i] = a[i] == b[i]; break;
            case BinaryOp.NotEqual: for (var i = 0; i < r.Length; i++) r[i] = a[i] != b[i]; break;
            case BinaryOp.Less: for (var i = 0; i < r.Length; i++) r[i] = a[i] < b[i]; break;
            case BinaryOp.LessEqual: for (var i = 0; i < r.Length; i++) r[i] = a[i] <= b[i]; break;
            case BinaryOp.Greater: for (var i = 0; i < r.Length; i++) r[i] = a[i] > b[i]; break;
            case BinaryOp.GreaterEqual: for (var i = 0; i < r.Length; i++) r[i] = a[i] >= b[i]; break;
            default: throw new InvalidOperationException($"{op} is not a comparison.");
        }
    }

    private static void Logical(Prim origin, BinaryOp op, ReadOnlySpan<bool> a, ReadOnlySpan<bool> b, Span<bool> r)
    {
        switch (op)
        {
            case BinaryOp.LogicalAnd: for (var i = 0; i < r.Length; i++) r[i] = a[i] && b[i]; break;
            case BinaryOp.LogicalOr: for (var i = 0; i < r.Length; i++) r[i] = a[i] || b[i]; break;
            case BinaryOp.Equal: for (var i = 0; i < r.Length; i++) r[i] = a[i] == b[i]; break;
            case BinaryOp.NotEqual: for (var i = 0; i < r.Length; i++) r[i] = a[i] != b[i]; break;
            default: throw new InvalidArgumentException($"{origin.OriginName}: {op} is not defined for bool.");
        }
    }

    /// <summary>y[0..n) = c ? a : b.</summary>
    public static void Select(bool[] c, int co, Array a, int ao, Array b, int bo, Array y, int n)
    {
        switch (y)
        {
            case float[] r: Select(c.AsSpan(co, n), ((float[])a).AsSpan(ao, n), ((float[])b).AsSpan(bo, n), r); break;
            case double[] r: Select(c.AsSpan(co, n), ((double[])a).AsSpan(ao, n), ((double[])b).AsSpan(bo, n), r); break;
            case int[] r: Select(c.AsSpan(co, n), ((int[])a).AsSpan(ao, n), ((int[])b).AsSpan(bo, n), r); break;
            case long[] r: Select(c.AsSpan(co, n), ((long[])a).AsSpan(ao, n), ((long[])b).AsSpan(bo, n), r); break;
            case bool[] r: Select(c.AsSpan(co, n), ((bool[])a).AsSpan(ao, n), ((bool[])b).AsSpan(bo, n), r); break;
        }
    }

    private static void Select<T>(ReadOnlySpan<bool> c, ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> r)
    {
        for (var i = 0; i < c.Length; i++) r[i] = c[i] ? a[i] : b[i];
    }

    /// <summary>y[0..n) = (to) x[xo..xo+n) with C cast semantics.</summary>
    public static void Cast(Array x, int xo, Array y, int n)
    {
        switch (x)
        {
            case float[] s: CastFrom<float>(s.AsSpan(xo, n), y, n); break;
            case double[] s: CastFrom<double>(s.AsSpan(xo, n), y, n); break;
            case int[] s: CastFrom<int>(s.AsSpan(xo, n), y, n); break;
            case long[] s: CastFrom<long>(s.AsSpan(xo, n), y, n); break;
            case bool[] s:
                Span<byte> bytes = n <= 4096 ? stackalloc byte[n] : new byte[n];
                for (var i = 0; i < n; i++) bytes[i] = s[xo + i] ? (byte)1 : (byte)0;
                CastFrom<byte>(bytes, y, n);
                break;
        }
    }

    private static void CastFrom<TSrc>(ReadOnlySpan<TSrc> s, Array dst, int n) where TSrc : INumber<TSrc>
    {
        switch (dst)
        {
            case float[] d: for (var i = 0; i < n; i++) d[i] = float.CreateTruncating(s[i]); break;
            case double[] d: for (var i = 0; i < n; i++) d[i] = double.CreateTruncating(s[i]); break;
            case int[] d: for (var i = 0; i < n; i++) d[i] = int.CreateTruncating(s[i]); break;
            case long[] d: for (var i = 0; i < n; i++) d[i] = long.CreateTruncating(s[i]); break;
            case bool[] d: for (var i = 0; i < n; i++) d[i] = s[i] != TSrc.Zero; break;
        }
    }

    /// <summary>y[0..n) = the index along <paramref name="p"/>'s axis of flat positions start..start+n.</summary>
    public static void Iota(IotaPrim p, long start, Array y, int n)
    {
        var inner = Shape.Product(p.Dims.AsSpan(p.Axis + 1));
        var dim = p.Dims[p.Axis];
        switch (y)
        {
            case int[] r: for (var i = 0; i < n; i++) r[i] = (int)((start + i) / inner % dim); break;
            case long[] r: for (var i = 0; i < n; i++) r[i] = (start + i) / inner % dim; break;
            case float[] r: for (var i = 0; i < n; i++) r[i] = (start + i) / inner % dim; break;
            case double[] r: for (var i = 0; i < n; i++) r[i] = (start + i) / inner % dim; break;
            default: throw new InvalidArgumentException($"{p.OriginName}: iota of {p.DType.Name()} is not supported.");
        }
    }

    /// <summary>Fills y[0..n) with x[xo].</summary>
    public static void Fill(Array x, int xo, Array y, int n)
    {
        switch (y)
        {
            case float[] r: r.AsSpan(0, n).Fill(((float[])x)[xo]); break;
            case double[] r: r.AsSpan(0, n).Fill(((double[])x)[xo]); break;
            case int[] r: r.AsSpan(0, n).Fill(((int[])x)[xo]); break;
            case long[] r: r.AsSpan(0, n).Fill(((long[])x)[xo]); break;
            case bool[] r: r.AsSpan(0, n).Fill(((bool[])x)[xo]); break;
        }
    }

    private static Exception Unsupported(Prim p, string what, Array a) =>
        new InvalidArgumentException($"{p.OriginName}: {what} is not defined for {DTypeExtensions.FromClrType(a.GetType().GetElementType()!).Name()}.");
}
