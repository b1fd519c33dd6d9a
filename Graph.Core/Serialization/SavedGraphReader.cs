using System.Text.Json;
using System.Text.Json.Nodes;

namespace Graph.Core;

/// <summary>
/// Rebuilds a graph from a saved graph's JSON: ops are added in the saved (topological) order through their own
/// shape rules, with their saved names, control inputs and loop frames; every reference must point at something
/// defined before it. Any inconsistency is a <see cref="SavedGraphError.Corrupt"/> error naming where it is.
/// </summary>
internal sealed class SavedGraphReader
{
    private readonly string _path;
    private readonly JsonObject _root;
    private readonly ComputeGraph _graph = new();
    private LoopFrame[] _frames = [];
    private JsonObject[] _frameNodes = [];
    private bool[] _framesFilled = [];
    private string[] _libraries = [];

    public SavedGraphReader(string path, JsonObject root)
    {
        _path = path;
        _root = root;
    }

    public ComputeGraph Read()
    {
        try
        {
            _graph.Seed = Get(_root, "seed", "the graph") is { } seed ? Int(seed, "seed") : null;
            _libraries = Array(_root, "libraries", "the graph").Select((n, i) => Str(n, $"libraries[{i}]")).ToArray();
            ReadFrames();
            var ops = Array(_root, "ops", "the graph");
            for (var i = 0; i < ops.Count; i++) ReadOp(Obj(ops[i], $"ops[{i}]"), i);
            for (var i = 0; i < _frames.Length; i++) FillFrame(i);
            ReadCollections();
            var names = Obj(Get(_root, "names_in_use", "the graph"), "names_in_use");
            _graph.RestoreNamesInUse(names.Select(p => KeyValuePair.Create(p.Key, Int(p.Value, $"names_in_use.{p.Key}"))));
            // TF1's op id: later random ops are seeded from it (docs/tf1-mapping.md).
            if (_root.TryGetPropertyValue("tf1_last_id", out var lastId) && lastId != null) _graph.RestoreLastId(Int(lastId, "tf1_last_id"));
            return _graph;
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or JsonException or InvalidCastException or OverflowException)
        {
            throw Corrupt($"a value has the wrong type ({e.Message}).", e);
        }
    }

    private void ReadFrames()
    {
        var frames = Array(_root, "frames", "the graph");
        _frames = new LoopFrame[frames.Count];
        _frameNodes = new JsonObject[frames.Count];
        _framesFilled = new bool[frames.Count];
        for (var i = 0; i < frames.Count; i++)
        {
            var where = $"frames[{i}]";
            var node = Obj(frames[i], where);
            LoopFrame? parent = null;
            if (Get(node, "parent", where) is { } p)
            {
                var index = Int(p, where + ".parent");
                if (index < 0 || index >= i) throw Corrupt($"{where}: parent {index} is not an earlier frame.");
                parent = _frames[index];
            }
            _frames[i] = new LoopFrame(Str(Get(node, "name", where), where + ".name"), parent)
            {
                SwapMemory = Bool(Get(node, "swap_memory", where), where + ".swap_memory"),
                MaximumIterations = Get(node, "maximum_iterations", where) is { } m ? Int(m, where + ".maximum_iterations") : null,
            };
            _frameNodes[i] = node;
        }
    }

    /// <summary>Sets a frame's tensors once they all exist (before the While op that reads them is rebuilt).</summary>
    private LoopFrame FillFrame(int index)
    {
        if (index < 0 || index >= _frames.Length) throw Corrupt($"frame {index} does not exist (the file has {_frames.Length}).");
        var frame = _frames[index];
        if (_framesFilled[index]) return frame;
        var node = _frameNodes[index];
        var where = $"frames[{index}]";
        frame.LoopVars = Tensors(node, "loop_vars", where);
        frame.Condition = Get(node, "condition", where) is { } c ? Tensor(c, where + ".condition") : null;
        frame.BodyOutputs = Tensors(node, "body_outputs", where);
        frame.Captures = Tensors(node, "captures", where);
        frame.Saved.AddRange(Tensors(node, "saved", where));
        frame.ShapeOnly.AddRange(Tensors(node, "shape_only", where));
        _framesFilled[index] = true;
        return frame;
    }

