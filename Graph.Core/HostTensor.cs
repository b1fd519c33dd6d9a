using System.Globalization;

namespace Graph.Core;

/// <summary>
/// A concrete tensor in host memory: dtype, fully defined dimensions and row-major typed data
/// (a <c>float[]</c>, <c>double[]</c>, <c>int[]</c>, <c>long[]</c> or <c>bool[]</c>). What a Session returns and takes as feeds,
/// in the role numpy arrays play for TF1.
/// </summary>
public sealed class HostTensor
{
    private readonly int[] _dims;

    /// <summary>Wraps <paramref name="data"/> (not copied) with dimensions <paramref name="dims"/>.</summary>
    public HostTensor(Array data, params int[] dims)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Rank != 1) throw new ArgumentException("HostTensor data must be a flat (rank-1) array; use HostTensor.FromArray for multi-dimensional arrays.");
        DType = DTypeExtensions.FromClrType(data.GetType().GetElementType()!);
        foreach (var d in dims)
            if (d < 0) throw new ArgumentException($"A host tensor needs concrete dimensions, got {Shape.Format(dims)}.");
        if (Shape.Product(dims) != data.Length)
            throw new ArgumentException($"Data of {data.Length} elements cannot have shape {Shape.Format(dims)} ({Shape.Product(dims)} elements).");
        Data = data;
        _dims = (int[])dims.Clone();
    }

    /// <summary>The element type.</summary>
    public DType DType { get; }

    /// <summary>The flat row-major data; its CLR element type matches <see cref="DType"/>.</summary>
    public Array Data { get; }

    /// <summary>The dimensions (a copy).</summary>
    public int[] Dims => (int[])_dims.Clone();

    /// <summary>The dimensions without copying.</summary>
    public ReadOnlySpan<int> DimsSpan => _dims;

    /// <summary>The shape.</summary>
    public Shape Shape => new(_dims);

    /// <summary>The rank (number of dimensions).</summary>
    public int Rank => _dims.Length;

    /// <summary>The number of elements.</summary>
    public int Size => Data.Length;

    /// <summary>The flat data as a typed array (no copy); throws when <typeparamref name="T"/> does not match the dtype.</summary>
    public T[] Span<T>() => Data as T[] ?? throw new InvalidOperationException($"This tensor holds {DType.Name()}, not {typeof(T).Name}.");

    /// <summary>Creates a zero-filled tensor.</summary>
    public static HostTensor Zeros(DType dtype, params int[] dims) =>
        new(Array.CreateInstance(dtype.ClrType(), checked((int)Shape.Product(dims))), dims);

    /// <summary>Creates a tensor from flat data and dimensions (data not copied).</summary>
    public static HostTensor From<T>(T[] data, params int[] dims) where T : unmanaged => new(data, dims);

    /// <summary>Creates a scalar tensor.</summary>
    public static HostTensor Scalar<T>(T value) where T : unmanaged => new(new[] { value });

    /// <summary>
    /// Copies any CLR array (<c>float[]</c>, <c>float[,]</c>, <c>int[,,]</c>, …) into a tensor of the same dimensions.
    /// </summary>
    public static HostTensor FromArray(Array array)
    {
        ArgumentNullException.ThrowIfNull(array);
        var elementType = array.GetType().GetElementType()!;
        var dims = new int[array.Rank];
        for (var i = 0; i < dims.Length; i++) dims[i] = array.GetLength(i);
        var flat = Array.CreateInstance(elementType, array.Length);
        // Rectangular arrays are stored row-major and contiguously, so a byte copy flattens them.
        Buffer.BlockCopy(array, 0, flat, 0, Buffer.ByteLength(array));
        return new HostTensor(flat, dims);
    }

    /// <summary>The element at a full index, converted to <typeparamref name="T"/>.</summary>
    public T Get<T>(params int[] index) => (T)Convert.ChangeType(Data.GetValue(FlatIndex(index))!, typeof(T), CultureInfo.InvariantCulture);

    /// <summary>
    /// Numpy-style indexing: fixes the leading dimensions and returns the remaining sub-tensor (a copy);
    /// a full index gives a rank-0 tensor.
    /// </summary>
    [System.Runtime.CompilerServices.IndexerName("Sub")]
    public HostTensor this[params int[] index]
    {
        get
        {
            if (index.Length > Rank) throw new IndexOutOfRangeException($"Index of {index.Length} dimensions into a tensor of rank {Rank}.");
            var restDims = _dims[index.Length..];
            var count = (int)Shape.Product(restDims);
            var start = 0;
            var stride = count;
            for (var i = index.Length - 1; i >= 0; i--)
            {
                var idx = index[i] < 0 ? index[i] + _dims[i] : index[i];
                if (idx < 0 || idx >= _dims[i]) throw new IndexOutOfRangeException($"Index {index[i]} is out of bounds for axis {i} with size {_dims[i]}.");
                start += idx * stride;
                stride *= _dims[i];
            }
            var data = Array.CreateInstance(Data.GetType().GetElementType()!, count);
            Array.Copy(Data, start, data, 0, count);
            return new HostTensor(data, restDims);
        }
    }

    private int FlatIndex(int[] index)
    {
        if (index.Length != Rank) throw new IndexOutOfRangeException($"Expected {Rank} indices, got {index.Length}.");
        var flat = 0;
        for (var i = 0; i < index.Length; i++)
        {
            var idx = index[i] < 0 ? index[i] + _dims[i] : index[i];
            if (idx < 0 || idx >= _dims[i]) throw new IndexOutOfRangeException($"Index {index[i]} is out of bounds for axis {i} with size {_dims[i]}.");
            flat = flat * _dims[i] + idx;
        }
        return flat;
    }

    /// <summary>A copy of the flat data as <typeparamref name="T"/>[], converting the dtype when needed.</summary>
    public T[] ToArray<T>() where T : unmanaged =>
        DType == DTypeExtensions.Of<T>() ? (T[])Span<T>().Clone() : AsType(DTypeExtensions.Of<T>()).Span<T>();

    /// <summary>A copy of the data as a CLR array of the tensor's rank (<c>float[,]</c> for a float32 matrix).</summary>
    public Array ToMultiDimArray()
    {
        if (Rank <= 1) return (Array)Data.Clone();
        var result = Array.CreateInstance(Data.GetType().GetElementType()!, _dims);
        Buffer.BlockCopy(Data, 0, result, 0, Buffer.ByteLength(Data));
        return result;
    }

    /// <summary>The scalar value of a one-element tensor.</summary>
    public T Item<T>() where T : unmanaged
    {
        if (Size != 1) throw new InvalidOperationException($"Item() needs a one-element tensor, this one has shape {Shape.Format(_dims)}.");
        return ToArray<T>()[0];
    }

    /// <summary>A copy converted to <paramref name="dtype"/> (as a C cast: floats truncate toward zero when cast to ints; bool is 0/1).</summary>
    public HostTensor AsType(DType dtype)
    {
        var result = Zeros(dtype, _dims);
        DTypeConversion.Convert(Data, result.Data);
        return result;
    }

    /// <summary>The same data with new dimensions of equal element count (no copy).</summary>
    public HostTensor Reshape(params int[] dims) => new(Data, dims);

    /// <summary>Permutes the axes like <c>np.transpose(a, axes)</c> (a copy).</summary>
    public HostTensor Transpose(params int[] perm) => HostOps.Transpose(this, perm);

    /// <summary>Element-wise equality of dtype, shape and bits.</summary>
    public bool ContentEquals(HostTensor other) =>
        DType == other.DType && _dims.AsSpan().SequenceEqual(other._dims) && HostOps.BytesOf(Data).SequenceEqual(HostOps.BytesOf(other.Data));

    /// <summary>Prints the values as numpy's <c>print(array)</c> does.</summary>
    public override string ToString() => NumpyFormat.ToString(Data, _dims);

    /// <summary>Copies a float vector.</summary>
    public static implicit operator HostTensor(float[] a) => FromArray(a);
    /// <summary>Copies a float matrix.</summary>
    public static implicit operator HostTensor(float[,] a) => FromArray(a);
    /// <summary>Copies a rank-3 float array.</summary>
    public static implicit operator HostTensor(float[,,] a) => FromArray(a);
    /// <summary>Copies a double vector.</summary>
    public static implicit operator HostTensor(double[] a) => FromArray(a);
    /// <summary>Copies a double matrix.</summary>
    public static implicit operator HostTensor(double[,] a) => FromArray(a);
    /// <summary>Copies a rank-3 double array.</summary>
    public static implicit operator HostTensor(double[,,] a) => FromArray(a);
    /// <summary>Copies an int vector.</summary>
    public static implicit operator HostTensor(int[] a) => FromArray(a);
    /// <summary>Copies an int matrix.</summary>
    public static implicit operator HostTensor(int[,] a) => FromArray(a);
    /// <summary>Copies a rank-3 int array.</summary>
    public static implicit operator HostTensor(int[,,] a) => FromArray(a);
    /// <summary>Copies a long vector.</summary>
    public static implicit operator HostTensor(long[] a) => FromArray(a);
    /// <summary>Copies a long matrix.</summary>
    public static implicit operator HostTensor(long[,] a) => FromArray(a);
    /// <summary>Copies a bool vector.</summary>
    public static implicit operator HostTensor(bool[] a) => FromArray(a);
    /// <summary>Copies a bool matrix.</summary>
    public static implicit operator HostTensor(bool[,] a) => FromArray(a);
    /// <summary>A float scalar.</summary>
    public static implicit operator HostTensor(float v) => Scalar(v);
    /// <summary>A double scalar.</summary>
    public static implicit operator HostTensor(double v) => Scalar(v);
    /// <summary>An int scalar.</summary>
    public static implicit operator HostTensor(int v) => Scalar(v);
    /// <summary>A long scalar.</summary>
    public static implicit operator HostTensor(long v) => Scalar(v);
    /// <summary>A bool scalar.</summary>
    public static implicit operator HostTensor(bool v) => Scalar(v);
}
