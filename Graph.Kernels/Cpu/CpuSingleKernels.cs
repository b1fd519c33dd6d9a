using Graph.Core;

namespace Graph.Kernels.Cpu;

/// <summary>A kernel computing one primitive from its input values.</summary>
internal delegate HostTensor KernelFunc(HostTensor[] inputs, RunState state);

/// <summary>Kernels of the cpu device for the primitives that are not fused (movement, indexing, checks, random, collectives).</summary>
internal static class CpuSingleKernels
{
    /// <summary>The kernel computing <paramref name="p"/> from its input values.</summary>
    public static KernelFunc Compile(Prim p) => p switch
    {
        RandomPrim r => (_, state) => CpuMovement.Random(r, state.RandomSeeds(r), state.AdvanceRandom(r)),
        GatherPrim g => (x, _) => CpuMovement.Gather(g, x[0], x[1]),
        ScatterAddPrim s => (x, _) => CpuMovement.ScatterAdd(s, x[0], x[1]),
        CheckPrim c => (x, _) => CpuChecks.Run(c, x),
        OrthogonalizePrim o => (x, _) => CpuMovement.Orthogonalize(o, x[0]),
        CollectivePrim c => (x, _) => Distributed.CollectiveKernel.Run(c, x[0]),
        UpdateSlicePrim u => (x, state) => new HostTensor(CpuMovement.UpdateSlice(u, x[0].Data, x[1].Data, x[2].Data, state), u.Dims),
        _ => throw new InvalidOperationException($"The cpu device has no single kernel for primitive {p.Describe()} ({p.OriginName})."),
    };
}
