using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Graph.Kernels.Cpu;

/// <summary>
/// The exactly rounded element-wise operations (+, −, ×, ÷, negation, square, square root) as short vector loops, used
/// by <see cref="SpanOps"/> instead of TensorPrimitives for them, and their operator structs by the fused expression
/// trees of <see cref="CpuVectorExpr"/>. Why: TensorPrimitives' generic operators are
/// JIT-compiled per type and operation (ReadyToRun cannot hold them on a machine with AVX-512), and each instantiation,
/// with its three vector widths and alignment paths, cost 2–5 ms of JIT on a training process's first steps (15 of them,
/// ~45 ms in all); these loops cost a fraction of that. IEEE arithmetic rounds each element the same in a vector
/// register as in a scalar one, so the results are bit-identical to TensorPrimitives'. The output may be one of the
/// inputs (each vector is loaded before it is stored), never a shifted overlap of one.
/// </summary>
internal static class VectorLoops
{
    /// <summary>An operation on two values, as scalars and as vectors.</summary>
    public interface IBinary<T> where T : unmanaged, INumber<T>
    {
        static abstract T Apply(T a, T b);
        static abstract Vector256<T> Apply(Vector256<T> a, Vector256<T> b);
        static abstract Vector512<T> Apply(Vector512<T> a, Vector512<T> b);
    }

    /// <summary>An operation on one value, as a scalar and as vectors.</summary>
    public interface IUnary<T> where T : unmanaged, INumber<T>
    {
        static abstract T Apply(T x);
        static abstract Vector256<T> Apply(Vector256<T> x);
        static abstract Vector512<T> Apply(Vector512<T> x);
    }

    public readonly struct Add<T> : IBinary<T> where T : unmanaged, INumber<T>
    {
        public static T Apply(T a, T b) => a + b;
        public static Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => a + b;
        public static Vector512<T> Apply(Vector512<T> a, Vector512<T> b) => a + b;
    }

    public readonly struct Subtract<T> : IBinary<T> where T : unmanaged, INumber<T>
    {
        public static T Apply(T a, T b) => a - b;
        public static Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => a - b;
        public static Vector512<T> Apply(Vector512<T> a, Vector512<T> b) => a - b;
    }

    public readonly struct Multiply<T> : IBinary<T> where T : unmanaged, INumber<T>
    {
        public static T Apply(T a, T b) => a * b;
        public static Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => a * b;
        public static Vector512<T> Apply(Vector512<T> a, Vector512<T> b) => a * b;
    }

    /// <summary>Division of floating-point values (integer division has its own checks in <see cref="SpanOps"/>).</summary>
    public readonly struct Divide<T> : IBinary<T> where T : unmanaged, INumber<T>
    {
        public static T Apply(T a, T b) => a / b;
        public static Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => a / b;
        public static Vector512<T> Apply(Vector512<T> a, Vector512<T> b) => a / b;
    }

    public readonly struct Negate<T> : IUnary<T> where T : unmanaged, INumber<T>
    {
        public static T Apply(T x) => -x;
        public static Vector256<T> Apply(Vector256<T> x) => -x;
        public static Vector512<T> Apply(Vector512<T> x) => -x;
    }

    public readonly struct Square<T> : IUnary<T> where T : unmanaged, INumber<T>
    {
        public static T Apply(T x) => x * x;
        public static Vector256<T> Apply(Vector256<T> x) => x * x;
        public static Vector512<T> Apply(Vector512<T> x) => x * x;
    }

    /// <summary>Square root of floating-point values (correctly rounded, as IEEE requires, in both forms).</summary>
    public readonly struct SquareRoot<T> : IUnary<T> where T : unmanaged, INumber<T>, IRootFunctions<T>
    {
        public static T Apply(T x) => T.Sqrt(x);
        public static Vector256<T> Apply(Vector256<T> x) => Vector256.Sqrt(x);
        public static Vector512<T> Apply(Vector512<T> x) => Vector512.Sqrt(x);
    }

    /// <summary>y[i] = TOp(a[i], b[i]) for i in [0, y.Length).</summary>
    public static void Zip<T, TOp>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, INumber<T> where TOp : IBinary<T>
    {
        var n = (nuint)y.Length;
        if ((nuint)a.Length < n || (nuint)b.Length < n) throw new ArgumentException("The inputs are shorter than the output.");
        ref var ra = ref MemoryMarshal.GetReference(a);
        ref var rb = ref MemoryMarshal.GetReference(b);
        ref var ry = ref MemoryMarshal.GetReference(y);
        nuint i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + (nuint)Vector512<T>.Count <= n; i += (nuint)Vector512<T>.Count)
                TOp.Apply(Vector512.LoadUnsafe(ref ra, i), Vector512.LoadUnsafe(ref rb, i)).StoreUnsafe(ref ry, i);
        else if (Vector256.IsHardwareAccelerated)
            for (; i + (nuint)Vector256<T>.Count <= n; i += (nuint)Vector256<T>.Count)
                TOp.Apply(Vector256.LoadUnsafe(ref ra, i), Vector256.LoadUnsafe(ref rb, i)).StoreUnsafe(ref ry, i);
        for (; i < n; i++) Unsafe.Add(ref ry, i) = TOp.Apply(Unsafe.Add(ref ra, i), Unsafe.Add(ref rb, i));
    }

    /// <summary>y[i] = TOp(x[i]) for i in [0, y.Length).</summary>
    public static void Map<T, TOp>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, INumber<T> where TOp : IUnary<T>
    {
        var n = (nuint)y.Length;
        if ((nuint)x.Length < n) throw new ArgumentException("The input is shorter than the output.");
        ref var rx = ref MemoryMarshal.GetReference(x);
        ref var ry = ref MemoryMarshal.GetReference(y);
        nuint i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + (nuint)Vector512<T>.Count <= n; i += (nuint)Vector512<T>.Count)
                TOp.Apply(Vector512.LoadUnsafe(ref rx, i)).StoreUnsafe(ref ry, i);
        else if (Vector256.IsHardwareAccelerated)
            for (; i + (nuint)Vector256<T>.Count <= n; i += (nuint)Vector256<T>.Count)
                TOp.Apply(Vector256.LoadUnsafe(ref rx, i)).StoreUnsafe(ref ry, i);
        for (; i < n; i++) Unsafe.Add(ref ry, i) = TOp.Apply(Unsafe.Add(ref rx, i));
    }
}
