namespace Graph.Core;

/// <summary>
/// CheckNumerics: the input unchanged after checking it holds no NaN and no infinity (tf.debugging.check_numerics);
/// otherwise the run fails with the op's message. Its gradient is checked the same way, as in TF1.
/// </summary>
internal sealed class CheckNumericsDef : OpDef
{
    public static readonly CheckNumericsDef Instance = new();
    public override string Type => "CheckNumerics";
    public override bool ChecksAtRunTime => true;

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        OpRules.RequireDType(ctx, Type, ctx.Inputs[0], DTypeClass.Floating);
        return [new(ctx.Inputs[0].DType, ctx.Inputs[0].Shape)];
    }

    public override void Lower(LoweringContext ctx) =>
        ctx.SetOutput(0, ctx.Add(new CheckNumericsPrim(ctx.Input(0), ctx.Op.Attr<string>("message"))));

    public override Tensor?[] Gradient(Operation op, Tensor?[] grads) =>
        [TF.CheckNumerics(grads[0]!, "Not a number (NaN) or Infinity (Inf) values detected in gradient. " + op.Attr<string>("message"))];
}

/// <summary>
/// Assert: fails the run unless every element of the bool condition (input 0) is true, printing the attribute
/// <c>message</c> and the first <c>summarize</c> values of each data input (inputs 1…) after its label in
/// <c>labels</c> (tf.Assert). No outputs: it runs as a target or a control dependency.
/// </summary>
internal sealed class AssertDef : OpDef
{
    public static readonly AssertDef Instance = new();
    public override string Type => "Assert";
    public override bool IsStateful => true;
    public override bool ChecksAtRunTime => true;

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        OpRules.RequireDType(ctx, Type, ctx.Inputs[0], DTypeClass.Bool, "a bool condition");
        if (ctx.Attr<int>("summarize") < 0) throw new InvalidArgumentException($"{ctx.Label(Type)}: summarize must be >= 0, got {ctx.Attr<int>("summarize")}.");
        return [];
    }

    public override void Lower(LoweringContext ctx)
    {
        var condition = ctx.Input(0);
        var data = ctx.Inputs.Skip(1).ToArray();
        ctx.Add(new AssertPrim(condition, condition, ctx.Op.Attr<string>("message"), data, ctx.Op.Attr<string[]>("labels"), ctx.Op.Attr<int>("summarize")));
    }
}

/// <summary>
/// EnsureShape: the input unchanged after checking its shape is compatible with the attribute <c>shape</c> (-1 for a
/// dimension of any size; tf.ensure_shape). The check is the shape rule, so it fails the build when the static shapes
/// already disagree and the run when the fed or computed shape does (the planner runs shape rules again on concrete
/// shapes); the output's static shape is the input's merged with <c>shape</c>. An optional attribute <c>message</c> is
/// printed first.
/// </summary>
internal sealed class EnsureShapeDef : OpDef
{
    public static readonly EnsureShapeDef Instance = new();
    public override string Type => "EnsureShape";

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var x = ctx.Inputs[0];
        var expected = new Shape(ctx.Attr<int[]>("shape"));
        if (!x.Shape.IsCompatibleWith(expected))
        {
            var message = ctx.Attrs.TryGetValue("message", out var m) ? (string)m + " " : "";
            throw new InvalidArgumentException(
                $"{ctx.Label(Type)}: {message}Shape of tensor {x.Name} {Format(x.Shape)} is not compatible with expected shape {Format(expected)}.");
        }
        return [new(x.DType, x.Shape.HasRank ? x.Shape.MergeWith(expected) : expected)];
    }

    private static string Format(Shape s) =>
        s.HasRank ? "[" + string.Join(", ", s.Dims.Select(d => d < 0 ? "?" : d.ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]" : "<unknown>";

    public override void Lower(LoweringContext ctx) => ctx.SetOutput(0, ctx.Input(0));

    public override Tensor?[] Gradient(Operation op, Tensor?[] grads) => [grads[0]];
}

