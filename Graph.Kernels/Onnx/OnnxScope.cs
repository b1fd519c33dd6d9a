extern alias OnnxProto;

using Graph.Core;
using P = OnnxProto::Onnx;

namespace Graph.Kernels;

/// <summary>
/// Where Graph tensors get their ONNX values: one ONNX graph (the main graph or a loop body) for the ops of one loop
/// frame (null: the top level). A tensor of an enclosing frame is computed by the parent scope and read from the
/// body by name, as ONNX lets subgraphs read outer values. Loop conditions are translated twice, into scopes of the
/// same frame with the loop variables bound to other values (<see cref="Suffix"/> keeps their names apart).
/// </summary>
internal sealed class OnnxScope(OnnxExport export, P.GraphProto graph, LoopFrame? frame, OnnxScope? parent, string suffix)
{
    private readonly Dictionary<Tensor, string> _values = new();

    public OnnxExport Export => export;
    public P.GraphProto Graph => graph;
    public LoopFrame? Frame => frame;
    public OnnxScope? Parent => parent;
    public string Suffix => suffix;

    /// <summary>The outermost scope (the main graph), where variables become initializers.</summary>
    public OnnxScope Root => parent?.Root ?? this;

    /// <summary>Gives <paramref name="t"/> its ONNX value; a value already given (a fed tensor) is kept.</summary>
    public void Bind(Tensor t, string name) => _values.TryAdd(t, name);

    /// <summary>The ONNX value of <paramref name="t"/>, translating the ops it needs first (in dependency order).</summary>
    public string Value(Tensor t)
    {
        var owner = Owner(t);
        if (owner != this) return owner.Value(t);
        // Iterative post-order over the tensors this scope owns, so long unrolled graphs cannot overflow the stack.
        var stack = new Stack<(Tensor Tensor, bool InputsDone)>();
        stack.Push((t, false));
        while (stack.Count > 0)
        {
            var (tensor, inputsDone) = stack.Pop();
            if (_values.ContainsKey(tensor)) continue;
            if (inputsDone)
            {
                OnnxOps.Emit(tensor.Op, this);
                continue;
            }
            stack.Push((tensor, true));
            for (var i = tensor.Op.Inputs.Count - 1; i >= 0; i--)
            {
                var input = tensor.Op.Inputs[i];
                if (Owner(input) == this && !_values.ContainsKey(input)) stack.Push((input, false));
            }
        }
        return _values.TryGetValue(t, out var name)
            ? name
            : throw new OnnxExportException($"ONNX export: op '{t.Op.Name}' ({t.Op.Type}) gave no value for {t.Name}.", t.Op);
    }

    /// <summary>The scope that computes <paramref name="t"/>: this one when its op is in this scope's frame (or a frame inside it).</summary>
    private OnnxScope Owner(Tensor t)
    {
        var scope = this;
        while (scope.Parent != null && !(scope.Frame?.Encloses(t.Op.Frame) ?? true)) scope = scope.Parent;
        return scope;
    }

    /// <summary>A new value name for an intermediate result of <paramref name="op"/>.</summary>
    public string Fresh(Operation op, string hint) => export.Unique($"{op.Name}{suffix}/{hint}");

    /// <summary>Appends a node with one output and returns the output's name.</summary>
    public string Node(Operation op, string type, string[] inputs, params P.AttributeProto[] attributes)
    {
        var output = Fresh(op, type);
        graph.Node.Add(OnnxExport.Node(type, inputs, [output], output, attributes));
        return output;
    }

    /// <summary>Appends a node with <paramref name="count"/> outputs and returns their names.</summary>
    public string[] Nodes(Operation op, string type, string[] inputs, int count, params P.AttributeProto[] attributes)
    {
        var outputs = Enumerable.Range(0, count).Select(i => Fresh(op, $"{type}_{i}")).ToArray();
        graph.Node.Add(OnnxExport.Node(type, inputs, outputs, outputs[0], attributes));
        return outputs;
    }

    /// <summary>A constant node holding <paramref name="value"/>.</summary>
    public string Constant(Operation op, HostTensor value) => Node(op, "Constant", [], Attr("value", OnnxExport.TensorProto(value)));

    /// <summary>A 1-D int64 constant (axes, shapes, indices).</summary>
    public string Int64s(Operation op, params long[] values) => Constant(op, HostTensor.From(values, values.Length));

    /// <summary>A scalar constant of <paramref name="dtype"/>.</summary>
    public string Scalar(Operation op, DType dtype, double value) => Constant(op, HostTensor.Scalar(value).AsType(dtype));

    public static P.AttributeProto Attr(string name, long value) => new() { Name = name, Type = P.AttributeProto.Types.AttributeType.Int, I = value };

    public static P.AttributeProto Attr(string name, IEnumerable<long> values)
    {
        var a = new P.AttributeProto { Name = name, Type = P.AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    public static P.AttributeProto Attr(string name, P.TensorProto value) => new() { Name = name, Type = P.AttributeProto.Types.AttributeType.Tensor, T = value };

    public static P.AttributeProto Attr(string name, P.GraphProto value) => new() { Name = name, Type = P.AttributeProto.Types.AttributeType.Graph, G = value };
}
