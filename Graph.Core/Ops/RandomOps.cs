namespace Graph.Core;

/// <summary>
/// RandomStandardNormal, RandomUniform and TruncatedNormal: TF1's stateful random ops over its Philox stream. Input 0 is
/// the constant shape; attributes <c>seed</c>, <c>seed2</c> and <c>dtype</c>.
/// </summary>
internal sealed class RandomDef(string type, RandomKind kind) : OpDef
{
    public static readonly RandomDef Normal = new("RandomStandardNormal", RandomKind.StandardNormal);
    public static readonly RandomDef Uniform = new("RandomUniform", RandomKind.Uniform);
    public static readonly RandomDef Truncated = new("TruncatedNormal", RandomKind.TruncatedNormal);

    public override string Type => type;
    public override bool IsStateful => true;

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var dtype = ctx.Attr<DType>("dtype");
        if (!dtype.IsFloating()) throw new InvalidArgumentException($"{ctx.Label(type)}: dtype must be float32 or float64, got {dtype.Name()}.");
        return [new(dtype, new Shape(ctx.Attr<int[]>("shape")))];
    }

    public override void Lower(LoweringContext ctx)
    {
        var op = ctx.Op;
        ctx.SetOutput(0, ctx.Add(new RandomPrim(kind, op.Output.DType, op.Output.Shape.ToArray(), op.Attr<long>("seed"), op.Attr<long>("seed2"), op)));
    }
}

public static partial class TF
{
    /// <summary>
    /// TF1's <c>random_seed.get_seed</c> for the default graph: the (seed, seed2) pair a random op gets. With a graph seed
    /// and no op seed the op seed is the id of the last op TF1 would have created so far (<see cref="ComputeGraph.LastId"/>);
    /// with neither, (0, 0), which the kernels treat as "nondeterministic" as TF does.
    /// </summary>
    public static (long Seed, long Seed2) GetSeed(int? opSeed) => TfRandomStreams.GetSeed(G.Seed, opSeed, G.LastId);

    // TF1's random_ops.random_normal / random_uniform / truncated_normal: inside the name scope the shape, the two
    // scalar parameters (mean/stddev or min/max) become constants (3 ops), the seed is read, then the random op and its
    // affine transform follow (normal: RandomStandardNormal, mul, add; uniform: RandomUniform, sub, mul, add).
    private static Tensor RandomAffine(RandomDef def, string scopeName, int[] shape, DType dtype, int? seed,
        (double Value, string Name) first, (double Value, string Name) second, Func<Tensor, Tensor, Tensor, string, Tensor> transform)
    {
        foreach (var d in shape)
            if (d < 0) throw new InvalidArgumentException($"{def.Type}: shape {Shape.Format(shape)} must be non-negative and fully defined.");
        var g = G;
        using var counting = g.Tf1CountExplicitly();
        using (g.NameScope(scopeName))
        {
            var scope = g.CurrentNameScope;
            var shapeTensor = Constant(shape, name: "shape");
            var a = Constant(HostTensor.Scalar(first.Value), dtype, name: first.Name);
            var b = Constant(HostTensor.Scalar(second.Value), dtype, name: second.Name);
            g.CountTf1Ops(3);
            var (s1, s2) = GetSeed(seed);
            var rnd = g.AddOp(def, [shapeTensor], OpRules.Attrs(("shape", shape), ("dtype", dtype), ("seed", s1), ("seed2", s2)), def.Type).Output;
            var result = transform(rnd, a, b, scope + "/");
            g.CountTf1Ops(def == RandomDef.Uniform ? 4 : 3);
            return result;
        }
    }

    /// <summary>Normal random values (tf.random_normal), built as TF1 builds it so the seeds match TF1's.</summary>
    public static Tensor RandomNormal(int[] shape, double mean = 0.0, double stddev = 1.0, DType dtype = DType.Float32, int? seed = null, string? name = null) =>
        RandomAffine(RandomDef.Normal, name ?? "random_normal", shape, dtype, seed, (mean, "mean"), (stddev, "stddev"),
            (rnd, m, s, scope) => Add(Multiply(rnd, s, "mul"), m, scope));

    /// <summary>Uniform random values in [minval, maxval) (tf.random_uniform), built as TF1 builds it.</summary>
    public static Tensor RandomUniform(int[] shape, double minval = 0.0, double maxval = 1.0, DType dtype = DType.Float32, int? seed = null, string? name = null) =>
        RandomAffine(RandomDef.Uniform, name ?? "random_uniform", shape, dtype, seed, (minval, "min"), (maxval, "max"),
            (rnd, min, max, scope) => Add(Multiply(rnd, Subtract(max, min, "sub"), "mul"), min, scope));

    /// <summary>Normal values truncated to two standard deviations (tf.truncated_normal), built as TF1 builds it.</summary>
    public static Tensor TruncatedNormal(int[] shape, double mean = 0.0, double stddev = 1.0, DType dtype = DType.Float32, int? seed = null, string? name = null) =>
        RandomAffine(RandomDef.Truncated, name ?? "truncated_normal", shape, dtype, seed, (mean, "mean"), (stddev, "stddev"),
            (rnd, m, s, scope) => Add(Multiply(rnd, s, "mul"), m, scope));
}

/// <summary>A random op shaped like its input (whose shape may be known only at run time), e.g. for dropout masks.</summary>
internal sealed class RandomLikeDef(string type, RandomKind kind) : OpDef
{
    public static readonly RandomLikeDef Uniform = new("RandomUniformLike", RandomKind.Uniform);

    public override string Type => type;
    public override bool IsStateful => true;

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var dtype = ctx.Attr<DType>("dtype");
        if (!dtype.IsFloating()) throw new InvalidArgumentException($"{ctx.Label(type)}: dtype must be float32 or float64, got {dtype.Name()}.");
        return [new(dtype, ctx.Inputs[0].Shape)];
    }

    public override void Lower(LoweringContext ctx)
    {
        var op = ctx.Op;
        ctx.SetOutput(0, ctx.Add(new RandomPrim(kind, op.Output.DType, ctx.Input(0).Dims, op.Attr<long>("seed"), op.Attr<long>("seed2"), op)));
    }

    public override Tensor?[] Gradient(Operation op, Tensor?[] grads) => [null];
}

public static partial class TF
{
    /// <summary>Uniform random values in [0, 1) with the shape of <paramref name="like"/>, known at run time.</summary>
    public static Tensor RandomUniformLike(Tensor like, DType dtype = DType.Float32, int? seed = null, string? name = null)
    {
        var (s1, s2) = GetSeed(seed);
        return G.AddOp(RandomLikeDef.Uniform, [like], OpRules.Attrs(("dtype", dtype), ("seed", s1), ("seed2", s2)), name).Output;
    }
}
