using Graph.Core;

namespace Graph.Kernels.Ilgpu;

/// <summary>
/// Error flags of the device kernels that can fail (integer division by zero, an index outside its axis) for one
/// Session.Run: one zeroed int per kernel site (reused by every launch of that site, in loops too), written on the
/// device and read back only where the run waits on the device anyway or must not go on with a failure behind it —
/// before a variable update is committed, before a host kernel, at each loop condition — and when the run ends. The
/// run then fails naming the first failed op, as the cpu device would have. A failed kernel writes nothing out of
/// bounds.
/// </summary>
internal sealed class DeviceErrorLog(IlgpuDevice device) : IRunErrorLog
{
    private const int SlabSize = 256;
    private readonly List<DeviceBuffer> _slabs = new();
    private readonly List<(Prim Origin, string? Detail)> _sites = new();
    private readonly Dictionary<object, int> _siteOf = new();

    /// <summary>Whether a kernel with a flag was launched since the flags were last read.</summary>
    public bool Pending { get; private set; }

    /// <summary>
    /// The zeroed flag (a boxed <c>ArrayView&lt;int&gt;</c> of one element) for kernel site <paramref name="site"/> computing
    /// <paramref name="origin"/>; <paramref name="detail"/> is the message if it fires (default: an index error).
    /// </summary>
    public object Flag(object site, Prim origin, Func<string>? detail = null)
    {
        Pending = true;
        if (!_siteOf.TryGetValue(site, out var index))
        {
            index = _sites.Count;
            if (index % SlabSize == 0)
            {
                var slab = DeviceBuffer.Allocate(device, DType.Int32, SlabSize);
                slab.Zero();
                _slabs.Add(slab);
            }
            _sites.Add((origin, detail?.Invoke()));
            _siteOf[site] = index;
        }
        return _slabs[index / SlabSize].SubView(index % SlabSize, 1);
    }

    /// <summary>Reads the flags if any kernel with one ran since the last read, and throws for the first that fired.</summary>
    public void ThrowIfAny()
    {
        if (!Pending) return;
        Pending = false;
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
        _siteOf.Clear();
    }
}
