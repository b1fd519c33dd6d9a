using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Graph.Kernels.Cpu;

/// <summary>
/// Vectorised float functions where TensorPrimitives trades too much accuracy: its tanh is (e²ˣ−1)/(e²ˣ+1), which
/// cancels near 0 and is off by ~10 ulps there. These stay within ~1–2 ulps, so results match TF to float rounding.
/// </summary>
internal static class AccurateMath
{
    // Cephes tanhf: odd minimax polynomial on |x| < 0.625, 1 − 2/(e^{2|x|}+1) beyond.
    private const float P0 = -5.70498872745E-3f, P1 = 2.06390887954E-2f, P2 = -5.37397155531E-2f, P3 = 1.33314422036E-1f, P4 = -3.33332819422E-1f;
    private const float SmallLimit = 0.625f;

    /// <summary>
    /// y = f(x) element-wise (y may alias x) for one of the operator structs below, vectors of eight then single
    /// elements; the two forms give the same bits, so an element's result does not depend on where it falls.
    /// </summary>
    public static void Map<TOp>(ReadOnlySpan<float> x, Span<float> y) where TOp : struct, IFloatUnary
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var n = Vector256<float>.Count;
            for (; i <= x.Length - n; i += n)
                TOp.Invoke(Vector256.Create(x.Slice(i, n))).CopyTo(y.Slice(i, n));
        }
        for (; i < x.Length; i++) y[i] = TOp.Invoke(x[i]);
    }

    /// <summary>Sigmoid of 8 floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Sigmoid(Vector256<float> v) => Vector256.Create(1f) / (Vector256.Create(1f) + Exp(-v));

    /// <summary>Sigmoid of one float, bit-identical to the vector form.</summary>
    public static float Sigmoid(float x) => 1f / (1f + Exp(-x));

    /// <summary>tanh of 8 floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Tanh(Vector256<float> v)
    {
        // e^88 is still finite in float; beyond it tanh is ±1 anyway.
        var twice = Vector256.Abs(v) * Vector256.Create(2f);
        return Combine(v, Exp(Vector256.Min(twice, Vector256.Create(88f))));
    }

    // Cephes expf: e^x = 2^n · e^r with n = round(x·log2 e), r = x − n·ln 2 (in two parts), e^r by a degree-5 polynomial.
    private const float Log2E = 1.44269504088896341f, Ln2Hi = 0.693359375f, Ln2Lo = -2.12194440e-4f;
    private const float E0 = 1.9875691500E-4f, E1 = 1.3981999507E-3f, E2 = 8.3334519073E-3f, E3 = 4.1665795894E-2f, E4 = 1.6666665459E-1f, E5 = 5.0000001201E-1f;
    // Below ExpMin e^x is under half the smallest subnormal; between it and -87.3 the result is subnormal.
    private const float ExpMax = 88.72283905206835f, ExpMin = -103.972077f;

    /// <summary>e^x of 8 floats (polynomial by fused multiply-adds where the CPU has them).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        var clamped = Vector256.Min(Vector256.Max(x, Vector256.Create(ExpMin)), Vector256.Create(ExpMax));
        var n = Vector256.Round(clamped * Vector256.Create(Log2E));
        var r = MulAdd(n, Vector256.Create(-Ln2Lo), MulAdd(n, Vector256.Create(-Ln2Hi), clamped));
        var p = MulAdd(MulAdd(MulAdd(MulAdd(MulAdd(Vector256.Create(E0), r, Vector256.Create(E1)), r, Vector256.Create(E2)), r, Vector256.Create(E3)), r,
            Vector256.Create(E4)), r, Vector256.Create(E5));
        var er = MulAdd(p, r * r, r + Vector256.Create(1f));
        // 2^n in two halves so n = 128 (just below the overflow limit) still fits the exponent field.
        var ni = Vector256.ConvertToInt32(n);
        var half = Vector256.ShiftRightArithmetic(ni, 1);
        var result = er * Vector256.ShiftLeft(half + Vector256.Create(127), 23).AsSingle() * Vector256.ShiftLeft(ni - half + Vector256.Create(127), 23).AsSingle();
        result = Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256.Create(ExpMax)), Vector256.Create(float.PositiveInfinity), result);
        result = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256.Create(ExpMin)), Vector256<float>.Zero, result);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), result, x); // NaN passes through
    }

    /// <summary>a·b + c, fused where the CPU can.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> MulAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : a * b + c;

    /// <summary>tanh from x and e = exp(2|x|): the polynomial near 0, 1 − 2/(e+1) (with x's sign) beyond.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Combine(Vector256<float> x, Vector256<float> e)
    {
        var z = x * x;
        var poly = MulAdd(MulAdd(MulAdd(MulAdd(MulAdd(Vector256.Create(P0), z, Vector256.Create(P1)), z, Vector256.Create(P2)), z, Vector256.Create(P3)), z,
            Vector256.Create(P4)) * z, x, x);
        var large = Vector256.Create(1f) - Vector256.Create(2f) / (e + Vector256.Create(1f));
        large = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<float>.Zero), -large, large);
        var result = Vector256.ConditionalSelect(Vector256.LessThan(Vector256.Abs(x), Vector256.Create(SmallLimit)), poly, large);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), result, x); // NaN passes through
    }

    /// <summary>
    /// tanh of one float by the vector form's operations in the same order (fused multiply-adds included), so an element
    /// gets the same bits whether it falls in a vector or in a tail.
    /// </summary>
    public static float Tanh(float x)
    {
        if (float.IsNaN(x)) return x;
        var ax = MathF.Abs(x);
        if (ax < SmallLimit)
        {
            var z = x * x;
            return MulAdd(MulAdd(MulAdd(MulAdd(MulAdd(P0, z, P1), z, P2), z, P3), z, P4) * z, x, x);
        }
        var large = 1f - 2f / (Exp(MathF.Min(ax * 2f, 88f)) + 1f);
        return x < 0 ? -large : large;
    }

    /// <summary>eˣ of one float by the vector form's operations in the same order (bit-identical to it).</summary>
    public static float Exp(float x)
    {
        if (float.IsNaN(x)) return x;
        if (x > ExpMax) return float.PositiveInfinity;
        if (x < ExpMin) return 0f;
        var n = MathF.Round(x * Log2E);
        var r = MulAdd(n, -Ln2Lo, MulAdd(n, -Ln2Hi, x));
        var p = MulAdd(MulAdd(MulAdd(MulAdd(MulAdd(E0, r, E1), r, E2), r, E3), r, E4), r, E5);
        var er = MulAdd(p, r * r, r + 1f);
        var ni = (int)n;
        var half = ni >> 1;
        return er * BitConverter.Int32BitsToSingle((half + 127) << 23) * BitConverter.Int32BitsToSingle((ni - half + 127) << 23);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float MulAdd(float a, float b, float c) => Fma.IsSupported ? MathF.FusedMultiplyAdd(a, b, c) : a * b + c;
}

