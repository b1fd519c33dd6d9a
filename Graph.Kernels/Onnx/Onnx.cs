extern alias OnnxProto;

using Google.Protobuf;
using Graph.Core;
using P = OnnxProto::Onnx;

namespace Graph.Kernels;

/// <summary>An inference graph could not be exported to ONNX; the message names the op and why.</summary>
public sealed class OnnxExportException : GraphException
{
    /// <summary>Creates the error.</summary>
    public OnnxExportException(string message, Operation? op = null) : base(message) => Op = op;

    /// <summary>The op that could not be exported, when one is to blame.</summary>
    public Operation? Op { get; }
}

/// <summary>
/// Exports inference graphs to ONNX (opset <see cref="Opset"/>), to serve them with ONNX Runtime or any ONNX
/// runtime (tf2onnx's role for TF1). The part of the graph between <c>inputs</c> and <c>outputs</c> is translated op
/// by op (the mapping is in docs/interop.md); variables become initializers holding the session's current values; a
/// while loop becomes an ONNX <c>Loop</c> whose body is a subgraph, not unrolled, so <c>dynamic_rnn</c> takes any
/// sequence length. An op without a mapping fails the export with an <see cref="OnnxExportException"/> naming it.
/// </summary>
public static class Onnx
{
    /// <summary>The ONNX opset the exported models import (the default domain).</summary>
    public const int Opset = 17;

    /// <summary>The ONNX IR version of the exported models (the one that goes with opset 17).</summary>
    public const int IrVersion = 8;

    /// <summary>The op types the exporter maps, by Graph op type (TF's names).</summary>
    public static IReadOnlyCollection<string> SupportedOpTypes => OnnxOps.Mappings.Keys.Order(StringComparer.Ordinal).ToList();

    /// <summary>
    /// Writes the ONNX model computing <paramref name="outputs"/> from <paramref name="inputs"/> to
    /// <paramref name="path"/>. An input is named after its op (<c>X</c> for <c>X:0</c>; the full tensor name for
    /// other outputs of an op), and so is an output; variables take their values from <paramref name="session"/>.
    /// </summary>
    /// <exception cref="OnnxExportException">An op on the way has no ONNX mapping, a placeholder it needs is not an input, or a variable is not initialised.</exception>
    public static void Export(ComputeGraph graph, IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor> outputs, Session session, string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var bytes = ToBytes(graph, inputs, outputs, session);
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllBytes(full, bytes);
    }

    /// <summary>The serialized ONNX model (<c>ModelProto</c>) that <see cref="Export"/> writes.</summary>
    public static byte[] ToBytes(ComputeGraph graph, IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor> outputs, Session session) =>
        Build(graph, inputs, outputs, session).ToByteArray();

    /// <summary>The name an input or output tensor gets in the exported model: its op's name for output 0, else the tensor's name.</summary>
    public static string NameOf(Tensor tensor) => tensor.Index == 0 ? tensor.Op.Name : tensor.Name;

    internal static P.ModelProto Build(ComputeGraph graph, IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor> outputs, Session session)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(session);
        if (session.Graph != graph) throw new InvalidArgumentException("ONNX export: the session runs another graph than the one exported.");
        if (outputs.Count == 0) throw new InvalidArgumentException("ONNX export: no outputs to export.");
        foreach (var t in inputs.Concat(outputs)) graph.CheckOwned(t, "ONNX export");
        return new OnnxExport(graph, session).Build(inputs, outputs);
    }
}
