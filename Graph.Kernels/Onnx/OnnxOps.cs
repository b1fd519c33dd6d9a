extern alias OnnxProto;

using Graph.Core;
using P = OnnxProto::Onnx;

namespace Graph.Kernels;

/// <summary>One op being translated: its inputs as ONNX values, and nodes added to its scope's graph.</summary>
internal readonly struct OpEmit(Operation op, OnnxScope scope)
{
    public Operation Op => op;
    public OnnxScope Scope => scope;
    public string In(int i) => scope.Value(op.Inputs[i]);
    public Tensor Input(int i) => op.Inputs[i];
    public T Attr<T>(string name) => op.Attr<T>(name);
    public bool Has(string name) => op.Attributes.ContainsKey(name);
    public string Node(string type, string[] inputs, params P.AttributeProto[] attributes) => scope.Node(op, type, inputs, attributes);
    public string Int64s(params long[] values) => scope.Int64s(op, values);
    public string Scalar(DType dtype, double value) => scope.Scalar(op, dtype, value);
    public string Constant(HostTensor value) => scope.Constant(op, value);
    public string Cast(string value, DType to) => Node("Cast", [value], OnnxScope.Attr("to", OnnxExport.ElemType(to)));
    public void Set(int i, string value) => scope.Bind(op.Outputs[i], value);
}

/// <summary>
/// The ONNX translation of each op type (the table of docs/interop.md). Ops whose Graph lowering checks values at run
/// time (label and index ranges, sequence lengths) export without the check: ONNX has no way to fail a run.
/// </summary>
internal static class OnnxOps
{
    public static readonly IReadOnlyDictionary<string, Action<OpEmit>> Mappings = Build();

    /// <summary>Translates <paramref name="op"/> into <paramref name="scope"/>, binding its outputs; its inputs are ready or translated on demand.</summary>
    public static void Emit(Operation op, OnnxScope scope)
    {
        if (!Mappings.TryGetValue(op.Type, out var map))
            throw new OnnxExportException(
                $"ONNX export: op '{op.Name}' of type {op.Type} has no ONNX mapping, and the outputs depend on it (docs/interop.md lists the ops that export).", op);
        map(new OpEmit(op, scope));
    }

    private static P.AttributeProto A(string name, long value) => OnnxScope.Attr(name, value);
    private static P.AttributeProto A(string name, IEnumerable<long> values) => OnnxScope.Attr(name, values);
    private static long[] Longs(IEnumerable<int> values) => values.Select(v => (long)v).ToArray();

