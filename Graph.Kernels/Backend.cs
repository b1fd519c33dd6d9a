using Graph.Core;

namespace Graph.Kernels;

/// <summary>
/// What a Session and its plans need from a device: a runner for each compiled plan, the session's error log and
/// variable residency, and the device's limits. The planner, the fusion pass, liveness and the session are written once
/// above this boundary; each backend's folder (<c>Cpu/</c>, <c>Ilgpu/</c>) holds its kernels, memory and launches. A
/// new backend implements this interface and an <see cref="IBackendFactory"/>, and is listed in <see cref="Backends"/>.
/// </summary>
internal interface IBackend
{
    /// <summary>The device name sessions use (<see cref="SessionOptions.Device"/>).</summary>
    string Name { get; }

    /// <summary>
    /// Whether the device's values live in the process's own memory, so that a session without
    /// <see cref="SessionOptions.MemoryLimitBytes"/> is held to what the runtime may use.
    /// </summary>
    bool UsesHostMemory { get; }

    /// <summary>Fails with a clear message when the process's settings for this backend are unusable (checked when a session is made).</summary>
    void CheckSettings();

    /// <summary>
    /// Starts the backend's one-time preparation in the background and returns at once (the cpu compiles its kernels and
    /// rehearses a training step on another core). Called when a session opens, and earlier by <see cref="Devices.Prepare"/>.
    /// </summary>
    void Prepare() { }

    /// <summary>Compiles a plan's kernel groups, laid out by <paramref name="plan"/> (values, storage, buffers), into a runner.</summary>
    IPlanRunner CreateRunner(ExecutionPlan plan);

    /// <summary>The error log one session's runs share (device kernels that raise flags), or null when kernels throw directly.</summary>
    IRunErrorLog? CreateErrorLog();

    /// <summary>The variable residency of one session (device copies of variable values), or null when variables live only on the host.</summary>
    IVariableResidency? CreateResidency();

    /// <summary>Kernels compiled into the process-wide cache (0 where kernels are not generated code).</summary>
    int CompiledKernelCount { get; }

    /// <summary>Kernels and library calls enqueued in this process (0 where kernels run inline).</summary>
    long LaunchCount { get; }

    /// <summary>Times the host waited for the device in this process (0 where kernels run inline).</summary>
    long WaitCount { get; }

    /// <summary>Which GEMM the device's matmuls use, and why.</summary>
    string GemmDescription { get; }
}

/// <summary>Executes one compiled plan on its backend.</summary>
internal interface IPlanRunner : IDisposable
{
    /// <summary>Runs the plan and returns the fetched values on the host (copies where the session or caller still holds the array).</summary>
    HostTensor[] Execute(RunState state);
}

/// <summary>Where a session's variable values live besides their host arrays (a device's copies), owned by its backend.</summary>
internal interface IVariableResidency : IDisposable
{
    /// <summary>Brings <paramref name="host"/> up to date if a device kernel wrote its value last.</summary>
    void EnsureHost(Array host);

    /// <summary>Copies every value written on the device back to its host array.</summary>
    void SyncAllToHost();

    /// <summary>Frees the device copy of <paramref name="host"/> (the array leaves the session) once the current run ends.</summary>
    void Forget(Array host);

    /// <summary>Frees the copies replaced or forgotten during a run (called when the run ends).</summary>
    void DisposeRetired();
}

/// <summary>Finds the devices of one kind of backend and opens them by name.</summary>
internal interface IBackendFactory
{
    /// <summary>Whether <paramref name="name"/> names a device of this kind (present or not).</summary>
    bool Handles(string name);

    /// <summary>The devices of this kind present on this machine (probing may load drivers: called only when listing).</summary>
    IEnumerable<DeviceInfo> Found();

    /// <summary>Devices of this kind that are present but cannot run Graph's kernels, each with the reason.</summary>
    IEnumerable<string> Unusable();

    /// <summary>Throws a clear error unless the device <paramref name="name"/> (one this factory handles) can run here.</summary>
    void Require(string name);

    /// <summary>The backend of device <paramref name="name"/>, checked with <see cref="Require"/> and opened on first use.</summary>
    IBackend Open(string name);
}

/// <summary>The backends Graph has, found by device name.</summary>
internal static class Backends
{
    // Factories only: opening a backend (and loading its native libraries) happens when a session asks for it.
    private static readonly IBackendFactory[] Factories = [new Cpu.CpuBackendFactory(), new Ilgpu.IlgpuBackendFactory()];

    /// <summary>The devices present, in the factories' order (cpu first).</summary>
    public static IEnumerable<DeviceInfo> Found() => Factories.SelectMany(f => f.Found());

    /// <summary>Present devices that cannot be used, with reasons.</summary>
    public static IEnumerable<string> Unusable() => Factories.SelectMany(f => f.Unusable());

    /// <summary>Throws a clear error (listing the devices present) unless <paramref name="name"/> can run here.</summary>
    public static void Require(string name) => FactoryOf(name).Require(name);

    /// <summary>The backend of device <paramref name="name"/> (checked with <see cref="Require"/> when first opened).</summary>
    public static IBackend Open(string name) => FactoryOf(name).Open(name);

    private static IBackendFactory FactoryOf(string name) => Factories.FirstOrDefault(f => f.Handles(name)) ?? throw Devices.NotAvailable(name);
}

/// <summary>A value a backend holds outside host arrays (a device buffer), as the device-neutral run state sees it.</summary>
internal interface IDeviceValue : IDisposable
{
    /// <summary>Its element type.</summary>
    DType DType { get; }

    /// <summary>Bytes of device memory it holds.</summary>
    long Bytes { get; }
}
