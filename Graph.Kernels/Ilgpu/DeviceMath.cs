using ILGPU;
using ILGPU.Algorithms;

namespace Graph.Kernels.Ilgpu;

/// <summary>
/// The element-wise functions generated ILGPU kernels call, one overload per dtype, named after the primitive
/// operators (<c>UnaryOp</c>, <c>BinaryOp</c>). They compile for every ILGPU backend (math goes through
/// <see cref="XMath"/>) and follow the cpu device's semantics: NaN propagates through max and min, softplus never
/// overflows, integer division by zero and negative integer powers are reported through an error flag instead of
/// producing silent garbage. Public only because the generated kernels live in their own assembly.
/// </summary>
public static class DeviceMath
{
    /// <summary>Error flag value: integer division by zero.</summary>
    public const int DivisionByZero = 1;
    /// <summary>Error flag value: an integer raised to a negative integer power.</summary>
    public const int NegativeIntegerPower = 2;
    /// <summary>Error flag value: an index outside its axis.</summary>
    public const int IndexOutOfRange = 3;
    /// <summary>Error flag value: the integer division MinValue / -1, whose quotient does not fit the type.</summary>
    public const int DivisionOverflow = 4;

    /// <summary>
    /// A bad index at <paramref name="position"/> with <paramref name="value"/> as one long whose maximum over all bad
    /// indices is the first position's (kernels combine them with an atomic max; <see cref="DecodeIndexEvidence"/> reads it).
    /// </summary>
    public static long IndexEvidence(int position, int value) => ((long)(int.MaxValue - position) << 32) | (uint)value;

    /// <summary>The position and value of <see cref="IndexEvidence"/>; null when no bad index was recorded (0).</summary>
    public static (int Position, int Value)? DecodeIndexEvidence(long evidence) =>
        evidence == 0 ? null : (int.MaxValue - (int)(evidence >> 32), (int)(evidence & 0xffffffffL));

#pragma warning disable CS1591 // one overload per dtype; the operator enums document them
    public static float Neg(float x) => -x;
    public static double Neg(double x) => -x;
    public static int Neg(int x) => -x;
    public static long Neg(long x) => -x;
    public static float Abs(float x) => XMath.Abs(x);
    public static double Abs(double x) => XMath.Abs(x);
    public static int Abs(int x) => x < 0 ? -x : x;
    public static long Abs(long x) => x < 0 ? -x : x;
    public static float Square(float x) => x * x;
    public static double Square(double x) => x * x;
    public static int Square(int x) => x * x;
    public static long Square(long x) => x * x;
    public static float Sqrt(float x) => XMath.Sqrt(x);
    public static double Sqrt(double x) => XMath.Sqrt(x);
    public static float Rsqrt(float x) => 1f / XMath.Sqrt(x);
    public static double Rsqrt(double x) => 1.0 / XMath.Sqrt(x);
    public static float Sigmoid(float x) => 1f / (1f + Exp(-x));
    public static double Sigmoid(double x) => 1.0 / (1.0 + Exp(-x));

    // Float exp, log and tanh are written out (Cephes' algorithms, as the cpu device's AccurateMath) rather than taken
    // from XMath: on CUDA those become ex2.approx / lg2.approx / tanh.approx, whose errors (tanh: ~2^-11 relative, log:
    // absolute near 1) exceed what the cpu device and the tests hold to.
    private const float Log2E = 1.44269504088896341f, Ln2Hi = 0.693359375f, Ln2Lo = -2.12194440e-4f;
    // Below ExpMin e^x is under half the smallest subnormal; between it and -87.3 the result is subnormal.
    private const float ExpMax = 88.72283905206835f, ExpMin = -103.972077f;

