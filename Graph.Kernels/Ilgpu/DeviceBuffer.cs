using System.Runtime.InteropServices;
using Graph.Core;
using ILGPU;
using ILGPU.Runtime;

namespace Graph.Kernels.Ilgpu;

/// <summary>
/// Device memory holding one value of a dtype (bool is stored as one byte per element). Owners check
/// <see cref="Generation"/> against the device's: a buffer from before a context reset is gone.
/// </summary>
internal abstract class DeviceBuffer : IDisposable
{
    protected DeviceBuffer(IlgpuDevice device, DType dtype, long length)
    {
        Device = device;
        DType = dtype;
        Length = length;
        Generation = device.Generation;
    }

    public IlgpuDevice Device { get; }
    public DType DType { get; }
    public long Length { get; }
    public int Generation { get; }

    /// <summary>Whether the buffer still belongs to the device's current context.</summary>
    public bool Valid => Generation == Device.Generation;

    /// <summary>The boxed <c>ArrayView&lt;T&gt;</c> passed to kernels.</summary>
    public abstract object View { get; }

    /// <summary>Copies <paramref name="host"/> (an array of the buffer's dtype and length) to the device.</summary>
    public abstract void Upload(Array host);

    /// <summary>Copies the buffer into <paramref name="host"/>.</summary>
    public abstract void Download(Array host);

    public abstract void Dispose();

    /// <summary>The device element type of <paramref name="dtype"/>.</summary>
    public static Type ElementType(DType dtype) => dtype == DType.Bool ? typeof(byte) : dtype.ClrType();

    /// <summary>A new uninitialised buffer.</summary>
    public static DeviceBuffer Allocate(IlgpuDevice device, DType dtype, long length) => dtype switch
    {
        DType.Float32 => new Typed<float>(device, dtype, length),
        DType.Float64 => new Typed<double>(device, dtype, length),
        DType.Int32 => new Typed<int>(device, dtype, length),
        DType.Int64 => new Typed<long>(device, dtype, length),
        DType.Bool => new Typed<byte>(device, dtype, length),
        _ => throw new InvalidArgumentException($"The {device.Name} device has no buffers of dtype {dtype.Name()}."),
    };

    /// <summary>A new buffer holding a copy of <paramref name="host"/>.</summary>
    public static DeviceBuffer FromHost(IlgpuDevice device, DType dtype, Array host)
    {
        var buffer = Allocate(device, dtype, host.Length);
        buffer.Upload(host);
        return buffer;
    }

    private sealed class Typed<T> : DeviceBuffer where T : unmanaged
    {
        private readonly MemoryBuffer1D<T, Stride1D.Dense> _buffer;
        private readonly object _view;

        public Typed(IlgpuDevice device, DType dtype, long length) : base(device, dtype, length)
        {
            // A zero-length view cannot be launched on every backend; keep one element.
            _buffer = device.Accelerator.Allocate1D<T>(Math.Max(1, length));
            _view = _buffer.AsContiguous();
        }

        public override object View => _view;

        public override void Upload(Array host)
        {
            if (Length == 0) return;
            _buffer.View.SubView(0, Length).CopyFromCPU(Device.Accelerator.DefaultStream, Span(host));
            Device.NoteCopy(Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>(), toDevice: true);
        }

        public override void Download(Array host)
        {
            if (Length == 0) return;
            _buffer.View.SubView(0, Length).CopyToCPU(Device.Accelerator.DefaultStream, Span(host));
            Device.NoteCopy(Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>(), toDevice: false);
        }

        private Span<T> Span(Array host)
        {
            if (host.Length != Length) throw new InvalidOperationException($"Device copy of {host.Length} elements into a buffer of {Length}.");
            return host is bool[] b ? MemoryMarshal.Cast<bool, T>(b.AsSpan()) : ((T[])host).AsSpan();
        }

        public override void Dispose()
        {
            if (Valid) _buffer.Dispose();
        }
    }
}
