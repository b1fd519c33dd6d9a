namespace Graph.Core;

/// <summary>Softmax and LogSoftmax over the last axis, lowered to the numerically stable max-shifted form.</summary>
internal sealed class SoftmaxDef(string type, bool log) : OpDef
{
    public static readonly SoftmaxDef Softmax = new("Softmax", log: false);
    public static readonly SoftmaxDef LogSoftmax = new("LogSoftmax", log: true);

    public override string Type => type;

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var x = ctx.Inputs[0];
        OpRules.RequireDType(ctx, type, x, DTypeClass.Floating);
        if (x.Shape.HasRank && x.Shape.Rank < 1) throw new InvalidArgumentException($"{ctx.Label(type)}: logits must have rank >= 1, got shape {x.Shape}.");
        return [new(x.DType, x.Shape)];
    }

    public override void Lower(LoweringContext ctx) => ctx.SetOutput(0, log ? LogSoftmaxOf(ctx, ctx.Input(0)) : SoftmaxOf(ctx, ctx.Input(0)));

    /// <summary>softmax: (g − Σ g·y)·y; log_softmax: g − exp(y)·Σ g (sums over the last axis).</summary>
    public override Tensor?[] Gradient(Operation op, Tensor?[] grads)
    {
        var (g, y) = (grads[0]!, op.Output);
        return log
            ? [g - TF.Exp(y) * TF.ReduceSum(g, [-1], keepDims: true)]
            : [(g - TF.ReduceSum(g * y, [-1], keepDims: true)) * y];
    }

    /// <summary>x - max(x) over the last axis (kept).</summary>
    private static Prim Shifted(LoweringContext ctx, Prim x)
    {
        var last = x.Dims.Length - 1;
        return ctx.Binary(BinaryOp.Sub, x, ctx.Reduce(ReduceOp.Max, x, [last], keepDims: true));
    }

    public static Prim LogSoftmaxOf(LoweringContext ctx, Prim x)
    {
        var shifted = Shifted(ctx, x);
        var sum = ctx.Reduce(ReduceOp.Sum, ctx.Unary(UnaryOp.Exp, shifted), [x.Dims.Length - 1], keepDims: true);
        return ctx.Binary(BinaryOp.Sub, shifted, ctx.Unary(UnaryOp.Log, sum));
    }

    public static Prim SoftmaxOf(LoweringContext ctx, Prim x)
    {
        var e = ctx.Unary(UnaryOp.Exp, Shifted(ctx, x));
        return ctx.Binary(BinaryOp.Div, e, ctx.Reduce(ReduceOp.Sum, e, [x.Dims.Length - 1], keepDims: true));
    }
}

/// <summary>
/// Cross-entropy between integer labels (shape [...]) and logits (shape [..., classes]); labels outside
/// [0, classes) fail the run with TF's message.
/// </summary>
internal sealed class SparseXentDef : OpDef
{
    public static readonly SparseXentDef Instance = new();
    public override string Type => "SparseSoftmaxCrossEntropyWithLogits";
    public override bool ChecksAtRunTime => true;

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var (logits, labels) = (ctx.Inputs[0], ctx.Inputs[1]);
        var label = ctx.Label(Type);
        OpRules.RequireDType(ctx, Type, logits, DTypeClass.Floating, "float32 or float64 logits");
        OpRules.RequireDType(ctx, Type, labels, d => d.IsInteger(), "int32 or int64 labels");
        if (logits.Shape.HasRank && logits.Shape.Rank == 0)
            throw new InvalidArgumentException($"{label}: logits must have rank >= 1, got shape {logits.Shape}.");
        if (logits.Shape.HasRank && labels.Shape.HasRank)
        {
            var expected = new Shape(logits.Shape.Dims[..^1]);
            if (!expected.IsCompatibleWith(labels.Shape))
                throw new InvalidArgumentException(
                    $"{label}: labels shape {labels.Shape} must equal logits shape {logits.Shape} without its last dimension, i.e. {expected}.");
            return [new(logits.DType, expected.MergeWith(labels.Shape))];
        }
        return [new(logits.DType, logits.Shape.HasRank ? new Shape(logits.Shape.Dims[..^1]) : labels.Shape)];
    }

    public override void Lower(LoweringContext ctx)
    {
        var (logits, labels) = (ctx.Input(0), ctx.Input(1));
        var classes = logits.Dims[^1];
        OpRules.RequireEqualDims(ctx.OpLabel, logits.Dims[..^1], labels.Dims, "labels and logits without the class axis");
        var checkedLabels = ctx.Add(new CheckIndicesPrim(labels, classes, "label"));
        var logp = SoftmaxDef.LogSoftmaxOf(ctx, logits);
        var zero = ctx.Scalar(logits.DType, 0);
        var picked = ctx.OneHot(checkedLabels, classes, logp, zero);
        ctx.SetOutput(0, ctx.Unary(UnaryOp.Neg, ctx.Reduce(ReduceOp.Sum, picked, [logits.Dims.Length - 1], keepDims: false)));
    }

    /// <summary>d loss / d logits = g · (softmax(logits) − one_hot(labels)); labels get none.</summary>
    public override Tensor?[] Gradient(Operation op, Tensor?[] grads)
    {
        var (g, logits, labels) = (grads[0]!, op.Inputs[0], op.Inputs[1]);
        var classes = logits.Shape.HasRank ? logits.Shape[-1] : -1;
        if (classes < 0) throw new InvalidArgumentException($"{Type} '{op.Name}': the number of classes must be known to build its gradient, logits have shape {logits.Shape}.");
        var oneHot = TF.OneHot(labels, classes, dtype: logits.DType);
        return [TF.ExpandDims(g, -1) * (TF.Nn.Softmax(logits) - oneHot), null];
    }
}

