using Graph.Core;

namespace Graph.Kernels.Cpu;

/// <summary>Compiles primitives into kernels of the managed CPU device.</summary>
internal static class CpuBackend
{
    /// <summary>The kernel computing <paramref name="p"/> from its input values.</summary>
    public static KernelFunc Compile(Prim p) => p switch
    {
        ConstantPrim c => (_, _) => c.Value,
        FeedPrim f => (_, state) => state.Feed(f.Tensor),
        ReadVariablePrim r => (_, state) => state.ReadVariable(r.Variable),
        AssignVariablePrim a => (x, state) => state.AssignVariable(a, x[0]),
        RandomPrim r => (_, state) => CpuMovement.Random(r, state.RandomSeeds(r), state.AdvanceRandom(r)),
        IotaPrim i => (_, _) => CpuMovement.Iota(i),
        UnaryPrim u => (x, _) => CpuElementwise.Unary(u, x[0]),
        BinaryPrim b => (x, _) => CpuElementwise.Binary(b, x[0], x[1]),
        SelectPrim s => (x, _) => CpuElementwise.Select(s, x[0], x[1], x[2]),
        CastPrim c => (x, _) => x[0].AsType(c.DType),
        ReducePrim r => (x, _) => CpuReduceMatMul.Reduce(r, x[0]),
        MatMulPrim m => (x, _) => CpuReduceMatMul.MatMul(m, x[0], x[1]),
        ReshapePrim r => (x, _) => x[0].Reshape(r.Dims),
        StridedPrim s => (x, _) => CpuMovement.Strided(s, x[0]),
        ConcatPrim c => (x, _) => CpuMovement.Concat(c, x),
        GatherPrim g => (x, _) => CpuMovement.Gather(g, x[0], x[1]),
        ScatterAddPrim s => (x, _) => CpuMovement.ScatterAdd(s, x[0], x[1]),
        CheckIndicesPrim c => (x, _) => CpuMovement.CheckIndices(c, x[0]),
        _ => throw new InvalidOperationException($"The cpu device has no kernel for primitive {p.GetType().Name} ({p.OriginName})."),
    };
}
