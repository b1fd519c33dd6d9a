using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;
using Graph.Core;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace Graph.Kernels.Ilgpu;

/// <summary>
/// One ILGPU accelerator a Session can run on (<c>cuda</c>, <c>opencl</c> or <c>ilgpu-cpu</c>), shared by every session
/// of the process, with its cache of compiled kernels. After a kernel fails to compile the ILGPU context is unusable,
/// so the device recreates it and bumps <see cref="Generation"/>: buffers of an older generation are re-created by
/// their owners (the host copies of variables are authoritative, so nothing is lost).
/// </summary>
internal sealed class IlgpuDevice
{
    private static readonly Dictionary<string, IlgpuDevice> Opened = new();
    private static readonly object Gate = new();
    private readonly Dictionary<string, Kernel> _kernels = new();
    private readonly Dictionary<string, MethodInfo> _methods = new();

    /// <summary>When set, every kernel method loaded (compiled or from the cache) is added to it: tests compile them for other backends.</summary>
    internal List<MethodInfo>? Recording { get; set; }
    private Context _context = null!;
    private Accelerator _accelerator = null!;

    private IlgpuDevice(string name)
    {
        Name = name;
        Open();
    }

    /// <summary>The device name sessions use.</summary>
    public string Name { get; }

    /// <summary>The accelerator (valid for the current <see cref="Generation"/>).</summary>
    public Accelerator Accelerator => _accelerator;

    private Cuda.CuBlas? _blas;
    private string? _blasProblem;
    private bool _blasTried;

    /// <summary>
    /// cuBLAS on the cuda device (made on first use), or null: on other devices, or where the library is missing
    /// (<see cref="GemmDescription"/> says why); matmuls then use Graph's own GEMM kernel.
    /// </summary>
    public Cuda.CuBlas? Blas
    {
        get
        {
            lock (Gate)
            {
                if (_blasTried) return _blas;
                _blasTried = true;
                if (_accelerator is CudaAccelerator cuda) _blas = Cuda.CuBlas.TryCreate(cuda, out _blasProblem);
                return _blas;
            }
        }
    }

    /// <summary>Which GEMM the device's matmuls use, and why.</summary>
    public string GemmDescription => Blas is { } blas ? blas.Version
        : _accelerator is CudaAccelerator ? $"Graph's GEMM kernel ({_blasProblem})" : "Graph's GEMM kernel";

    /// <summary>Incremented each time the context had to be recreated.</summary>
    public int Generation { get; private set; }

    /// <summary>The most threads one group may have on this device (1,024 on NVIDIA GPUs, a handful on ilgpu-cpu).</summary>
    public int MaxGroupSize => Math.Min(1024, _accelerator.MaxNumThreadsPerGroup);

    /// <summary>Threads launched for a grid-stride kernel over <paramref name="work"/> items.</summary>
    public int ThreadsFor(long work) => (int)Math.Max(1, Math.Min(work, (long)_accelerator.MaxNumThreadsPerMultiprocessor * _accelerator.NumMultiprocessors));

    /// <summary>The device <paramref name="name"/>, opened on first use.</summary>
    public static IlgpuDevice Get(string name)
    {
        lock (Gate)
        {
            if (!Opened.TryGetValue(name, out var device)) Opened[name] = device = new IlgpuDevice(name);
            return device;
        }
    }

    /// <summary>
    /// The kernel cached under <paramref name="key"/> (the fused expression with its dtypes and shapes), compiled from
    /// <paramref name="build"/> on first use. A compile failure recreates the context and reports <paramref name="origin"/>.
    /// </summary>
    public Kernel Load(string key, Func<MethodInfo> build, Prim origin) => Load(key, build, origin, explicitlyGrouped: false);

