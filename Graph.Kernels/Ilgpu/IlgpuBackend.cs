using System.Runtime.CompilerServices;
using Graph.Core;

namespace Graph.Kernels.Ilgpu;

/// <summary>
/// One ILGPU device (<c>ilgpu-cpu</c>, <c>cuda</c>, <c>opencl</c>) as a backend: plans run as generated kernels
/// (cuBLAS GEMMs on cuda), variables keep device copies, failing kernels raise flags in a per-session error log.
/// </summary>
internal sealed class IlgpuBackend(IlgpuDevice device) : IBackend
{
    public IlgpuDevice Device { get; } = device;
    public string Name => Device.Name;
    public bool UsesHostMemory => false;
    public void CheckSettings() { }
    public IPlanRunner CreateRunner(ExecutionPlan plan) => new DevicePlanRunner(Device, plan);
    public IRunErrorLog? CreateErrorLog() => new DeviceErrorLog(Device);
    public IVariableResidency? CreateResidency() => new DeviceResidency(Device);
    public int CompiledKernelCount => Device.CachedKernels;
    public long LaunchCount => Device.Launches;
    public long WaitCount => Device.Waits;
    public string GemmDescription => Device.GemmDescription;
}

/// <summary>
/// Finds the ILGPU devices. Every member is safe to call in a process that never uses them: ILGPU's assembly and the
/// GPU drivers load only when devices are listed or one is opened.
/// </summary>
internal sealed class IlgpuBackendFactory : IBackendFactory
{
    private static readonly Dictionary<string, IlgpuBackend> Opened = new();

    /// <summary>
    /// Why this process cannot use the ILGPU devices, or null: they generate kernel code at run time, which a process
    /// running with dynamic code disabled (an AOT-compiled app, or <c>dotnet run app.cs</c>, whose file-based apps
    /// default to PublishAot=true in .NET 10) refuses — ILGPU's Context then fails in its type initializer.
    /// </summary>
    internal static string? DynamicCodeProblem(bool dynamicCodeSupported) => dynamicCodeSupported ? null :
        "this process cannot generate code at run time (RuntimeFeature.IsDynamicCodeSupported is false), and the ILGPU devices build their kernels then. " +
        ".NET 10 file-based apps (dotnet run app.cs) default to PublishAot=true: put '#:property PublishAot=false' at the top of the script, " +
        "or set <PublishAot>false</PublishAot> in the project file";

    public bool Handles(string name) => IlgpuDevices.IsIlgpu(name);

    public IEnumerable<DeviceInfo> Found() =>
        DynamicCodeProblem(RuntimeFeature.IsDynamicCodeSupported) == null ? IlgpuDevices.Found() : [];

    public IEnumerable<string> Unusable()
    {
        if (DynamicCodeProblem(RuntimeFeature.IsDynamicCodeSupported) is { } noCodegen)
            return [$"{IlgpuDevices.IlgpuCpu}, {IlgpuDevices.Cuda}, {IlgpuDevices.OpenCl}: {noCodegen}"];
        return IlgpuDevices.OpenClProblem is { } problem ? [$"opencl: {problem}"] : [];
    }

    public void Require(string name)
    {
        if (DynamicCodeProblem(RuntimeFeature.IsDynamicCodeSupported) is { } noCodegen)
            throw new NotSupportedException($"Device '{name}' cannot run in this process: {noCodegen}.");
        // ILGPU's CPU accelerator is always there; probing for GPUs loads their drivers (PoCL brings LLVM).
        if (name is IlgpuDevices.IlgpuCpu) return;
        var devices = Devices.List();
        if (name == IlgpuDevices.OpenCl && devices.All(d => d.Name != name) && IlgpuDevices.OpenClProblem is { } problem)
            throw new NotSupportedException($"Device 'opencl' cannot run Graph's kernels: {problem}. Available devices: {string.Join(", ", devices.Select(d => d.Name))}.");
        if (devices.All(d => d.Name != name)) throw Devices.NotAvailable(name);
    }

    public IBackend Open(string name)
    {
        lock (Opened)
        {
            if (Opened.TryGetValue(name, out var backend)) return backend;
            Require(name);
            return Opened[name] = new IlgpuBackend(IlgpuDevice.Get(name));
        }
    }
}

/// <summary>
/// Device copies of one session's variable arrays, made on first device use and kept across runs, so a training step
/// uploads only its feeds. An update computed on the device is not copied back every step: the host array is marked
/// stale, and whoever reads it (<see cref="EnsureHost"/>) brings the value back first.
/// </summary>
internal sealed class DeviceResidency(IlgpuDevice device) : IVariableResidency, IDeviceResetListener
{
    private readonly Dictionary<Array, DeviceBuffer> _copies = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<Array> _hostStale = new(ReferenceEqualityComparer.Instance);
    // Copies replaced during the current run: kernels later in the run may still read them.
    private readonly List<DeviceBuffer> _retired = new();
    private bool _watchingReset;