public static partial class TF
{
    /// <summary>
    /// <paramref name="x"/> unchanged; a run in which it holds a NaN or an infinity fails with
    /// <paramref name="message"/> and what was found (tf.debugging.check_numerics). Its gradient is checked too.
    /// </summary>
    public static Tensor CheckNumerics(Tensor x, string message, string? name = null) =>
        G.AddOp(CheckNumericsDef.Instance, [x], OpRules.Attrs(("message", message)), name).Output;

    /// <summary>
    /// <paramref name="x"/> unchanged, after checking that its shape is compatible with <paramref name="shape"/> (-1 for
    /// a dimension of any size): at build time against the static shape, when the graph runs against the actual one
    /// (tf.ensure_shape). The result's static shape is the two merged. <paramref name="message"/> is printed first.
    /// </summary>
    public static Tensor EnsureShape(Tensor x, int[] shape, string? message = null, string? name = null) =>
        G.AddOp(EnsureShapeDef.Instance, [x], OpRules.Attrs(("shape", (int[])shape.Clone()), ("message", message)), name).Output;

    /// <summary>
    /// An op that fails the run unless every element of the bool <paramref name="condition"/> is true (tf.Assert; TF1
    /// wants a scalar, any shape is accepted here), printing <paramref name="message"/> and the first
    /// <paramref name="summarize"/> values of each of <paramref name="data"/>. Run it as a target, or make the ops it
    /// guards depend on it with <see cref="ControlDependencies(Operation[])"/>.
    /// </summary>
    public static Operation Assert(Tensor condition, IEnumerable<Tensor>? data = null, int summarize = 3, string? message = null, string? name = null)
    {
        var values = data?.ToArray() ?? [];
        return AssertOp(condition, message ?? "", values, values.Select(_ => "").ToArray(), summarize, name ?? "Assert");
    }

    private static Operation AssertOp(Tensor condition, string message, Tensor[] data, string[] labels, int summarize, string name) =>
        G.AddOp(AssertDef.Instance, data.Prepend(condition),
            OpRules.Attrs(("message", message.Length == 0 ? "assertion failed:" : "assertion failed: " + message), ("labels", labels), ("summarize", summarize)), name);

    /// <summary>
    /// A CheckNumerics op on every float tensor of the default graph outside while loops, grouped into one op
    /// (tf.add_check_numerics_ops): running it with a training step fails the step at the first NaN or infinity,
    /// naming the tensor (<c>op_name:index</c>). Variables are checked through their read values.
    /// </summary>
    public static Operation AddCheckNumericsOps(string? name = null)
    {
        var checks = new List<Operation>();
        foreach (var op in G.Operations.ToList())
        {
            if (op.Frame != null || op.Def.ReadsStateAtUse || op.Def == CheckNumericsDef.Instance) continue;
            foreach (var output in op.Outputs)
                if (output.DType.IsFloating())
                    checks.Add(CheckNumerics(output, output.Name, name: op.Name.Replace('/', '_') + "_check_numerics").Op);
        }
        return Group(checks, name ?? "check_numerics_ops");
    }

    /// <summary>The assertions of <c>tf.debugging</c>: each returns an Assert op that fails the run when its condition does not hold.</summary>
    public static class Debugging
    {
        /// <summary>Fails unless x == y element-wise, broadcasting (tf.debugging.assert_equal).</summary>
        public static Operation AssertEqual(Tensor x, Tensor y, string? message = null, int summarize = 3, string? name = null) =>
            Compare(Equal(x, y), "x == y", "did not hold element-wise:", x, y, message, summarize, name ?? "assert_equal");

        /// <summary>Fails where x == y, broadcasting (tf.debugging.assert_none_equal).</summary>
        public static Operation AssertNoneEqual(Tensor x, Tensor y, string? message = null, int summarize = 3, string? name = null) =>
            Compare(NotEqual(x, y), "x != y", "did not hold for every single element:", x, y, message, summarize, name ?? "assert_none_equal");

        /// <summary>Fails unless x &lt; y element-wise (tf.debugging.assert_less).</summary>
        public static Operation AssertLess(Tensor x, Tensor y, string? message = null, int summarize = 3, string? name = null) =>
            Compare(Less(x, y), "x < y", "did not hold element-wise:", x, y, message, summarize, name ?? "assert_less");

