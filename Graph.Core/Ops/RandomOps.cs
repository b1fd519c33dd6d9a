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
    /// and no op seed the op seed is the number of ops created so far (<see cref="ComputeGraph.LastId"/>); with
    /// neither, (0, 0), which the kernels treat as "nondeterministic" as TF does.
    /// </summary>
    public static (long Seed, long Seed2) GetSeed(int? opSeed) => TfRandomStreams.GetSeed(G.Seed, opSeed, G.LastId);

    private static Tensor RandomOp(RandomDef def, int[] shape, DType dtype, int? seed, Tensor shapeTensor)
    {
        var (s1, s2) = GetSeed(seed);
        foreach (var d in shape)
            if (d < 0) throw new InvalidArgumentException($"{def.Type}: shape {Shape.Format(shape)} must be non-negative and fully defined.");
        return G.AddOp(def, [shapeTensor], OpRules.Attrs(("shape", shape), ("dtype", dtype), ("seed", s1), ("seed2", s2)), def.Type).Output;
    }

    /// <summary>Normal random values (tf.random_normal), built as TF1 builds it so the seeds match TF1's.</summary>
    public static Tensor RandomNormal(int[] shape, double mean = 0.0, double stddev = 1.0, DType dtype = DType.Float32, int? seed = null, string? name = null)
    {
        using (G.NameScope(name ?? "random_normal"))
        {
            var scope = G.CurrentNameScope;
            var shapeTensor = Constant(shape, name: "shape");
            var meanTensor = Constant(HostTensor.Scalar(mean), dtype, name: "mean");
            var stddevTensor = Constant(HostTensor.Scalar(stddev), dtype, name: "stddev");
            var rnd = RandomOp(RandomDef.Normal, shape, dtype, seed, shapeTensor);
            return Add(Multiply(rnd, stddevTensor, "mul"), meanTensor, scope + "/");
        }
    }

    /// <summary>Uniform random values in [minval, maxval) (tf.random_uniform), built as TF1 builds it.</summary>
    public static Tensor RandomUniform(int[] shape, double minval = 0.0, double maxval = 1.0, DType dtype = DType.Float32, int? seed = null, string? name = null)
    {
        using (G.NameScope(name ?? "random_uniform"))
        {
            var scope = G.CurrentNameScope;
            var shapeTensor = Constant(shape, name: "shape");
            var minTensor = Constant(HostTensor.Scalar(minval), dtype, name: "min");
            var maxTensor = Constant(HostTensor.Scalar(maxval), dtype, name: "max");
            var rnd = RandomOp(RandomDef.Uniform, shape, dtype, seed, shapeTensor);
            var range = Subtract(maxTensor, minTensor, "sub");
            return Add(Multiply(rnd, range, "mul"), minTensor, scope + "/");
        }
    }

    /// <summary>Normal values truncated to two standard deviations (tf.truncated_normal), built as TF1 builds it.</summary>
    public static Tensor TruncatedNormal(int[] shape, double mean = 0.0, double stddev = 1.0, DType dtype = DType.Float32, int? seed = null, string? name = null)
    {
        using (G.NameScope(name ?? "truncated_normal"))
        {
            var scope = G.CurrentNameScope;
            var shapeTensor = Constant(shape, name: "shape");
            var meanTensor = Constant(HostTensor.Scalar(mean), dtype, name: "mean");
            var stddevTensor = Constant(HostTensor.Scalar(stddev), dtype, name: "stddev");
            var rnd = RandomOp(RandomDef.Truncated, shape, dtype, seed, shapeTensor);
            return Add(Multiply(rnd, stddevTensor, "mul"), meanTensor, scope + "/");
        }
    }
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