    /// <summary>eˣ within ~1 ulp: 2ⁿ·eʳ with r = x − n·ln 2 in two parts and a degree-5 polynomial.</summary>
    public static float Exp(float x)
    {
        if (XMath.IsNaN(x)) return x;
        if (x > ExpMax) return float.PositiveInfinity;
        if (x < ExpMin) return 0f;
        var n = XMath.Floor(x * Log2E + 0.5f);
        var r = x - n * Ln2Hi - n * Ln2Lo;
        var p = ((((1.9875691500E-4f * r + 1.3981999507E-3f) * r + 8.3334519073E-3f) * r + 4.1665795894E-2f) * r + 1.6666665459E-1f) * r + 5.0000001201E-1f;
        var er = p * r * r + r + 1f;
        // 2ⁿ in two halves, so n = 128 (just below overflow) still fits the exponent field.
        var ni = (int)n;
        var half = ni >> 1;
        return er * Interop.IntAsFloat((uint)(half + 127) << 23) * Interop.IntAsFloat((uint)(ni - half + 127) << 23);
    }

    /// <summary>ln x within ~1 ulp, accurate near 1: x = m·2ᵉ with m in [√½, √2), ln m by a degree-9 polynomial.</summary>
    public static float Log(float x)
    {
        if (XMath.IsNaN(x) || x == float.PositiveInfinity) return x;
        if (x <= 0f) return x == 0f ? float.NegativeInfinity : float.NaN;
        var e = 0;
        if (x < 1.17549435E-38f)
        {
            // Subnormal: scale into the normal range first.
            x *= 8388608f;
            e = -23;
        }
        var bits = Interop.FloatAsInt(x);
        e += (int)((bits >> 23) & 0xff) - 126;
        var m = Interop.IntAsFloat((bits & 0x807fffffu) | 0x3f000000u); // in [0.5, 1)
        if (m < 0.707106781186547524f)
        {
            e--;
            m = m + m - 1f;
        }
        else m -= 1f;
        var z = m * m;
        var y = ((((((((7.0376836292E-2f * m - 1.1514610310E-1f) * m + 1.1676998740E-1f) * m - 1.2420140846E-1f) * m + 1.4249322787E-1f) * m
                     - 1.6668057665E-1f) * m + 2.0000714765E-1f) * m - 2.4999993993E-1f) * m + 3.3333331174E-1f) * m * z;
        y += Ln2Lo * e;
        y -= 0.5f * z;
        return m + y + Ln2Hi * e;
    }

    // Double exp, log and pow are written out too: XMath's double versions on the PTX backend are ILGPU's own
    // iterative approximations (log was 4e-9 relative off on an H200), and exp(0) came out as 1 + 1 ulp. These are
    // the classic reductions (Cody-Waite, as fdlibm) with series whose truncation error is below 1e-17, so the
    // results are within an ulp or two of the cpu device's Math functions on every backend. They rely on products and
    // sums being rounded separately, which the cuda backend guarantees by emitting them with .rn (no FMA contraction).
    private const double Ln2HiD = 6.93147180369123816490e-01; // ln 2's leading bits: n * Ln2HiD is exact for |n| < 2^20
    private const double Ln2LoD = 1.90821492927058770002e-10;
    private const double Log2ED = 1.44269504088896338700e+00;
    private const double ExpMaxD = 709.782712893383973096, ExpMinD = -745.13321910194110842;

    /// <summary>eˣ within ~1 ulp: 2ⁿ·eʳ with r = x − n·ln 2 (|r| ≤ ½ ln 2) and e^r by its Taylor series to r¹³.</summary>
    public static double Exp(double x)
    {
        if (XMath.IsNaN(x)) return x;
        if (x > ExpMaxD) return double.PositiveInfinity;
        if (x < ExpMinD) return 0.0;
        var n = XMath.Floor(x * Log2ED + 0.5);
        var r = (x - n * Ln2HiD) - n * Ln2LoD;
        var p = 1.0 / 6227020800.0;
        p = p * r + 1.0 / 479001600.0;
        p = p * r + 1.0 / 39916800.0;
        p = p * r + 1.0 / 3628800.0;
        p = p * r + 1.0 / 362880.0;
        p = p * r + 1.0 / 40320.0;
        p = p * r + 1.0 / 5040.0;
        p = p * r + 1.0 / 720.0;
        p = p * r + 1.0 / 120.0;
        p = p * r + 1.0 / 24.0;
        p = p * r + 1.0 / 6.0;
        p = p * r + 0.5;
        p = p * r + 1.0;
        var er = 1.0 + p * r;
        // 2ⁿ in two halves, so n = 1024 and subnormal results (n down to -1075) fit the exponent field.
        var ni = (int)n;
        var half = ni >> 1;
        return er * PowerOfTwo(half) * PowerOfTwo(ni - half);
    }

