namespace Graph.Core;

/// <summary>The Q factor (positive-diagonal R) of a tall matrix, for the orthogonal initializer.</summary>
internal sealed class OrthogonalizeDef : OpDef
{
    public static readonly OrthogonalizeDef Instance = new();
    public override string Type => "Orthogonalize";

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var x = ctx.Inputs[0];
        OpRules.RequireDType(ctx, Type, x, DTypeClass.Floating);
        OpRules.RequireRank(ctx, Type, x, 2, "the matrix");
        if (x.Shape.HasRank && x.Shape[0] >= 0 && x.Shape[1] >= 0 && x.Shape[0] < x.Shape[1])
            throw new InvalidArgumentException($"{ctx.Label(Type)}: needs at least as many rows as columns, got {x.Shape}.");
        return [new(x.DType, x.Shape)];
    }

    public override void Lower(LoweringContext ctx) => ctx.SetOutput(0, ctx.Add(new OrthogonalizePrim(ctx.Input(0))));

    public override Tensor?[] Gradient(Operation op, Tensor?[] grads) => [null];
}

/// <summary>
/// Keras/TF1 weight initializers (TF1's init_ops), as graph ops (they run when the variable initializer runs). Each
/// creates and counts the ops TF1's initializer creates, so the random ops get TF1's seeds.
/// </summary>
public static class Initializers
{
    /// <summary>Zeros (init_ops.Zeros: <c>array_ops.zeros(shape)</c>).</summary>
    public static Tensor Zeros(int[] shape, DType dtype = DType.Float32) => TF.Zeros(shape, dtype);

    /// <summary>A constant (init_ops.Constant: one <c>Const</c> op of the full shape).</summary>
    public static Tensor Constant(int[] shape, double value, DType dtype = DType.Float32) =>
        TF.GetDefaultGraph().Tf1Call(1, [], () => TF.Constant(HostTensor.Scalar(value).AsType(dtype), shape: shape, name: "Const"));

    /// <summary>
    /// Glorot (Xavier) uniform: U(−l, l) with l = √(3 · scale), scale = 1 / max(1, (fan_in + fan_out) / 2) (Keras'
    /// default kernel initializer; TF1's init_ops.VarianceScaling in "fan_avg", "uniform" mode, computed in the same
    /// order so the limit rounds as TF1's does).
    /// </summary>
    public static Tensor GlorotUniform(int[] shape, DType dtype = DType.Float32, int? seed = null)
    {
        var (fanIn, fanOut) = Fans(shape);
        var scale = 1.0 / Math.Max(1.0, (fanIn + fanOut) / 2.0);
        var limit = Math.Sqrt(3.0 * scale);
        return TF.RandomUniform(shape, -limit, limit, dtype, seed);
    }

    /// <summary>
    /// Orthogonal (Keras' recurrent-kernel default): a normal random matrix of shape (max(r, c), min(r, c)) with
    /// r = Π shape[:-1], c = shape[-1], orthonormalised (QR with a positive diagonal), transposed when r &lt; c, times
    /// <paramref name="gain"/>.
    /// </summary>
    public static Tensor Orthogonal(int[] shape, double gain = 1.0, DType dtype = DType.Float32, int? seed = null)
    {
        if (shape.Length < 2) throw new InvalidArgumentException($"Orthogonal: the shape must have rank >= 2, got {Shape.Format(shape)}.");
        var rows = 1;
        for (var i = 0; i < shape.Length - 1; i++) rows = checked(rows * shape[i]);
        var cols = shape[^1];
        var random = TF.RandomNormal([Math.Max(rows, cols), Math.Min(rows, cols)], dtype: dtype, seed: seed);
        // TF1 (init_ops.Orthogonal): Qr, DiagPart, Sign and the Mul by the signs; matrix_transpose when r < c (perm
        // Const + Transpose); reshape (shape Const + Reshape); the gain times it (Const + Mul).
        return random.Graph.Tf1Call(4 + (rows < cols ? 2 : 0) + 2 + 2, [], () =>
        {
            var q = random.Graph.AddOp(OrthogonalizeDef.Instance, [random], name: "orthogonal").Output;
            if (rows < cols) q = TF.Transpose(q);
            return TF.Reshape(q * gain, shape);
        });
    }

    /// <summary>The product of all but the last two dimensions (a convolution kernel's receptive field).</summary>
    private static double Receptive(int[] shape)
    {
        double n = 1;
        for (var i = 0; i < shape.Length - 2; i++) n *= shape[i];
        return n;
    }

    private static (double FanIn, double FanOut) Fans(int[] shape) => shape.Length switch
    {
        0 => (1, 1),
        1 => (shape[0], shape[0]),
        2 => (shape[0], shape[1]),
        _ => (shape[^2] * Receptive(shape), shape[^1] * Receptive(shape)),
    };
}