    /// <summary>
    /// As <see cref="Load(string, Func{MethodInfo}, Prim)"/>; an <paramref name="explicitlyGrouped"/> kernel (one that uses
    /// groups and shared memory) is launched with a <see cref="KernelConfig"/> instead of a thread count.
    /// </summary>
    public Kernel Load(string key, Func<MethodInfo> build, Prim origin, bool explicitlyGrouped)
    {
        lock (Gate)
        {
            if (_kernels.TryGetValue(key, out var kernel))
            {
                Recording?.Add(_methods[key]);
                return kernel;
            }
            MethodInfo method;
            try
            {
                method = build();
                kernel = KernelCode.Load(_accelerator, method, explicitlyGrouped);
            }
            catch (Exception e) when (e is not GraphException)
            {
                // Variable values that live only on the device are copied back while the context still works.
                var lost = NotifyReset();
                _blas?.Dispose();
                _blas = null;
                _blasTried = false;
                _accelerator.Dispose();
                _context.Dispose();
                _kernels.Clear();
                _methods.Clear();
                _counterRuns.Clear();
                _replacedCounterRuns.Clear();
                lock (_freed)
                {
                    _freed.Clear();
                    _freedSinceSync.Clear();
                    _freedBytes = 0;
                }
                Open();
                Generation++;
                throw new InternalException(
                    $"{origin.OriginName}: the {Name} device failed to compile the kernel for {origin.Describe()} ({e.GetType().Name}: {e.Message}); " +
                    "the ILGPU context was recreated." + lost, e);
            }
            _kernels[key] = kernel;
            _methods[key] = method;
            Recording?.Add(method);
            return kernel;
        }
    }

    private long _uploaded, _downloaded;

    // Freed device buffers and pinned host copies, by (type, length), for reuse: a caching allocator, since freeing
    // device memory synchronises a GPU and registering host memory is slow. A buffer freed after the default stream was
    // last waited on may still be read by kernels queued there: only work on that same stream (which runs in order)
    // may reuse it; it becomes free for any stream once the default stream has been waited on.
    private readonly Dictionary<(Type, long, bool), Stack<(object Item, long Bytes)>> _freed = new();
    // In the order freed, each with the wait count when it was freed (see WaitTicket): only a wait that started after
    // the free covers the kernels that may still read it (another thread may free while this one waits).
    private readonly Dictionary<(Type, long, bool), List<(object Item, long Bytes, long Ticket)>> _freedSinceSync = new();
    private long _freedBytes, _waitTickets;
    private const long MaxFreedBytes = 512L << 20;

    /// <summary>
    /// Takes a freed buffer of <typeparamref name="T"/> and <paramref name="length"/> elements to reuse, if there is one.
    /// <paramref name="defaultStream"/>: whether the taker uses it on the default stream only.
    /// </summary>
    public bool TryTakeFreed<T>(long length, out T item, bool pinned = false, bool defaultStream = true)
    {
        lock (_freed)
        {
            item = default!;
            var key = (typeof(T), length, pinned);
            object freed;
            long bytes;
            if (defaultStream && _freedSinceSync.TryGetValue(key, out var recent) && recent.Count > 0)
            {
                (freed, bytes, _) = recent[^1];
                recent.RemoveAt(recent.Count - 1);
            }
            else if (_freed.TryGetValue(key, out var stack) && stack.Count > 0) (freed, bytes) = stack.Pop();
            else return false;
            _freedBytes -= bytes;
            item = (T)freed;
            return true;
        }
    }

    /// <summary>Keeps a freed buffer for reuse; false when the cache is full (the caller frees it).</summary>
    public bool Free<T>(T item, long length, long bytes, bool pinned = false) where T : notnull
    {
        lock (_freed)
        {
            if (_freedBytes + bytes > MaxFreedBytes) return false;
            var key = (typeof(T), length, pinned);
            if (!_freedSinceSync.TryGetValue(key, out var recent)) _freedSinceSync[key] = recent = new();
            recent.Add((item, bytes, Interlocked.Read(ref _waitTickets)));
            _freedBytes += bytes;
            return true;
        }
    }

