namespace Graph.Kernels.Cpu;

/// <summary>
/// Per-thread scratch arrays for the GEMM kernels' packed panels: each thread keeps one array per slot and reuses it for
/// its next product, growing it when a product needs more. Why not <c>ArrayPool&lt;float&gt;.Shared</c>: its
/// float instantiation is not precompiled in the framework's ReadyToRun image, and JIT-compiling it (Rent, Return,
/// Trim and their helpers) cost ~8 ms of a training process's first step; a slot per thread also never contends.
/// Contents are left from the previous use: callers overwrite what they read.
/// </summary>
internal static class ThreadScratch
{
    /// <summary>Slots a kernel may hold at once on one thread.</summary>
    public const int Slots = 5;

    [ThreadStatic] private static float[]?[]? _arrays;

    /// <summary>This thread's array for <paramref name="slot"/>, at least <paramref name="length"/> long.</summary>
    public static float[] Floats(int slot, int length)
    {
        var arrays = _arrays ??= new float[Slots][];
        var array = arrays[slot];
        if (array == null || array.Length < length)
            arrays[slot] = array = GC.AllocateUninitializedArray<float>(Math.Max(length, array?.Length * 2 ?? 0));
        return array;
    }
}