/// <summary>
/// An element-wise float function in vector and scalar form (TensorPrimitives' operator style), the two giving the same
/// bits: <see cref="AccurateMath.Map{TOp}"/> runs it over spans, the cpu device's register-resident loops inside trees.
/// </summary>
internal interface IFloatUnary
{
    static abstract Vector256<float> Invoke(Vector256<float> x);
    static abstract float Invoke(float x);
}

/// <summary>tanh (Cephes, ~1–2 ulps).</summary>
internal struct TanhOp : IFloatUnary
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x) => AccurateMath.Tanh(x);
    public static float Invoke(float x) => AccurateMath.Tanh(x);
}

/// <summary>eˣ (Cephes, ~1 ulp, subnormals kept). Compiled with this assembly, so it is AVX2 code from the start (the
/// library's own exp may run a baseline-ISA precompiled body when tiered compilation is off).</summary>
internal struct ExpOp : IFloatUnary
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x) => AccurateMath.Exp(x);
    public static float Invoke(float x) => AccurateMath.Exp(x);
}

/// <summary>1 / (1 + e⁻ˣ) with this exp: the ILGPU devices' formula.</summary>
internal struct SigmoidOp : IFloatUnary
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x) => AccurateMath.Sigmoid(x);
    public static float Invoke(float x) => AccurateMath.Sigmoid(x);
}
