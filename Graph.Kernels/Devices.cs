using System.Runtime.CompilerServices;
using Graph.Kernels.Cpu;

namespace Graph.Kernels;

/// <summary>A device a Session can run on.</summary>
/// <param name="Name">The name to pass as <see cref="SessionOptions.Device"/>.</param>
/// <param name="Description">What it is.</param>
public sealed record DeviceInfo(string Name, string Description);

/// <summary>The devices present on this machine.</summary>
public static class Devices
{
    /// <summary>The devices a Session can use here.</summary>
    public static IReadOnlyList<DeviceInfo> List() =>
    [
        new("cpu", $"managed SIMD ({(System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? "Vector256" : "scalar")}) on {Environment.ProcessorCount} cores; " +
                   $"GEMM: {(Gemm32.HasOpenBlas ? "OpenBLAS or managed, chosen per shape" : "managed (install libopenblas0-pthread for OpenBLAS)")}"),
        .. DynamicCodeProblem(RuntimeFeature.IsDynamicCodeSupported) == null ? Ilgpu.IlgpuDevices.Found() : [],
    ];

    /// <summary>Devices that are present but cannot run Graph's kernels, each with the reason (e.g. an OpenCL device without the generic address space).</summary>
    public static IReadOnlyList<string> Unusable()
    {
        if (DynamicCodeProblem(RuntimeFeature.IsDynamicCodeSupported) is { } noCodegen) return [$"{Ilgpu.IlgpuDevices.IlgpuCpu}, {Ilgpu.IlgpuDevices.Cuda}, {Ilgpu.IlgpuDevices.OpenCl}: {noCodegen}"];
        return Ilgpu.IlgpuDevices.OpenClProblem is { } problem ? [$"opencl: {problem}"] : [];
    }

    /// <summary>
    /// Why this process cannot use the ILGPU devices, or null: they generate kernel code at run time, which a process
    /// running with dynamic code disabled (an AOT-compiled app, or <c>dotnet run app.cs</c>, whose file-based apps
    /// default to PublishAot=true in .NET 10) refuses — ILGPU's Context then fails in its type initializer.
    /// </summary>
    internal static string? DynamicCodeProblem(bool dynamicCodeSupported) => dynamicCodeSupported ? null :
        "this process cannot generate code at run time (RuntimeFeature.IsDynamicCodeSupported is false), and the ILGPU devices build their kernels then. " +
        ".NET 10 file-based apps (dotnet run app.cs) default to PublishAot=true: put '#:property PublishAot=false' at the top of the script, " +
        "or set <PublishAot>false</PublishAot> in the project file";

    /// <summary>The error for asking for a device that is not present: it lists those that are.</summary>
    internal static ArgumentException NotAvailable(string name) =>
        new($"Device '{name}' is not available; available devices: {string.Join(", ", List().Select(d => d.Name))}.");

    /// <summary>Throws an error listing the devices present unless <paramref name="name"/> is one of them.</summary>
    public static void Require(string name)
    {
        // Always present; probing for GPUs loads their drivers (PoCL brings LLVM), which a cpu session must not pay for.
        if (name is "cpu") return;
        if (Ilgpu.IlgpuDevices.IsIlgpu(name) && DynamicCodeProblem(RuntimeFeature.IsDynamicCodeSupported) is { } noCodegen)
            throw new NotSupportedException($"Device '{name}' cannot run in this process: {noCodegen}.");
        if (name is Ilgpu.IlgpuDevices.IlgpuCpu) return;
        var devices = List();
        if (name == Ilgpu.IlgpuDevices.OpenCl && devices.All(d => d.Name != name) && Ilgpu.IlgpuDevices.OpenClProblem is { } problem)
            throw new NotSupportedException($"Device 'opencl' cannot run Graph's kernels: {problem}. Available devices: {string.Join(", ", devices.Select(d => d.Name))}.");
        if (devices.All(d => d.Name != name)) throw NotAvailable(name);
    }

    /// <summary>
    /// How many kernels the ILGPU device <paramref name="name"/> has compiled into its process-wide cache (keyed by the
    /// fused expression, its dtypes and shapes): a second session running the same graph compiles none. 0 for
    /// <c>cpu</c>, whose kernels are not generated code.
    /// </summary>
    public static int CompiledKernelCount(string name) => Ilgpu.IlgpuDevices.IsIlgpu(name) ? Ilgpu.IlgpuDevice.Get(name).CachedKernels : 0;

    /// <summary>
    /// How many kernels (and library calls such as cuBLAS GEMMs) the device <paramref name="name"/> has enqueued in this
    /// process: a measure of launch overhead. 0 for <c>cpu</c>.
    /// </summary>
    public static long LaunchCount(string name) => Ilgpu.IlgpuDevices.IsIlgpu(name) ? Ilgpu.IlgpuDevice.Get(name).Launches : 0;

    /// <summary>Which GEMM the device <paramref name="name"/> uses for matmuls and why (cuBLAS on cuda where the library is found).</summary>
    public static string GemmOf(string name) => Ilgpu.IlgpuDevices.IsIlgpu(name) ? Ilgpu.IlgpuDevice.Get(name).GemmDescription
        : Gemm32.HasOpenBlas ? "OpenBLAS or managed, chosen per shape" : "managed";
}
