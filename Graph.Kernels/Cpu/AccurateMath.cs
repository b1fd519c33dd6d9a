using System.Runtime.Intrinsics;

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

    /// <summary>y = tanh(x), element-wise (y may alias x).</summary>
    public static void Tanh(ReadOnlySpan<float> x, Span<float> y)
    {
        // e = exp(2|x|) through TensorPrimitives' vectorised exp, then both branches per vector.
        Span<float> e = x.Length <= 4096 ? stackalloc float[x.Length] : new float[x.Length];
        System.Numerics.Tensors.TensorPrimitives.Abs(x, e);
        System.Numerics.Tensors.TensorPrimitives.Multiply(e, 2f, e);
        System.Numerics.Tensors.TensorPrimitives.Min(e, 88f, e); // e^88 is still finite in float
        System.Numerics.Tensors.TensorPrimitives.Exp(e, e);
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var n = Vector256<float>.Count;
            for (; i <= x.Length - n; i += n)
                Combine(Vector256.Create(x.Slice(i, n)), Vector256.Create(e.Slice(i, n))).CopyTo(y.Slice(i, n));
        }
        for (; i < x.Length; i++) y[i] = Tanh(x[i]);
    }

    /// <summary>tanh from x and e = exp(2|x|): the polynomial near 0, 1 − 2/(e+1) (with x's sign) beyond.</summary>
    private static Vector256<float> Combine(Vector256<float> x, Vector256<float> e)
    {
        var z = x * x;
        var poly = ((((Vector256.Create(P0) * z + Vector256.Create(P1)) * z + Vector256.Create(P2)) * z + Vector256.Create(P3)) * z + Vector256.Create(P4)) * z * x + x;
        var large = Vector256.Create(1f) - Vector256.Create(2f) / (e + Vector256.Create(1f));
        large = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<float>.Zero), -large, large);
        var result = Vector256.ConditionalSelect(Vector256.LessThan(Vector256.Abs(x), Vector256.Create(SmallLimit)), poly, large);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), result, x); // NaN passes through
    }

    /// <summary>tanh of one float, same formula as the vector form.</summary>
    public static float Tanh(float x)
    {
        var ax = MathF.Abs(x);
        if (float.IsNaN(x)) return x;
        if (ax < SmallLimit)
        {
            var z = x * x;
            return ((((P0 * z + P1) * z + P2) * z + P3) * z + P4) * z * x + x;
        }
        var large = 1f - 2f / (MathF.Exp(MathF.Min(ax + ax, 88f)) + 1f);
        return x < 0 ? -large : large;
    }
}