    /// <summary>Frees every cached buffer (after an allocation ran out of memory); returns how many bytes it gave back.</summary>
    public long TrimFreed()
    {
        Accelerator.Synchronize();
        lock (_freed)
        {
            var bytes = _freedBytes;
            foreach (var item in _freed.Values.SelectMany(x => x).Select(x => x.Item).Concat(_freedSinceSync.Values.SelectMany(x => x).Select(x => x.Item)))
                switch (item)
                {
                    case IDisposable d: d.Dispose(); break;
                    case System.Runtime.CompilerServices.ITuple t when t.Length == 2 && t[1] is IDisposable scope: scope.Dispose(); break;
                }
            _freed.Clear();
            _freedSinceSync.Clear();
            _freedBytes = 0;
            return bytes;
        }
    }

    /// <summary>Times the host waited for the default stream (uploads and downloads from pageable memory, loop waits) since the process started.</summary>
    public long Waits => Interlocked.Read(ref _waits);
    private long _waits;

    /// <summary>Taken just before waiting on the default stream, and handed to <see cref="DefaultStreamSynchronized"/> after.</summary>
    public long WaitTicket() => Interlocked.Increment(ref _waitTickets);

    /// <summary>
    /// Called after the default stream has been waited on, with the <see cref="WaitTicket"/> taken before the wait:
    /// everything freed before the wait started is now free for any stream (a buffer another thread freed during the
    /// wait may belong to kernels it queued after the wait began).
    /// </summary>
    public void DefaultStreamSynchronized(long ticket)
    {
        Interlocked.Increment(ref _waits);
        lock (_freed)
        {
            foreach (var (key, recent) in _freedSinceSync)
            {
                var covered = 0;
                while (covered < recent.Count && recent[covered].Ticket < ticket) covered++;
                if (covered == 0) continue;
                if (!_freed.TryGetValue(key, out var stack)) _freed[key] = stack = new();
                for (var i = 0; i < covered; i++) stack.Push((recent[i].Item, recent[i].Bytes));
                recent.RemoveRange(0, covered);
            }
        }
    }

    // Counted loops' counter values by (dtype, start, step), uploaded once for every later run (see CounterRun).
    private readonly Dictionary<(DType DType, long Start, long Step), DeviceBuffer> _counterRuns = new();
    // Buffers a longer run replaced: a loop still running may hold slices of them, so they live as long as the device.
    private readonly List<DeviceBuffer> _replacedCounterRuns = new();

    /// <summary>Distinct (dtype, start, step) counter runs kept; a loop whose start varies from run to run uploads its own.</summary>
    internal const int MostCounterRuns = 16;

    /// <summary>
    /// A device buffer of at least <paramref name="count"/> values <c>start + i·step</c> of a counted loop's counter
    /// (<paramref name="values"/> makes the first <c>n</c> of them on the host), uploaded on first use and kept for later
    /// runs: uploading is a wait on the stream, and an RNN's loop starts the same way every training step. Null when
    /// <see cref="MostCounterRuns"/> other runs are kept. The buffer is shared: read it, never write it or free it.
    /// </summary>
    public DeviceBuffer? CounterRun(DType dtype, long start, long step, long count, Func<long, Array> values)
    {
        lock (Gate)
        {
            var key = (dtype, start, step);
            var found = _counterRuns.TryGetValue(key, out var kept) && kept.Valid;
            if (found && kept!.Length >= count) return kept;
            if (!found && _counterRuns.Count >= MostCounterRuns) return null;
            // Doubling keeps a loop whose trip count grows from re-uploading every run.
            var length = Math.Max(count, found ? 2 * kept!.Length : 64);
            var buffer = DeviceBuffer.FromHost(this, dtype, values(length));
            if (found) _replacedCounterRuns.Add(kept!);
            _counterRuns[key] = buffer;
            return buffer;
        }
    }

    /// <summary>Kernels and library calls (cuBLAS) enqueued since the process started.</summary>
    public long Launches { get; set; }

    /// <summary>GEMMs that added into a running sum in place (<see cref="RunState.AccumulateInto"/>), each an add kernel saved.</summary>
    public long AccumulatingGemms { get; set; }

    /// <summary>Bytes copied from host to device since the process started.</summary>
    public long UploadedBytes => Interlocked.Read(ref _uploaded);

