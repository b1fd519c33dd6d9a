using System.Numerics;
using System.Runtime.InteropServices;

namespace Graph.Core;

/// <summary>
/// Dtype-agnostic data movement over flat row-major arrays: the one strided copy that transpose, slice, broadcast
/// and tile reduce to, shared by host tensors and the CPU kernels.
/// </summary>
public static class HostOps
{
    /// <summary>Row-major strides (in elements) of concrete dimensions.</summary>
    public static int[] Strides(ReadOnlySpan<int> dims)
    {
        var strides = new int[dims.Length];
        var s = 1;
        for (var i = dims.Length - 1; i >= 0; i--)
        {
            strides[i] = s;
            s *= dims[i];
        }
        return strides;
    }

    /// <summary>The raw bytes of a primitive array.</summary>
    public static Span<byte> BytesOf(Array data) =>
        MemoryMarshal.CreateSpan(ref MemoryMarshal.GetArrayDataReference(data), Buffer.ByteLength(data));

    /// <summary>
    /// Writes into <paramref name="dst"/> (row-major, dimensions <paramref name="outDims"/>) the elements of
    /// <paramref name="src"/> found at <c>offset + Σ index[i]·srcStrides[i]</c>. A stride of 0 broadcasts an axis.
    /// </summary>
    public static void StridedCopy(Array src, int offset, ReadOnlySpan<int> srcStrides, ReadOnlySpan<int> outDims, Array dst) =>
        StridedCopyRange(src, offset, srcStrides, outDims, 0, dst.Length, dst, 0);

    /// <summary>
    /// The lowest and highest element positions the strided view over <paramref name="outDims"/> at
    /// <paramref name="offset"/> reads (strides of any sign; an empty view reads <paramref name="offset"/> only nominally).
    /// </summary>
    public static (long Lowest, long Highest) StridedReach(long offset, ReadOnlySpan<int> srcStrides, ReadOnlySpan<int> outDims)
    {
        long lowest = offset, highest = offset;
        for (var axis = 0; axis < outDims.Length; axis++)
        {
            var reach = (long)(outDims[axis] - 1) * srcStrides[axis];
            if (reach < 0) lowest += reach;
            else highest += reach;
        }
        return (lowest, highest);
    }

    /// <summary>
    /// The elements <c>[start, start + count)</c> (in row-major order over <paramref name="outDims"/>) of the strided view
    /// of <paramref name="src"/>, written to <paramref name="dst"/> from <paramref name="dstOffset"/>.
    /// </summary>
    public static void StridedCopyRange(Array src, int offset, ReadOnlySpan<int> srcStrides, ReadOnlySpan<int> outDims, long start, int count, Array dst, int dstOffset)
    {
        if (src.GetType() != dst.GetType()) throw new ArgumentException("Strided copy between arrays of different element types.");
        if (count == 0) return;
        switch (Buffer.ByteLength(src) / Math.Max(1, src.Length))
        {
            case 1: StridedCopyRange(BytesOf(src), offset, srcStrides, outDims, start, BytesOf(dst).Slice(dstOffset, count)); break;
            case 4: StridedCopyRange(MemoryMarshal.Cast<byte, uint>(BytesOf(src)), offset, srcStrides, outDims, start, MemoryMarshal.Cast<byte, uint>(BytesOf(dst)).Slice(dstOffset, count)); break;
            case 8: StridedCopyRange(MemoryMarshal.Cast<byte, ulong>(BytesOf(src)), offset, srcStrides, outDims, start, MemoryMarshal.Cast<byte, ulong>(BytesOf(dst)).Slice(dstOffset, count)); break;
            default: throw new ArgumentException($"Unsupported element type {src.GetType().GetElementType()!.Name}.");
        }
    }

    /// <summary>Typed form of <see cref="StridedCopyRange(Array,int,ReadOnlySpan{int},ReadOnlySpan{int},long,int,Array,int)"/>; <paramref name="dst"/> has the range's length.</summary>
    public static void StridedCopyRange<T>(ReadOnlySpan<T> src, int offset, ReadOnlySpan<int> srcStrides, ReadOnlySpan<int> outDims, long start, Span<T> dst)
    {
        var rank = outDims.Length;
        if (dst.Length == 0) return;
        if (rank == 0)
        {
            dst[0] = src[offset];
            return;
        }
        // Multi-index of the first element, and its source position.
        Span<int> index = stackalloc int[rank];
        var rem = start;
        var srcPos = offset;
        for (var axis = rank - 1; axis >= 0; axis--)
        {
            index[axis] = (int)(rem % outDims[axis]);
            rem /= outDims[axis];
            srcPos += index[axis] * srcStrides[axis];
        }
        var inner = outDims[rank - 1];
        var innerStride = srcStrides[rank - 1];
        var written = 0;
        while (written < dst.Length)
        {
            var run = Math.Min(inner - index[rank - 1], dst.Length - written);
            var row = dst.Slice(written, run);
            if (innerStride == 1) src.Slice(srcPos, run).CopyTo(row);
            else if (innerStride == 0) row.Fill(src[srcPos]);
            else
                for (int j = 0, p = srcPos; j < run; j++, p += innerStride) row[j] = src[p];
            written += run;
            // Advance to the start of the next inner run (odometer over the outer axes).
            srcPos += run * innerStride;
            index[rank - 1] += run;
            if (index[rank - 1] < inner) continue;
            srcPos -= inner * innerStride;
            index[rank - 1] = 0;
            for (var axis = rank - 2; axis >= 0; axis--)
            {
                index[axis]++;
                srcPos += srcStrides[axis];
                if (index[axis] < outDims[axis]) break;
                srcPos -= srcStrides[axis] * outDims[axis];
                index[axis] = 0;
            }
        }
    }

