using System.Runtime.InteropServices;
using Graph.Core;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Graph.Kernels.Ilgpu.Cuda;

/// <summary>
/// NVIDIA's cuBLAS on the cuda device: the (strided batched) GEMMs of a plan's matmuls, on ILGPU's default stream so
/// they order with Graph's own kernels. A binding of the seven calls Graph needs, resolved at run time, rather than
/// ILGPU.Algorithms' <c>CuBlas</c>: that one looks only for <c>libcublas.so.10/11/12</c> (CUDA 13 ships <c>.so.13</c>)
/// and has no strided batched GEMM. Row-major products are computed as their column-major transposes
/// (C = A·B is Cᵀ = Bᵀ·Aᵀ), so no operand is ever copied. Math mode is cuBLAS's default: float32 products in float32
/// (no TF32), bit-reproducible run to run on one GPU.
/// </summary>
internal sealed unsafe class CuBlas : IDisposable
{
    private const int Success = 0, OpN = 0, OpT = 1;
    private static readonly object LoadGate = new();
    // Every library found that exports the calls, in the order of Candidates() (null until first probed).
    private static List<Api>? _apis;
    private const string NotFound = "cuBLAS (libcublas.so.13/.12/.11) was not found on the library path, in $CUDA_PATH/lib64 or in /usr/local/cuda*/lib64; " +
                                    "matmuls use Graph's own GEMM kernel";
    private readonly CudaAccelerator _accelerator;
    private readonly Api _api;
    private IntPtr _handle;

    private sealed class Api
    {
        public delegate* unmanaged<IntPtr*, int> Create;
        public delegate* unmanaged<IntPtr, int> Destroy;
        public delegate* unmanaged<IntPtr, IntPtr, int> SetStream;
        public delegate* unmanaged<IntPtr, int*, int> GetVersion;
        public delegate* unmanaged<IntPtr, int, int, int, int, int, float*, IntPtr, int, long, IntPtr, int, long, float*, IntPtr, int, long, int, int> SgemmStridedBatched;
        public delegate* unmanaged<IntPtr, int, int, int, int, int, double*, IntPtr, int, long, IntPtr, int, long, double*, IntPtr, int, long, int, int> DgemmStridedBatched;
        public required string Library;
    }

