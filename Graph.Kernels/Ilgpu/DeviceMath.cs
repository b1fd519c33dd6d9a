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
    public static float Exp(float x) => XMath.Exp(x);
    public static double Exp(double x) => XMath.Exp(x);
    public static float Log(float x) => XMath.Log(x);
    public static double Log(double x) => XMath.Log(x);
    public static float Tanh(float x) => XMath.Tanh(x);
    public static double Tanh(double x) => XMath.Tanh(x);
    public static float Sigmoid(float x) => 1f / (1f + XMath.Exp(-x));
    public static double Sigmoid(double x) => 1.0 / (1.0 + XMath.Exp(-x));
    public static float Relu(float x) => x > 0f || XMath.IsNaN(x) ? x : 0f;
    public static double Relu(double x) => x > 0.0 || XMath.IsNaN(x) ? x : 0.0;
    public static int Relu(int x) => x > 0 ? x : 0;
    public static long Relu(long x) => x > 0 ? x : 0;

    /// <summary>max(x, 0) + log1p(exp(-|x|)), with log1p by Goldberg's correction.</summary>
    public static float Softplus(float x)
    {
        var v = XMath.Exp(-XMath.Abs(x));
        var u = 1f + v;
        var log1p = u == 1f ? v : XMath.Log(u) * v / (u - 1f);
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

    public static float Pow(float a, float b) => XMath.Pow(a, b);
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
