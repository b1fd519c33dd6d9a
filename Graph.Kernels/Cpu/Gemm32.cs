using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Graph.Core;

namespace Graph.Kernels.Cpu;

/// <summary>
/// float32 GEMM for the cpu device: on CPUs with AVX-512 Graph's own kernel (<see cref="Avx512Gemm"/>); elsewhere
/// OpenBLAS's <c>cblas_sgemm</c> when <c>libopenblas.so.0</c> is installed, either as the library threads it or
/// single-threaded on blocks of rows that Graph runs on all cores itself, and a managed register-blocked kernel (6×16
/// tiles of Vector256 FMA accumulators over packed panels) where it is not. Which one a shape takes is a fixed rule of
/// its size and the CPU (<see cref="ForShape"/>), so every run on a machine computes the same bits.
/// </summary>
internal static unsafe class Gemm32
{
    private const int MR = 6, NR = 16;
    private const long SmallWork = 1 << 15;
    private const int MinBlock = 32;

    /// <summary>How a shape's products run.</summary>
    internal enum Kernel
    {
        /// <summary>The managed kernel.</summary>
        Managed,
        /// <summary>Graph's AVX-512 kernel, on all cores (<see cref="Avx512Gemm"/>).</summary>
        Avx512,
        /// <summary>
        /// One cblas_sgemm call on the calling thread (OpenBLAS single-threaded for it; threaded as the process
        /// configured it where its thread count cannot be set).
        /// </summary>
        Blas,
        /// <summary>
        /// cblas_sgemm single-threaded on blocks of C's rows (or columns, when C is wider than tall), one per core, run
        /// by Graph. On the RNN's 150×150 products this was 42 µs against 52 µs for OpenBLAS's own two threads here.
        /// </summary>
        BlasBlocks,
    }

    /// <summary>Whether OpenBLAS was found (and <c>GRAPH_BLAS</c> does not say <c>managed</c>).</summary>
    public static bool HasOpenBlas => OpenBlas.Available;

    /// <summary>
    /// The <c>GRAPH_BLAS</c> environment variable, lower case: unset or <c>auto</c> uses Graph's AVX-512 kernel where the
    /// CPU has AVX-512 and OpenBLAS where installed otherwise (for all but tiny products, <see cref="ForShape"/>),
    /// <c>managed</c> never loads OpenBLAS (the path a machine without it takes; CI runs the tests both ways),
    /// <c>openblas</c> requires OpenBLAS and uses it on every CPU.
    /// </summary>
    internal static string Setting { get; } = (Environment.GetEnvironmentVariable("GRAPH_BLAS") ?? "").Trim().ToLowerInvariant();

    /// <summary>What runs the products that are not tiny on this machine, for <c>graph devices</c> and the benchmarks.</summary>
    public static string Description => ForShape(150, 150, 150) switch
    {
        Kernel.Avx512 => "Graph's AVX-512 kernel" + (HasOpenBlas ? " (OpenBLAS installed; GRAPH_BLAS=openblas uses it)" : ""),
        Kernel.Managed => "managed (install libopenblas0-pthread for OpenBLAS)",
        _ => "OpenBLAS",
    } + " on " + CoreTeam.Cores + (CoreTeam.Cores == 1 ? " core" : " cores") + "; managed for tiny products";

    /// <summary>Throws a clear error when <c>GRAPH_BLAS</c> has a value it cannot honour (checked when a cpu session is created).</summary>
    internal static void CheckSetting() => CheckSetting(Setting, () => HasOpenBlas);

    /// <summary>
    /// Throws a clear error when <paramref name="setting"/> cannot be honoured. Asks <paramref name="hasOpenBlas"/> only
    /// for <c>openblas</c>: loading the library starts its thread pool, which spins on a core for a while, and a
    /// machine whose products all run on Graph's AVX-512 kernel never needs it.
    /// </summary>
    internal static void CheckSetting(string setting, Func<bool> hasOpenBlas)
    {
        switch (setting)
        {
            case "" or "auto" or "managed":
                return;
            case "openblas" when !hasOpenBlas():
                throw new InvalidArgumentException("GRAPH_BLAS=openblas, but libopenblas.so.0 was not found (apt-get install libopenblas0-pthread), or unset GRAPH_BLAS to use the managed GEMM.");
            case "openblas":
                return;
            default:
                throw new InvalidArgumentException($"GRAPH_BLAS='{setting}' is not a GEMM choice: use 'managed' (never OpenBLAS), 'openblas' (require it) or 'auto' (the default: Graph's AVX-512 kernel on CPUs that have it, OpenBLAS where installed elsewhere).");
        }
    }