    private CuBlas(CudaAccelerator accelerator, Api api)
    {
        (_accelerator, _api) = (accelerator, api);
        accelerator.Bind();
        IntPtr handle;
        Check(api.Create(&handle), "cublasCreate");
        _handle = handle;
        try
        {
            Check(api.SetStream(handle, ((CudaStream)accelerator.DefaultStream).StreamPtr), "cublasSetStream");
            int version;
            Check(api.GetVersion(handle, &version), "cublasGetVersion");
            Version = $"cuBLAS {version / 10000}.{version / 100 % 100}.{version % 100} ({api.Library})";
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The library's version and file, e.g. <c>cuBLAS 13.0.2 (libcublas.so.13)</c>.</summary>
    public string Version { get; }

    /// <summary>
    /// cuBLAS for <paramref name="accelerator"/> from the first library found that starts (one built for a newer CUDA
    /// than the driver's fails in cublasCreate, and an older one may still serve), or null with
    /// <paramref name="problem"/> saying why (no library, or each failed to start).
    /// </summary>
    public static CuBlas? TryCreate(CudaAccelerator accelerator, out string? problem)
    {
        var apis = Load();
        var problems = new List<string>();
        foreach (var api in apis)
        {
            try
            {
                problem = null;
                return new CuBlas(accelerator, api);
            }
            catch (InvalidOperationException e)
            {
                problems.Add($"{api.Library}: {e.Message}");
            }
        }
        problem = apis.Count == 0 ? NotFound : string.Join("; ", problems) + "; matmuls use Graph's own GEMM kernel";
        return null;
    }

    /// <summary>Which cuBLAS the cuda device will try first, or why none (probes the library; needs no GPU context).</summary>
    public static string Describe() => Load() is [var api, ..] ? $"cuBLAS ({api.Library})" : $"Graph's GEMM kernel ({NotFound})";

    private static List<Api> Load()
    {
        lock (LoadGate)
        {
            if (_apis != null) return _apis;
            _apis = new List<Api>();
            var loaded = new HashSet<IntPtr>();
            foreach (var path in Candidates())
            {
                // The same file reached by two names loads once: its handle repeats.
                if (!NativeLibrary.TryLoad(path, out var lib) || !loaded.Add(lib)) continue;
                IntPtr Export(string name) => NativeLibrary.TryGetExport(lib, name, out var fn) ? fn : IntPtr.Zero;
                var exports = new[] { "cublasCreate_v2", "cublasDestroy_v2", "cublasSetStream_v2", "cublasGetVersion_v2", "cublasSgemmStridedBatched", "cublasDgemmStridedBatched" }
                    .Select(Export).ToArray();
                if (exports.Any(e => e == IntPtr.Zero)) continue;
                _apis.Add(new Api
                {
                    Library = Path.GetFileName(path),
                    Create = (delegate* unmanaged<IntPtr*, int>)exports[0],
                    Destroy = (delegate* unmanaged<IntPtr, int>)exports[1],
                    SetStream = (delegate* unmanaged<IntPtr, IntPtr, int>)exports[2],
                    GetVersion = (delegate* unmanaged<IntPtr, int*, int>)exports[3],
                    SgemmStridedBatched = (delegate* unmanaged<IntPtr, int, int, int, int, int, float*, IntPtr, int, long, IntPtr, int, long, float*, IntPtr, int, long, int, int>)exports[4],
                    DgemmStridedBatched = (delegate* unmanaged<IntPtr, int, int, int, int, int, double*, IntPtr, int, long, IntPtr, int, long, double*, IntPtr, int, long, int, int>)exports[5],
                });
            }
            return _apis;
        }
    }

    /// <summary>Where cuBLAS may be: the loader's path first, then the CUDA toolkit's usual folders (newest version first).</summary>
    private static IEnumerable<string> Candidates()
    {
        string[] names = ["libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"];
        foreach (var name in names) yield return name;
        var roots = new List<string>();
        if (Environment.GetEnvironmentVariable("CUDA_PATH") is { Length: > 0 } cudaPath) roots.Add(cudaPath);
        if (Directory.Exists("/usr/local")) roots.AddRange(NewestToolkitFirst(Directory.GetDirectories("/usr/local", "cuda*")));
        foreach (var root in roots)
            foreach (var dir in new[] { "lib64", "targets/x86_64-linux/lib", "lib" })
                foreach (var name in names)
                {
                    var path = Path.Combine(root, dir, name);
                    if (File.Exists(path)) yield return path;
                }
    }

    /// <summary>
    /// CUDA toolkit folders (<c>/usr/local/cuda</c>, <c>cuda-13.0</c>, <c>cuda-12.9</c>, …) in the order to search them:
    /// the unversioned one (the system's current toolkit) first, then by version, newest first (12.10 after 13.0 and
    /// before 12.9, which an ordinal sort gets wrong).
    /// </summary>
    internal static IEnumerable<string> NewestToolkitFirst(IEnumerable<string> folders)
    {
        static Version? VersionOf(string folder) =>
            Path.GetFileName(folder) is var name && name.StartsWith("cuda-", StringComparison.Ordinal) && System.Version.TryParse(name[5..], out var v) ? v : null;
        return folders.OrderBy(f => Path.GetFileName(f) == "cuda" ? 0 : VersionOf(f) != null ? 1 : 2)
            .ThenByDescending(VersionOf)
            .ThenBy(f => f, StringComparer.Ordinal);
    }

    private static void Check(int status, string call)
    {
        if (status != Success) throw new InvalidOperationException($"{call} failed with cuBLAS status {status}.");
    }

    /// <summary>
    /// C[b] = op(A[b])·op(B[b]) for row-major A [batch, M, K] (or [batch, K, M] transposed), B [batch, K, N] (or
    /// [batch, N, K]) and C [batch, M, N], enqueued on the default stream; with <paramref name="accumulate"/>
    /// C[b] += op(A[b])·op(B[b]) (beta 1: a loop gradient's running sum, one launch instead of two).
    /// </summary>
    public void Gemm(Prim origin, DType dtype, int batch, int m, int n, int k, bool transposeA, bool transposeB, DeviceBuffer a, DeviceBuffer b, DeviceBuffer c,
        bool accumulate = false)
    {
        // Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: B's buffer is cuBLAS's first operand.
        var opB = transposeB ? OpT : OpN;
        var opA = transposeA ? OpT : OpN;
        var ldb = transposeB ? k : n;
        var lda = transposeA ? m : k;
        var api = _api;
        _accelerator.Bind();
        var pa = Pointer(a);
        var pb = Pointer(b);
        var pc = Pointer(c);
        int status;
        if (dtype == DType.Float32)
        {
            float one = 1f, beta = accumulate ? 1f : 0f;
            status = api.SgemmStridedBatched(_handle, opB, opA, n, m, k, &one, pb, ldb, (long)k * n, pa, lda, (long)m * k, &beta, pc, n, (long)m * n, batch);
        }
        else if (dtype == DType.Float64)
        {
            double one = 1.0, beta = accumulate ? 1.0 : 0.0;
            status = api.DgemmStridedBatched(_handle, opB, opA, n, m, k, &one, pb, ldb, (long)k * n, pa, lda, (long)m * k, &beta, pc, n, (long)m * n, batch);
        }
        else throw new InvalidArgumentException($"{origin.OriginName}: cuBLAS has no {dtype.Name()} GEMM.");
        if (status != Success)
            throw new InternalException($"{origin.OriginName}: cuBLAS GEMM of [{batch}, {m}, {k}]·[{batch}, {k}, {n}] failed with status {status}.");
    }

    /// <summary>Whether cuBLAS serves <paramref name="dtype"/> (float32 and float64).</summary>
    public static bool Serves(DType dtype) => dtype is DType.Float32 or DType.Float64;

    private static IntPtr Pointer(DeviceBuffer buffer) => buffer.DevicePointer;

    public void Dispose()
    {
        if (_handle == IntPtr.Zero) return;
        _accelerator.Bind();
        _api.Destroy(_handle);
        _handle = IntPtr.Zero;
    }
}
