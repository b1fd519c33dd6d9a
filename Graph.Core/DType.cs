namespace Graph.Core;

/// <summary>Element types a tensor can hold (TF1's tf.float32, tf.float64, tf.int32, tf.int64, tf.bool).</summary>
public enum DType
{
    /// <summary>32-bit IEEE float (tf.float32).</summary>
    Float32,
    /// <summary>64-bit IEEE float (tf.float64).</summary>
    Float64,
    /// <summary>32-bit signed integer (tf.int32).</summary>
    Int32,
    /// <summary>64-bit signed integer (tf.int64).</summary>
    Int64,
    /// <summary>Boolean (tf.bool).</summary>
    Bool,
}

/// <summary>Facts about <see cref="DType"/> values.</summary>
public static class DTypeExtensions
{
    /// <summary>Bytes one element occupies.</summary>
    public static int Size(this DType dtype) => dtype switch
    {
        DType.Float32 or DType.Int32 => 4,
        DType.Float64 or DType.Int64 => 8,
        DType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>True for float32 and float64.</summary>
    public static bool IsFloating(this DType dtype) => dtype is DType.Float32 or DType.Float64;

    /// <summary>True for int32 and int64.</summary>
    public static bool IsInteger(this DType dtype) => dtype is DType.Int32 or DType.Int64;

    /// <summary>
    /// Whether <paramref name="value"/> is a value of <paramref name="dtype"/> without rounding: any number for the
    /// floats (and bool), a whole number in range for the integers.
    /// </summary>
    internal static bool Holds(this DType dtype, double value) => dtype switch
    {
        DType.Int32 => Math.Floor(value) == value && value >= int.MinValue && value <= int.MaxValue,
        // 2⁶³ is the first double past long.MaxValue.
        DType.Int64 => Math.Floor(value) == value && value >= long.MinValue && value < 9.2233720368547758e18,
        _ => true,
    };

    /// <summary>True for every numeric type (everything but bool).</summary>
    public static bool IsNumeric(this DType dtype) => dtype != DType.Bool;

    /// <summary>TF's spelling: float32, float64, int32, int64, bool.</summary>
    public static string Name(this DType dtype) => dtype switch
    {
        DType.Float32 => "float32",
        DType.Float64 => "float64",
        DType.Int32 => "int32",
        DType.Int64 => "int64",
        DType.Bool => "bool",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>The CLR element type that stores values of this dtype.</summary>
    public static Type ClrType(this DType dtype) => dtype switch
    {
        DType.Float32 => typeof(float),
        DType.Float64 => typeof(double),
        DType.Int32 => typeof(int),
        DType.Int64 => typeof(long),
        DType.Bool => typeof(bool),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>The dtype stored by CLR type <paramref name="type"/>.</summary>
    public static DType FromClrType(Type type)
    {
        if (type == typeof(float)) return DType.Float32;
        if (type == typeof(double)) return DType.Float64;
        if (type == typeof(int)) return DType.Int32;
        if (type == typeof(long)) return DType.Int64;
        if (type == typeof(bool)) return DType.Bool;
        throw new ArgumentException($"No Graph dtype stores CLR type {type.Name}; use float, double, int, long or bool.");
    }

    /// <summary>The dtype stored by CLR type <typeparamref name="T"/>.</summary>
    public static DType Of<T>() => FromClrType(typeof(T));
}
