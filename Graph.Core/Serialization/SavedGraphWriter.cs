using System.Text;
using System.Text.Json.Nodes;

namespace Graph.Core;

/// <summary>Writes a <see cref="ComputeGraph"/> as the JSON document of a saved graph (format in docs/interop.md).</summary>
internal sealed class SavedGraphWriter
{
    private readonly ComputeGraph _graph;
    private readonly List<LoopFrame> _frames = new();
    private readonly Dictionary<LoopFrame, int> _frameIds = new();

    private SavedGraphWriter(ComputeGraph graph) => _graph = graph;

    /// <summary>The JSON text: top-level fields, then one line per frame, op and collection item, so files diff well.</summary>
    public static string Write(ComputeGraph graph) => new SavedGraphWriter(graph).Write();

    private string Write()
    {
        var ops = _graph.Operations;
        foreach (var op in ops)
        {
            AddFrame(op.Frame);
            foreach (var value in op.Attributes.Values)
                switch (value)
                {
                    case LoopFrame f:
                        AddFrame(f);
                        break;
                    case WhileGradient s:
                        AddFrame(s.ForwardFrame);
                        AddFrame(s.GradFrame);
                        break;
                }
        }
        var encodedOps = ops.Select(Op).ToList();
        var libraries = new JsonArray(ops.Select(o => OpRegistry.LibraryOf(o.Def)).Distinct().Order(StringComparer.Ordinal).Select(n => (JsonNode)n!).ToArray());
        var names = new JsonObject();
        foreach (var (name, count) in _graph.NamesInUse.OrderBy(p => p.Key, StringComparer.Ordinal)) names[name] = count;

        var sb = new StringBuilder();
        sb.Append("{\n");
        sb.Append("  \"seed\": ").Append(_graph.Seed is { } seed ? JsonValue.Create(seed).ToJsonString() : "null").Append(",\n");
        sb.Append("  \"libraries\": ").Append(libraries.ToJsonString()).Append(",\n");
        sb.Append("  \"names_in_use\": ").Append(names.ToJsonString()).Append(",\n");
        sb.Append("  \"tf1_last_id\": ").Append(_graph.LastId).Append(",\n");
        AppendLines(sb, "frames", _frames.Select(Frame).ToList(), last: false);
        AppendLines(sb, "ops", encodedOps, last: false);
        sb.Append("  \"collections\": {");
        var keys = _graph.CollectionKeys;
        for (var k = 0; k < keys.Count; k++)
        {
            var items = _graph.GetCollection<object>(keys[k]).Select(item => CollectionItem(keys[k], item)).ToList();
            sb.Append(k == 0 ? "\n" : ",\n").Append("    ").Append(JsonValue.Create(keys[k]).ToJsonString()).Append(": [");
            for (var i = 0; i < items.Count; i++) sb.Append(i == 0 ? "\n" : ",\n").Append("      ").Append(items[i].ToJsonString());
            sb.Append(items.Count == 0 ? "]" : "\n    ]");
        }
        sb.Append(keys.Count == 0 ? "}\n" : "\n  }\n");
        sb.Append("}\n");
        return sb.ToString();
    }

    private static void AppendLines(StringBuilder sb, string key, IReadOnlyList<JsonNode> items, bool last)
    {
        sb.Append("  \"").Append(key).Append("\": [");
        for (var i = 0; i < items.Count; i++) sb.Append(i == 0 ? "\n" : ",\n").Append("    ").Append(items[i].ToJsonString());
        sb.Append(items.Count == 0 ? "]" : "\n  ]").Append(last ? "\n" : ",\n");
    }

    private void AddFrame(LoopFrame? frame)
    {
        if (frame == null || _frameIds.ContainsKey(frame)) return;
        AddFrame(frame.Parent);
        _frameIds[frame] = _frames.Count;
        _frames.Add(frame);
    }

    private JsonNode Frame(LoopFrame f) => new JsonObject
    {
        ["name"] = f.Name,
        ["parent"] = f.Parent == null ? null : _frameIds[f.Parent],
        ["swap_memory"] = f.SwapMemory,
        ["maximum_iterations"] = f.MaximumIterations,
        ["loop_vars"] = Tensors(f.LoopVars),
        ["condition"] = f.Condition?.Name,
        ["body_outputs"] = Tensors(f.BodyOutputs),
        ["captures"] = Tensors(f.Captures),
        ["saved"] = Tensors(f.Saved),
        ["shape_only"] = Tensors(f.ShapeOnly),
    };

    private JsonNode Op(Operation op)
    {
        var node = new JsonObject
        {
            ["name"] = op.Name,
            ["type"] = op.Type,
            ["inputs"] = Tensors(op.Inputs),
        };
        if (op.ControlInputs.Count > 0) node["control_inputs"] = new JsonArray(op.ControlInputs.Select(c => (JsonNode)c.Name!).ToArray());
        if (op.Frame != null) node["frame"] = _frameIds[op.Frame];
        if (op.Attributes.Count > 0)
        {
            var attrs = new JsonObject();
            foreach (var (key, value) in op.Attributes) attrs[key] = Attr(op, key, value);
            node["attrs"] = attrs;
        }
        node["outputs"] = new JsonArray(op.Outputs.Select(t => (JsonNode)new JsonObject { ["dtype"] = t.DType.Name(), ["shape"] = ShapeNode(t.Shape) }).ToArray());
        return node;
    }

