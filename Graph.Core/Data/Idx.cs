using System.Buffers.Binary;
using System.IO.Compression;

namespace Graph.Core.Data;

/// <summary>Element types of the IDX format (the third byte of an IDX file's magic number).</summary>
public enum IdxElementType : byte
{
    /// <summary>Unsigned byte, 0x08 (MNIST images and labels).</summary>
    UnsignedByte = 0x08,
    /// <summary>Signed byte, 0x09.</summary>
    SignedByte = 0x09,
    /// <summary>Big-endian 16-bit signed integer, 0x0B.</summary>
    Int16 = 0x0B,
    /// <summary>Big-endian 32-bit signed integer, 0x0C.</summary>
    Int32 = 0x0C,
    /// <summary>Big-endian 32-bit IEEE float, 0x0D.</summary>
    Float32 = 0x0D,
    /// <summary>Big-endian 64-bit IEEE float, 0x0E.</summary>
    Float64 = 0x0E,
}

/// <summary>
/// Reads and writes IDX files, the format of the MNIST and Fashion-MNIST distributions:
/// a magic number <c>00 00 TT NN</c> (element type <c>TT</c>, <c>NN</c> dimensions), <c>NN</c> big-endian
/// 32-bit dimension sizes, then the row-major big-endian elements. Files may be gzip-compressed; compression is
/// recognised by the gzip magic bytes <c>1F 8B</c>, not by the file name.
/// </summary>
/// <remarks>
/// A file that is truncated or corrupt (bad magic number, an unexpected number of dimensions, fewer data bytes
/// than the header promises, bytes after the data, a broken gzip stream) raises an
/// <see cref="InvalidDataException"/> naming the file and what is wrong; no partially filled tensor is ever
/// returned. Values are converted, never scaled: an unsigned byte 255 reads as 255f.
/// </remarks>
public static class Idx
{
    /// <summary>The largest number of dimensions this reader accepts.</summary>
    public const int MaxRank = 32;

    /// <summary>
    /// Reads the IDX file at <paramref name="path"/> (raw or gzip-compressed) into a tensor of
    /// <paramref name="dtype"/> (float32, float64, int32 or int64) with the file's dimensions.
    /// </summary>
    /// <param name="path">The file to read.</param>
    /// <param name="dtype">The dtype of the result. Integer files convert to any of the four; float files only to float32 or float64.</param>
    /// <param name="expectedRank">When given, a file with a different number of dimensions is rejected.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is truncated or corrupt; the message names the file.</exception>
    public static HostTensor Read(string path, DType dtype = DType.Float32, int? expectedRank = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        CheckTargetDType(dtype);
        if (!File.Exists(path)) throw new FileNotFoundException($"IDX file '{path}' does not exist.", path);
        using var stream = File.OpenRead(path);
        return Read(stream, dtype, path, expectedRank);
    }

    /// <summary>
    /// Reads an IDX stream (raw or gzip-compressed) into a tensor of <paramref name="dtype"/>;
    /// <paramref name="sourceName"/> names the stream in error messages.
    /// </summary>
    /// <param name="stream">The stream, positioned at the IDX (or gzip) header; read to its end, not disposed.</param>
    /// <param name="dtype">The dtype of the result (float32, float64, int32 or int64).</param>
    /// <param name="sourceName">What the stream is (a path, a resource name), for error messages.</param>
    /// <param name="expectedRank">When given, a stream with a different number of dimensions is rejected.</param>
    /// <exception cref="InvalidDataException">The stream is truncated or corrupt; the message names <paramref name="sourceName"/>.</exception>
    public static HostTensor Read(Stream stream, DType dtype, string sourceName, int? expectedRank = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(sourceName);
        CheckTargetDType(dtype);
        var raw = ReadRaw(stream, sourceName, expectedRank);
        if (raw.Type is IdxElementType.Float32 or IdxElementType.Float64 && !dtype.IsFloating())
            throw new ArgumentException($"IDX file '{sourceName}' holds {Describe(raw.Type)} values, which cannot be read as {dtype.Name()}; read them as float32 or float64.", nameof(dtype));
        var result = HostTensor.Zeros(dtype, raw.Dims);
        Decode(raw.Type, raw.Body, result.Data);
        return result;
    }