        /// <summary>Fails unless x &lt;= y element-wise (tf.debugging.assert_less_equal).</summary>
        public static Operation AssertLessEqual(Tensor x, Tensor y, string? message = null, int summarize = 3, string? name = null) =>
            Compare(LessEqual(x, y), "x <= y", "did not hold element-wise:", x, y, message, summarize, name ?? "assert_less_equal");

        /// <summary>Fails unless x &gt; y element-wise (tf.debugging.assert_greater).</summary>
        public static Operation AssertGreater(Tensor x, Tensor y, string? message = null, int summarize = 3, string? name = null) =>
            Compare(Greater(x, y), "x > y", "did not hold element-wise:", x, y, message, summarize, name ?? "assert_greater");

        /// <summary>Fails unless x &gt;= y element-wise (tf.debugging.assert_greater_equal).</summary>
        public static Operation AssertGreaterEqual(Tensor x, Tensor y, string? message = null, int summarize = 3, string? name = null) =>
            Compare(GreaterEqual(x, y), "x >= y", "did not hold element-wise:", x, y, message, summarize, name ?? "assert_greater_equal");

        /// <summary>Fails unless x &gt; 0 element-wise (tf.debugging.assert_positive).</summary>
        public static Operation AssertPositive(Tensor x, string? message = null, int summarize = 3, string? name = null) =>
            AgainstZero(Greater(x, ZerosLike(x)), "x > 0", x, message, summarize, name ?? "assert_positive");

        /// <summary>Fails unless x &lt; 0 element-wise (tf.debugging.assert_negative).</summary>
        public static Operation AssertNegative(Tensor x, string? message = null, int summarize = 3, string? name = null) =>
            AgainstZero(Less(x, ZerosLike(x)), "x < 0", x, message, summarize, name ?? "assert_negative");

        /// <summary>Fails unless x &gt;= 0 element-wise (tf.debugging.assert_non_negative).</summary>
        public static Operation AssertNonNegative(Tensor x, string? message = null, int summarize = 3, string? name = null) =>
            AgainstZero(GreaterEqual(x, ZerosLike(x)), "x >= 0", x, message, summarize, name ?? "assert_non_negative");

        /// <summary>Fails unless x &lt;= 0 element-wise (tf.debugging.assert_non_positive).</summary>
        public static Operation AssertNonPositive(Tensor x, string? message = null, int summarize = 3, string? name = null) =>
            AgainstZero(LessEqual(x, ZerosLike(x)), "x <= 0", x, message, summarize, name ?? "assert_non_positive");

        /// <summary><paramref name="x"/> unchanged, failing the run on a NaN or infinity (tf.debugging.assert_all_finite).</summary>
        public static Tensor AssertAllFinite(Tensor x, string message, string? name = null) => CheckNumerics(x, message, name);

        /// <summary>The same as <see cref="TF.CheckNumerics"/> (tf.debugging.check_numerics).</summary>
        public static Tensor CheckNumerics(Tensor x, string message, string? name = null) => TF.CheckNumerics(x, message, name);

        /// <summary>The same as <see cref="TF.Assert"/> (tf.debugging.Assert).</summary>
        public static Operation Assert(Tensor condition, IEnumerable<Tensor>? data = null, int summarize = 3, string? message = null, string? name = null) =>
            TF.Assert(condition, data, summarize, message, name);

        private static Operation Compare(Tensor condition, string relation, string how, Tensor x, Tensor y, string? message, int summarize, string name) =>
            AssertOp(condition, Prefix(message) + $"Condition {relation} {how}", [x, y], [$"x ({x.Name}) =", $"y ({y.Name}) ="], summarize, name);

        private static Operation AgainstZero(Tensor condition, string relation, Tensor x, string? message, int summarize, string name) =>
            AssertOp(condition, Prefix(message) + $"Condition {relation} did not hold element-wise:", [x], [$"x ({x.Name}) ="], summarize, name);

        private static string Prefix(string? message) => string.IsNullOrEmpty(message) ? "" : message + " ";
    }
}