    /// <summary>2ᵏ for a normal exponent k in [-1022, 1023].</summary>
    private static double PowerOfTwo(int k) => Interop.IntAsFloat((ulong)(k + 1023) << 52);

    /// <summary>ln x within ~1 ulp (fdlibm's reduction): x = m·2ᵉ, m in [√½, √2), ln m = 2·atanh(s) with s = (m−1)/(m+1).</summary>
    public static double Log(double x) => LogParts(x, out var lo) + lo;

    /// <summary>
    /// ln x as hi + lo with lo holding the bits a double rounds away (for pow): x = m·2ᵉ with f = m − 1 exact,
    /// ln(1+f) = f − ½f² + s·(½f² + R(s²)), R the atanh series to s²⁰ (|s| ≤ 0.172, truncation below 1e-17).
    /// </summary>
    private static double LogParts(double x, out double lo)
    {
        lo = 0.0;
        if (XMath.IsNaN(x) || x == double.PositiveInfinity) return x;
        if (x <= 0.0) return x == 0.0 ? double.NegativeInfinity : double.NaN;
        var e = 0;
        if (x < 2.2250738585072014e-308)
        {
            // Subnormal: scale into the normal range first.
            x *= 18014398509481984.0; // 2^54
            e = -54;
        }
        var bits = Interop.FloatAsInt(x);
        e += (int)((bits >> 52) & 0x7ff) - 1022;
        var m = Interop.IntAsFloat((bits & 0x800fffffffffffffUL) | 0x3fe0000000000000UL); // in [0.5, 1)
        if (m < 0.70710678118654752440)
        {
            e--;
            m += m;
        }
        var f = m - 1.0;
        var s = f / (2.0 + f);
        var z = s * s;
        var series = 2.0 / 21.0;
        series = series * z + 2.0 / 19.0;
        series = series * z + 2.0 / 17.0;
        series = series * z + 2.0 / 15.0;
        series = series * z + 2.0 / 13.0;
        series = series * z + 2.0 / 11.0;
        series = series * z + 2.0 / 9.0;
        series = series * z + 2.0 / 7.0;
        series = series * z + 2.0 / 5.0;
        series = series * z + 2.0 / 3.0;
        var r = series * z;
        var halfF = 0.5 * f;
        var hfsq = halfF * f;
        var hfsqError = TwoProductError(halfF, f, hfsq);
        var v = s * (hfsq + r);
        // ln(1+f) = f − u with u = hfsq − v, each rounding error kept.
        var u = hfsq - v;
        var uError = (hfsq - u) - v;
        var w = f - u;
        var wError = (f - w) - u;
        double dk = e;
        var head = dk * Ln2HiD; // exact
        var hi = head + w;
        var hiError = TwoSumError(head, w, hi);
        lo = hiError + (wError - uError - hfsqError) + dk * Ln2LoD;
        return hi;
    }

    /// <summary>The rounding error of <paramref name="sum"/> = a + b (Knuth's TwoSum: exact for any magnitudes).</summary>
    private static double TwoSumError(double a, double b, double sum)
    {
        var bVirtual = sum - a;
        var aVirtual = sum - bVirtual;
        return (a - aVirtual) + (b - bVirtual);
    }

