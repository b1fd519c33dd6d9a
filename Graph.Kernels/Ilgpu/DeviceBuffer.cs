using System.Runtime.InteropServices;
using Graph.Core;
using ILGPU;
using ILGPU.Runtime;

namespace Graph.Kernels.Ilgpu;

/// <summary>
/// Device memory holding one value of a dtype (bool is stored as one byte per element). Owners check
/// <see cref="Generation"/> against the device's: a buffer from before a context reset is gone.
/// </summary>
internal abstract class DeviceBuffer : IDeviceValue
{
    protected DeviceBuffer(IlgpuDevice device, DType dtype, long length, int generation)
    {
        Device = device;
        DType = dtype;
        Length = length;
        Generation = generation;
    }

    public IlgpuDevice Device { get; }
    public DType DType { get; }
    public long Length { get; }
    public int Generation { get; }

    /// <summary>Whether the buffer still belongs to the device's current context.</summary>
    public bool Valid => Generation == Device.Generation;

    /// <summary>The boxed <c>ArrayView&lt;T&gt;</c> passed to kernels.</summary>
    public abstract object View { get; }

    /// <summary>The buffer's address in device memory (for libraries such as cuBLAS that take raw pointers).</summary>
    public abstract IntPtr DevicePointer { get; }

    /// <summary>Copies <paramref name="host"/> (an array of the buffer's dtype and length) to the device.</summary>
    public abstract void Upload(Array host);

    /// <summary>Copies the buffer into <paramref name="host"/>.</summary>
    public void Download(Array host) => Download(host, Length);

    /// <summary>Copies the first <paramref name="count"/> elements into <paramref name="host"/> (of that length).</summary>
    public abstract void Download(Array host, long count);

    public abstract void Dispose();

    /// <summary>The boxed <c>ArrayView&lt;T&gt;</c> of elements [<paramref name="offset"/>, <paramref name="offset"/> + <paramref name="length"/>).</summary>
    public abstract object SubView(long offset, long length);

    /// <summary>
    /// Elements [<paramref name="offset"/>, <paramref name="offset"/> + <paramref name="length"/>) as a buffer of their
    /// own that shares this one's memory (a TensorArray's step t): reading or writing it reads or writes this buffer.
    /// It owns nothing (disposing it frees nothing) and is valid only while this buffer is.
    /// </summary>
    public abstract DeviceBuffer Slice(long offset, long length);

    /// <summary>Copies <paramref name="source"/> (same dtype and length) into this buffer on the device.</summary>
    public abstract void CopyFrom(DeviceBuffer source);

    /// <summary>Sets every element to zero.</summary>
    public abstract void Zero();

    /// <summary>A new buffer with a copy of this one's contents.</summary>
    public DeviceBuffer Clone()
    {
        var copy = Allocate(Device, DType, Length);
        copy.CopyFrom(this);
        return copy;
    }

    /// <summary>
    /// Starts copying the buffer into page-locked host memory on <paramref name="stream"/> (which may run alongside
    /// kernels on the default stream); the copy is complete once that stream is synchronised.
    /// </summary>
    public abstract PinnedHostCopy CopyToHostAsync(AcceleratorStream stream);

    /// <summary>A new device buffer filled from <paramref name="host"/> asynchronously on <paramref name="stream"/>.</summary>
    public static DeviceBuffer FromHostAsync(PinnedHostCopy host, AcceleratorStream stream)
    {
        // Written on another stream: never a buffer the default stream's queued kernels may still read.
        var buffer = Allocate(host.Device, host.DType, host.Length, defaultStream: false);
        buffer.CopyFromHostAsync(host, stream);
        return buffer;
    }

    protected abstract void CopyFromHostAsync(PinnedHostCopy host, AcceleratorStream stream);

    /// <summary>Bytes per element on the device.</summary>
    public static int ElementSize(DType dtype) => dtype == DType.Bool ? 1 : dtype.Size();