    /// <summary>One attribute as <c>{"kind": value}</c> (kinds in docs/interop.md).</summary>
    private JsonNode Attr(Operation op, string key, object value) => value switch
    {
        bool b => new JsonObject { ["bool"] = b },
        int i => new JsonObject { ["int"] = i },
        long l => new JsonObject { ["long"] = l },
        double d => new JsonObject { ["double"] = Number(d) },
        string s => new JsonObject { ["string"] = s },
        int[] ints => new JsonObject { ["ints"] = new JsonArray(ints.Select(i => (JsonNode)i).ToArray()) },
        DType t => new JsonObject { ["dtype"] = t.Name() },
        Shape s => new JsonObject { ["shape"] = ShapeNode(s) },
        HostTensor t => new JsonObject { ["tensor"] = TensorValue(t) },
        LoopFrame f => new JsonObject { ["frame"] = _frameIds[f] },
        WhileGradient s => new JsonObject { ["while_grad"] = WhileGrad(s) },
        _ => throw new InvalidArgumentException(
            $"Cannot save op '{op.Name}' ({op.Type}): its attribute '{key}' is a {value.GetType().Name}, which the saved-graph format has no encoding for."),
    };

    private JsonNode WhileGrad(WhileGradient s) => new JsonObject
    {
        ["forward"] = s.Forward.Name,
        ["forward_frame"] = _frameIds[s.ForwardFrame],
        ["grad_frame"] = _frameIds[s.GradFrame],
        ["float_vars"] = new JsonArray(s.FloatVars.Select(i => (JsonNode)i).ToArray()),
        ["float_captures"] = new JsonArray(s.FloatCaptures.Select(i => (JsonNode)i).ToArray()),
        ["grad_in"] = Tensors(s.GradIn),
        ["var_grads"] = Tensors(s.VarGrads),
        ["capture_grads"] = new JsonArray(s.CaptureGrads.Select(t => (JsonNode?)t?.Name).ToArray()),
        ["sparse_capture_grads"] = new JsonArray(s.SparseCaptureGrads.Select(p => p is { } sparse
            ? (JsonNode)new JsonObject { ["updates"] = sparse.Updates.Name, ["indices"] = sparse.Indices.Name, ["axis"] = sparse.Axis }
            : null).ToArray()),
        ["saved"] = Tensors(s.Saved),
        ["shape_only"] = Tensors(s.ShapeOnly),
        ["captures"] = Tensors(s.Captures),
    };

    private static JsonNode CollectionItem(string key, object item) => item switch
    {
        Variable v => new JsonObject
        {
            ["variable"] = new JsonObject
            {
                ["op"] = v.Op.Name,
                ["initializer"] = v.Initializer.Name,
                ["value"] = v.Value.Name,
                ["initial_value"] = v.InitialValue.Name,
                ["trainable"] = v.Trainable,
                ["resource"] = v.IsResource,
            },
        },
        Tensor t => new JsonObject { ["tensor"] = t.Name },
        Operation o => new JsonObject { ["op"] = o.Name },
        string s => new JsonObject { ["string"] = s },
        Signature s => new JsonObject
        {
            ["signature"] = new JsonObject
            {
                ["name"] = s.Name,
                ["inputs"] = NamedTensors(s.Inputs),
                ["outputs"] = NamedTensors(s.Outputs),
            },
        },
        _ => throw new InvalidArgumentException(
            $"Cannot save collection '{key}': it holds a {item.GetType().Name}; only variables, tensors, operations, strings and signatures can be saved."),
    };

    private static JsonObject NamedTensors(IReadOnlyDictionary<string, Tensor> tensors)
    {
        var o = new JsonObject();
        foreach (var (name, t) in tensors) o[name] = t.Name;
        return o;
    }

    private static JsonArray Tensors(IEnumerable<Tensor> tensors) => new(tensors.Select(t => (JsonNode)t.Name!).ToArray());

    /// <summary>A static shape: null for unknown rank, else the dimensions with -1 for unknown ones.</summary>
    public static JsonNode? ShapeNode(Shape s) => s.HasRank ? new JsonArray(s.Dims.Select(d => (JsonNode)d).ToArray()) : null;

    /// <summary>A host tensor: dtype, dims and the values in row-major order (non-finite floats as "NaN", "Infinity", "-Infinity").</summary>
    public static JsonObject TensorValue(HostTensor t)
    {
        JsonNode?[] values = t.Data switch
        {
            float[] f => f.Select(v => float.IsFinite(v) ? JsonValue.Create(v) : NonFinite(v)).ToArray(),
            double[] d => d.Select(Number).ToArray(),
            int[] i => i.Select(v => (JsonNode)v).ToArray(),
            long[] l => l.Select(v => (JsonNode)v).ToArray(),
            bool[] b => b.Select(v => (JsonNode)v).ToArray(),
            _ => throw new InvalidOperationException($"No saved-graph encoding for {t.DType.Name()} data."),
        };
        return new JsonObject
        {
            ["dtype"] = t.DType.Name(),
            ["dims"] = new JsonArray(t.Dims.Select(d => (JsonNode)d).ToArray()),
            ["values"] = new JsonArray(values),
        };
    }

    private static JsonNode Number(double v) => double.IsFinite(v) ? JsonValue.Create(v) : NonFinite(v);

    private static JsonNode NonFinite(double v) => double.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
}
