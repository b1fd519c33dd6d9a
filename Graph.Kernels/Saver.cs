using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Graph.Core;

namespace Graph.Kernels;

/// <summary>Why a checkpoint could not be read or restored (<see cref="CheckpointException.Error"/>).</summary>
public enum CheckpointError
{
    /// <summary>The file is not a Graph checkpoint, is truncated, or fails its checksum.</summary>
    Corrupt,
    /// <summary>The file is a Graph checkpoint of a format version this build cannot read.</summary>
    UnsupportedVersion,
    /// <summary>The checkpoint holds no value for a variable being restored.</summary>
    MissingVariable,
    /// <summary>The checkpoint's value of a variable has another dtype than the variable.</summary>
    DTypeMismatch,
    /// <summary>The checkpoint's value of a variable has a shape incompatible with the variable's.</summary>
    ShapeMismatch,
}

/// <summary>A checkpoint file could not be read, or does not fit the variables being restored; the message names the file and the variable.</summary>
public sealed class CheckpointException : GraphException
{
    /// <summary>Creates the error.</summary>
    public CheckpointException(string message, string path, CheckpointError error, string? variableName = null) : base(message)
    {
        Path = path;
        Error = error;
        VariableName = variableName;
    }

    /// <summary>The checkpoint file.</summary>
    public string Path { get; }

    /// <summary>What is wrong.</summary>
    public CheckpointError Error { get; }

    /// <summary>The variable concerned, when there is one.</summary>
    public string? VariableName { get; }
}

/// <summary>
/// Saves and restores variable values (tf.train.Saver). A checkpoint is one file, <c>{prefix}-{step}.ckpt</c>, in the
/// versioned, checksummed format of docs/checkpoints.md; it is written to a temporary file in the same directory and
/// then moved over the target, so a crash never leaves a half-written checkpoint under a checkpoint's name. The state
/// file <c>checkpoint</c> next to it (TF's) lists the kept checkpoints, newest last, and is replaced the same way;
/// <see cref="LatestCheckpoint"/> reads it. A process killed while saving leaves its temporary file behind; the next
/// save into that directory, or <see cref="LatestCheckpoint"/> on it, deletes such leftovers (never a file another
/// running process is writing). Only variable values are saved: random stream positions, plans and feeds are not part
/// of a checkpoint.
/// </summary>
public sealed class Saver
{
    /// <summary>The name of the state file listing a directory's kept checkpoints.</summary>
    public const string StateFileName = "checkpoint";

    /// <summary>The extension of checkpoint files.</summary>
    public const string Extension = ".ckpt";

    /// <summary>The 8 ASCII bytes every checkpoint file starts with.</summary>
    public const string Magic = "GRAPHCKP";

    /// <summary>The format version this build writes (and the only one it reads).</summary>
    public const int FormatVersion = 1;

    private const int HashLength = 32;
    private const int MaxRank = 64;
    private readonly List<Variable> _variables;
    private readonly List<string> _kept = new();
    private string? _keptDirectory;

