using System.Reflection;
using System.Text.RegularExpressions;
using Graph.Core;
using ILGPU;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.OpenCL;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace Graph.Kernels.Ilgpu;

/// <summary>
/// Compiles Graph's kernels for an ILGPU accelerator, fixing up the code ILGPU's GPU backends generate where it would
/// change results: ILGPU 1.5.3 emits float multiplies and adds as <c>mul.f32</c>/<c>add.f64</c> without a rounding
/// mode, which the CUDA driver's compiler may contract into fused multiply-adds (different bits from the cpu device,
/// and wrong for the exact-product tricks in <see cref="DeviceMath"/>); OpenCL C contracts <c>a*b+c</c> by default.
/// Both are turned off here: <c>.rn</c> on every PTX float add, subtract and multiply, and <c>FP_CONTRACT OFF</c> in
/// OpenCL C. The same text is available without a GPU (<see cref="ToPtx"/>, <see cref="ToOpenCl"/>), so tests check
/// the generated code in CI.
/// </summary>
internal static class KernelCode
{
    // The instruction itself, at the start of a line or after a predicate guard: not the operation part of another
    // instruction (atom.global.add.f32 takes no rounding mode).
    private static readonly Regex ContractablePtx = new(@"(?<=^[ \t]*(?:@!?%\w+[ \t]+)?)(add|sub|mul)\.f(32|64)\b", RegexOptions.Compiled | RegexOptions.Multiline);
    private const string NoContraction = "#pragma OPENCL FP_CONTRACT OFF\n";

    /// <summary>PTX with every float add, subtract and multiply rounded on its own (<c>.rn</c>): none may become an FMA.</summary>
    public static string WithoutContraction(string ptx) => ContractablePtx.Replace(ptx, "$1.rn.f$2");

    /// <summary>OpenCL C that forbids contracting a*b+c into an FMA.</summary>
    public static string WithoutContractionCl(string source) => source.StartsWith(NoContraction, StringComparison.Ordinal) ? source : NoContraction + source;

    /// <summary>
    /// Loads the kernel <paramref name="method"/> on <paramref name="accelerator"/>, with the backend's code fixed up:
    /// implicitly grouped (launched over a number of threads), or <paramref name="explicitlyGrouped"/> (launched with a
    /// grid and group size, for kernels that use shared memory and barriers).
    /// </summary>
    public static Kernel Load(Accelerator accelerator, MethodInfo method, bool explicitlyGrouped = false)
    {
        if (accelerator is not (CudaAccelerator or CLAccelerator))
            return explicitlyGrouped ? accelerator.LoadKernel(method) : accelerator.LoadAutoGroupedKernel(method);
        var compiled = accelerator.CompileKernel(explicitlyGrouped
            ? EntryPointDescription.FromExplicitlyGroupedKernel(method)
            : EntryPointDescription.FromImplicitlyGroupedKernel(method));
        FixUp(compiled);
        return explicitlyGrouped ? accelerator.LoadKernel(compiled) : accelerator.LoadAutoGroupedKernel(compiled);
    }

    /// <summary>Rewrites a compiled kernel's text in place (its text property has no setter: the field behind it is set).</summary>
    internal static void FixUp(CompiledKernel compiled)
    {
        switch (compiled)
        {
            case PTXCompiledKernel ptx:
                SetText(ptx, nameof(PTXCompiledKernel.PTXAssembly), WithoutContraction(ptx.PTXAssembly));
                break;
            case CLCompiledKernel cl:
                SetText(cl, nameof(CLCompiledKernel.Source), WithoutContractionCl(cl.Source));
                break;
        }
    }

    private static void SetText(CompiledKernel compiled, string property, string text)
    {
        var field = compiled.GetType().GetField($"<{property}>k__BackingField", BindingFlags.Instance | BindingFlags.NonPublic)
                    ?? throw new InternalException(
                        $"ILGPU's {compiled.GetType().Name} has no field behind {property}: this ILGPU version is not the one Graph's code fix-ups were written for (1.5.3).");
        field.SetValue(compiled, text);
    }

    private static readonly Lazy<(Context Context, PTXBackend Ptx, CLBackend Cl)> Offline = new(() =>
    {
        IlgpuDevices.EnsureOpenClResolver();
        var context = Context.Create(b => b.Cuda().OpenCL().EnableAlgorithms());
        var ptx = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, null);
        // Every optional OpenCL capability on: the code a capable device (generic address space, fp64, ...) gets.
        var capabilities = typeof(CLCapabilityContext).GetConstructors().Single(c => c.GetParameters().Length > 0 && c.GetParameters().All(p => p.ParameterType == typeof(bool)));
        var clCapabilities = (CLCapabilityContext)capabilities.Invoke(capabilities.GetParameters().Select(_ => (object)true).ToArray());
        var cl = new CLBackend(context, clCapabilities, CLDeviceVendor.Other, CLCVersion.CL30);
        return (context, ptx, cl);
    });

    private static EntryPointDescription EntryOf(MethodInfo kernel) =>
        kernel.GetParameters().FirstOrDefault()?.ParameterType == typeof(Index1D)
            ? EntryPointDescription.FromImplicitlyGroupedKernel(kernel)
            : EntryPointDescription.FromExplicitlyGroupedKernel(kernel);

    /// <summary>The PTX (for an SM 9.0 GPU) that the cuda device would load for <paramref name="kernel"/>; needs no GPU.</summary>
    public static string ToPtx(MethodInfo kernel)
    {
        lock (Offline)
        {
            var compiled = Offline.Value.Ptx.Compile(EntryOf(kernel), default);
            FixUp(compiled);
            return ((PTXCompiledKernel)compiled).PTXAssembly;
        }
    }

    /// <summary>The OpenCL C source that the opencl device would build for <paramref name="kernel"/>; needs no OpenCL device.</summary>
    public static string ToOpenCl(MethodInfo kernel)
    {
        lock (Offline)
        {
            var compiled = Offline.Value.Cl.Compile(EntryOf(kernel), default);
            FixUp(compiled);
            return ((CLCompiledKernel)compiled).Source;
        }
    }
}
