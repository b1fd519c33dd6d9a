using Graph.Core;

namespace Graph.Kernels.Ilgpu;

/// <summary>
/// Error flags of the device kernels that can fail (integer division by zero, an index outside its axis) for one
/// Session.Run: each launch gets its own zeroed int in a device slab, nothing is read back while the run goes on (a
/// read would stall the GPU after every gather and TensorArray write), and the run checks every flag once at its end,
/// failing with the first error's op. A failed kernel writes nothing out of bounds.
/// </summary>
internal sealed class DeviceErrorLog(IlgpuDevice device) : IDisposable
{
    private const int SlabSize = 1024;
    private readonly List<DeviceBuffer> _slabs = new();
    private readonly List<(Prim Origin, string? Detail)> _sites = new();

    /// <summary>A zeroed flag for one launch of a kernel computing <paramref name="origin"/> (a boxed <c>ArrayView&lt;int&gt;</c> of one element).</summary>
    public object Flag(Prim origin, string? detail = null)
    {
        var index = _sites.Count;
        if (index % SlabSize == 0)
        {
            var slab = DeviceBuffer.Allocate(device, DType.Int32, SlabSize);
            slab.Zero();
            _slabs.Add(slab);
        }
        _sites.Add((origin, detail));
        return _slabs[^1].SubView(index % SlabSize, 1);
    }

    /// <summary>Reads every flag and throws for the first kernel that failed.</summary>
    public void ThrowIfAny()
    {
        for (var s = 0; s < _slabs.Count; s++)
        {
            var codes = new int[Math.Min(SlabSize, _sites.Count - s * SlabSize)];
            _slabs[s].Download(codes, codes.Length);
            for (var i = 0; i < codes.Length; i++)
            {
                if (codes[i] == 0) continue;
                var (p, detail) = _sites[s * SlabSize + i];
                throw new InvalidArgumentException(codes[i] switch
                {
                    DeviceMath.DivisionByZero => $"{p.OriginName}: integer division by zero.",
                    DeviceMath.NegativeIntegerPower => $"{p.OriginName}: integers to negative integer powers are not allowed.",
                    _ => detail ?? $"{p.OriginName}: an index is outside its axis of {Shape.Format(p.Inputs[0].Dims)}.",
                });
            }
        }
    }

    public void Dispose()
    {
        foreach (var slab in _slabs) slab.Dispose();
        _slabs.Clear();
        _sites.Clear();
    }
}