    private void ReadOp(JsonObject node, int index)
    {
        var name = Str(Get(node, "name", $"ops[{index}]"), $"ops[{index}].name");
        var where = $"op '{name}' (ops[{index}])";
        var type = Str(Get(node, "type", where), where + ".type");
        OpDef? def;
        try
        {
            def = OpRegistry.Find(type, _libraries);
        }
        catch (InvalidArgumentException e)
        {
            throw new SavedGraphException($"'{_path}': {where}: {e.Message}", _path, SavedGraphError.UnknownOpType, e);
        }
        if (def == null)
            throw new SavedGraphException(
                $"'{_path}': {where} has type '{type}', which no loaded assembly defines (the file lists the op libraries {string.Join(", ", _libraries)}).",
                _path, SavedGraphError.UnknownOpType);
        var inputs = Tensors(node, "inputs", where);
        var controls = Optional(node, "control_inputs") is { } c
            ? Obj<JsonArray>(c, where + ".control_inputs").Select((n, i) => Operation(n, $"{where}.control_inputs[{i}]")).ToArray()
            : [];
        LoopFrame? frame = Optional(node, "frame") is { } f ? _frames.ElementAtOrDefault(Int(f, where + ".frame")) ?? throw Corrupt($"{where}: frame {f} does not exist.") : null;
        var attrs = new Dictionary<string, object>();
        if (Optional(node, "attrs") is { } a)
            foreach (var (key, value) in Obj(a, where + ".attrs")) attrs[key] = Attr(value, $"{where}.attrs.{key}");
        Operation op;
        try
        {
            op = _graph.Import(def, inputs, attrs, name, controls, frame);
        }
        catch (Exception e) when (e is GraphException or InvalidCastException or KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException or NullReferenceException)
        {
            throw Corrupt($"{where} cannot be rebuilt: {e.Message}", e);
        }
        var outputs = Array(node, "outputs", where);
        if (outputs.Count != op.Outputs.Count)
            throw Corrupt($"{where}: the file lists {outputs.Count} outputs but the op has {op.Outputs.Count}.");
        for (var i = 0; i < outputs.Count; i++)
        {
            var o = Obj(outputs[i], $"{where}.outputs[{i}]");
            var dtype = DTypeOf(Get(o, "dtype", $"{where}.outputs[{i}]"), $"{where}.outputs[{i}].dtype");
            var shape = ShapeOf(Get(o, "shape", $"{where}.outputs[{i}]"), $"{where}.outputs[{i}].shape");
            var actual = op.Outputs[i];
            if (actual.DType != dtype || !actual.Shape.IsCompatibleWith(shape))
                throw Corrupt($"{where}: output {i} is saved as {dtype.Name()} {shape} but the op's shape rule gives {actual.DType.Name()} {actual.Shape}.");
        }
    }

    private object Attr(JsonNode? node, string where)
    {
        var o = Obj(node, where);
        if (o.Count != 1) throw Corrupt($"{where}: an attribute is an object with one key naming its kind, got {o.Count} keys.");
        var (kind, value) = o.First();
        where += "." + kind;
        return kind switch
        {
            "bool" => Bool(value, where),
            "int" => Int(value, where),
            "long" => Required(value, where).GetValue<long>(),
            "double" => Double(value, where),
            "string" => Str(value, where),
            "ints" => Ints(value, where),
            "dtype" => DTypeOf(value, where),
            "shape" => ShapeOf(value, where),
            "tensor" => TensorValue(value, where),
            "frame" => FillFrame(Int(value, where)),
            "while_grad" => WhileGrad(Obj(value, where), where),
            _ => throw Corrupt($"{where}: unknown attribute kind '{kind}'."),
        };
    }

