using Graph.Core;

namespace Graph.Kernels;

/// <summary>The values one execution of a loop recorded for its gradient: per iteration, one array per saved tensor.</summary>
internal sealed class LoopRecord(bool inHostMemory)
{
    /// <summary>Whether the values were moved to host memory (swap_memory).</summary>
    public bool InHostMemory { get; } = inHostMemory;

    /// <summary>Per iteration, the saved values.</summary>
    public List<HostTensor[]> Iterations { get; } = new();

    /// <summary>Arrays that left the loop (its final state): never recycled.</summary>
    public HashSet<Array> Escaped { get; } = new(ReferenceEqualityComparer.Instance);

    /// <summary>Shapes of the values the gradient reads only for their shapes (the same every iteration).</summary>
    public Dictionary<Tensor, int[]> Shapes { get; } = new();

    /// <summary>Bytes held.</summary>
    public long Bytes { get; set; }

    /// <summary>The backend's half of the record (saved values in device or pinned memory), made by the backend on first use.</summary>
    public IDisposable? DeviceHalf { get; set; }

    /// <summary>Dimensions of the saved values (device records hold bare buffers).</summary>
    public int[][] SavedDims { get; set; } = [];

    /// <summary>Frees the device and pinned host memory of iterations not yet consumed.</summary>
    public void DisposeDeviceIterations() => DeviceHalf?.Dispose();
}