    /// <summary>
    /// Creates a saver of <paramref name="varList"/> (default: the global variables of the default graph at this
    /// moment, which include optimizer slots such as Adam's moments and β powers). Keeps the newest
    /// <paramref name="maxToKeep"/> checkpoints it writes and deletes older ones; 0 keeps them all.
    /// </summary>
    /// <exception cref="InvalidArgumentException">There are no variables, two share a name, or they span several graphs.</exception>
    public Saver(IEnumerable<Variable>? varList = null, int maxToKeep = 5)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxToKeep);
        _variables = (varList ?? ComputeGraph.Default.GetCollection<Variable>(GraphKeys.GlobalVariables)).ToList();
        if (_variables.Count == 0) throw new InvalidArgumentException("Saver: no variables to save.");
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var v in _variables)
        {
            ArgumentNullException.ThrowIfNull(v, nameof(varList));
            if (!names.Add(v.Name)) throw new InvalidArgumentException($"Saver: variable '{v.Name}' is listed twice; checkpoint names must be unique.");
            if (v.Graph != _variables[0].Graph)
                throw new InvalidArgumentException($"Saver: variables '{_variables[0].Name}' and '{v.Name}' belong to different graphs.");
        }
        MaxToKeep = maxToKeep;
    }

    /// <summary>The variables this saver saves and restores.</summary>
    public IReadOnlyList<Variable> Variables => _variables;

    /// <summary>How many of its newest checkpoints the saver keeps (0: all).</summary>
    public int MaxToKeep { get; }

    /// <summary>The full paths of the checkpoints currently kept, oldest first (TF's <c>last_checkpoints</c>).</summary>
    public IReadOnlyList<string> LastCheckpoints => _kept.ToList();

    /// <summary>
    /// Writes the variables' current values in <paramref name="session"/> to <c>{prefix}-{globalStep}.ckpt</c>
    /// (<c>{prefix}.ckpt</c> without a step), creating the directory if needed, then records it in the directory's
    /// state file and deletes the checkpoints beyond <see cref="MaxToKeep"/>. On the first save into a directory the
    /// saver takes over the checkpoints of the same prefix already listed there, so a resumed run keeps pruning them.
    /// Returns the checkpoint's path.
    /// </summary>
    /// <exception cref="FailedPreconditionException">A variable is not initialised in the session.</exception>
    public string Save(Session session, string prefix, int? globalStep = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        if (globalStep is < 0) throw new ArgumentOutOfRangeException(nameof(globalStep), globalStep, "The global step must not be negative.");
        var prefixName = System.IO.Path.GetFileName(prefix);
        if (prefixName.Length == 0) throw new ArgumentException($"The checkpoint prefix '{prefix}' must end in a file name, not a directory.", nameof(prefix));

        var values = new List<(string Name, HostTensor Value)>(_variables.Count);
        foreach (var v in _variables)
        {
            if (v.Graph != session.Graph) throw new InvalidArgumentException($"Saver: variable '{v.Name}' is not an element of the session's graph.");
            var value = session.GetVariableValue(v)
                ?? throw new FailedPreconditionException($"Saver: attempting to save variable '{v.Name}', which is not initialised in this session.");
            values.Add((v.Name, value));
        }

        var path = prefix + (globalStep is { } step ? "-" + step.ToString(CultureInfo.InvariantCulture) : "") + Extension;
        var fullPath = System.IO.Path.GetFullPath(path);
        var directory = System.IO.Path.GetDirectoryName(fullPath)!;
        Directory.CreateDirectory(directory);
        RemoveStaleTemporaries(directory);
        WriteAtomically(fullPath, stream => WriteCheckpoint(stream, values));

        if (!string.Equals(_keptDirectory, directory, StringComparison.Ordinal))
        {
            _keptDirectory = directory;
            _kept.Clear();
            _kept.AddRange(AdoptListed(directory, prefixName));
        }
        _kept.RemoveAll(p => string.Equals(p, fullPath, StringComparison.Ordinal));
        _kept.Add(fullPath);
        var dropped = new List<string>();
        while (MaxToKeep > 0 && _kept.Count > MaxToKeep)
        {
            dropped.Add(_kept[0]);
            _kept.RemoveAt(0);
        }
        WriteState(directory, _kept);
        // Deleted only once the state file no longer lists them.
        foreach (var old in dropped) TryDelete(old);
        return path;
    }

    /// <summary>
    /// Sets the variables in <paramref name="session"/> to their values in the checkpoint at <paramref name="path"/>;
    /// the variables need not be initialised. The whole file is checked first (format, checksum, a value of the
    /// right dtype and shape for every variable), so a failed restore changes nothing. Values in the file that no
    /// variable of this saver names are ignored.
    /// </summary>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    /// <exception cref="CheckpointException">The file is corrupt or truncated, or does not fit a variable (missing, other dtype or shape).</exception>
    public void Restore(Session session, string path)
    {
        ArgumentNullException.ThrowIfNull(session);
        var entries = ReadCheckpoint(path);
        var assignments = new List<(Variable Variable, HostTensor Value)>(_variables.Count);
        foreach (var v in _variables)
        {
            if (v.Graph != session.Graph) throw new InvalidArgumentException($"Saver: variable '{v.Name}' is not an element of the session's graph.");
            if (!entries.TryGetValue(v.Name, out var value))
            {
                var held = entries.Keys.Take(20).Select(k => $"'{k}'");
                throw new CheckpointException(
                    $"Checkpoint '{path}' has no value for variable '{v.Name}' ({v.DType.Name()} {v.Shape}); it holds {entries.Count} " +
                    $"value(s): {string.Join(", ", held)}{(entries.Count > 20 ? ", …" : "")}.",
                    path, CheckpointError.MissingVariable, v.Name);
            }
            if (value.DType != v.DType)
                throw new CheckpointException(
                    $"Checkpoint '{path}': variable '{v.Name}' is {v.DType.Name()} in the graph but {value.DType.Name()} in the checkpoint.",
                    path, CheckpointError.DTypeMismatch, v.Name);
            if (!v.Shape.IsCompatibleWith(value.Shape))
                throw new CheckpointException(
                    $"Checkpoint '{path}': variable '{v.Name}' has shape {v.Shape} in the graph but {value.Shape} in the checkpoint.",
                    path, CheckpointError.ShapeMismatch, v.Name);
            assignments.Add((v, value));
        }
        session.SetVariableValues(assignments);
    }

    /// <summary>
    /// The newest checkpoint recorded in <paramref name="directory"/>'s state file (tf.train.latest_checkpoint), or null
    /// when there is no state file or none of the checkpoints it lists exists any more. Temporary files of interrupted
    /// writes are never returned (only checkpoints whose writes completed are ever listed), and are deleted when no
    /// running process is writing them.
    /// </summary>
    public static string? LatestCheckpoint(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        RemoveStaleTemporaries(directory);
        var (latest, all) = ReadState(directory);
        foreach (var name in (latest is null ? all : all.Append(latest)).Reverse())
        {
            var path = System.IO.Path.Combine(directory, name);
            if (File.Exists(path)) return path;
        }
        return null;
    }

    /// <summary>
    /// Reads every value of the checkpoint at <paramref name="path"/> (tf.train.load_checkpoint), keyed by variable
    /// name, after checking its format and checksum.
    /// </summary>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    /// <exception cref="CheckpointException">The file is not a Graph checkpoint, is of another format version, or is corrupt or truncated.</exception>
    public static IReadOnlyDictionary<string, HostTensor> ReadCheckpoint(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Checkpoint '{path}' does not exist.", path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var length = stream.Length;
        CheckpointException Corrupt(string what) => new($"Checkpoint '{path}' is corrupt: {what}.", path, CheckpointError.Corrupt);

        var header = new byte[16];
        var headerRead = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        if (headerRead < Magic.Length || Encoding.ASCII.GetString(header, 0, Magic.Length) != Magic)
            throw Corrupt($"it does not start with \"{Magic}\", so it is not a Graph checkpoint (or it is truncated to {length} bytes)");
        if (length < header.Length + HashLength)
            throw Corrupt($"it is truncated: {length} bytes is shorter than the smallest checkpoint ({header.Length + HashLength} bytes)");
        var version = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(8));
        if (version != FormatVersion)
            throw new CheckpointException(
                $"Checkpoint '{path}' has format version {version}; this build reads version {FormatVersion} only.", path, CheckpointError.UnsupportedVersion);

        // The checksum covers everything before it; check it before trusting any length in the file.
        var body = length - HashLength;
        stream.Position = 0;
        var expected = new byte[HashLength];
        using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
        {
            var buffer = new byte[1 << 16];
            for (var left = body; left > 0;)
            {
                var n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                if (n <= 0) throw Corrupt("it ended while being read");
                hash.AppendData(buffer, 0, n);
                left -= n;
            }
            stream.ReadExactly(expected);
            if (!CryptographicOperations.FixedTimeEquals(hash.GetHashAndReset(), expected))
                throw Corrupt($"the SHA-256 checksum of its first {body} bytes does not match the one stored at its end (the file is damaged or truncated)");
        }

        stream.Position = 12;
        var result = new Dictionary<string, HostTensor>(StringComparer.Ordinal);
        using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        try
        {
            var count = reader.ReadUInt32();
            for (var i = 0u; i < count; i++)
            {
                var nameLength = reader.ReadUInt32();
                if (nameLength > body - stream.Position) throw Corrupt($"entry {i} has a name of {nameLength} bytes, past the end of the data");
                var name = Encoding.UTF8.GetString(reader.ReadBytes((int)nameLength));
                var dtype = DTypeOfCode(reader.ReadByte()) ?? throw Corrupt($"entry '{name}' has an unknown dtype code");
                var rank = reader.ReadUInt32();
                if (rank > MaxRank) throw Corrupt($"entry '{name}' has rank {rank}");
                var dims = new int[rank];
                long elements = 1;
                for (var d = 0; d < rank; d++)
                {
                    var dim = reader.ReadInt64();
                    if (dim < 0 || dim > int.MaxValue) throw Corrupt($"entry '{name}' has dimension {dim}");
                    dims[d] = (int)dim;
                    elements *= dim; // both factors are at most int.MaxValue here, so this cannot overflow
                    if (elements > int.MaxValue) throw Corrupt($"entry '{name}' has more than {int.MaxValue} elements");
                }
                var byteLength = reader.ReadUInt64();
                if (byteLength != (ulong)(elements * dtype.Size()))
                    throw Corrupt($"entry '{name}' ({dtype.Name()} {Shape.Format(dims)}) declares {byteLength} data bytes instead of {elements * dtype.Size()}");
                if ((long)byteLength > body - stream.Position) throw Corrupt($"the data of entry '{name}' runs past the end of the file");
                var value = HostTensor.Zeros(dtype, dims);
                var bytes = HostOps.BytesOf(value.Data);
                stream.ReadExactly(bytes);
                FromLittleEndian(bytes, dtype.Size());
                if (dtype == DType.Bool)
                    foreach (var b in bytes)
                        if (b > 1) throw Corrupt($"entry '{name}' holds the bool byte {b}");
                if (!result.TryAdd(name, value)) throw Corrupt($"variable '{name}' appears twice");
            }
        }
        catch (EndOfStreamException)
        {
            throw Corrupt("an entry runs past the end of the data");
        }
        if (stream.Position != body) throw Corrupt($"{body - stream.Position} unexpected bytes follow the last entry");
        return result;
    }

    /// <summary>Writes the checkpoint format of docs/checkpoints.md.</summary>
    private static void WriteCheckpoint(Stream stream, IReadOnlyList<(string Name, HostTensor Value)> values)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> scratch = stackalloc byte[8];

        Put(Encoding.ASCII.GetBytes(Magic));
        PutUInt32((uint)FormatVersion, scratch);
        PutUInt32((uint)values.Count, scratch);
        foreach (var (name, value) in values)
        {
            var nameBytes = Encoding.UTF8.GetBytes(name);
            PutUInt32((uint)nameBytes.Length, scratch);
            Put(nameBytes);
            scratch[0] = CodeOf(value.DType);
            Put(scratch[..1]);
            PutUInt32((uint)value.Rank, scratch);
            foreach (var d in value.DimsSpan)
            {
                BinaryPrimitives.WriteInt64LittleEndian(scratch, d);
                Put(scratch);
            }
            var data = HostOps.BytesOf(value.Data);
            BinaryPrimitives.WriteUInt64LittleEndian(scratch, (ulong)data.Length);
            Put(scratch);
            if (BitConverter.IsLittleEndian) Put(data);
            else
            {
                var copy = data.ToArray();
                FromLittleEndian(copy, value.DType.Size());
                Put(copy);
            }
        }
        stream.Write(hash.GetHashAndReset());

        void Put(ReadOnlySpan<byte> bytes)
        {
            stream.Write(bytes);
            hash.AppendData(bytes);
        }

        void PutUInt32(uint v, Span<byte> buffer)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(buffer, v);
            Put(buffer[..4]);
        }
    }

    /// <summary>Swaps each element's bytes on big-endian machines (the file is little-endian); nothing to do elsewhere.</summary>
    private static void FromLittleEndian(Span<byte> bytes, int elementSize)
    {
        if (BitConverter.IsLittleEndian || elementSize == 1) return;
        for (var i = 0; i < bytes.Length; i += elementSize) bytes.Slice(i, elementSize).Reverse();
    }

    private static byte CodeOf(DType dtype) => dtype switch
    {
        DType.Float32 => 1,
        DType.Float64 => 2,
        DType.Int32 => 3,
        DType.Int64 => 4,
        DType.Bool => 5,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    private static DType? DTypeOfCode(byte code) => code switch
    {
        1 => DType.Float32,
        2 => DType.Float64,
        3 => DType.Int32,
        4 => DType.Int64,
        5 => DType.Bool,
        _ => null,
    };

    /// <summary>
    /// Writes <paramref name="fullPath"/> through a temporary file in the same directory, flushed to disk and then
    /// moved over the target, so readers see the old file or the complete new one, never a partial one.
    /// </summary>
    private static void WriteAtomically(string fullPath, Action<Stream> write)
    {
        // The writer's process id is in the name, so a later save can tell a temporary that a killed writer left from
        // one being written now.
        var temp = $"{fullPath}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        Writing.TryAdd(temp, 0);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, fullPath, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        finally
        {
            Writing.TryRemove(temp, out _);
        }
    }

    /// <summary>Temporary files this process is writing now (never removed as stale).</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> Writing = new(StringComparer.Ordinal);

    /// <summary>A temporary of this class's naming: a checkpoint or state file name, <c>.tmp-</c>, the writer's process id (older builds wrote none) and a hex id.</summary>
    private static readonly Regex TemporaryName = new(
        "^(?:.+" + Regex.Escape(Extension) + "|" + Regex.Escape(StateFileName) + @")\.tmp-(?:(?<pid>[0-9]+)-)?[0-9a-f]{16,32}$", RegexOptions.CultureInvariant);

    /// <summary>How old a temporary without a process id (or of a live process that may reuse an id) must be to count as abandoned.</summary>
    private static readonly TimeSpan AbandonedAfter = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Deletes the temporaries of interrupted writes in <paramref name="directory"/> (a process killed while saving
    /// leaves one per save): those of processes that no longer run, this process's own that no write holds, and any
    /// untouched for a day; those a live writer may still be writing are kept. Returns how many were deleted.
    /// </summary>
    internal static int RemoveStaleTemporaries(string directory)
    {
        if (!Directory.Exists(directory)) return 0;
        var removed = 0;
        IEnumerable<string> files;
        try { files = Directory.EnumerateFiles(directory, "*.tmp-*").ToList(); }
        catch (IOException) { return 0; }
        catch (UnauthorizedAccessException) { return 0; }
        foreach (var file in files)
        {
            var match = TemporaryName.Match(System.IO.Path.GetFileName(file));
            if (!match.Success || Writing.ContainsKey(System.IO.Path.GetFullPath(file))) continue;
            DateTime written;
            try { written = File.GetLastWriteTimeUtc(file); }
            catch (IOException) { continue; }
            var age = DateTime.UtcNow - written;
            var stale = match.Groups["pid"].Success && int.TryParse(match.Groups["pid"].Value, CultureInfo.InvariantCulture, out var pid)
                ? pid == Environment.ProcessId || !IsRunning(pid) || age > TimeSpan.FromDays(1)
                : age > AbandonedAfter;
            if (stale && TryDelete(file)) removed++;
        }
        return removed;
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    private static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    /// <summary>The checkpoints of prefix <paramref name="prefixName"/> that the directory's state file lists and that still exist.</summary>
    private static IEnumerable<string> AdoptListed(string directory, string prefixName)
    {
        var pattern = new Regex("^" + Regex.Escape(prefixName) + "(-[0-9]+)?" + Regex.Escape(Extension) + "$", RegexOptions.CultureInvariant);
        var (_, all) = ReadState(directory);
        return all.Where(n => pattern.IsMatch(System.IO.Path.GetFileName(n)))
                  .Select(n => System.IO.Path.GetFullPath(System.IO.Path.Combine(directory, n)))
                  .Where(File.Exists)
                  .Distinct(StringComparer.Ordinal)
                  .ToList();
    }

    /// <summary>Replaces the state file with one listing <paramref name="kept"/> (newest last), as TF's text format.</summary>
    private static void WriteState(string directory, IReadOnlyList<string> kept)
    {
        var sb = new StringBuilder();
        sb.Append("model_checkpoint_path: ").Append(QuoteState(Relative(directory, kept[^1]))).Append('\n');
        foreach (var p in kept) sb.Append("all_model_checkpoint_paths: ").Append(QuoteState(Relative(directory, p))).Append('\n');
        var bytes = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(sb.ToString());
        WriteAtomically(System.IO.Path.Combine(directory, StateFileName), s => s.Write(bytes));
    }

    private static string Relative(string directory, string fullPath) =>
        string.Equals(System.IO.Path.GetDirectoryName(fullPath), directory, StringComparison.Ordinal) ? System.IO.Path.GetFileName(fullPath) : fullPath;

    /// <summary>The latest and all checkpoint names the directory's state file lists (empty when it has none).</summary>
    private static (string? Latest, List<string> All) ReadState(string directory)
    {
        var file = System.IO.Path.Combine(directory, StateFileName);
        string? latest = null;
        var all = new List<string>();
        if (!File.Exists(file)) return (latest, all);
        foreach (var line in File.ReadAllLines(file, Encoding.UTF8))
        {
            var colon = line.IndexOf(':');
            if (colon < 0) continue;
            var key = line[..colon].Trim();
            var value = UnquoteState(line[(colon + 1)..].Trim());
            if (value is null || value.Length == 0) continue;
            if (key == "model_checkpoint_path") latest = value;
            else if (key == "all_model_checkpoint_paths") all.Add(value);
        }
        return (latest, all);
    }

    private static string QuoteState(string s) => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    private static string? UnquoteState(string s)
    {
        if (s.Length < 2 || s[0] != '"' || s[^1] != '"') return null;
        var sb = new StringBuilder();
        for (var i = 1; i < s.Length - 1; i++)
        {
            if (s[i] == '\\' && i + 1 < s.Length - 1) i++;
            sb.Append(s[i]);
        }
        return sb.ToString();
    }
}
