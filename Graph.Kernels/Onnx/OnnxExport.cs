extern alias OnnxProto;

using Google.Protobuf;
using Graph.Core;
using P = OnnxProto::Onnx;

namespace Graph.Kernels;

/// <summary>
/// One export: the ONNX graphs being built (the main graph and loop bodies), unique value names across all of them,
/// and the variable values the initializers take.
/// </summary>
internal sealed class OnnxExport(ComputeGraph graph, Session session)
{
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<Operation, Variable> _variables =
        graph.GetCollection<Variable>(GraphKeys.GlobalVariables).GroupBy(v => v.Op).ToDictionary(g => g.Key, g => g.First());

    public P.ModelProto Build(IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor> outputs)
    {
        var main = new P.GraphProto { Name = "graph" };
        var root = new OnnxScope(this, main, frame: null, parent: null, suffix: "");
        var ioNames = inputs.Concat(outputs).Select(Onnx.NameOf).ToList();
        foreach (var name in ioNames)
            if (!_names.Add(name)) throw new InvalidArgumentException($"ONNX export: two inputs or outputs would both be named '{name}'.");
        foreach (var t in inputs)
        {
            if (t.Op.Frame != null) throw new InvalidArgumentException($"ONNX export: input {t.Name} is inside the while loop {t.Op.Frame.Name}; inputs must be top-level tensors.");
            main.Input.Add(ValueInfo(Onnx.NameOf(t), t, symbolicDims: true));
            root.Bind(t, Onnx.NameOf(t));
        }
        foreach (var t in outputs)
        {
            if (t.Op.Frame != null) throw new InvalidArgumentException($"ONNX export: output {t.Name} is inside the while loop {t.Op.Frame.Name}; outputs must be top-level tensors.");
            var value = root.Value(t);
            main.Node.Add(Node("Identity", [value], [Onnx.NameOf(t)], Onnx.NameOf(t)));
            main.Output.Add(ValueInfo(Onnx.NameOf(t), t, symbolicDims: false));
        }
        return new P.ModelProto
        {
            IrVersion = Onnx.IrVersion,
            OpsetImport = { new P.OperatorSetIdProto { Domain = "", Version = Onnx.Opset } },
            ProducerName = "Graph",
            ProducerVersion = typeof(Onnx).Assembly.GetName().Version?.ToString() ?? "",
            DocString = "Exported by Graph (docs/interop.md).",
            Graph = main,
        };
    }

    /// <summary>A value name not used anywhere in the model yet, close to <paramref name="wanted"/>.</summary>
    public string Unique(string wanted)
    {
        if (_names.Add(wanted)) return wanted;
        for (var i = 1; ; i++)
            if (_names.Add($"{wanted}_{i}")) return $"{wanted}_{i}";
    }

    /// <summary>An initializer of the main graph holding the session's value of the variable <paramref name="op"/>.</summary>
    public string VariableInitializer(Operation op, OnnxScope root)
    {
        if (!_variables.TryGetValue(op, out var variable))
            throw new OnnxExportException($"ONNX export: variable '{op.Name}' is not in the graph's global variables collection, so its value cannot be read.", op);
        var value = session.GetVariableValue(variable)
            ?? throw new OnnxExportException($"ONNX export: variable '{op.Name}' is not initialised in the session; run its initializer or restore a checkpoint first.", op);
        var name = Unique(op.Name);
        root.Graph.Initializer.Add(TensorProto(value, name));
        return name;
    }

    public static P.NodeProto Node(string type, IEnumerable<string> inputs, IEnumerable<string> outputs, string name, params P.AttributeProto[] attributes)
    {
        var node = new P.NodeProto { OpType = type, Name = name };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        return node;
    }

    /// <summary>A tensor's type and static shape; unknown dimensions get a symbolic name for inputs, none otherwise.</summary>
    public static P.ValueInfoProto ValueInfo(string name, Tensor t, bool symbolicDims) => ValueInfo(name, t.DType, t.Shape, symbolicDims);

    public static P.ValueInfoProto ValueInfo(string name, DType dtype, Shape shape, bool symbolicDims = false)
    {
        var tensor = new P.TypeProto.Types.Tensor { ElemType = ElemType(dtype) };
        if (shape.HasRank)
        {
            tensor.Shape = new P.TensorShapeProto();
            for (var i = 0; i < shape.Rank; i++)
            {
                var dim = new P.TensorShapeProto.Types.Dimension();
                if (shape[i] >= 0) dim.DimValue = shape[i];
                else if (symbolicDims) dim.DimParam = $"{name}_dim{i}";
                tensor.Shape.Dim.Add(dim);
            }
        }
        return new P.ValueInfoProto { Name = name, Type = new P.TypeProto { TensorType = tensor } };
    }

    /// <summary>ONNX's TensorProto.DataType code of a dtype.</summary>
    public static int ElemType(DType dtype) => dtype switch
    {
        DType.Float32 => (int)P.TensorProto.Types.DataType.Float,
        DType.Float64 => (int)P.TensorProto.Types.DataType.Double,
        DType.Int32 => (int)P.TensorProto.Types.DataType.Int32,
        DType.Int64 => (int)P.TensorProto.Types.DataType.Int64,
        DType.Bool => (int)P.TensorProto.Types.DataType.Bool,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>A host tensor as an ONNX tensor (raw little-endian data; bool one byte each).</summary>
    public static P.TensorProto TensorProto(HostTensor value, string name = "")
    {
        var proto = new P.TensorProto { Name = name, DataType = ElemType(value.DType), RawData = ByteString.CopyFrom(HostOps.BytesOf(value.Data)) };
        foreach (var d in value.DimsSpan) proto.Dims.Add(d);
        return proto;
    }
}