    /// <summary>The rounding error of <paramref name="product"/> = a·b (Dekker's product with Veltkamp's split; |a|, |b| &lt; 2^995).</summary>
    private static double TwoProductError(double a, double b, double product)
    {
        var ca = 134217729.0 * a;
        var aHi = ca - (ca - a);
        var aLo = a - aHi;
        var cb = 134217729.0 * b;
        var bHi = cb - (cb - b);
        var bLo = b - bHi;
        return ((aHi * bHi - product) + aHi * bLo + aLo * bHi) + aLo * bLo;
    }

    /// <summary>tanh x: an odd polynomial below |x| = 0.625, 1 − 2/(e^{2|x|}+1) with x's sign beyond.</summary>
    public static float Tanh(float x)
    {
        if (XMath.IsNaN(x)) return x;
        var ax = XMath.Abs(x);
        if (ax < 0.625f)
        {
            var z = x * x;
            return ((((-5.70498872745E-3f * z + 2.06390887954E-2f) * z - 5.37397155531E-2f) * z + 1.33314422036E-1f) * z - 3.33332819422E-1f) * z * x + x;
        }
        var large = 1f - 2f / (Exp(XMath.Min(ax + ax, 88f)) + 1f);
        return x < 0f ? -large : large;
    }

    /// <summary>tanh x (Cephes): a rational function of x² below |x| = 0.625, 1 − 2/(e^{2|x|}+1) beyond; no overflow.</summary>
    public static double Tanh(double x)
    {
        if (XMath.IsNaN(x) || x == 0.0) return x; // keeps the sign of zero
        var ax = XMath.Abs(x);
        if (ax > 22.0) return x < 0 ? -1.0 : 1.0; // tanh(22) rounds to 1
        if (ax < 0.625)
        {
            var s = x * x;
            var p = (-9.64399179425052238628E-1 * s - 9.92877231001918586564E1) * s - 1.61468768441708447952E3;
            var q = ((s + 1.12811678491632931402E2) * s + 2.23548839060100448583E3) * s + 4.84406305325125486048E3;
            return x + x * s * (p / q);
        }
        var t = 1.0 - 2.0 / (Exp(ax + ax) + 1.0);
        return x < 0 ? -t : t;
    }
    public static float Relu(float x) => x > 0f || XMath.IsNaN(x) ? x : 0f;
    public static double Relu(double x) => x > 0.0 || XMath.IsNaN(x) ? x : 0.0;
    public static int Relu(int x) => x > 0 ? x : 0;
    public static long Relu(long x) => x > 0 ? x : 0;

    /// <summary>max(x, 0) + log1p(exp(-|x|)), with log1p by Goldberg's correction.</summary>
    public static float Softplus(float x)
    {
        var v = Exp(-XMath.Abs(x));
        var u = 1f + v;
        var log1p = u == 1f ? v : Log(u) * v / (u - 1f);
        return (x > 0f ? x : 0f) + log1p;
    }

    /// <summary>max(x, 0) + log1p(exp(-|x|)), with log1p by Goldberg's correction.</summary>
    public static double Softplus(double x)
    {
        var v = Exp(-XMath.Abs(x));
        var u = 1.0 + v;
        var log1p = u == 1.0 ? v : Log(u) * v / (u - 1.0);
        return (x > 0.0 ? x : 0.0) + log1p;
    }

    public static float Sign(float x) => x > 0f ? 1f : x < 0f ? -1f : x;
    public static double Sign(double x) => x > 0.0 ? 1.0 : x < 0.0 ? -1.0 : x;
    public static int Sign(int x) => x > 0 ? 1 : x < 0 ? -1 : 0;
    public static long Sign(long x) => x > 0 ? 1 : x < 0 ? -1 : 0;
    public static float Reciprocal(float x) => 1f / x;
    public static double Reciprocal(double x) => 1.0 / x;
    public static bool LogicalNot(bool x) => !x;