    private WhileGradient WhileGrad(JsonObject o, string where)
    {
        var forward = Operation(Get(o, "forward", where), where + ".forward");
        var forwardFrame = FillFrame(Int(Get(o, "forward_frame", where), where + ".forward_frame"));
        var gradFrame = FillFrame(Int(Get(o, "grad_frame", where), where + ".grad_frame"));
        var sparse = Array(o, "sparse_capture_grads", where).Select((n, i) =>
        {
            if (n == null) return ((Tensor, Tensor, int)?)null;
            var w = $"{where}.sparse_capture_grads[{i}]";
            var s = Obj(n, w);
            return (Tensor(Get(s, "updates", w), w + ".updates"), Tensor(Get(s, "indices", w), w + ".indices"), Int(Get(s, "axis", w), w + ".axis"));
        }).ToArray();
        return new WhileGradient(forward, forwardFrame, gradFrame)
        {
            FloatVars = Ints(Get(o, "float_vars", where), where + ".float_vars"),
            FloatCaptures = Ints(Get(o, "float_captures", where), where + ".float_captures"),
            GradIn = Tensors(o, "grad_in", where),
            VarGrads = Tensors(o, "var_grads", where),
            CaptureGrads = Array(o, "capture_grads", where).Select((n, i) => n == null ? null : Tensor(n, $"{where}.capture_grads[{i}]")).ToArray(),
            SparseCaptureGrads = sparse,
            Saved = Tensors(o, "saved", where),
            ShapeOnly = Tensors(o, "shape_only", where),
            Captures = Tensors(o, "captures", where),
        };
    }

    private void ReadCollections()
    {
        var variables = new Dictionary<string, Variable>(StringComparer.Ordinal);
        foreach (var (key, items) in Obj(Get(_root, "collections", "the graph"), "collections"))
        {
            var list = Obj<JsonArray>(items, $"collections.{key}");
            for (var i = 0; i < list.Count; i++)
            {
                var where = $"collections.{key}[{i}]";
                var item = Obj(list[i], where);
                if (item.Count != 1) throw Corrupt($"{where}: a collection item is an object with one key naming its kind, got {item.Count} keys.");
                var (kind, value) = item.First();
                where += "." + kind;
                object decoded = kind switch
                {
                    "variable" => VariableOf(Obj(value, where), where, variables),
                    "tensor" => Tensor(value, where),
                    "op" => Operation(value, where),
                    "string" => Str(value, where),
                    "signature" => SignatureOf(Obj(value, where), where),
                    _ => throw Corrupt($"{where}: unknown collection item kind '{kind}'."),
                };
                _graph.AddToCollection(key, decoded);
            }
        }
    }

    private Variable VariableOf(JsonObject o, string where, Dictionary<string, Variable> variables)
    {
        var op = Operation(Get(o, "op", where), where + ".op");
        if (variables.TryGetValue(op.Name, out var known)) return known;
        if (op.Type != "VariableV2") throw Corrupt($"{where}: op '{op.Name}' is a {op.Type}, not a variable.");
        var v = new Variable(op, Operation(Get(o, "initializer", where), where + ".initializer"), Tensor(Get(o, "value", where), where + ".value"),
            Tensor(Get(o, "initial_value", where), where + ".initial_value"), Bool(Get(o, "trainable", where), where + ".trainable"),
            // Files written before resource variables were recorded hold reference variables.
            o.ContainsKey("resource") && Bool(Get(o, "resource", where), where + ".resource"));
        variables[op.Name] = v;
        return v;
    }

    private Signature SignatureOf(JsonObject o, string where)
    {
        IEnumerable<KeyValuePair<string, Tensor>> Named(string key) =>
            Obj(Get(o, key, where), $"{where}.{key}").Select(p => KeyValuePair.Create(p.Key, Tensor(p.Value, $"{where}.{key}.{p.Key}"))).ToList();
        try
        {
            return new Signature(Str(Get(o, "name", where), where + ".name"), Named("inputs"), Named("outputs"));
        }
        catch (GraphException e)
        {
            throw Corrupt($"{where}: {e.Message}", e);
        }
    }

    private Tensor[] Tensors(JsonObject o, string key, string where) =>
        Array(o, key, where).Select((n, i) => Tensor(n, $"{where}.{key}[{i}]")).ToArray();

