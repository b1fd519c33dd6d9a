using System.Collections;

namespace Graph.Core;

/// <summary>
/// A static tensor shape that may be partly unknown (TF1's TensorShape): an unknown rank, or a known rank whose
/// dimensions are each a size or unknown (<see cref="Unknown"/>, printed as <c>?</c>).
/// </summary>
public sealed class Shape : IEquatable<Shape>, IEnumerable<int>
{
    /// <summary>The value of an unknown dimension.</summary>
    public const int UnknownDim = -1;

    private readonly int[]? _dims;

    /// <summary>Creates a shape of known rank; use -1 (or null via <see cref="Shape(int?[])"/>) for unknown dimensions.</summary>
    public Shape(params int[] dims)
    {
        foreach (var d in dims)
            if (d < -1) throw new ArgumentException($"Dimension {d} is invalid in shape [{string.Join(", ", dims)}]; use -1 for unknown.");
        _dims = (int[])dims.Clone();
    }

    /// <summary>Creates a shape of known rank where null marks an unknown dimension (as TF's None).</summary>
    public Shape(params int?[] dims) : this(dims.Select(d => d ?? UnknownDim).ToArray()) { }

    private Shape() { _dims = null; }

    /// <summary>The shape of unknown rank.</summary>
    public static Shape Unknown { get; } = new();

    /// <summary>The shape of a scalar (rank 0).</summary>
    public static Shape Scalar { get; } = new(Array.Empty<int>());

    /// <summary>Whether the rank is known.</summary>
    public bool HasRank => _dims != null;

    /// <summary>The rank; throws when it is unknown.</summary>
    public int Rank => _dims?.Length ?? throw new InvalidOperationException("The rank of this shape is unknown.");

    /// <summary>Whether the rank and every dimension are known.</summary>
    public bool IsFullyDefined
    {
        get
        {
            if (_dims == null) return false;
            foreach (var d in _dims)
                if (d < 0) return false;
            return true;
        }
    }

    /// <summary>Dimension <paramref name="axis"/> (negative counts from the end); -1 when unknown.</summary>
    public int this[int axis] => Dims[axis < 0 ? axis + Rank : axis];

    /// <summary>The dimensions (-1 for unknown ones); throws when the rank is unknown.</summary>
    public int[] Dims => _dims ?? throw new InvalidOperationException("The rank of this shape is unknown.");

    /// <summary>The number of elements, or -1 when not fully defined (at most <see cref="long.MaxValue"/>: see <see cref="Product"/>).</summary>
    public long NumElements => IsFullyDefined ? Product(_dims!) : -1;

    /// <summary>A copy of the fully defined dimensions; throws naming the shape if any is unknown.</summary>
    public int[] ToArray()
    {
        if (!IsFullyDefined) throw new InvalidOperationException($"Shape {this} is not fully defined.");
        return (int[])_dims!.Clone();
    }

    /// <summary>Whether both shapes could describe the same tensor.</summary>
    public bool IsCompatibleWith(Shape other)
    {
        if (_dims == null || other._dims == null) return true;
        if (_dims.Length != other._dims.Length) return false;
        for (var i = 0; i < _dims.Length; i++)
            if (_dims[i] >= 0 && other._dims[i] >= 0 && _dims[i] != other._dims[i]) return false;
        return true;
    }

    /// <summary>The most specific shape compatible with both; throws when they are incompatible.</summary>
    public Shape MergeWith(Shape other)
    {
        if (_dims == null) return other;
        if (other._dims == null) return this;
        if (!IsCompatibleWith(other)) throw new InvalidArgumentException($"Shapes {this} and {other} are not compatible.");
        var merged = new int[_dims.Length];
        for (var i = 0; i < merged.Length; i++) merged[i] = _dims[i] >= 0 ? _dims[i] : other._dims[i];
        return new Shape(merged);
    }

    /// <summary>A shape of known rank <paramref name="rank"/> with every dimension unknown.</summary>
    public static Shape UnknownWithRank(int rank) => new(Enumerable.Repeat(UnknownDim, rank).ToArray());

    /// <summary>
    /// Numpy broadcasting of two static shapes; unknown dimensions broadcast optimistically as in TF.
    /// Throws an <see cref="InvalidArgumentException"/> naming <paramref name="opName"/> and both shapes when they cannot broadcast.
    /// </summary>
    public static Shape Broadcast(Shape a, Shape b, string opName)
    {
        if (!a.HasRank || !b.HasRank) return Unknown;
        var rank = Math.Max(a.Rank, b.Rank);
        var result = new int[rank];
        for (var i = 0; i < rank; i++)
        {
            var da = i < rank - a.Rank ? 1 : a._dims![i - (rank - a.Rank)];
            var db = i < rank - b.Rank ? 1 : b._dims![i - (rank - b.Rank)];
            if (da == 1) result[i] = db;
            else if (db == 1) result[i] = da;
            else if (da == UnknownDim) result[i] = db;
            else if (db == UnknownDim) result[i] = da;
            else if (da == db) result[i] = da;
            else throw new InvalidArgumentException($"{opName}: shapes {a} and {b} are incompatible for broadcasting (dimension {i}: {da} vs {db}).");
        }
        return new Shape(result);
    }

    /// <summary>Numpy broadcasting of concrete dimensions; throws naming the op when they cannot broadcast.</summary>
    public static int[] Broadcast(int[] a, int[] b, string opName) =>
        Broadcast(new Shape(a), new Shape(b), opName).Dims;

    /// <summary>
    /// The number of elements of concrete dimensions; a count beyond <see cref="long.MaxValue"/> gives
    /// <see cref="long.MaxValue"/> (never a wrapped, small or negative count that a size check would let through).
    /// </summary>
    public static long Product(ReadOnlySpan<int> dims)
    {
        // (Loops: span Contains over ints is framework generic code no ReadyToRun image holds, JIT-compiled by every
        // process at its first shape.)
        foreach (var d in dims)
            if (d == 0) return 0;
        long n = 1;
        foreach (var d in dims)
        {
            if (d > 0 && n > long.MaxValue / d) return long.MaxValue;
            n *= d;
        }
        return n;
    }

    /// <summary>Formats concrete or partial dimensions as TF does: <c>(?, 3)</c>, <c>()</c>, <c>&lt;unknown&gt;</c>.</summary>
    public override string ToString()
    {
        if (_dims == null) return "<unknown>";
        if (_dims.Length == 1) return $"({Fmt(_dims[0])},)";
        return "(" + string.Join(", ", _dims.Select(Fmt)) + ")";
        static string Fmt(int d) => d < 0 ? "?" : d.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Formats concrete dimensions as <c>[4, 5]</c>.</summary>
    public static string Format(ReadOnlySpan<int> dims) => "[" + string.Join(", ", dims.ToArray()) + "]";

    /// <inheritdoc/>
    public bool Equals(Shape? other) =>
        other is not null && (_dims == null ? other._dims == null : other._dims != null && _dims.AsSpan().SequenceEqual(other._dims));

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as Shape);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        if (_dims == null) return -17;
        var h = new HashCode();
        foreach (var d in _dims) h.Add(d);
        return h.ToHashCode();
    }

    /// <inheritdoc/>
    public IEnumerator<int> GetEnumerator() => ((IEnumerable<int>)Dims).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>A known-rank shape from dimensions.</summary>
    public static implicit operator Shape(int[] dims) => new(dims);
}
