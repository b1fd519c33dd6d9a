using Graph.Core;

namespace Graph.Kernels.Ilgpu;

/// <summary>
/// Error flags of the device kernels that can fail (integer division by zero, an index outside its axis) for one
/// Session, across its runs: one zeroed int per kernel site (reused by every launch of that site, in loops and in later
/// runs), written on the device and read back only where the run waits on the device anyway or must not go on with a
/// failure behind it — before a variable update is committed, before a host kernel, at a loop condition read — and
/// when the run ends. The run then fails naming the first failed op, as the cpu device would have, and the flags are
/// zeroed again; flags stay zero otherwise, so a run costs no allocation or clearing. A failed kernel writes nothing
/// out of bounds.
/// </summary>
internal sealed class DeviceErrorLog(IlgpuDevice device) : IRunErrorLog
{
    private const int SlabSize = 256;
    private readonly List<DeviceBuffer> _slabs = new();
    private readonly List<(Prim Origin, string? Detail)> _sites = new();
    // The flag views handed to kernels, boxed once per site.
    private readonly List<object> _views = new();
    // Index checks also record the first bad position and value: one zeroed long per such site.
    private readonly Dictionary<int, DeviceBuffer> _evidence = new();
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
        // After the device's context was recreated, the flags are gone with it: start over.
        if (_slabs.Count > 0 && !_slabs[0].Valid) Forget();
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
            _views.Add(_slabs[index / SlabSize].SubView(index % SlabSize, 1));
            _siteOf[site] = index;
        }
        return _views[index];
    }

    /// <summary>
    /// The flag and the evidence slot (a boxed <c>ArrayView&lt;long&gt;</c> of one element) of the index check
    /// <paramref name="check"/>: if it fires, the run fails with the cpu device's message for the first bad index.
    /// </summary>
    public (object Flag, object Evidence) IndexCheck(CheckIndicesPrim check) => (Flag(check, check), Evidence(check));

    /// <summary>The evidence slot of kernel site <paramref name="site"/> (registered with <see cref="Flag"/> first): where a failing index records its position and value.</summary>
    public object Evidence(object site)
    {
        var index = _siteOf[site];
        if (!_evidence.TryGetValue(index, out var evidence))
        {
            _evidence[index] = evidence = DeviceBuffer.Allocate(device, DType.Int64, 1);
            evidence.Zero();
        }
        return evidence.View;
    }

    private void Forget()
    {
        foreach (var buffer in _slabs.Concat(_evidence.Values)) buffer.Dispose();
        _slabs.Clear();
        _evidence.Clear();
        _sites.Clear();
        _views.Clear();
        _siteOf.Clear();
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
                long[]? recorded = null;
                if (_evidence.TryGetValue(s * SlabSize + i, out var evidence))
                {
                    recorded = new long[1];
                    evidence.Download(recorded);
                }
                // The session's next run starts with clear flags.
                foreach (var buffer in _slabs.Concat(_evidence.Values)) buffer.Zero();
                if (p is CheckIndicesPrim check && recorded != null && DeviceMath.DecodeIndexEvidence(recorded[0]) is var (position, value))
                    throw new InvalidArgumentException(Cpu.CpuChecks.IndexErrorMessage(check, position,
                        value is int.MaxValue ? $">= {int.MaxValue}" : value is int.MinValue ? $"<= {int.MinValue}" : value.ToString(System.Globalization.CultureInfo.InvariantCulture), null));
                throw new InvalidArgumentException(codes[i] switch
                {
                    DeviceMath.DivisionByZero => $"{p.OriginName}: integer division by zero.",
                    DeviceMath.DivisionOverflow => $"{p.OriginName}: integer division overflow: {(p.DType == DType.Int32 ? int.MinValue : long.MinValue)} / -1 does not fit {p.DType.Name()}",
                    DeviceMath.NegativeIntegerPower => $"{p.OriginName}: integers to negative integer powers are not allowed.",
                    _ => detail ?? $"{p.OriginName}: an index is outside its axis of {Shape.Format(p.Inputs[0].Dims)}.",
                });
            }
        }
    }

    public void Dispose() => Forget();
}