    /// <summary>
    /// Whether the kernel for <paramref name="p"/> can add its product into C (<see cref="TryMultiply(MatMulPrim, float[], float[], float[], bool)"/>'s accumulate):
    /// Graph's AVX-512 kernel adds each finished element; OpenBLAS and the managed kernel overwrite C.
    /// </summary>
    public static bool AddsInPlace(MatMulPrim p) => p.DType == DType.Float32 && ForShape(p.Sizes.M, p.Sizes.N, p.Sizes.K) == Kernel.Avx512;

    /// <summary>Computes the product for float32 operands (added into <paramref name="c"/> with <paramref name="accumulate"/>, see <see cref="AddsInPlace"/>); false for other cases.</summary>
    public static bool TryMultiply(MatMulPrim p, float[] a, float[] b, float[] c, bool accumulate = false)
    {
        var (batch, m, n, k) = p.Sizes;
        var (ta, tb) = (p.TransposeA, p.TransposeB);
        var kernel = ForShape(m, n, k);
        if (accumulate && kernel != Kernel.Avx512) throw new InternalException($"{p.OriginName}: this product's kernel cannot add into a sum.");
        for (var i = 0; i < batch; i++)
            if (kernel == Kernel.Avx512) Avx512Gemm.Multiply(ta, tb, m, n, k, a, i * m * k, b, i * k * n, c, i * m * n, accumulate);
            else Multiply(kernel, ta, tb, m, n, k, a, i * m * k, b, i * k * n, c, i * m * n);
        return true;
    }

    /// <summary>
    /// Whether <paramref name="p"/> can run in a batch of independent products (<see cref="MultiplyBatch"/>): a float32
    /// product of two matrices on Graph's AVX-512 kernel.
    /// </summary>
    public static bool CanBatch(MatMulPrim p) => AddsInPlace(p) && p.Sizes.Batch == 1;

    /// <summary>Runs products of <see cref="CanBatch"/> in one dispatch over the cores (<see cref="Avx512Gemm.MultiplyBatch"/>).</summary>
    public static void MultiplyBatch(Avx512Gemm.BatchedProduct[] products, int count) => Avx512Gemm.MultiplyBatch(products, count);

    /// <summary>
    /// Whether <paramref name="p"/> + <paramref name="added"/> can run as one product over both depths
    /// (<see cref="MultiplySum"/>): two float32 matrix products of one shape on Graph's AVX-512 kernel, neither deeper
    /// than its depth blocks. The kernel is chosen for the sum's work: a product too small for the AVX-512 kernel alone
    /// (an RNN's few inputs) still rides along with a larger one.
    /// </summary>
    public static bool CanSum(MatMulPrim p, MatMulPrim added) =>
        p.DType == DType.Float32 && added.DType == DType.Float32 && p.Dims.Length == 2 && added.Dims.Length == 2 &&
        p.Dims.AsSpan().SequenceEqual(added.Dims) && p.Sizes.K <= Avx512Gemm.MaxSumDepth && added.Sizes.K <= Avx512Gemm.MaxSumDepth &&
        ForShape(p.Sizes.M, p.Sizes.N, p.Sizes.K + added.Sizes.K) == Kernel.Avx512;

    /// <summary>C = op(A)·op(B) + op(A₂)·op(B₂) of <paramref name="p"/> and <paramref name="added"/> (<see cref="CanSum"/>), each element one chain of FMAs over both depths.</summary>
    public static void MultiplySum(MatMulPrim p, float[] a, float[] b, MatMulPrim added, float[] a2, float[] b2, float[] c, IProductEpilogue? epilogue)
    {
        var (_, m, n, k) = p.Sizes;
        Avx512Gemm.MultiplySum(p.TransposeA, p.TransposeB, k, a, 0, b, 0, added.TransposeA, added.TransposeB, added.Sizes.K, a2, 0, b2, 0, m, n, c, 0, epilogue);
    }

    /// <summary>
    /// Computes the product with <paramref name="epilogue"/> applied inside it (<see cref="Avx512Gemm.Multiply"/>) where
    /// Graph's AVX-512 kernel runs it and it is one product; false, with nothing done, for other cases.
    /// </summary>
    public static bool TryMultiply(MatMulPrim p, float[] a, float[] b, float[] c, IProductEpilogue epilogue)
    {
        var (batch, m, n, k) = p.Sizes;
        if (batch != 1 || !AddsInPlace(p)) return false;
        Avx512Gemm.Multiply(p.TransposeA, p.TransposeB, m, n, k, a, 0, b, 0, c, 0, epilogue: epilogue);
        return true;
    }