    public static float Add(float a, float b) => a + b;
    public static double Add(double a, double b) => a + b;
    public static int Add(int a, int b) => a + b;
    public static long Add(long a, long b) => a + b;
    public static float Sub(float a, float b) => a - b;
    public static double Sub(double a, double b) => a - b;
    public static int Sub(int a, int b) => a - b;
    public static long Sub(long a, long b) => a - b;
    public static float Mul(float a, float b) => a * b;
    public static double Mul(double a, double b) => a * b;
    public static int Mul(int a, int b) => a * b;
    public static long Mul(long a, long b) => a * b;
    public static float Div(float a, float b) => a / b;
    public static double Div(double a, double b) => a / b;

    // Integer division truncates toward zero. The magnitudes are divided unsigned: ILGPU lowers a signed division by
    // a power-of-two constant (x / 2, a mean's element count) to an arithmetic shift, which rounds toward −∞ for
    // negative x (-7 / 2 gave -4 on CUDA and OpenCL); an unsigned shift is exact. MinValue / -1 overflows: reported.
    public static int Div(int a, int b, ArrayView<int> error)
    {
        if (b == 0)
        {
            error[0] = DivisionByZero;
            return 0;
        }
        if (b == -1)
        {
            if (a != int.MinValue) return -a;
            error[0] = DivisionOverflow;
            return 0;
        }
        var q = (int)(Magnitude(a) / Magnitude(b));
        return (a ^ b) < 0 ? -q : q;
    }

    public static long Div(long a, long b, ArrayView<int> error)
    {
        if (b == 0)
        {
            error[0] = DivisionByZero;
            return 0;
        }
        if (b == -1)
        {
            if (a != long.MinValue) return -a;
            error[0] = DivisionOverflow;
            return 0;
        }
        var q = (long)(Magnitude(a) / Magnitude(b));
        return (a ^ b) < 0 ? -q : q;
    }

    private static uint Magnitude(int v) => v < 0 ? 0u - (uint)v : (uint)v;
    private static ulong Magnitude(long v) => v < 0 ? 0ul - (ulong)v : (ulong)v;

    /// <summary>aᵇ in double precision, rounded once to float (XMath's float pow is exp(b·log a) with approximate exp and log on CUDA).</summary>
    public static float Pow(float a, float b) => (float)Pow((double)a, (double)b);

    /// <summary>
    /// aᵇ with IEEE 754's special cases (as .NET's Math.Pow) and, otherwise, e^(b·ln|a|) with ln|a| and the product
    /// carried in two parts, so the result stays within a few ulps even where b·ln|a| is large.
    /// </summary>
    public static double Pow(double a, double b)
    {
        if (b == 0.0 || a == 1.0) return 1.0;
        if (XMath.IsNaN(a) || XMath.IsNaN(b)) return double.NaN;
        var integer = XMath.Floor(b) == b;
        var odd = integer && XMath.Abs(b) < 9007199254740992.0 && XMath.Floor(b * 0.5) != b * 0.5;
        var ax = XMath.Abs(a);
        if (b == double.PositiveInfinity) return ax == 1.0 ? 1.0 : ax > 1.0 ? double.PositiveInfinity : 0.0;
        if (b == double.NegativeInfinity) return ax == 1.0 ? 1.0 : ax < 1.0 ? double.PositiveInfinity : 0.0;
        if (a == 0.0 || ax == double.PositiveInfinity)
        {
            // 0 and ∞ raised to b: a magnitude of 0 or ∞, negative only for a negative base and an odd integer b.
            var large = (a == 0.0) == (b < 0.0);
            var magnitude = large ? double.PositiveInfinity : 0.0;
            return odd && (a < 0.0 || 1.0 / a < 0.0) ? -magnitude : magnitude;
        }
        if (a < 0.0 && !integer) return double.NaN;
        if (ax == 1.0) return a < 0.0 && odd ? -1.0 : 1.0;
        var logHead = LogParts(ax, out var logTail);
        // Renormalised so that the tail is below half an ulp of the head: then b·tail is small and e^tail ≈ 1 + tail.
        var logHi = logHead + logTail;
        var logLo = (logHead - logHi) + logTail;
        var t = b * logHi;
        double result;
        if (t > ExpMaxD + 1.0) result = double.PositiveInfinity;
        else if (t < ExpMinD - 1.0) result = 0.0;
        else
        {
            var tLo = TwoProductError(b, logHi, t) + b * logLo;
            var head = Exp(t);
            result = head + head * tLo; // e^(t + tLo) = e^t·(1 + tLo) to within tLo²
        }
        return a < 0.0 && odd ? -result : result;
    }
    public static int Pow(int a, int b, ArrayView<int> error) => (int)Pow((long)a, b, error);