    /// <summary>The device copy of <paramref name="host"/> on this device, if one is current.</summary>
    public bool TryGetCopy(Array host, out DeviceBuffer copy) =>
        _copies.TryGetValue(host, out copy!) && copy.Valid && copy.Device == device;

    /// <summary>Makes <paramref name="buffer"/> the device copy of <paramref name="host"/>, freeing the one it replaces when the run ends.</summary>
    public void SetCopy(Array host, DeviceBuffer buffer)
    {
        if (_copies.TryGetValue(host, out var old) && !ReferenceEquals(old, buffer)) _retired.Add(old);
        _copies[host] = buffer;
    }

    /// <summary>Makes <paramref name="buffer"/>, just written by a device kernel, the value of <paramref name="host"/> (which is now stale).</summary>
    public void SetDeviceValue(Array host, DeviceBuffer buffer)
    {
        SetCopy(host, buffer);
        _hostStale.Add(host);
        // A context reset loses device memory: the session's device-only values are copied back first.
        if (!_watchingReset)
        {
            _watchingReset = true;
            device.WatchReset(this);
        }
    }

    public void EnsureHost(Array host)
    {
        if (_hostStale.Remove(host) && _copies.TryGetValue(host, out var copy)) copy.Download(host);
    }

    public void SyncAllToHost()
    {
        foreach (var host in _hostStale.ToList()) EnsureHost(host);
    }

    public void BeforeDeviceReset() => SyncAllToHost();

    public void Forget(Array host)
    {
        _hostStale.Remove(host);
        if (_copies.Remove(host, out var old)) _retired.Add(old);
    }

    public void DisposeRetired()
    {
        foreach (var b in _retired) b.Dispose();
        _retired.Clear();
    }

    public void Dispose()
    {
        if (_watchingReset) device.UnwatchReset(this);
        _watchingReset = false;
        foreach (var b in _copies.Values) b.Dispose();
        _copies.Clear();
        _hostStale.Clear();
        DisposeRetired();
    }
}

/// <summary>The device half of a <see cref="LoopRecord"/>: the values one loop execution saved for its gradient.</summary>
internal sealed class DeviceLoopRecord : IDisposable
{
    /// <summary>Without swap: per iteration, the saved values in device memory.</summary>
    public List<DeviceBuffer[]> Iterations { get; } = new();

    /// <summary>With swap_memory: per iteration, the saved values in page-locked host memory.</summary>
    public List<PinnedHostCopy[]> Swapped { get; } = new();

    /// <summary>
    /// Per saved value of the loop's frame, its position among an iteration's recorded values, or -1 for a counted
    /// loop's counter, whose values are in <see cref="SavedCounters"/> instead of recorded per iteration.
    /// </summary>
    public int[] SavedPositions { get; set; } = [];

    /// <summary>The values of the saved counters, by saved value index.</summary>
    public Dictionary<int, CounterValues> SavedCounters { get; } = new();

    /// <summary>Frees the iterations not yet consumed by the gradient and the counters' values.</summary>
    public void Dispose()
    {
        foreach (var b in Iterations.SelectMany(i => i).Distinct()) b.Dispose();
        foreach (var h in Swapped.SelectMany(i => i)) h.Dispose();
        foreach (var c in SavedCounters.Values.Distinct()) c.Dispose();
        Iterations.Clear();
        Swapped.Clear();
        SavedCounters.Clear();
    }
}

/// <summary>The ILGPU backend's views of the device-neutral run state.</summary>
internal static class IlgpuRunStateExtensions
{
    /// <summary>The device half of a loop record (made on first use).</summary>
    public static DeviceLoopRecord OnDevice(this LoopRecord record) => (DeviceLoopRecord)(record.DeviceHalf ??= new DeviceLoopRecord());

    /// <summary>The run's device error log (every ILGPU session has one).</summary>
    public static DeviceErrorLog? DeviceErrors(this RunContext context) => (DeviceErrorLog?)context.Errors;

    /// <summary>The session's device copies of its variables.</summary>
    public static DeviceResidency DeviceCopies(this SessionState session) =>
        session.Residency as DeviceResidency ?? throw new InvalidOperationException("A device plan ran in a session without device residency.");

    /// <summary>The device buffer fed for <paramref name="t"/> (a device loop's variables and captured tensors), if any.</summary>
    public static bool TryGetDeviceFeed(this RunState state, Tensor t, out DeviceBuffer buffer)
    {
        if (state.DeviceFeeds?.TryGetValue(t, out var value) == true)
        {
            buffer = (DeviceBuffer)value;
            return true;
        }
        buffer = null!;
        return false;
    }
}
