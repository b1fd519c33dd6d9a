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
    public static double Exp(double x) => XMath.Exp(x);
    public static double Log(double x) => XMath.Log(x);
    public static float Sigmoid(float x) => 1f / (1f + Exp(-x));
    public static double Sigmoid(double x) => 1.0 / (1.0 + XMath.Exp(-x));

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
        var t = 1.0 - 2.0 / (XMath.Exp(ax + ax) + 1.0);
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
        var v = XMath.Exp(-XMath.Abs(x));
        var u = 1.0 + v;
        var log1p = u == 1.0 ? v : XMath.Log(u) * v / (u - 1.0);
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

    public static int Div(int a, int b, ArrayView<int> error)
    {
        if (b != 0) return a / b;
        error[0] = DivisionByZero;
        return 0;
    }

    public static long Div(long a, long b, ArrayView<int> error)
    {
        if (b != 0) return a / b;
        error[0] = DivisionByZero;
        return 0;
    }

    /// <summary>aᵇ in double precision (XMath's float pow is exp(b·log a) with approximate exp and log on CUDA).</summary>
    public static float Pow(float a, float b) => (float)XMath.Pow((double)a, (double)b);
    public static double Pow(double a, double b) => XMath.Pow(a, b);
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