    public static long Pow(long a, long b, ArrayView<int> error)
    {
        if (b < 0)
        {
            error[0] = NegativeIntegerPower;
            return 0;
        }
        long result = 1;
        while (b > 0)
        {
            if ((b & 1) != 0) result *= a;
            a *= a;
            b >>= 1;
        }
        return result;
    }

    /// <summary>
    /// What one step of Kahan summation (sum = acc + term) lost to rounding: (sum − acc) − term. Once the sum is ±inf
    /// or NaN it is 0: the difference would be inf − inf = NaN, which would turn a sum that reached an infinity (an
    /// infinite term, or an overflow) into NaN where a plain sum gives the infinity.
    /// </summary>
    public static float KahanCompensation(float sum, float acc, float term) => XMath.IsNaN(sum) || XMath.IsInfinity(sum) ? 0f : sum - acc - term;
    /// <inheritdoc cref="KahanCompensation(float, float, float)"/>
    public static double KahanCompensation(double sum, double acc, double term) => XMath.IsNaN(sum) || XMath.IsInfinity(sum) ? 0.0 : sum - acc - term;

    public static float Max(float a, float b) => XMath.IsNaN(a) ? a : XMath.IsNaN(b) ? b : a > b ? a : b;
    public static double Max(double a, double b) => XMath.IsNaN(a) ? a : XMath.IsNaN(b) ? b : a > b ? a : b;
    public static int Max(int a, int b) => a > b ? a : b;
    public static long Max(long a, long b) => a > b ? a : b;
    public static float Min(float a, float b) => XMath.IsNaN(a) ? a : XMath.IsNaN(b) ? b : a < b ? a : b;
    public static double Min(double a, double b) => XMath.IsNaN(a) ? a : XMath.IsNaN(b) ? b : a < b ? a : b;
    public static int Min(int a, int b) => a < b ? a : b;
    public static long Min(long a, long b) => a < b ? a : b;

    public static bool Equal(float a, float b) => a == b;
    public static bool Equal(double a, double b) => a == b;
    public static bool Equal(int a, int b) => a == b;
    public static bool Equal(long a, long b) => a == b;
    public static bool Equal(bool a, bool b) => a == b;
    public static bool NotEqual(float a, float b) => a != b;
    public static bool NotEqual(double a, double b) => a != b;
    public static bool NotEqual(int a, int b) => a != b;
    public static bool NotEqual(long a, long b) => a != b;
    public static bool NotEqual(bool a, bool b) => a != b;
    public static bool Less(float a, float b) => a < b;
    public static bool Less(double a, double b) => a < b;
    public static bool Less(int a, int b) => a < b;
    public static bool Less(long a, long b) => a < b;
    public static bool LessEqual(float a, float b) => a <= b;
    public static bool LessEqual(double a, double b) => a <= b;
    public static bool LessEqual(int a, int b) => a <= b;
    public static bool LessEqual(long a, long b) => a <= b;
    public static bool Greater(float a, float b) => a > b;
    public static bool Greater(double a, double b) => a > b;
    public static bool Greater(int a, int b) => a > b;
    public static bool Greater(long a, long b) => a > b;
    public static bool GreaterEqual(float a, float b) => a >= b;
    public static bool GreaterEqual(double a, double b) => a >= b;
    public static bool GreaterEqual(int a, int b) => a >= b;
    public static bool GreaterEqual(long a, long b) => a >= b;
    public static bool LogicalAnd(bool a, bool b) => a && b;
    public static bool LogicalOr(bool a, bool b) => a || b;
#pragma warning restore CS1591
}