/// <summary>Cross-entropy between a probability distribution over classes and logits, both [..., classes].</summary>
internal sealed class SoftmaxXentDef : OpDef
{
    public static readonly SoftmaxXentDef Instance = new();
    public override string Type => "SoftmaxCrossEntropyWithLogits";

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var (logits, labels) = (ctx.Inputs[0], ctx.Inputs[1]);
        OpRules.SameDType(ctx, Type, "logits", "labels");
        OpRules.RequireDType(ctx, Type, logits, DTypeClass.Floating, "float32 or float64 logits");
        var shape = OpRules.Merge(ctx.Label(Type), [logits, labels]);
        return [new(logits.DType, shape.HasRank ? new Shape(shape.Dims[..^1]) : Shape.Unknown)];
    }

    public override void Lower(LoweringContext ctx)
    {
        var (logits, labels) = (ctx.Input(0), ctx.Input(1));
        OpRules.RequireEqualDims(ctx.OpLabel, logits.Dims, labels.Dims, "logits and labels");
        var logp = SoftmaxDef.LogSoftmaxOf(ctx, logits);
        var product = ctx.Binary(BinaryOp.Mul, labels, logp);
        ctx.SetOutput(0, ctx.Unary(UnaryOp.Neg, ctx.Reduce(ReduceOp.Sum, product, [logits.Dims.Length - 1], keepDims: false)));
    }

    /// <summary>d/d logits = g · (softmax − labels); d/d labels = −g · log_softmax.</summary>
    public override Tensor?[] Gradient(Operation op, Tensor?[] grads)
    {
        var (g, logits, labels) = (TF.ExpandDims(grads[0]!, -1), op.Inputs[0], op.Inputs[1]);
        return [g * (TF.Nn.Softmax(logits) - labels), -g * TF.Nn.LogSoftmax(logits)];
    }
}

/// <summary>
/// Whether each target's prediction is among the top k (TF's InTopKV2): fewer than k classes score strictly higher;
/// ties at the boundary count as in; an out-of-range target or a non-finite prediction gives false.
/// </summary>
internal sealed class InTopKDef : OpDef
{
    public static readonly InTopKDef Instance = new();
    public override string Type => "InTopKV2";

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var (predictions, targets) = (ctx.Inputs[0], ctx.Inputs[1]);
        OpRules.RequireDType(ctx, Type, predictions, d => d == DType.Float32, "float32 predictions");
        OpRules.RequireDType(ctx, Type, targets, d => d.IsInteger(), "int32 or int64 targets");
        OpRules.RequireRank(ctx, Type, predictions, 2, "predictions");
        OpRules.RequireRank(ctx, Type, targets, 1, "targets");
        var batch = predictions.Shape.HasRank ? predictions.Shape[0] : -1;
        if (targets.Shape.HasRank && batch >= 0 && targets.Shape[0] >= 0 && targets.Shape[0] != batch)
            throw new InvalidArgumentException($"{ctx.Label(Type)}: targets {targets.Shape} must have one entry per row of predictions {predictions.Shape}.");
        return [new(DType.Bool, new Shape(batch >= 0 ? batch : targets.Shape.HasRank ? targets.Shape[0] : -1))];
    }

    public override void Lower(LoweringContext ctx)
    {
        var (predictions, targets) = (ctx.Input(0), ctx.Input(1));
        var (batch, classes) = (predictions.Dims[0], predictions.Dims[1]);
        OpRules.RequireEqualDims(ctx.OpLabel, [batch], targets.Dims, "targets and the rows of predictions");
        var zero = ctx.Scalar(predictions.DType, 0);
        var targetScore = ctx.Reduce(ReduceOp.Sum, ctx.OneHot(targets, classes, predictions, zero), [1], keepDims: true);
        var higher = ctx.Cast(ctx.Binary(BinaryOp.Greater, predictions, targetScore), DType.Int32);
        var rank = ctx.Reduce(ReduceOp.Sum, higher, [1], keepDims: false);
        var inTop = ctx.Binary(BinaryOp.Less, rank, ctx.Scalar(DType.Int32, ctx.Op.Attr<int>("k")));
        var score = ctx.Reshape(targetScore, [batch]);
        var finite = ctx.Binary(BinaryOp.Equal, ctx.Binary(BinaryOp.Sub, score, score), zero);
        var inRange = ctx.Binary(BinaryOp.LogicalAnd,
            ctx.Binary(BinaryOp.GreaterEqual, targets, ctx.Scalar(targets.DType, 0)),
            ctx.Binary(BinaryOp.Less, targets, ctx.Scalar(targets.DType, classes)));
        ctx.SetOutput(0, ctx.Binary(BinaryOp.LogicalAnd, inTop, ctx.Binary(BinaryOp.LogicalAnd, finite, inRange)));
    }

    public override Tensor?[] Gradient(Operation op, Tensor?[] grads) => [null, null];
}