    /// <summary>Bytes held.</summary>
    public long Bytes => Length * ElementSize(DType);

    /// <summary>The device element type of <paramref name="dtype"/>.</summary>
    public static Type ElementType(DType dtype) => dtype == DType.Bool ? typeof(byte) : dtype.ClrType();

    /// <summary>A new uninitialised buffer (<paramref name="defaultStream"/>: used by work on the default stream only).</summary>
    public static DeviceBuffer Allocate(IlgpuDevice device, DType dtype, long length, bool defaultStream = true) => dtype switch
    {
        DType.Float32 => new Typed<float>(device, dtype, length, defaultStream),
        DType.Float64 => new Typed<double>(device, dtype, length, defaultStream),
        DType.Int32 => new Typed<int>(device, dtype, length, defaultStream),
        DType.Int64 => new Typed<long>(device, dtype, length, defaultStream),
        DType.Bool => new Typed<byte>(device, dtype, length, defaultStream),
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
        // The memory this buffer owns; null for a slice of another buffer.
        private readonly MemoryBuffer1D<T, Stride1D.Dense>? _buffer;
        // The Length elements (a slice's part of its parent's memory).
        private readonly ArrayView<T> _elements;
        private readonly object _view;
        private bool _disposed;

        private Typed(Typed<T> parent, long offset, long length) : base(parent.Device, parent.DType, length, parent.Generation)
        {
            _elements = parent._elements.SubView(offset, length);
            _view = _elements;
        }

        public Typed(IlgpuDevice device, DType dtype, long length, bool defaultStream) : base(device, dtype, length, device.Generation)
        {
            // A zero-length view cannot be launched on every backend; keep one element. Freed buffers of the same size
            // are reused: allocating and freeing per kernel output would synchronise a GPU every time.
            if (!device.TryTakeFreed(Math.Max(1, length), out MemoryBuffer1D<T, Stride1D.Dense> buffer, defaultStream: defaultStream))
            {
                try
                {
                    buffer = device.Accelerator.Allocate1D<T>(Math.Max(1, length));
                }
                catch (Exception) when (device.TrimFreed() > 0)
                {
                    // Out of memory with buffers cached for reuse: give them back and try once more.
                    buffer = device.Accelerator.Allocate1D<T>(Math.Max(1, length));
                }
            }
            _buffer = buffer;
            var all = buffer.AsContiguous();
            _view = all;
            _elements = all.SubView(0, length);
        }

        public override DeviceBuffer Slice(long offset, long length)
        {
            ThrowIfDisposed();
            if (offset < 0 || length < 0 || offset + length > Length)
                throw new InvalidOperationException($"Slice [{offset}, {offset + length}) of a device buffer of {Length}.");
            return new Typed<T>(this, offset, length);
        }

        public override object View => _disposed ? throw new ObjectDisposedException($"device buffer of {Length} {DType.Name()}") : _view;

        public override object SubView(long offset, long length) => ((ArrayView<T>)View).SubView(offset, length);

        public override IntPtr DevicePointer => ((ArrayView<T>)View).LoadEffectiveAddressAsPtr();

        private void ThrowIfDisposed()
        {
            if (_disposed) throw new ObjectDisposedException($"device buffer of {Length} {DType.Name()}");
        }

        public override void Upload(Array host)
        {
            ThrowIfDisposed();
            if (Length == 0) return;
            if (host.Length != Length) throw new InvalidOperationException($"Device copy of {host.Length} elements into a buffer of {Length}.");
            // ILGPU's copies from and to managed arrays wait for the stream.
            var ticket = Device.WaitTicket();
            _elements.CopyFromCPU(Device.Accelerator.DefaultStream, Elements(host));
            Device.NoteCopy(Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>(), toDevice: true);
            Device.DefaultStreamSynchronized(ticket);
        }

        public override void Download(Array host, long count)
        {
            ThrowIfDisposed();
            if (count == 0) return;
            if (host.Length != count || count > Length) throw new InvalidOperationException($"Device copy of {count} elements into {host.Length} from a buffer of {Length}.");
            // ILGPU's copies from and to managed arrays wait for the stream.
            var ticket = Device.WaitTicket();
            _elements.SubView(0, count).CopyToCPU(Device.Accelerator.DefaultStream, Elements(host));
            Device.NoteCopy(count * System.Runtime.CompilerServices.Unsafe.SizeOf<T>(), toDevice: false);
            Device.DefaultStreamSynchronized(ticket);
        }

        /// <summary>A host array's elements as the device's element type (bool as byte).</summary>
        private static Span<T> Elements(Array host) => host is bool[] b ? MemoryMarshal.Cast<bool, T>(b.AsSpan()) : ((T[])host).AsSpan();

        public override void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            if (_buffer != null && Valid && !Device.Free(_buffer, Math.Max(1, Length), Bytes)) _buffer.Dispose();
        }

