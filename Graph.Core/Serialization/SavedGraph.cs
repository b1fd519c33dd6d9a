using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Graph.Core;

/// <summary>Why a saved graph could not be read (<see cref="SavedGraphException.Error"/>).</summary>
public enum SavedGraphError
{
    /// <summary>The file is not a saved graph, is truncated, fails its checksum, or describes an inconsistent graph.</summary>
    Corrupt,
    /// <summary>The file is a saved graph of a format version this build cannot read (written by a newer Graph).</summary>
    UnsupportedVersion,
    /// <summary>The graph uses an op type that no loaded assembly defines.</summary>
    UnknownOpType,
}

/// <summary>A saved graph could not be read; the message names the file and what is wrong with it.</summary>
public sealed class SavedGraphException : GraphException
{
    /// <summary>Creates the error.</summary>
    public SavedGraphException(string message, string path, SavedGraphError error, Exception? inner = null) : base(message, inner)
    {
        Path = path;
        Error = error;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>What is wrong.</summary>
    public SavedGraphError Error { get; }
}

/// <summary>
/// The saved-graph file format (docs/interop.md): a header line <c>GRAPHDEF {version} sha256:{hex}</c> and a UTF-8
/// JSON document describing the graph, one op per line. The checksum covers every byte after the header line.
/// </summary>
public static class SavedGraph
{
    /// <summary>The ASCII word every saved graph starts with.</summary>
    public const string Magic = "GRAPHDEF";

    /// <summary>The format version this build writes (and the newest it reads).</summary>
    public const int FormatVersion = 1;

    internal static void Save(ComputeGraph graph, string path)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var payload = Encoding.UTF8.GetBytes(SavedGraphWriter.Write(graph));
        var header = Encoding.ASCII.GetBytes($"{Magic} {FormatVersion} sha256:{Convert.ToHexStringLower(SHA256.HashData(payload))}\n");
        var full = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        // Written beside the target and renamed over it, so a crash never leaves half a graph under its name.
        var temp = $"{full}.tmp-{Guid.NewGuid():N}";
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                stream.Write(header);
                stream.Write(payload);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    internal static ComputeGraph Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var bytes = File.ReadAllBytes(path);
        SavedGraphException Corrupt(string why) => new($"'{path}' is not a readable saved graph: {why}", path, SavedGraphError.Corrupt);

        var newline = Array.IndexOf(bytes, (byte)'\n');
        if (bytes.Length < Magic.Length + 1 || !bytes.AsSpan(0, Magic.Length + 1).SequenceEqual(Encoding.ASCII.GetBytes(Magic + " ")))
            throw Corrupt($"it does not start with '{Magic} ' (a saved graph's first line is '{Magic} {{version}} sha256:{{hex}}').");
        if (newline < 0) throw Corrupt("the header line is not terminated; the file is truncated.");
        var fields = Encoding.ASCII.GetString(bytes, 0, newline).Split(' ');
        if (fields.Length < 2 || !int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var version))
            throw Corrupt("the header line has no format version.");
        if (version > FormatVersion)
            throw new SavedGraphException(
                $"'{path}' is a saved graph of format version {version}, written by a newer Graph; this build reads format version {FormatVersion} and older.",
                path, SavedGraphError.UnsupportedVersion);
        if (version < 1) throw Corrupt($"format version {version} does not exist.");
        if (fields.Length != 3 || !fields[2].StartsWith("sha256:", StringComparison.Ordinal) || fields[2].Length != 7 + 64)
            throw Corrupt("the header line has no sha256 checksum.");
        var payload = bytes.AsSpan(newline + 1);
        if (!Convert.ToHexStringLower(SHA256.HashData(payload)).Equals(fields[2][7..], StringComparison.OrdinalIgnoreCase))
            throw Corrupt("its contents do not match the checksum in its header (the file is truncated or was modified).");
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(payload, documentOptions: new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            throw Corrupt($"its contents are not valid JSON ({e.Message}).");
        }
        if (root is not JsonObject graph) throw Corrupt("its contents are not a JSON object.");
        return new SavedGraphReader(path, graph).Read();
    }
}
