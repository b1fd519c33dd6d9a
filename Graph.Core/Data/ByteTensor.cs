using System.Runtime.Intrinsics;

namespace Graph.Core.Data;

/// <summary>
/// Unsigned bytes with dimensions: a data set kept in its files' form (MNIST's pixels), a quarter of the memory of its
/// float32 form, as Keras' <c>load_data()</c> and torchvision keep MNIST. Graph's ops take float32, so a byte tensor is
/// converted where it is used: whole by <see cref="ToFloat32"/>, or batch by batch, the rows a batch needs only, by
/// <see cref="TakeRows"/> and <see cref="Batches.ShuffleBatch(ByteTensor, HostTensor, int, int, BatchSplit, float, bool)"/>.
/// </summary>
public sealed class ByteTensor
{
    private readonly int[] _dims;

    /// <summary>Wraps <paramref name="data"/> (not copied: an array, or a part of one) with dimensions <paramref name="dims"/>.</summary>
    /// <exception cref="ArgumentException">A dimension is negative, or their product is not the data's length.</exception>
    public ByteTensor(ReadOnlyMemory<byte> data, params int[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        foreach (var d in dims)
            if (d < 0) throw new ArgumentException($"A byte tensor needs concrete dimensions, got {Shape.Format(dims)}.", nameof(dims));
        if (Shape.Product(dims) != data.Length)
            throw new ArgumentException($"{data.Length} bytes cannot have shape {Shape.Format(dims)} ({Shape.Product(dims)} elements).", nameof(dims));
        Data = data;
        _dims = (int[])dims.Clone();
    }

    /// <summary>The flat row-major bytes.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>The dimensions (a copy).</summary>
    public int[] Dims => (int[])_dims.Clone();

    /// <summary>The dimensions without copying.</summary>
    public ReadOnlySpan<int> DimsSpan => _dims;

    /// <summary>The shape.</summary>
    public Shape Shape => new(_dims);

    /// <summary>The rank (number of dimensions).</summary>
    public int Rank => _dims.Length;

    /// <summary>
    /// The whole tensor as float32, each byte <c>b</c> as <c>b / divisor</c> (float32 division: with the default 255,
    /// a pixel's <c>pixel / 255f</c>, the [0, 1] images Keras users make with <c>x / 255.0</c>).
    /// </summary>
    /// <param name="divisor">What every byte is divided by (not zero).</param>
    public HostTensor ToFloat32(float divisor = 255f)
    {
        CheckDivisor(divisor);
        var values = LargeArrays.ForFilling<float>(Data.Length);
        Convert(Data.Span, values, divisor);
        return HostTensor.From(values, _dims);
    }

    /// <summary>
    /// Rows <paramref name="rows"/> (slices along the leading dimension), in that order, as float32 of shape
    /// <c>[rows.Length, …]</c>, each byte <c>b</c> as <c>b / divisor</c>: <see cref="Batches.TakeRows(HostTensor, ReadOnlySpan{int})"/> and
    /// <see cref="ToFloat32"/> in one pass, without a float32 copy of the whole tensor.
    /// </summary>
    /// <param name="rows">Row indices, each in <c>[0, Dims[0])</c>; repeats are allowed.</param>
    /// <param name="divisor">What every byte is divided by (not zero).</param>
    /// <exception cref="IndexOutOfRangeException">A row index is out of range; the message names it.</exception>
    public HostTensor TakeRows(ReadOnlySpan<int> rows, float divisor = 255f) => TakeRowsInto(rows, divisor, null);

    /// <summary><see cref="TakeRows(ReadOnlySpan{int}, float)"/> into <paramref name="into"/> (float32 of the result's shape) when given.</summary>
    internal HostTensor TakeRowsInto(ReadOnlySpan<int> rows, float divisor, HostTensor? into)
    {
        CheckDivisor(divisor);
        var (rowSize, dims) = Batches.RowsLayout(_dims, rows.Length);
        var result = into ?? HostTensor.From(GC.AllocateUninitializedArray<float>(checked(rows.Length * rowSize)), dims);
        var values = result.Span<float>();
        var data = Data.Span;
        for (var k = 0; k < rows.Length; k++)
            Convert(data.Slice(Batches.CheckedRow(rows[k], _dims[0]) * rowSize, rowSize), values.AsSpan(k * rowSize, rowSize), divisor);
        return result;
    }

    /// <summary>Throws when <paramref name="divisor"/> is zero, infinite or NaN (checked when a conversion is asked for, batches included).</summary>
    internal static void CheckDivisor(float divisor)
    {
        if (divisor == 0 || !float.IsFinite(divisor))
            throw new ArgumentOutOfRangeException(nameof(divisor), divisor, "Bytes are converted by dividing them by a finite, non-zero divisor.");
    }

    /// <summary>
    /// <c>bytes[i] / divisor</c> for every byte, 32 at a time: byte → float is exact and IEEE division rounds correctly,
    /// so the bits equal the scalar loop's, at a quarter of its time. Written out rather than
    /// TensorPrimitives.ConvertTruncating, whose generic instantiation cost ~80 ms of JIT at start-up.
    /// </summary>
    internal static void Convert(ReadOnlySpan<byte> bytes, Span<float> values, float divisor)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var divisors = Vector256.Create(divisor);
            var n = Vector256<int>.Count;
            for (; i <= bytes.Length - Vector256<byte>.Count; i += Vector256<byte>.Count)
            {
                var (low, high) = Vector256.Widen(Vector256.Create(bytes.Slice(i, Vector256<byte>.Count)));
                var (q0, q1) = Vector256.Widen(low);
                var (q2, q3) = Vector256.Widen(high);
                (Vector256.ConvertToSingle(q0.AsInt32()) / divisors).CopyTo(values.Slice(i, n));
                (Vector256.ConvertToSingle(q1.AsInt32()) / divisors).CopyTo(values.Slice(i + n, n));
                (Vector256.ConvertToSingle(q2.AsInt32()) / divisors).CopyTo(values.Slice(i + 2 * n, n));
                (Vector256.ConvertToSingle(q3.AsInt32()) / divisors).CopyTo(values.Slice(i + 3 * n, n));
            }
        }
        for (; i < bytes.Length; i++) values[i] = bytes[i] / divisor;
    }
}