    /// <summary>C[m×n] = op(A)·op(B) with <paramref name="kernel"/>.</summary>
    internal static void Multiply(Kernel kernel, bool ta, bool tb, int m, int n, int k, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff)
    {
        switch (kernel)
        {
            case Kernel.Blas:
                OpenBlas.Multiply(ta, tb, m, n, k, a, aOff, b, bOff, c, cOff);
                break;
            case Kernel.BlasBlocks:
                OpenBlas.MultiplyBlocks(ta, tb, m, n, k, a, aOff, b, bOff, c, cOff);
                break;
            case Kernel.Avx512:
                Avx512Gemm.Multiply(ta, tb, m, n, k, a, aOff, b, bOff, c, cOff);
                break;
            default:
                Managed(ta, tb, m, n, k, a, aOff, b, bOff, c, cOff);
                break;
        }
    }

    /// <summary>
    /// How a product of this shape runs: a fixed rule of size, never a timing, so that every process on a machine
    /// computes the same bits (a resumed training run continues its losses exactly; timing the kernels against each
    /// other once per process picked the managed kernel for a shape in some processes of a loaded machine and not in
    /// others, and the two sum in different orders). Tiny products run managed (a cblas call costs more than they do).
    /// On a CPU with AVX-512 the rest run on Graph's AVX-512 kernel unless <c>GRAPH_BLAS=openblas</c>: the OpenBLAS
    /// Debian ships (0.3.21) runs AVX2 kernels there when <c>OPENBLAS_CORETYPE=Haswell</c> is set, as on the machines
    /// measured, and the kernel took the RNN's 150×150·150×150 product in 37 µs on one Zen 5 core against OpenBLAS's
    /// 70 µs (docs/performance.md). Elsewhere the rest run on OpenBLAS, which was the faster for every shape of the MNIST
    /// RNN on an AVX2 machine: single-threaded below <see cref="BlockFlops"/>, on blocks across the cores from there.
    /// <para>
    /// OpenBLAS never runs its own threads inside Graph where its thread count can be set: its workers spin
    /// (sched_yield) for 0.1 s after each call, on the cores Graph's next kernels need (a fifth of a training step's
    /// samples in a profile).
    /// </para>
    /// </summary>
    internal static Kernel ForShape(int m, int n, int k)
    {
        if ((long)m * n * k < SmallWork) return Kernel.Managed;
        if (Avx512Gemm.IsSupported && Setting != "openblas") return Kernel.Avx512;
        if (!OpenBlas.Available) return Kernel.Managed;
        return OpenBlas.CanSplit && Math.Max(m, n) >= 2 * MinBlock && CoreTeam.Cores > 1 && 2.0 * m * n * k >= BlockFlops
            ? Kernel.BlasBlocks
            : Kernel.Blas;
    }

    /// <summary>Floating-point operations (2·m·n·k) from which a product runs on blocks across the cores (~30 µs on one core).</summary>
    internal const double BlockFlops = 4e6;