    /// <summary>Bytes copied from device to host since the process started.</summary>
    public long DownloadedBytes => Interlocked.Read(ref _downloaded);

    /// <summary>Counts a copy to (<paramref name="toDevice"/>) or from the device.</summary>
    public void NoteCopy(long bytes, bool toDevice) => Interlocked.Add(ref toDevice ? ref _uploaded : ref _downloaded, bytes);

    // Sessions holding values only on this device, told before the context is recreated (weakly: a session nobody
    // disposed must still be collectable).
    private readonly List<WeakReference<IDeviceResetListener>> _resetListeners = new();

    /// <summary>Asks <paramref name="listener"/> to save its device-only values before the context is ever recreated.</summary>
    public void WatchReset(IDeviceResetListener listener)
    {
        lock (_resetListeners)
        {
            _resetListeners.RemoveAll(w => !w.TryGetTarget(out _));
            _resetListeners.Add(new WeakReference<IDeviceResetListener>(listener));
        }
    }

    /// <summary>Stops telling <paramref name="listener"/> about resets.</summary>
    public void UnwatchReset(IDeviceResetListener listener)
    {
        lock (_resetListeners) _resetListeners.RemoveAll(w => !w.TryGetTarget(out var l) || ReferenceEquals(l, listener));
    }

    /// <summary>
    /// Lets every listener copy its device-only values back before the context goes; returns what failed (a context
    /// that faulted may refuse the copies), so the reset still happens and the error says which values were lost.
    /// </summary>
    private string NotifyReset()
    {
        List<IDeviceResetListener> alive;
        lock (_resetListeners) alive = _resetListeners.Select(w => w.TryGetTarget(out var l) ? l : null).OfType<IDeviceResetListener>().ToList();
        var failures = new List<string>();
        foreach (var l in alive)
        {
            try
            {
                l.BeforeDeviceReset();
            }
            catch (Exception e)
            {
                failures.Add($"{e.GetType().Name}: {e.Message}");
            }
        }
        return failures.Count == 0 ? "" : $" Variable values held only on the device could not be copied back and are lost ({string.Join("; ", failures)}).";
    }

    /// <summary>Number of kernels compiled and cached on this device.</summary>
    public int CachedKernels
    {
        get
        {
            lock (Gate) return _kernels.Count;
        }
    }

    /// <summary>The devices of one kind a context found.</summary>
    internal static List<T> ListOf<T>(Context.DeviceCollection<T> devices) where T : Device
    {
        var list = new List<T>();
        foreach (var d in devices) list.Add(d);
        return list;
    }

    private void Open()
    {
        IlgpuDevices.EnsureOpenClResolver();
        switch (Name)
        {
            case IlgpuDevices.IlgpuCpu:
                // Few simulated threads: every one is an OS thread, and grid-stride loops cover any size.
                _context = Context.Create(b => b.CPU(new CPUDevice(2, 2, 1)).EnableAlgorithms());
                _accelerator = _context.CreateCPUAccelerator(0);
                break;
            case IlgpuDevices.Cuda:
                _context = Context.Create(b => b.Cuda().EnableAlgorithms());
                if (_context.GetCudaDevices().Count == 0) throw Devices.NotAvailable(Name);
                _accelerator = _context.CreateCudaAccelerator(0);
                break;
            case IlgpuDevices.OpenCl:
                _context = Context.Create(b => b.OpenCL(_ => true).EnableAlgorithms());
                var devices = ListOf(_context.GetCLDevices());
                if (devices.Count == 0) throw Devices.NotAvailable(Name);
                var usable = devices.FirstOrDefault(d => d.Capabilities.GenericAddressSpace)
                             ?? throw new NotSupportedException(
                                 $"Device 'opencl': the OpenCL device '{devices[0].Name}' ({devices[0].PlatformName}) does not support the generic address space, " +
                                 "which ILGPU's OpenCL kernels require (OpenCL 2.0 generic address space / OpenCL 3.0 __opencl_c_generic_address_space). " +
                                 "Use 'cpu', 'ilgpu-cpu' or 'cuda' instead.");
                _accelerator = usable.CreateCLAccelerator(_context);
                break;
            default:
                throw Devices.NotAvailable(Name);
        }
    }
}