public static partial class TF
{
    /// <summary>Neural-network ops (tf.nn).</summary>
    public static class Nn
    {
        /// <summary>Softmax over the last axis (tf.nn.softmax).</summary>
        public static Tensor Softmax(Tensor logits, string? name = null) => G.AddOp(SoftmaxDef.Softmax, [logits], name: name).Output;

        /// <summary>Log-softmax over the last axis (tf.nn.log_softmax).</summary>
        public static Tensor LogSoftmax(Tensor logits, string? name = null) => G.AddOp(SoftmaxDef.LogSoftmax, [logits], name: name).Output;

        /// <summary>
        /// Per-example cross-entropy between integer <paramref name="labels"/> [...] and <paramref name="logits"/>
        /// [..., classes] (tf.nn.sparse_softmax_cross_entropy_with_logits). Labels outside [0, classes) fail the run.
        /// </summary>
        public static Tensor SparseSoftmaxCrossEntropyWithLogits(Tensor labels, Tensor logits, string? name = null) =>
            G.AddOp(SparseXentDef.Instance, [logits, labels], name: name).Output;

        /// <summary>
        /// Per-example cross-entropy between distributions <paramref name="labels"/> and <paramref name="logits"/>
        /// (tf.nn.softmax_cross_entropy_with_logits, TF1's deprecated first version): no gradient flows into the labels,
        /// which TF1 wraps in stop_gradient (<c>labels_stop_gradient</c>). <see cref="SoftmaxCrossEntropyWithLogitsV2"/>
        /// lets it flow.
        /// </summary>
        public static Tensor SoftmaxCrossEntropyWithLogits(Tensor labels, Tensor logits, string? name = null) =>
            SoftmaxCrossEntropyWithLogitsV2(TF.StopGradient(labels, "labels_stop_gradient"), logits, name);

        /// <summary>
        /// Per-example cross-entropy between distributions <paramref name="labels"/> and <paramref name="logits"/>, with
        /// gradients into both (tf.nn.softmax_cross_entropy_with_logits_v2).
        /// </summary>
        public static Tensor SoftmaxCrossEntropyWithLogitsV2(Tensor labels, Tensor logits, string? name = null) =>
            G.AddOp(SoftmaxXentDef.Instance, [logits, labels], name: name).Output;

        /// <summary>Whether each target is in the top <paramref name="k"/> predictions (tf.nn.in_top_k).</summary>
        public static Tensor InTopK(Tensor predictions, Tensor targets, int k, string? name = null) =>
            G.AddOp(InTopKDef.Instance, [predictions, targets], OpRules.Attrs(("k", k)), name).Output;

        /// <summary>max(x, 0) (tf.nn.relu).</summary>
        public static Tensor Relu(Tensor x, string? name = null) => TF.Relu(x, name);

        /// <summary>ln(1+eˣ) (tf.nn.softplus).</summary>
        public static Tensor Softplus(Tensor x, string? name = null) => TF.Softplus(x, name);

        /// <summary>1/(1+e⁻ˣ) (tf.nn.sigmoid).</summary>
        public static Tensor Sigmoid(Tensor x, string? name = null) => TF.Sigmoid(x, name);

        /// <summary>tanh x (tf.nn.tanh).</summary>
        public static Tensor Tanh(Tensor x, string? name = null) => TF.Tanh(x, name);
    }
}
