namespace Graph.Kernels;

/// <summary>A device a Session can run on.</summary>
/// <param name="Name">The name to pass as <see cref="SessionOptions.Device"/>.</param>
/// <param name="Description">What it is.</param>
public sealed record DeviceInfo(string Name, string Description);

/// <summary>The devices present on this machine.</summary>
public static class Devices
{
    /// <summary>The devices a Session can use here.</summary>
    public static IReadOnlyList<DeviceInfo> List() => Backends.Found().ToList();

    /// <summary>Devices that are present but cannot run Graph's kernels, each with the reason (e.g. an OpenCL device without the generic address space).</summary>
    public static IReadOnlyList<string> Unusable() => Backends.Unusable().ToList();

    /// <summary>The error for asking for a device that is not present: it lists those that are.</summary>
    internal static ArgumentException NotAvailable(string name) =>
        new($"Device '{name}' is not available; available devices: {string.Join(", ", List().Select(d => d.Name))}.");

    /// <summary>Throws an error listing the devices present unless <paramref name="name"/> is one of them.</summary>
    public static void Require(string name) => Backends.Require(name);

    /// <summary>
    /// Starts the one-time preparation of device <paramref name="name"/>, so that it overlaps with loading data and
    /// building the graph. On <c>cpu</c> it returns at once: a background thread compiles the kernels that no ReadyToRun
    /// image holds and rehearses a training step on another core. An ILGPU device is opened (its context created) on the
    /// calling thread. The first <see cref="Session"/> on the device does the same otherwise, and calling this more than
    /// once costs nothing. Measured (2 cores): the MNIST RNN's first training step
    /// took 27 ms instead of 42 ms (medians of 14 processes each) when its program called this before loading the digits
    /// and building the model.
    /// </summary>
    public static void Prepare(string name) => Backends.Open(name).Prepare();

    /// <summary>
    /// How many kernels the device <paramref name="name"/> has compiled into its process-wide cache (keyed by the
    /// fused expression, its dtypes and shapes): a second session running the same graph compiles none. 0 for
    /// <c>cpu</c>, whose kernels are not generated code.
    /// </summary>
    public static int CompiledKernelCount(string name) => Backends.Open(name).CompiledKernelCount;

    /// <summary>
    /// How many kernels (and library calls such as cuBLAS GEMMs) the device <paramref name="name"/> has enqueued in this
    /// process: a measure of launch overhead. 0 for <c>cpu</c>.
    /// </summary>
    public static long LaunchCount(string name) => Backends.Open(name).LaunchCount;

    /// <summary>
    /// How many times the host waited for the device <paramref name="name"/> in this process (a copy from or to pageable
    /// memory, a condition read back): each is a round trip that stops the host from queueing ahead. 0 for <c>cpu</c>.
    /// </summary>
    public static long WaitCount(string name) => Backends.Open(name).WaitCount;

    /// <summary>Which GEMM the device <paramref name="name"/> uses for matmuls and why (cuBLAS on cuda where the library is found).</summary>
    public static string GemmOf(string name) => Backends.Open(name).GemmDescription;
}