    private static Dictionary<string, Action<OpEmit>> Build()
    {
        var m = new Dictionary<string, Action<OpEmit>>(StringComparer.Ordinal);

        // Element-wise.
        foreach (var (type, onnx) in new[]
                 {
                     ("Neg", "Neg"), ("Abs", "Abs"), ("Sqrt", "Sqrt"), ("Exp", "Exp"), ("Log", "Log"), ("Tanh", "Tanh"), ("Sigmoid", "Sigmoid"),
                     ("Relu", "Relu"), ("Softplus", "Softplus"), ("Sign", "Sign"), ("Reciprocal", "Reciprocal"), ("LogicalNot", "Not"),
                 })
            m[type] = e => e.Set(0, e.Node(onnx, [e.In(0)]));
        m["Square"] = e => e.Set(0, e.Node("Mul", [e.In(0), e.In(0)]));
        m["Rsqrt"] = e => e.Set(0, e.Node("Reciprocal", [e.Node("Sqrt", [e.In(0)])]));
        foreach (var (type, onnx) in new[]
                 {
                     ("Add", "Add"), ("Sub", "Sub"), ("Mul", "Mul"), ("RealDiv", "Div"), ("Pow", "Pow"), ("Maximum", "Max"), ("Minimum", "Min"),
                     ("Equal", "Equal"), ("Less", "Less"), ("LessEqual", "LessOrEqual"), ("Greater", "Greater"), ("GreaterEqual", "GreaterOrEqual"),
                     ("LogicalAnd", "And"), ("LogicalOr", "Or"),
                 })
            m[type] = e => e.Set(0, e.Node(onnx, [e.In(0), e.In(1)]));
        // ONNX's integer Div truncates toward zero, as TruncateDiv does; there is no float form of it in ONNX.
        m["TruncateDiv"] = e => e.Set(0, e.Op.Inputs[0].DType.IsInteger() ? e.Node("Div", [e.In(0), e.In(1)])
            : throw new OnnxExportException($"ONNX export: TruncateDiv '{e.Op.Name}' on {e.Op.Inputs[0].DType.Name()} has no ONNX counterpart (only integer TruncateDiv maps to Div).", e.Op));
        m["NotEqual"] = e => e.Set(0, e.Node("Not", [e.Node("Equal", [e.In(0), e.In(1)])]));
        m["SelectV2"] = e => e.Set(0, e.Node("Where", [e.In(0), e.In(1), e.In(2)]));
        // TF1's Select: a vector condition against values of rank r ≥ 2 picks rows, so it gets r − 1 trailing axes.
        m["Select"] = e =>
        {
            var (cond, values) = (e.Op.Inputs[0].Shape, e.Op.Output.Shape);
            if (!cond.HasRank || !values.HasRank)
                throw new OnnxExportException($"ONNX export: Select '{e.Op.Name}' needs its condition's and values' ranks (a vector condition picks rows); use TF.WhereV2 or give the shapes.", e.Op);
            var picksRows = cond.Rank == 1 && values.Rank >= 2;
            e.Set(0, e.Node("Where", [picksRows ? e.Node("Unsqueeze", [e.In(0), e.Int64s(Enumerable.Range(1, values.Rank - 1).Select(a => (long)a).ToArray())]) : e.In(0), e.In(1), e.In(2)]));
        };
        m["Cast"] = e => e.Set(0, e.Cast(e.In(0), e.Attr<DType>("DstT")));
        // The value passes through; CheckSequenceLength's range check and EnsureShape's shape check have no ONNX
        // counterpart (ONNX Runtime checks shapes against the model's own), and RnnProjectedInputs only carries the
        // recurrent weight for its gradient.
        foreach (var type in new[] { "Identity", "StopGradient", "CheckSequenceLength", "EnsureShape", "RnnProjectedInputs" }) m[type] = e => e.Set(0, e.In(0));

        // Linear algebra and reductions.
        foreach (var type in new[] { "MatMul", "BatchMatMul" })
            m[type] = e =>
            {
                long[] perm = type == "MatMul" ? [1, 0] : [0, 2, 1];
                var (a, b) = (e.In(0), e.In(1));
                if (e.Attr<bool>("transpose_a")) a = e.Node("Transpose", [a], A("perm", perm));
                if (e.Attr<bool>("transpose_b")) b = e.Node("Transpose", [b], A("perm", perm));
                e.Set(0, e.Node("MatMul", [a, b]));
            };
        foreach (var (type, onnx) in new[] { ("Sum", "ReduceSum"), ("Mean", "ReduceMean"), ("Max", "ReduceMax"), ("Min", "ReduceMin"), ("Prod", "ReduceProd") })
            m[type] = e =>
            {
                var axes = e.Op.Attributes.TryGetValue("axes", out var a) ? Longs(((int[])a).Distinct()) : null;
                var keep = A("keepdims", e.Attr<bool>("keep_dims") ? 1 : 0);
                if (axes is { Length: 0 }) e.Set(0, e.In(0)); // reduces no axis (ONNX would read no axes as all of them)
                else if (onnx == "ReduceSum") e.Set(0, e.Node(onnx, axes == null ? [e.In(0)] : [e.In(0), e.Int64s(axes)], keep));
                else e.Set(0, e.Node(onnx, [e.In(0)], axes == null ? [keep] : [keep, A("axes", axes)]));
            };
        foreach (var type in new[] { "ArgMax", "ArgMin" })
            m[type] = e =>
            {
                var index = e.Node(type, [e.In(0)], A("axis", e.Attr<int>("axis")), A("keepdims", 0));
                e.Set(0, e.Attr<DType>("output_type") == DType.Int64 ? index : e.Cast(index, DType.Int32));
            };

        // Neural-network ops.
        m["Softmax"] = e => e.Set(0, e.Node("Softmax", [e.In(0)], A("axis", -1)));
        m["LogSoftmax"] = e => e.Set(0, e.Node("LogSoftmax", [e.In(0)], A("axis", -1)));
        m["SparseSoftmaxCrossEntropyWithLogits"] = e =>
        {
            // −log_softmax(logits) picked at each label: a one-hot mask selects it, as Graph's lowering does.
            var logits = e.Input(0);
            var classes = logits.Shape.HasRank && logits.Shape[-1] >= 0 ? e.Scalar(DType.Int64, logits.Shape[-1]) : e.Node("Gather", [e.Node("Shape", [e.In(0)]), e.Scalar(DType.Int64, -1)]);
            var logp = e.Node("LogSoftmax", [e.In(0)], A("axis", -1));
            var picked = e.Node("Where", [OneHotMask(e, e.In(1), e.Input(1).DType, classes), logp, e.Scalar(logits.DType, 0)]);
            e.Set(0, e.Node("Neg", [e.Node("ReduceSum", [picked, e.Int64s(-1)], A("keepdims", 0))]));
        };
        m["SoftmaxCrossEntropyWithLogits"] = e =>
        {
            var product = e.Node("Mul", [e.In(1), e.Node("LogSoftmax", [e.In(0)], A("axis", -1))]);
            e.Set(0, e.Node("Neg", [e.Node("ReduceSum", [product, e.Int64s(-1)], A("keepdims", 0))]));
        };
        m["InTopKV2"] = e =>
        {
            // Fewer than k classes score strictly higher than the target, the target is in range and its score finite.
            var (predictions, targets) = (e.In(0), e.Cast(e.In(1), DType.Int64));
            var classes = e.Node("Gather", [e.Node("Shape", [predictions]), e.Int64s(1)]);
            var zero = e.Scalar(DType.Int64, 0);
            var inRange = e.Node("And", [e.Node("GreaterOrEqual", [targets, zero]), e.Node("Less", [targets, classes])]);
            var safe = e.Node("Unsqueeze", [e.Node("Where", [inRange, targets, zero]), e.Int64s(1)]);
            var score = e.Node("GatherElements", [predictions, safe], A("axis", 1));
            var higher = e.Cast(e.Node("Greater", [predictions, score]), DType.Int32);
            var rank = e.Node("ReduceSum", [higher, e.Int64s(1)], A("keepdims", 0));
            var inTop = e.Node("Less", [rank, e.Scalar(DType.Int32, e.Attr<int>("k"))]);
            var flat = e.Node("Squeeze", [score, e.Int64s(1)]);
            var finite = e.Node("Equal", [e.Node("Sub", [flat, flat]), e.Scalar(e.Input(0).DType, 0)]);
            e.Set(0, e.Node("And", [inTop, e.Node("And", [finite, inRange])]));
        };

        // Shapes and movement.
        m["Reshape"] = e =>
        {
            var shape = e.Attr<int[]>("shape");
            e.Set(0, shape.Contains(0) ? e.Node("Reshape", [e.In(0), e.Int64s(Longs(shape))], A("allowzero", 1)) : e.Node("Reshape", [e.In(0), e.Int64s(Longs(shape))]));
        };
        m["Transpose"] = e => e.Set(0, e.Node("Transpose", [e.In(0)], A("perm", Longs(e.Attr<int[]>("perm")))));
        m["ExpandDims"] = e => e.Set(0, e.Node("Unsqueeze", [e.In(0), e.Int64s(e.Attr<int>("axis"))]));
        m["Squeeze"] = e => e.Set(0, e.Has("axis") ? e.Node("Squeeze", [e.In(0), e.Int64s(Longs(e.Attr<int[]>("axis")))]) : e.Node("Squeeze", [e.In(0)]));
        m["ConcatV2"] = e => e.Set(0, e.Node("Concat", Enumerable.Range(0, e.Op.Inputs.Count).Select(e.In).ToArray(), A("axis", e.Attr<int>("axis"))));
        m["Pack"] = e =>
        {
            var axis = e.Attr<int>("axis");
            var parts = Enumerable.Range(0, e.Op.Inputs.Count).Select(i => e.Node("Unsqueeze", [e.In(i), e.Int64s(axis)])).ToArray();
            e.Set(0, e.Node("Concat", parts, A("axis", axis)));
        };
        foreach (var type in new[] { "Unpack", "SplitV" })
            m[type] = e =>
            {
                var (axis, sizes) = (e.Attr<int>("axis"), e.Attr<int[]>("sizes"));
                var parts = e.Scope.Nodes(e.Op, "Split", [e.In(0), e.Int64s(Longs(sizes))], sizes.Length, A("axis", axis));
                for (var i = 0; i < parts.Length; i++) e.Set(i, type == "Unpack" ? e.Node("Squeeze", [parts[i], e.Int64s(axis)]) : parts[i]);
            };
        m["Slice"] = e =>
        {
            var (begin, size) = (e.Attr<int[]>("begin"), e.Attr<int[]>("size"));
            var ends = begin.Select((b, i) => size[i] == -1 ? long.MaxValue : (long)b + size[i]).ToArray();
            e.Set(0, e.Node("Slice", [e.In(0), e.Int64s(Longs(begin)), e.Int64s(ends), e.Int64s(Enumerable.Range(0, begin.Length).Select(i => (long)i).ToArray())]));
        };
        m["GatherV2"] = e => e.Set(0, e.Node("Gather", [e.In(0), e.In(1)], A("axis", e.Attr<int>("axis"))));
        m["Tile"] = e => e.Set(0, e.Node("Tile", [e.In(0), e.Int64s(Longs(e.Attr<int[]>("multiples")))]));
        m["OneHot"] = e =>
        {
            var mask = OneHotMask(e, e.In(0), e.Input(0).DType, e.Scalar(DType.Int64, e.Attr<int>("depth")));
            e.Set(0, e.Node("Where", [mask, e.In(1), e.In(2)]));
        };
        m["Shape"] = e => e.Set(0, e.Cast(e.Node("Shape", [e.In(0)]), DType.Int32));
        m["Size"] = e => e.Set(0, e.Cast(e.Node("Size", [e.In(0)]), DType.Int32));
        m["Rank"] = e => e.Set(0, e.Cast(e.Node("Size", [e.Node("Shape", [e.In(0)])]), DType.Int32));

        // Sources.
        m["Fill"] = e => e.Set(0, e.Node("Expand", [e.In(0), e.Int64s(Longs(e.Attr<int[]>("dims")))]));
        foreach (var (type, value) in new[] { ("ZerosLike", 0.0), ("OnesLike", 1.0) })
            m[type] = e => e.Set(0, e.Node("ConstantOfShape", [e.Node("Shape", [e.In(0)])],
                OnnxScope.Attr("value", OnnxExport.TensorProto(HostTensor.From(new[] { value }, 1).AsType(e.Input(0).DType)))));
        m["Const"] = e =>
        {
            var value = e.Constant(e.Attr<HostTensor>("value"));
            e.Set(0, e.Has("shape") ? e.Node("Expand", [value, e.Int64s(Longs(e.Attr<int[]>("shape")))]) : value);
        };
        m["VariableV2"] = e => e.Set(0, e.Scope.Export.VariableInitializer(e.Op, e.Scope.Root));
        m["Placeholder"] = e => throw new OnnxExportException(
            $"ONNX export: placeholder '{e.Op.Name}' is not among the inputs, but the outputs depend on it; add {e.Op.Output.Name} to the inputs.", e.Op);

        // Loops and TensorArrays.
        m["TensorArrayZeros"] = e =>
        {
            var size = e.Node("Gather", [e.Node("Shape", [e.In(0)]), e.Int64s(e.Attr<int>("size_axis"))]);
            var shape = e.Node("Concat", [size, e.Node("Shape", [e.In(1)])], A("axis", 0));
            e.Set(0, e.Node("ConstantOfShape", [shape], OnnxScope.Attr("value", OnnxExport.TensorProto(HostTensor.Zeros(e.Input(1).DType, 1)))));
        };
        m["TensorArrayWrite"] = e =>
        {
            var index = e.Node("Reshape", [e.Cast(e.In(1), DType.Int64), e.Int64s(1, 1)]);
            e.Set(0, e.Node("ScatterND", [e.In(0), index, e.Node("Unsqueeze", [e.In(2), e.Int64s(0)])]));
        };
        m["While"] = EmitWhile;
        return m;
    }

