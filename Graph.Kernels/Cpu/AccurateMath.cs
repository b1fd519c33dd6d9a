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

    /// <summary>Sigmoid of 8 floats.</summary>
    public static Vector256<float> Sigmoid(Vector256<float> v) => Sigmoid<Vector256<float>, V256>(v);

    /// <summary>Sigmoid of 16 floats.</summary>
    public static Vector512<float> Sigmoid(Vector512<float> v) => Sigmoid<Vector512<float>, V512>(v);

    /// <summary>Sigmoid of a vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Sigmoid<TV, TW>(TV v) where TV : struct where TW : struct, IFloatVector<TV> =>
        TW.Divide(TW.Create(1f), TW.Add(TW.Create(1f), Exp<TV, TW>(TW.Negate(v))));

    /// <summary>Sigmoid of one float, bit-identical to the vector form.</summary>
    public static float Sigmoid(float x) => 1f / (1f + Exp(-x));

    /// <summary>tanh of 8 floats.</summary>
    public static Vector256<float> Tanh(Vector256<float> v) => Tanh<Vector256<float>, V256>(v);

    /// <summary>tanh of 16 floats.</summary>
    public static Vector512<float> Tanh(Vector512<float> v) => Tanh<Vector512<float>, V512>(v);

    /// <summary>tanh of a vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Tanh<TV, TW>(TV v) where TV : struct where TW : struct, IFloatVector<TV>
    {
        // e^88 is still finite in float; beyond it tanh is ±1 anyway.
        var twice = TW.Multiply(TW.Abs(v), TW.Create(2f));
        return Combine<TV, TW>(v, ExpInRange<TV, TW>(TW.Min(twice, TW.Create(88f))));
    }

    // Cephes expf: e^x = 2^n · e^r with n = round(x·log2 e), r = x − n·ln 2 (in two parts), e^r by a degree-5 polynomial.
    private const float Log2E = 1.44269504088896341f, Ln2Hi = 0.693359375f, Ln2Lo = -2.12194440e-4f;
    private const float E0 = 1.9875691500E-4f, E1 = 1.3981999507E-3f, E2 = 8.3334519073E-3f, E3 = 4.1665795894E-2f, E4 = 1.6666665459E-1f, E5 = 5.0000001201E-1f;
    // Below ExpMin e^x is under half the smallest subnormal; between it and -87.3 the result is subnormal.
    private const float ExpMax = 88.72283905206835f, ExpMin = -103.972077f;

    /// <summary>e^x of 8 floats.</summary>
    public static Vector256<float> Exp(Vector256<float> x) => Exp<Vector256<float>, V256>(x);

    /// <summary>e^x of 16 floats.</summary>
    public static Vector512<float> Exp(Vector512<float> x) => Exp<Vector512<float>, V512>(x);

    /// <summary>e^x of a vector (polynomial by fused multiply-adds where the CPU has them).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Exp<TV, TW>(TV x) where TV : struct where TW : struct, IFloatVector<TV>
    {
        var result = ExpInRange<TV, TW>(TW.Min(TW.Max(x, TW.Create(ExpMin)), TW.Create(ExpMax)));
        result = TW.Select(TW.GreaterThan(x, TW.Create(ExpMax)), TW.Create(float.PositiveInfinity), result);
        result = TW.Select(TW.LessThan(x, TW.Create(ExpMin)), TW.Create(0f), result);
        return TW.Select(TW.EqualTo(x, x), result, x); // NaN passes through
    }

    /// <summary>
    /// e^x for lanes in [<see cref="ExpMin"/>, <see cref="ExpMax"/>], with no clamping and no special values: tanh's
    /// e^(2|x|) with 2|x| ≤ 88 needs neither (a fifth of its operations), and its NaN lanes are replaced after.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV ExpInRange<TV, TW>(TV clamped) where TV : struct where TW : struct, IFloatVector<TV>
    {
        var n = TW.Round(TW.Multiply(clamped, TW.Create(Log2E)));
        var r = TW.MulAdd(n, TW.Create(-Ln2Lo), TW.MulAdd(n, TW.Create(-Ln2Hi), clamped));
        var p = TW.MulAdd(TW.MulAdd(TW.MulAdd(TW.MulAdd(TW.MulAdd(TW.Create(E0), r, TW.Create(E1)), r, TW.Create(E2)), r, TW.Create(E3)), r,
            TW.Create(E4)), r, TW.Create(E5));
        var er = TW.MulAdd(p, TW.Multiply(r, r), TW.Add(r, TW.Create(1f)));
        // 2^n in two halves so n = 128 (just below the overflow limit) still fits the exponent field.
        var (low, high) = TW.HalfPowersOfTwo(n);
        return TW.Multiply(TW.Multiply(er, low), high);
    }

    /// <summary>tanh from x and e = exp(2|x|): the polynomial near 0, 1 − 2/(e+1) (with x's sign) beyond.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Combine<TV, TW>(TV x, TV e) where TV : struct where TW : struct, IFloatVector<TV>
    {
        var z = TW.Multiply(x, x);
        var poly = TW.MulAdd(TW.Multiply(TW.MulAdd(TW.MulAdd(TW.MulAdd(TW.MulAdd(TW.Create(P0), z, TW.Create(P1)), z, TW.Create(P2)), z, TW.Create(P3)), z,
            TW.Create(P4)), z), x, x);
        var large = TW.Subtract(TW.Create(1f), TW.Divide(TW.Create(2f), TW.Add(e, TW.Create(1f))));
        large = TW.CopySign(large, x); // large ≥ 0: x's sign, as the scalar form's x < 0 ? −large : large
        var result = TW.Select(TW.LessThan(TW.Abs(x), TW.Create(SmallLimit)), poly, large);
        return TW.Select(TW.EqualTo(x, x), result, x); // NaN passes through
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

/// <summary>tanh (Cephes, ~1–2 ulps) as one of <see cref="VectorLoops"/>' operations: span loops run it through
/// <see cref="VectorLoops.Map{T, TOp}"/>, the fused expression trees inline it. Every form gives the same bits.</summary>
internal readonly struct TanhOp : VectorLoops.IUnary<float>
{
    public static float Apply(float x) => AccurateMath.Tanh(x);
    public static Vector256<float> Apply(Vector256<float> x) => AccurateMath.Tanh(x);
    public static Vector512<float> Apply(Vector512<float> x) => AccurateMath.Tanh(x);
}

/// <summary>eˣ (Cephes, ~1 ulp, subnormals kept). Compiled with this assembly, so it is AVX2 code from the start (the
/// library's own exp may run a baseline-ISA precompiled body when tiered compilation is off).</summary>
internal readonly struct ExpOp : VectorLoops.IUnary<float>
{
    public static float Apply(float x) => AccurateMath.Exp(x);
    public static Vector256<float> Apply(Vector256<float> x) => AccurateMath.Exp(x);
    public static Vector512<float> Apply(Vector512<float> x) => AccurateMath.Exp(x);
}

/// <summary>1 / (1 + e⁻ˣ) with this exp: the ILGPU devices' formula.</summary>
internal readonly struct SigmoidOp : VectorLoops.IUnary<float>
{
    public static float Apply(float x) => AccurateMath.Sigmoid(x);
    public static Vector256<float> Apply(Vector256<float> x) => AccurateMath.Sigmoid(x);
    public static Vector512<float> Apply(Vector512<float> x) => AccurateMath.Sigmoid(x);
}

/// <summary>
/// A float vector width that <see cref="AccurateMath"/>'s functions and the fused expression trees are written once
/// for: <see cref="V256"/> (8 floats) or <see cref="V512"/> (16). Element-wise IEEE operations give the same bits at
/// either width, so a kernel may use both in one pass. Why not the runtime's own ISimdVector: it is not public.
/// </summary>
internal interface IFloatVector<TV> where TV : struct
{
    static abstract TV Create(float value);
    static abstract TV Load(ref float source, nint index);
    static abstract void Store(TV value, ref float destination, nint index);
    static abstract TV Add(TV a, TV b);
    static abstract TV Subtract(TV a, TV b);
    static abstract TV Multiply(TV a, TV b);
    static abstract TV Divide(TV a, TV b);
    /// <summary>a·b + c, fused where the CPU can (as the scalar forms do).</summary>
    static abstract TV MulAdd(TV a, TV b, TV c);
    static abstract TV Min(TV a, TV b);
    static abstract TV Max(TV a, TV b);
    static abstract TV Abs(TV x);
    static abstract TV Negate(TV x);
    /// <summary>The magnitude of <paramref name="value"/> with the sign of <paramref name="sign"/>.</summary>
    static abstract TV CopySign(TV value, TV sign);
    static abstract TV Round(TV x);
    static abstract TV LessThan(TV a, TV b);
    static abstract TV GreaterThan(TV a, TV b);
    static abstract TV EqualTo(TV a, TV b);
    /// <summary>Lanes of <paramref name="a"/> where <paramref name="mask"/> is set, of <paramref name="b"/> elsewhere.</summary>
    static abstract TV Select(TV mask, TV a, TV b);
    /// <summary>2^h and 2^(n−h) with h = ⌊n/2⌋, for whole-number lanes n in [−127, 128].</summary>
    static abstract (TV Low, TV High) HalfPowersOfTwo(TV n);
    /// <summary>One of <see cref="VectorLoops"/>' operations at this width.</summary>
    static abstract TV Apply<TOp>(TV x) where TOp : VectorLoops.IUnary<float>;
    /// <summary>One of <see cref="VectorLoops"/>' operations at this width.</summary>
    static abstract TV Apply<TOp>(TV a, TV b) where TOp : VectorLoops.IBinary<float>;
}

/// <summary>Eight floats.</summary>
internal readonly struct V256 : IFloatVector<Vector256<float>>
{
    public static Vector256<float> Create(float value) => Vector256.Create(value);
    public static Vector256<float> Load(ref float source, nint index) => Vector256.LoadUnsafe(ref Unsafe.Add(ref source, index));
    public static void Store(Vector256<float> value, ref float destination, nint index) => value.StoreUnsafe(ref Unsafe.Add(ref destination, index));
    public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
    public static Vector256<float> Subtract(Vector256<float> a, Vector256<float> b) => a - b;
    public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => a * b;
    public static Vector256<float> Divide(Vector256<float> a, Vector256<float> b) => a / b;
    public static Vector256<float> MulAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : a * b + c;
    public static Vector256<float> Min(Vector256<float> a, Vector256<float> b) => Vector256.Min(a, b);
    public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.Max(a, b);
    public static Vector256<float> Abs(Vector256<float> x) => Vector256.Abs(x);
    public static Vector256<float> Negate(Vector256<float> x) => -x;
    public static Vector256<float> CopySign(Vector256<float> value, Vector256<float> sign) => Vector256.CopySign(value, sign);
    public static Vector256<float> Round(Vector256<float> x) => Vector256.Round(x);
    public static Vector256<float> LessThan(Vector256<float> a, Vector256<float> b) => Vector256.LessThan(a, b);
    public static Vector256<float> GreaterThan(Vector256<float> a, Vector256<float> b) => Vector256.GreaterThan(a, b);
    public static Vector256<float> EqualTo(Vector256<float> a, Vector256<float> b) => Vector256.Equals(a, b);
    public static Vector256<float> Select(Vector256<float> mask, Vector256<float> a, Vector256<float> b) => Vector256.ConditionalSelect(mask, a, b);

    public static (Vector256<float> Low, Vector256<float> High) HalfPowersOfTwo(Vector256<float> n)
    {
        var ni = Vector256.ConvertToInt32(n);
        var half = Vector256.ShiftRightArithmetic(ni, 1);
        return (Vector256.ShiftLeft(half + Vector256.Create(127), 23).AsSingle(), Vector256.ShiftLeft(ni - half + Vector256.Create(127), 23).AsSingle());
    }

    public static Vector256<float> Apply<TOp>(Vector256<float> x) where TOp : VectorLoops.IUnary<float> => TOp.Apply(x);
    public static Vector256<float> Apply<TOp>(Vector256<float> a, Vector256<float> b) where TOp : VectorLoops.IBinary<float> => TOp.Apply(a, b);
}

/// <summary>Sixteen floats (used only where <see cref="Vector512.IsHardwareAccelerated"/>).</summary>
internal readonly struct V512 : IFloatVector<Vector512<float>>
{
    public static Vector512<float> Create(float value) => Vector512.Create(value);
    public static Vector512<float> Load(ref float source, nint index) => Vector512.LoadUnsafe(ref Unsafe.Add(ref source, index));
    public static void Store(Vector512<float> value, ref float destination, nint index) => value.StoreUnsafe(ref Unsafe.Add(ref destination, index));
    public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
    public static Vector512<float> Subtract(Vector512<float> a, Vector512<float> b) => a - b;
    public static Vector512<float> Multiply(Vector512<float> a, Vector512<float> b) => a * b;
    public static Vector512<float> Divide(Vector512<float> a, Vector512<float> b) => a / b;
    // AVX-512F includes fused multiply-add, as the scalar forms use on such a CPU.
    public static Vector512<float> MulAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);
    public static Vector512<float> Min(Vector512<float> a, Vector512<float> b) => Vector512.Min(a, b);
    public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.Max(a, b);
    public static Vector512<float> Abs(Vector512<float> x) => Vector512.Abs(x);
    public static Vector512<float> Negate(Vector512<float> x) => -x;
    public static Vector512<float> CopySign(Vector512<float> value, Vector512<float> sign) => Vector512.CopySign(value, sign);
    public static Vector512<float> Round(Vector512<float> x) => Vector512.Round(x);
    public static Vector512<float> LessThan(Vector512<float> a, Vector512<float> b) => Vector512.LessThan(a, b);
    public static Vector512<float> GreaterThan(Vector512<float> a, Vector512<float> b) => Vector512.GreaterThan(a, b);
    public static Vector512<float> EqualTo(Vector512<float> a, Vector512<float> b) => Vector512.Equals(a, b);
    public static Vector512<float> Select(Vector512<float> mask, Vector512<float> a, Vector512<float> b) => Vector512.ConditionalSelect(mask, a, b);

    public static (Vector512<float> Low, Vector512<float> High) HalfPowersOfTwo(Vector512<float> n)
    {
        var ni = Vector512.ConvertToInt32(n);
        var half = Vector512.ShiftRightArithmetic(ni, 1);
        return (Vector512.ShiftLeft(half + Vector512.Create(127), 23).AsSingle(), Vector512.ShiftLeft(ni - half + Vector512.Create(127), 23).AsSingle());
    }

    public static Vector512<float> Apply<TOp>(Vector512<float> x) where TOp : VectorLoops.IUnary<float> => TOp.Apply(x);
    public static Vector512<float> Apply<TOp>(Vector512<float> a, Vector512<float> b) where TOp : VectorLoops.IBinary<float> => TOp.Apply(a, b);
}