    /// <summary>
    /// C[m×n] = op(A)·op(B) with the managed kernel. The packed panels come from the shared array pool, so a training
    /// step on this path allocates nothing for them (21 MB per MNIST RNN step when they were new arrays).
    /// </summary>
    public static void Managed(bool ta, bool tb, int m, int n, int k, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff)
    {
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            Array.Clear(c, cOff, m * n);
            return;
        }
        var nPanels = (n + NR - 1) / NR;
        var mPanels = (m + MR - 1) / MR;
        var packedB = ThreadScratch.Floats(0, nPanels * k * NR);
        var packedA = ThreadScratch.Floats(1, mPanels * k * MR);
        // B in panels of 16 columns and A in panels of 6 rows, each k deep and zero padded; the strides say where
        // element (row or column i, depth p) of op(X) lives. The panels are this thread's scratch: the parts that other
        // threads run only read them.
        Pack(b, bOff, n, k, NR, tb ? k : 1, tb ? 1 : n, packedB);
        Pack(a, aOff, m, k, MR, ta ? 1 : k, ta ? m : 1, packedA);
        var panels = new Panels(m, n, k, packedA, packedB, c, cOff);
        if ((long)m * n * k >= 1 << 18 && mPanels > 1) panels.RunInParallel(mPanels);
        else
            for (var ip = 0; ip < mPanels; ip++) panels.Run(ip);
    }

    /// <summary>The row panels of one product (a class only on the parallel path: the sequential one allocates nothing).</summary>
    private readonly record struct Panels(int M, int N, int K, float[] PackedA, float[] PackedB, float[] C, int COff)
    {
        public void RunInParallel(int mPanels)
        {
            var self = this;
            CoreTeam.Run(mPanels, ip => self.Run(ip));
        }

        /// <summary>Row panel <paramref name="ip"/>: one 6×16 tile per column panel, copied into C.</summary>
        public void Run(int ip)
        {
            Span<float> tile = stackalloc float[MR * NR];
            var nPanels = (N + NR - 1) / NR;
            fixed (float* pa = PackedA, pb = PackedB, pc = C)
            {
                for (var jp = 0; jp < nPanels; jp++)
                {
                    MicroKernel(pa + ip * K * MR, pb + jp * K * NR, K, tile);
                    var rows = Math.Min(MR, M - ip * MR);
                    var cols = Math.Min(NR, N - jp * NR);
                    for (var ii = 0; ii < rows; ii++)
                        tile.Slice(ii * NR, cols).CopyTo(new Span<float>(pc + COff + (ip * MR + ii) * N + jp * NR, cols));
                }
            }
        }
    }

    /// <summary>Copies element (i, p) = src[offset + i·strideOuter + p·strideDepth] into panels of <paramref name="width"/> i's.</summary>
    private static void Pack(float[] src, int offset, int count, int depth, int width, int strideOuter, int strideDepth, float[] dst)
    {
        var panels = (count + width - 1) / width;
        for (var panel = 0; panel < panels; panel++)
            for (var p = 0; p < depth; p++)
            {
                var to = (panel * depth + p) * width;
                for (var w = 0; w < width; w++)
                {
                    var i = panel * width + w;
                    dst[to + w] = i < count ? src[offset + i * strideOuter + p * strideDepth] : 0f; // pooled arrays are not zeroed
                }
            }
    }

    /// <summary>A 6×16 tile: 12 Vector256 accumulators, one broadcast of A and two loads of B per k.</summary>
    private static void MicroKernel(float* a, float* b, int k, Span<float> tile)
    {
        if (!Fma.IsSupported || !Vector256.IsHardwareAccelerated)
        {
            tile.Clear();
            for (var p = 0; p < k; p++)
                for (var i = 0; i < MR; i++)
                    for (var j = 0; j < NR; j++)
                        tile[i * NR + j] += a[p * MR + i] * b[p * NR + j];
            return;
        }
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (var p = 0; p < k; p++)
        {
            var b0 = Avx.LoadVector256(b);
            var b1 = Avx.LoadVector256(b + 8);
            var a0 = Vector256.Create(a[0]);
            c00 = Fma.MultiplyAdd(a0, b0, c00); c01 = Fma.MultiplyAdd(a0, b1, c01);
            var a1 = Vector256.Create(a[1]);
            c10 = Fma.MultiplyAdd(a1, b0, c10); c11 = Fma.MultiplyAdd(a1, b1, c11);
            var a2 = Vector256.Create(a[2]);
            c20 = Fma.MultiplyAdd(a2, b0, c20); c21 = Fma.MultiplyAdd(a2, b1, c21);
            var a3 = Vector256.Create(a[3]);
            c30 = Fma.MultiplyAdd(a3, b0, c30); c31 = Fma.MultiplyAdd(a3, b1, c31);
            var a4 = Vector256.Create(a[4]);
            c40 = Fma.MultiplyAdd(a4, b0, c40); c41 = Fma.MultiplyAdd(a4, b1, c41);
            var a5 = Vector256.Create(a[5]);
            c50 = Fma.MultiplyAdd(a5, b0, c50); c51 = Fma.MultiplyAdd(a5, b1, c51);
            a += MR;
            b += NR;
        }
        fixed (float* t = tile)
        {
            Avx.Store(t, c00); Avx.Store(t + 8, c01);
            Avx.Store(t + 16, c10); Avx.Store(t + 24, c11);
            Avx.Store(t + 32, c20); Avx.Store(t + 40, c21);
            Avx.Store(t + 48, c30); Avx.Store(t + 56, c31);
            Avx.Store(t + 64, c40); Avx.Store(t + 72, c41);
            Avx.Store(t + 80, c50); Avx.Store(t + 88, c51);
        }
    }

    /// <summary>OpenBLAS's cblas_sgemm through P/Invoke, when the library is installed.</summary>
    private static class OpenBlas
    {
        private const int RowMajor = 101, NoTrans = 111, Trans = 112;
        private static readonly delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> Sgemm;
        // Two tiny functions that neither block nor call back: no GC transition around them (two per product).
        private static readonly delegate* unmanaged[SuppressGCTransition]<int> GetThreads;
        private static readonly delegate* unmanaged[SuppressGCTransition]<int, void> SetThreads;

        static OpenBlas()
        {
            if (Setting == "managed") return;
            foreach (var name in new[] { "libopenblas.so.0", "libopenblas.so", "libopenblas" })
                if (NativeLibrary.TryLoad(name, out var handle) && NativeLibrary.TryGetExport(handle, "cblas_sgemm", out var fn))
                {
                    Sgemm = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)fn;
                    Available = true;
                    if (NativeLibrary.TryGetExport(handle, "openblas_get_num_threads", out var get) &&
                        NativeLibrary.TryGetExport(handle, "openblas_set_num_threads", out var set))
                    {
                        GetThreads = (delegate* unmanaged[SuppressGCTransition]<int>)get;
                        SetThreads = (delegate* unmanaged[SuppressGCTransition]<int, void>)set;
                        CanSplit = true;
                    }
                    return;
                }
        }

        public static bool Available { get; }

        /// <summary>Whether OpenBLAS's thread count can be read and set (needed to run it single-threaded on blocks).</summary>
        public static bool CanSplit { get; }

        /// <summary>
        /// The product as blocks of C's rows (or of its columns when it has more of them), one per core, each computed by
        /// a single-threaded cblas_sgemm (OpenBLAS runs concurrent single-threaded calls independently). The process's
        /// OpenBLAS thread count is set to 1 for the duration and restored after, so other OpenBLAS users keep theirs.
        /// </summary>
        public static void MultiplyBlocks(bool ta, bool tb, int m, int n, int k, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff)
        {
            var byRows = m >= n;
            var extent = byRows ? m : n;
            var parts = Math.Max(1, Math.Min(CoreTeam.Cores, extent / MinBlock));
            int lda = ta ? m : k, ldb = tb ? k : n;
            using var single = SingleThreaded.Begin();
            if (parts == 1) Call(ta, tb, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, n);
            else
                CoreTeam.Run(parts, part =>
                {
                    var (start, end) = CoreTeam.Share(extent, part, parts);
                    var (first, count) = ((int)start, (int)(end - start));
                    if (byRows)
                        // Row r of op(A) starts at r·k (A as stored) or at column r (A transposed).
                        Call(ta, tb, count, n, k, a, aOff + (ta ? first : first * k), lda, b, bOff, ldb, c, cOff + first * n, n);
                    else
                        // Column j of op(B) starts at column j (B as stored) or at row j (B transposed).
                        Call(ta, tb, m, count, k, a, aOff, lda, b, bOff + (tb ? first * k : first), ldb, c, cOff + first, n);
                });
        }

        /// <summary>One cblas_sgemm call on this thread, OpenBLAS single-threaded for it (where its thread count can be set).</summary>
        public static void Multiply(bool ta, bool tb, int m, int n, int k, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff)
        {
            using var single = SingleThreaded.Begin();
            Call(ta, tb, m, n, k, a, aOff, ta ? m : k, b, bOff, tb ? k : n, c, cOff, n);
        }

        /// <summary>The m×n block of C at <paramref name="cOff"/> = op(A)·op(B), with explicit leading dimensions (a block's are the whole matrices').</summary>
        private static void Call(bool ta, bool tb, int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float[] c, int cOff, int ldc)
        {
            fixed (float* pa = a, pb = b, pc = c)
                Sgemm(RowMajor, ta ? Trans : NoTrans, tb ? Trans : NoTrans, m, n, k, 1f, pa + aOff, lda, pb + bOff, ldb, 0f, pc + cOff, ldc);
        }

        /// <summary>
        /// OpenBLAS's thread count at 1 while any Graph call is inside OpenBLAS, then back to what it was (nothing where it
        /// cannot be set). Counted across threads, so two sessions running at once do not restore it under each other.
        /// </summary>
        private readonly struct SingleThreaded : IDisposable
        {
            private static readonly Lock Gate = new();
            private static int _inside, _saved = 1;

            public static SingleThreaded Begin()
            {
                if (!CanSplit) return default;
                lock (Gate)
                    if (_inside++ == 0)
                    {
                        _saved = GetThreads();
                        if (_saved != 1) SetThreads(1);
                    }
                return default;
            }

            public void Dispose()
            {
                if (!CanSplit) return;
                lock (Gate)
                    if (--_inside == 0 && _saved != 1) SetThreads(_saved);
            }
        }
    }
}