    /// <summary>Whether <paramref name="perm"/> leaves every axis where it is (a loop: LINQ over int is JIT-compiled where plans are first built and run).</summary>
    public static bool IsIdentity(ReadOnlySpan<int> perm)
    {
        for (var i = 0; i < perm.Length; i++)
            if (perm[i] != i) return false;
        return true;
    }

    /// <summary>Permutes the axes of <paramref name="x"/> (a copy); output axis i is input axis perm[i].</summary>
    public static HostTensor Transpose(HostTensor x, int[] perm)
    {
        ValidatePermutation(perm, x.Rank, "Transpose");
        var inStrides = Strides(x.DimsSpan);
        var outDims = new int[perm.Length];
        var strides = new int[perm.Length];
        for (var i = 0; i < perm.Length; i++)
        {
            outDims[i] = x.DimsSpan[perm[i]];
            strides[i] = inStrides[perm[i]];
        }
        var result = HostTensor.Zeros(x.DType, outDims);
        StridedCopy(x.Data, 0, strides, outDims, result.Data);
        return result;
    }

    /// <summary>Throws naming <paramref name="opName"/> unless <paramref name="perm"/> is a permutation of 0..rank-1.</summary>
    public static void ValidatePermutation(int[] perm, int rank, string opName)
    {
        var seen = new bool[rank];
        if (perm.Length != rank)
            throw new InvalidArgumentException($"{opName}: perm {Shape.Format(perm)} has {perm.Length} entries but the input has rank {rank}.");
        foreach (var p in perm)
        {
            if (p < 0 || p >= rank || seen[p])
                throw new InvalidArgumentException($"{opName}: perm {Shape.Format(perm)} is not a permutation of the {rank} axes.");
            seen[p] = true;
        }
    }
}

/// <summary>Element conversion between the dtypes, with C cast semantics.</summary>
public static class DTypeConversion
{
    /// <summary>Converts every element of <paramref name="src"/> into <paramref name="dst"/> (same length).</summary>
    /// <remarks>
    /// Plain casts per pair of element types rather than one generic-math loop: C#'s casts are the C semantics wanted
    /// (floats truncate toward zero and saturate, NaN gives 0; integers wrap), and generic math over the framework's
    /// number interfaces is not in any ReadyToRun image, so every process JIT-compiled it while building its graph.
    /// </remarks>
    public static void Convert(Array src, Array dst)
    {
        if (src.Length != dst.Length) throw new ArgumentException("Conversion between arrays of different lengths.");
        var n = src.Length;
        switch (src, dst)
        {
            case (float[] s, float[] d): s.CopyTo(d, 0); break;
            case (float[] s, double[] d): for (var i = 0; i < n; i++) d[i] = s[i]; break;
            case (float[] s, int[] d): for (var i = 0; i < n; i++) d[i] = (int)s[i]; break;
            case (float[] s, long[] d): for (var i = 0; i < n; i++) d[i] = (long)s[i]; break;
            case (float[] s, bool[] d): for (var i = 0; i < n; i++) d[i] = s[i] != 0; break;
            case (double[] s, float[] d): for (var i = 0; i < n; i++) d[i] = (float)s[i]; break;
            case (double[] s, double[] d): s.CopyTo(d, 0); break;
            case (double[] s, int[] d): for (var i = 0; i < n; i++) d[i] = (int)s[i]; break;
            case (double[] s, long[] d): for (var i = 0; i < n; i++) d[i] = (long)s[i]; break;
            case (double[] s, bool[] d): for (var i = 0; i < n; i++) d[i] = s[i] != 0; break;
            case (int[] s, float[] d): for (var i = 0; i < n; i++) d[i] = s[i]; break;
            case (int[] s, double[] d): for (var i = 0; i < n; i++) d[i] = s[i]; break;
            case (int[] s, int[] d): s.CopyTo(d, 0); break;
            case (int[] s, long[] d): for (var i = 0; i < n; i++) d[i] = s[i]; break;
            case (int[] s, bool[] d): for (var i = 0; i < n; i++) d[i] = s[i] != 0; break;
            case (long[] s, float[] d): for (var i = 0; i < n; i++) d[i] = s[i]; break;
            case (long[] s, double[] d): for (var i = 0; i < n; i++) d[i] = s[i]; break;
            case (long[] s, int[] d): for (var i = 0; i < n; i++) d[i] = unchecked((int)s[i]); break;
            case (long[] s, long[] d): s.CopyTo(d, 0); break;
            case (long[] s, bool[] d): for (var i = 0; i < n; i++) d[i] = s[i] != 0; break;
            case (bool[] s, float[] d): for (var i = 0; i < n; i++) d[i] = s[i] ? 1 : 0; break;
            case (bool[] s, double[] d): for (var i = 0; i < n; i++) d[i] = s[i] ? 1 : 0; break;
            case (bool[] s, int[] d): for (var i = 0; i < n; i++) d[i] = s[i] ? 1 : 0; break;
            case (bool[] s, long[] d): for (var i = 0; i < n; i++) d[i] = s[i] ? 1 : 0; break;
            case (bool[] s, bool[] d): s.CopyTo(d, 0); break;
            default:
                throw new ArgumentException($"Unsupported conversion from {src.GetType().GetElementType()!.Name} to {dst.GetType().GetElementType()!.Name}.");
        }
    }
}