    /// <summary>
    /// [..., depth] bool: index == class, for classes 0..depth−1 (an int64 scalar). Built from Range and Equal rather than
    /// ONNX's OneHot, whose kernels take few type combinations and count negative indices from the end; so an index
    /// out of range gives an all-false row, as in Graph.
    /// </summary>
    private static string OneHotMask(OpEmit e, string indices, DType indexType, string depth)
    {
        var classes = e.Node("Range", [e.Scalar(DType.Int64, 0), depth, e.Scalar(DType.Int64, 1)]);
        var index = indexType == DType.Int64 ? indices : e.Cast(indices, DType.Int64);
        return e.Node("Equal", [e.Node("Unsqueeze", [index, e.Int64s(-1)]), classes]);
    }

    /// <summary>
    /// A while loop as ONNX <c>Loop</c> without a trip count: the condition is translated once on the initial values
    /// (the Loop's first condition) and once in the body on the next values (its condition output), so the body
    /// runs exactly while the condition holds. Loop variables are the Loop's carried values; tensors from outside the
    /// loop are read from the body by name.
    /// </summary>
    private static void EmitWhile(OpEmit e)
    {
        var (op, scope) = (e.Op, e.Scope);
        var export = scope.Export;
        var frame = e.Attr<LoopFrame>("frame");
        var n = frame.LoopVars.Count;
        var condition = frame.Condition ?? throw new OnnxExportException($"ONNX export: while loop '{op.Name}' has no condition.", op);
        var initial = Enumerable.Range(0, n).Select(e.In).ToArray();

        var first = new OnnxScope(export, scope.Graph, frame, scope, "/cond_init");
        for (var i = 0; i < n; i++) first.Bind(frame.LoopVars[i], initial[i]);
        var firstCondition = first.Value(condition);

        var body = new P.GraphProto { Name = op.Name + "/body" };
        var bodyScope = new OnnxScope(export, body, frame, scope, "");
        body.Input.Add(OnnxExport.ValueInfo(export.Unique(op.Name + "/iteration"), DType.Int64, Shape.Scalar));
        body.Input.Add(OnnxExport.ValueInfo(export.Unique(op.Name + "/condition_in"), DType.Bool, Shape.Scalar));
        for (var i = 0; i < n; i++)
        {
            var name = export.Unique(frame.LoopVars[i].Name);
            body.Input.Add(OnnxExport.ValueInfo(name, frame.LoopVars[i], symbolicDims: false));
            bodyScope.Bind(frame.LoopVars[i], name);
        }
        var next = frame.BodyOutputs.Select(bodyScope.Value).ToArray();
        var again = new OnnxScope(export, body, frame, scope, "/cond_next");
        for (var i = 0; i < n; i++) again.Bind(frame.LoopVars[i], next[i]);
        var nextCondition = again.Value(condition);

        var conditionOut = export.Unique(op.Name + "/condition_out");
        body.Node.Add(OnnxExport.Node("Identity", [nextCondition], [conditionOut], conditionOut));
        body.Output.Add(OnnxExport.ValueInfo(conditionOut, DType.Bool, Shape.Scalar));
        for (var i = 0; i < n; i++)
        {
            var name = export.Unique(frame.LoopVars[i].Name + "/next");
            body.Node.Add(OnnxExport.Node("Identity", [next[i]], [name], name));
            body.Output.Add(OnnxExport.ValueInfo(name, frame.LoopVars[i], symbolicDims: false));
        }
        var results = op.Outputs.Select(t => export.Unique(t.Name)).ToArray();
        scope.Graph.Node.Add(OnnxExport.Node("Loop", ["", firstCondition, .. initial], results, op.Name, OnnxScope.Attr("body", body)));
        for (var i = 0; i < n; i++) e.Set(i, results[i]);
    }
}