        public override void CopyFrom(DeviceBuffer source)
        {
            ThrowIfDisposed();
            if (Length == 0) return;
            ((Typed<T>)source)._elements.SubView(0, Length).CopyTo(Device.Accelerator.DefaultStream, _elements);
        }

        public override void Zero()
        {
            ThrowIfDisposed();
            if (Length > 0) _elements.MemSetToZero(Device.Accelerator.DefaultStream);
        }

        public override PinnedHostCopy CopyToHostAsync(AcceleratorStream stream)
        {
            ThrowIfDisposed();
            var host = new PinnedHostCopy.Typed<T>(Device, DType, Length);
            if (Length > 0) _elements.CopyToPageLockedAsync(stream, host.Scope);
            Device.NoteCopy(Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>(), toDevice: false);
            return host;
        }

        protected override void CopyFromHostAsync(PinnedHostCopy host, AcceleratorStream stream)
        {
            ThrowIfDisposed();
            if (Length > 0) _elements.CopyFromPageLockedAsync(stream, ((PinnedHostCopy.Typed<T>)host).Scope);
            Device.NoteCopy(Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>(), toDevice: true);
        }
    }
}

/// <summary>
/// A value kept in page-locked (pinned) host memory: a pinned managed array registered with the accelerator, so copies
/// to and from the device are DMA transfers that can overlap kernels (swap_memory's saved loop values).
/// </summary>
internal abstract class PinnedHostCopy(IlgpuDevice device, DType dtype, long length) : IDisposable
{
    public IlgpuDevice Device { get; } = device;

    /// <summary>The device context this copy's registration belongs to.</summary>
    public int Generation { get; } = device.Generation;
    public DType DType { get; } = dtype;
    public long Length { get; } = length;

    /// <summary>Bytes of host memory held.</summary>
    public long Bytes => Length * DeviceBuffer.ElementSize(DType);

    public abstract void Dispose();

    internal sealed class Typed<T> : PinnedHostCopy where T : unmanaged
    {
        private readonly T[] _array;

        private bool _disposed;

        public Typed(IlgpuDevice device, DType dtype, long length) : base(device, dtype, length)
        {
            // Registering memory with the driver is costly: pinned copies of the same size are reused.
            if (device.TryTakeFreed(Math.Max(1, length), out (T[] Array, PageLockScope<T> Scope) reused, pinned: true)) (_array, Scope) = reused;
            else
            {
                _array = GC.AllocateUninitializedArray<T>(checked((int)Math.Max(1, length)), pinned: true);
                Scope = device.Accelerator.CreatePageLockFromPinned(_array);
            }
        }

        public PageLockScope<T> Scope { get; }

        public override void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            // A registration from before a context reset went with that context.
            if (Generation != Device.Generation) return;
            if (!Device.Free((_array, Scope), Math.Max(1, Length), Bytes, pinned: true)) Scope.Dispose();
        }
    }
}