/// <summary>Something holding values only in a device's memory, which it must copy back before the device's context is reset.</summary>
internal interface IDeviceResetListener
{
    /// <summary>Copies device-only values back to the host while the context still works.</summary>
    void BeforeDeviceReset();
}

/// <summary>Discovery of the ILGPU devices present on this machine.</summary>
internal static class IlgpuDevices
{
    public const string IlgpuCpu = "ilgpu-cpu";
    public const string Cuda = "cuda";
    public const string OpenCl = "opencl";
    private static int _resolverInstalled;
    private static List<DeviceInfo>? _found;
    private static string? _openClProblem;

    /// <summary>Whether <paramref name="device"/> names an ILGPU device.</summary>
    public static bool IsIlgpu(string device) => device is IlgpuCpu or Cuda or OpenCl;

    /// <summary>The ILGPU devices present (probed once per process).</summary>
    public static IReadOnlyList<DeviceInfo> Found()
    {
        lock (typeof(IlgpuDevices))
        {
            if (_found != null) return _found;
            _found = [new(IlgpuCpu, "ILGPU's CPU accelerator: runs the kernels the GPUs get, one OS thread per simulated GPU thread (for tests; slow)")];
            EnsureOpenClResolver();
            try
            {
                using var context = Context.Create(b => b.Cuda().OpenCL(_ => true));
                foreach (var d in IlgpuDevice.ListOf(context.GetCudaDevices()).Take(1))
                    _found.Add(new(Cuda, $"CUDA: {d.Name}, {d.MemorySize >> 20} MiB, {d.Architecture?.ToString() ?? "unknown SM"} " +
                                         $"(driver {d.DriverVersion}); GEMM: {Graph.Kernels.Ilgpu.Cuda.CuBlas.Describe()}"));
                var cl = IlgpuDevice.ListOf(context.GetCLDevices());
                var usable = cl.FirstOrDefault(d => d.Capabilities.GenericAddressSpace);
                if (usable != null) _found.Add(new(OpenCl, $"OpenCL: {usable.Name} ({usable.PlatformName})"));
                else if (cl.Count > 0)
                    _openClProblem = $"OpenCL device '{cl[0].Name}' ({cl[0].PlatformName}) is present but lacks the generic address space that ILGPU requires";
            }
            catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or InvalidOperationException or EntryPointNotFoundException)
            {
                // No GPU driver: only ilgpu-cpu.
            }
            return _found;
        }
    }

    /// <summary>Why an OpenCL device that is present cannot be used, or null.</summary>
    public static string? OpenClProblem
    {
        get
        {
            Found();
            return _openClProblem;
        }
    }


    /// <summary>
    /// ILGPU binds to "OpenCL", which .NET looks up as libOpenCL.so; Debian's ICD loader ships only libOpenCL.so.1
    /// (the unversioned link comes with the -dev package). Resolve the versioned name when the plain one is missing.
    /// </summary>
    public static void EnsureOpenClResolver()
    {
        if (Interlocked.Exchange(ref _resolverInstalled, 1) == 1) return;
        AssemblyLoadContext.Default.ResolvingUnmanagedDll += (_, name) => ResolveOpenCl(name);
    }

    /// <summary>The handle of the OpenCL ICD loader for <paramref name="name"/>, or zero when it is not OpenCL or not installed.</summary>
    internal static IntPtr ResolveOpenCl(string name)
    {
        if (!name.Equals("OpenCL", StringComparison.OrdinalIgnoreCase) && !name.StartsWith("libOpenCL", StringComparison.Ordinal)) return IntPtr.Zero;
        foreach (var candidate in new[] { "libOpenCL.so.1", "libOpenCL.so" })
            if (NativeLibrary.TryLoad(candidate, out var handle))
                return handle;
        return IntPtr.Zero;
    }
}