    /// <summary>A tensor named <c>op:index</c> whose op was read already.</summary>
    private Tensor Tensor(JsonNode? node, string where)
    {
        var name = Str(node, where);
        var colon = name.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(name.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index))
            throw Corrupt($"{where}: '{name}' is not a tensor name of the form 'op:index'.");
        var op = Operation(JsonValue.Create(name[..colon]), where);
        if (index >= op.Outputs.Count) throw Corrupt($"{where}: op '{op.Name}' has {op.Outputs.Count} outputs, so there is no tensor '{name}'.");
        return op.Outputs[index];
    }

    private Operation Operation(JsonNode? node, string where)
    {
        var name = Str(node, where);
        try
        {
            return _graph.GetOperation(name);
        }
        catch (KeyNotFoundException)
        {
            throw Corrupt($"{where}: op '{name}' is not defined before it is used.");
        }
    }

    private HostTensor TensorValue(JsonNode? node, string where)
    {
        var o = Obj(node, where);
        var dtype = DTypeOf(Get(o, "dtype", where), where + ".dtype");
        var dims = Ints(Get(o, "dims", where), where + ".dims");
        if (dims.Any(d => d < 0)) throw Corrupt($"{where}: dims {Shape.Format(dims)} must be non-negative.");
        var values = Array(o, "values", where);
        if (values.Count != Shape.Product(dims)) throw Corrupt($"{where}: {values.Count} values for dims {Shape.Format(dims)}.");
        Array data = dtype switch
        {
            DType.Float32 => values.Select((v, i) => Float(v, $"{where}.values[{i}]")).ToArray(),
            DType.Float64 => values.Select((v, i) => Double(v, $"{where}.values[{i}]")).ToArray(),
            DType.Int32 => values.Select((v, i) => Int(v, $"{where}.values[{i}]")).ToArray(),
            DType.Int64 => values.Select((v, i) => Required(v, $"{where}.values[{i}]").GetValue<long>()).ToArray(),
            _ => values.Select((v, i) => Bool(v, $"{where}.values[{i}]")).ToArray(),
        };
        return new HostTensor(data, dims);
    }

    /// <summary>A number, or "NaN", "Infinity", "-Infinity". Float32 values round-trip exactly through their shortest double text.</summary>
    private double Double(JsonNode? node, string where)
    {
        var v = Required(node, where).AsValue();
        if (v.TryGetValue<string>(out var s))
            return s switch
            {
                "NaN" => double.NaN,
                "Infinity" => double.PositiveInfinity,
                "-Infinity" => double.NegativeInfinity,
                _ => throw Corrupt($"{where}: '{s}' is not a number."),
            };
        return v.GetValue<double>();
    }

    /// <summary>A float32 value, parsed from its text as float32 (not through double, which could round twice).</summary>
    private float Float(JsonNode? node, string where)
    {
        var v = Required(node, where).AsValue();
        return v.TryGetValue<string>(out _) ? (float)Double(node, where) : v.GetValue<float>();
    }

    private Shape ShapeOf(JsonNode? node, string where) => node == null ? Shape.Unknown : new Shape(Ints(node, where));

    private DType DTypeOf(JsonNode? node, string where)
    {
        var name = Str(node, where);
        foreach (var d in Enum.GetValues<DType>())
            if (d.Name() == name) return d;
        throw Corrupt($"{where}: unknown dtype '{name}'.");
    }

    private int[] Ints(JsonNode? node, string where) => Obj<JsonArray>(node, where).Select((n, i) => Int(n, $"{where}[{i}]")).ToArray();

    private int Int(JsonNode? node, string where) => Required(node, where).GetValue<int>();

    private bool Bool(JsonNode? node, string where) => Required(node, where).GetValue<bool>();

    private string Str(JsonNode? node, string where) => Required(node, where).GetValue<string>();

    private JsonNode Required(JsonNode? node, string where) => node ?? throw Corrupt($"{where} is null.");

    private JsonObject Obj(JsonNode? node, string where) => Obj<JsonObject>(node, where);

    private T Obj<T>(JsonNode? node, string where) where T : JsonNode =>
        node as T ?? throw Corrupt($"{where} must be a JSON {(typeof(T) == typeof(JsonArray) ? "array" : "object")}.");

    private JsonArray Array(JsonObject o, string key, string where) => Obj<JsonArray>(Get(o, key, where), $"{where}.{key}");

    private static JsonNode? Optional(JsonObject o, string key) => o.TryGetPropertyValue(key, out var value) ? value : null;

    /// <summary>The member <paramref name="key"/> (which may be null); throws when the key is absent.</summary>
    private JsonNode? Get(JsonObject o, string key, string where) =>
        o.TryGetPropertyValue(key, out var value) ? value : throw Corrupt($"{where} has no '{key}'.");

    private SavedGraphException Corrupt(string why, Exception? inner = null) =>
        new($"'{_path}' is not a readable saved graph: {why}", _path, SavedGraphError.Corrupt, inner);
}