    /// <summary>
    /// Writes <paramref name="tensor"/> as an IDX file of element type <paramref name="type"/>, gzip-compressed when
    /// <paramref name="gzip"/> is true (by default: when the path ends in <c>.gz</c>).
    /// </summary>
    /// <param name="path">The file to create or overwrite.</param>
    /// <param name="tensor">A numeric tensor of rank 1 to <see cref="MaxRank"/>.</param>
    /// <param name="type">The element type to store. Integer types need integral values within their range.</param>
    /// <param name="gzip">Whether to gzip the file; <c>null</c> compresses exactly when the path ends in <c>.gz</c>.</param>
    /// <exception cref="ArgumentException">The tensor's rank or values do not fit <paramref name="type"/>.</exception>
    public static void Write(string path, HostTensor tensor, IdxElementType type = IdxElementType.UnsignedByte, bool? gzip = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tensor);
        var bytes = Encode(tensor, type); // validate before touching the file
        var compress = gzip ?? path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);
        using var file = File.Create(path);
        if (compress)
        {
            using var gz = new GZipStream(file, CompressionLevel.SmallestSize, leaveOpen: true);
            gz.Write(bytes);
        }
        else
        {
            file.Write(bytes);
        }
    }

    /// <summary>Writes <paramref name="tensor"/> to <paramref name="stream"/> as uncompressed IDX of element type <paramref name="type"/>.</summary>
    /// <param name="stream">The destination (not disposed).</param>
    /// <param name="tensor">A numeric tensor of rank 1 to <see cref="MaxRank"/>.</param>
    /// <param name="type">The element type to store. Integer types need integral values within their range.</param>
    /// <exception cref="ArgumentException">The tensor's rank or values do not fit <paramref name="type"/>.</exception>
    public static void Write(Stream stream, HostTensor tensor, IdxElementType type = IdxElementType.UnsignedByte)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensor);
        stream.Write(Encode(tensor, type));
    }

    /// <summary>The header and undecoded big-endian body of an IDX stream.</summary>
    internal readonly record struct RawIdx(IdxElementType Type, int[] Dims, byte[] Body);

    /// <summary>Reads and validates an IDX stream completely, decompressing gzip.</summary>
    internal static RawIdx ReadRaw(Stream stream, string name, int? expectedRank)
    {
        var source = stream;
        if (!source.CanSeek)
        {
            var copy = new MemoryStream();
            source.CopyTo(copy);
            copy.Position = 0;
            source = copy;
        }
        var start = source.Position;
        Span<byte> sniff = stackalloc byte[2];
        var sniffed = source.ReadAtLeast(sniff, 2, throwOnEndOfStream: false);
        source.Position = start;
        var gzipped = sniffed == 2 && sniff[0] == 0x1F && sniff[1] == 0x8B;
        var what = gzipped ? "IDX file (gzip)" : "IDX file";
        using var data = gzipped ? new GZipStream(source, CompressionMode.Decompress, leaveOpen: true) : null;
        var input = (Stream?)data ?? source;

        Exception Corrupt(string problem) => new InvalidDataException($"{what} '{name}' {problem}.");
        var decompressed = gzipped ? " after decompression" : "";

        var magic = new byte[4];
        var got = ReadFully(input, magic, name);
        if (got < 4)
            throw Corrupt(got == 0 && !gzipped && sniffed == 0 ? "is empty" : $"is too short for an IDX header: {got} of the 4 magic-number bytes{decompressed}");
        if (magic[0] != 0 || magic[1] != 0)
            throw Corrupt($"has a bad magic number 0x{Convert.ToHexString(magic)}: an IDX file starts with two zero bytes");
        var type = (IdxElementType)magic[2];
        if (!Enum.IsDefined(type))
            throw Corrupt($"has a bad magic number 0x{Convert.ToHexString(magic)}: unknown element type 0x{magic[2]:X2} (known: 08 ubyte, 09 sbyte, 0B int16, 0C int32, 0D float32, 0E float64)");
        int rank = magic[3];
        if (rank == 0 || rank > MaxRank)
            throw Corrupt($"has a wrong dimension count {rank} in its magic number (expected 1 to {MaxRank})");
        if (expectedRank is { } want && rank != want)
            throw Corrupt($"has {rank} dimension{(rank == 1 ? "" : "s")}, expected {want}");

        var header = new byte[4 * rank];
        got = ReadFully(input, header, name);
        if (got < header.Length)
            throw Corrupt($"is truncated in its header: {rank} dimension sizes need {header.Length} bytes, found {got}{decompressed}");
        var dims = new int[rank];
        long count = 1;
        for (var i = 0; i < rank; i++)
        {
            var d = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4 * i));
            if (d > int.MaxValue) throw Corrupt($"has an impossible size {d} for dimension {i}");
            dims[i] = (int)d;
            count *= d;
            if (count > Array.MaxLength) throw Corrupt($"declares dimensions {Shape.Format(dims[..(i + 1)])}…, more elements than fit in memory");
        }
        var bodyLength = count * ElementSize(type);
        if (bodyLength > Array.MaxLength)
            throw Corrupt($"declares {Shape.Format(dims)} {Describe(type)} values ({bodyLength} bytes), more than fit in memory");
        // Not trusting the header with a huge allocation: the length of a raw file is checked first, and the body
        // of a compressed one is read into a buffer that grows with the data actually decompressed.
        if (!gzipped && source.Length - source.Position < bodyLength)
            throw Corrupt($"is truncated: the header promises {Shape.Format(dims)} {Describe(type)} values ({bodyLength} bytes of data), found only {source.Length - source.Position}");

        var body = new byte[gzipped ? Math.Min(bodyLength, 1 << 24) : bodyLength];
        got = 0;
        while (true)
        {
            var n0 = ReadSome(input, body.AsSpan(got), name);
            got += n0;
            if (got == bodyLength || n0 == 0) break;
            if (got == body.Length) Array.Resize(ref body, (int)Math.Min(bodyLength, 2L * body.Length));
        }
        if (got < bodyLength)
            throw Corrupt($"is truncated: the header promises {Shape.Format(dims)} {Describe(type)} values ({bodyLength} bytes of data), found only {got}{decompressed}");
        // Reading to the end makes the decompressor check the gzip trailer (CRC and length).
        var extra = 0L;
        var scratch = new byte[4096];
        int n;
        while ((n = ReadSome(input, scratch, name)) > 0) extra += n;
        if (extra > 0)
            throw Corrupt($"has {extra} unexpected byte{(extra == 1 ? "" : "s")} after the {bodyLength} bytes of data its header declares ({Shape.Format(dims)} {Describe(type)})");
        if (gzipped) CheckGzipTrailer(source, start, [magic, header, body], Corrupt);
        return new RawIdx(type, dims, body);
    }

    /// <summary>
    /// Checks the gzip trailer (CRC-32 and length of the last member's data) against the decompressed bytes.
    /// GZipStream verifies a trailer that is present but silently accepts a stream cut off before or inside it.
    /// </summary>
    private static void CheckGzipTrailer(Stream source, long start, byte[][] parts, Func<string, Exception> corrupt)
    {
        const string cut = "is a truncated or corrupt gzip stream: its trailer does not match the decompressed data (the file was probably cut short)";
        if (source.Length - start < 18) throw corrupt(cut);
        Span<byte> trailer = stackalloc byte[8];
        source.Position = source.Length - 8;
        source.ReadExactly(trailer);
        var crc = BinaryPrimitives.ReadUInt32LittleEndian(trailer);
        var size = BinaryPrimitives.ReadUInt32LittleEndian(trailer[4..]);
        long total = 0;
        foreach (var part in parts) total += part.Length;
        // The trailer describes the last member (a file may concatenate several): the last `size` bytes of the
        // output. (An IDX file readable here decompresses to under 4 GiB, so the length needs no modulo.)
        if (size > total) throw corrupt(cut);
        var skip = total - size;
        var crc32 = new System.IO.Hashing.Crc32();
        foreach (var part in parts)
        {
            var from = (int)Math.Min(skip, part.Length);
            skip -= from;
            crc32.Append(part.AsSpan(from));
        }
        if (crc32.GetCurrentHashAsUInt32() != crc) throw corrupt(cut);
    }

    private static int ReadFully(Stream input, byte[] buffer, string name)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = ReadSome(input, buffer.AsSpan(total), name);
            if (n == 0) break;
            total += n;
        }
        return total;
    }

    private static int ReadSome(Stream input, Span<byte> buffer, string name)
    {
        try
        {
            return input.Read(buffer);
        }
        catch (InvalidDataException e)
        {
            // Thrown by GZipStream for a broken or truncated compressed stream.
            throw new InvalidDataException($"IDX file (gzip) '{name}' is not a valid gzip stream (corrupt or truncated): {e.Message}", e);
        }
    }

    private static void CheckTargetDType(DType dtype)
    {
        if (dtype is not (DType.Float32 or DType.Float64 or DType.Int32 or DType.Int64))
            throw new ArgumentException($"IDX data can be read as float32, float64, int32 or int64, not {dtype.Name()}.", nameof(dtype));
    }

    private static int ElementSize(IdxElementType type) => type switch
    {
        IdxElementType.UnsignedByte or IdxElementType.SignedByte => 1,
        IdxElementType.Int16 => 2,
        IdxElementType.Int32 or IdxElementType.Float32 => 4,
        IdxElementType.Float64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown IDX element type."),
    };

    private static string Describe(IdxElementType type) => type switch
    {
        IdxElementType.UnsignedByte => "ubyte",
        IdxElementType.SignedByte => "sbyte",
        IdxElementType.Int16 => "int16",
        IdxElementType.Int32 => "int32",
        IdxElementType.Float32 => "float32",
        IdxElementType.Float64 => "float64",
        _ => $"0x{(byte)type:X2}",
    };

    private static double ElementAt(IdxElementType type, ReadOnlySpan<byte> body, int i) => type switch
    {
        IdxElementType.UnsignedByte => body[i],
        IdxElementType.SignedByte => (sbyte)body[i],
        IdxElementType.Int16 => BinaryPrimitives.ReadInt16BigEndian(body[(2 * i)..]),
        IdxElementType.Int32 => BinaryPrimitives.ReadInt32BigEndian(body[(4 * i)..]),
        IdxElementType.Float32 => BinaryPrimitives.ReadSingleBigEndian(body[(4 * i)..]),
        IdxElementType.Float64 => BinaryPrimitives.ReadDoubleBigEndian(body[(8 * i)..]),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>Decodes big-endian elements into <paramref name="dst"/> (float[], double[], int[] or long[]).</summary>
    private static void Decode(IdxElementType type, byte[] body, Array dst)
    {
        switch (dst)
        {
            case float[] f when type == IdxElementType.UnsignedByte:
                for (var i = 0; i < f.Length; i++) f[i] = body[i];
                break;
            case int[] a when type == IdxElementType.UnsignedByte:
                for (var i = 0; i < a.Length; i++) a[i] = body[i];
                break;
            case int[] a when type == IdxElementType.Int32:
                for (var i = 0; i < a.Length; i++) a[i] = BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(4 * i));
                break;
            case float[] f when type == IdxElementType.Float32:
                for (var i = 0; i < f.Length; i++) f[i] = BinaryPrimitives.ReadSingleBigEndian(body.AsSpan(4 * i));
                break;
            case float[] f:
                for (var i = 0; i < f.Length; i++) f[i] = (float)ElementAt(type, body, i);
                break;
            case double[] d:
                for (var i = 0; i < d.Length; i++) d[i] = ElementAt(type, body, i);
                break;
            case int[] a: // sbyte, int16: exact
                for (var i = 0; i < a.Length; i++) a[i] = (int)ElementAt(type, body, i);
                break;
            case long[] l: // integers only (checked by the caller): exact
                for (var i = 0; i < l.Length; i++) l[i] = (long)ElementAt(type, body, i);
                break;
            default:
                throw new ArgumentException($"Cannot decode IDX data into {dst.GetType().Name}.");
        }
    }

    private static byte[] Encode(HostTensor tensor, IdxElementType type)
    {
        if (!Enum.IsDefined(type)) throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown IDX element type.");
        if (!tensor.DType.IsNumeric()) throw new ArgumentException($"Only numeric tensors can be written as IDX, not {tensor.DType.Name()}.", nameof(tensor));
        if (tensor.Rank is 0 or > MaxRank)
            throw new ArgumentException($"An IDX file holds 1 to {MaxRank} dimensions; the tensor has shape {tensor.Shape}.", nameof(tensor));
        var size = ElementSize(type);
        var header = 4 + 4 * tensor.Rank;
        var bytes = new byte[header + (long)tensor.Size * size];
        bytes[2] = (byte)type;
        bytes[3] = (byte)tensor.Rank;
        for (var i = 0; i < tensor.Rank; i++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), tensor.DimsSpan[i]);
        var body = bytes.AsSpan(header);
        var values = tensor.Data;
        (double min, double max) = type switch
        {
            IdxElementType.UnsignedByte => (byte.MinValue, byte.MaxValue),
            IdxElementType.SignedByte => (sbyte.MinValue, sbyte.MaxValue),
            IdxElementType.Int16 => (short.MinValue, short.MaxValue),
            IdxElementType.Int32 => (int.MinValue, int.MaxValue),
            _ => (double.NegativeInfinity, double.PositiveInfinity),
        };
        for (var i = 0; i < tensor.Size; i++)
        {
            var v = Convert.ToDouble(values.GetValue(i), System.Globalization.CultureInfo.InvariantCulture);
            if (type is not (IdxElementType.Float32 or IdxElementType.Float64) && (v != Math.Floor(v) || v < min || v > max))
                throw new ArgumentException($"Element {i} of the tensor is {v}, which is not a {Describe(type)} value (an integer in [{min}, {max}]).", nameof(tensor));
            switch (type)
            {
                case IdxElementType.UnsignedByte: body[i] = (byte)v; break;
                case IdxElementType.SignedByte: body[i] = (byte)(sbyte)v; break;
                case IdxElementType.Int16: BinaryPrimitives.WriteInt16BigEndian(body[(2 * i)..], (short)v); break;
                case IdxElementType.Int32: BinaryPrimitives.WriteInt32BigEndian(body[(4 * i)..], (int)v); break;
                case IdxElementType.Float32: BinaryPrimitives.WriteSingleBigEndian(body[(4 * i)..], (float)v); break;
                case IdxElementType.Float64: BinaryPrimitives.WriteDoubleBigEndian(body[(8 * i)..], v); break;
            }
        }
        return bytes;
    }
}
