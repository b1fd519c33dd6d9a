using Graph.Core;

namespace Graph.Kernels;

/// <summary>The values one execution of a loop recorded for its gradient: per iteration, one array per saved tensor.</summary>
internal sealed class LoopRecord(bool inHostMemory)
{
    /// <summary>Whether the values were moved to host memory (swap_memory).</summary>
    public bool InHostMemory { get; } = inHostMemory;

    /// <summary>Per iteration, the saved values.</summary>
    public List<HostTensor[]> Iterations { get; } = new();

    /// <summary>
    /// How many iterations' saved values hold each array: one array may be saved by two iterations (an RNN's state as
    /// one step's output and the next step's input). The forward loop counts, keeping recorded arrays out of the
    /// recycler; the gradient loop counts down and frees an array when its last holder is consumed.
    /// </summary>
    public Dictionary<Array, int> Uses { get; } = new(ReferenceEqualityComparer.Instance);

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
