using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Graph.Core;

namespace Graph.Kernels.Cpu;

/// <summary>
/// float32 GEMM for the cpu device: a managed register-blocked kernel (6×16 tiles of Vector256 FMA accumulators over
/// packed panels), and OpenBLAS's <c>cblas_sgemm</c> when <c>libopenblas.so.0</c> is installed. For each shape the
/// faster of the two is measured once per process and kept, so a shape always runs the same code.
/// </summary>
internal static unsafe class Gemm32
{
    private const int MR = 6, NR = 16;
    private const long SmallWork = 1 << 15;

    private static readonly ConcurrentDictionary<(int, int, int, bool, bool), bool> UseBlasForShape = new();

    /// <summary>Whether OpenBLAS was found.</summary>
    public static bool HasOpenBlas => OpenBlas.Available;

    /// <summary>Computes the product for float32 operands; false for other cases.</summary>
    public static bool TryMultiply(MatMulPrim p, float[] a, float[] b, float[] c)
    {
        var (batch, m, n, k) = p.Sizes;
        var (ta, tb) = (p.TransposeA, p.TransposeB);
        var useBlas = OpenBlas.Available && (long)m * n * k >= SmallWork &&
                      UseBlasForShape.GetOrAdd((m, n, k, ta, tb), _ => BlasIsFaster(m, n, k, ta, tb));
        for (var i = 0; i < batch; i++)
        {
            int aOff = i * m * k, bOff = i * k * n, cOff = i * m * n;
            if (useBlas) OpenBlas.Multiply(ta, tb, m, n, k, a, aOff, b, bOff, c, cOff);
            else Managed(ta, tb, m, n, k, a, aOff, b, bOff, c, cOff);
        }
        return true;
    }

    /// <summary>
    /// Times both GEMMs on this shape, interleaved (the machine may be noisy), and keeps OpenBLAS unless the managed
    /// kernel's median is clearly (20%) lower: OpenBLAS is the reference, and a choice made on noise would stick for the
    /// whole process (measured here: a wrong pick doubled the RNN's 150x150 products).
    /// </summary>
    private static bool BlasIsFaster(int m, int n, int k, bool ta, bool tb)
    {
        var a = new float[m * k];
        var b = new float[k * n];
        var c = new float[m * n];
        void Blas() => OpenBlas.Multiply(ta, tb, m, n, k, a, 0, b, 0, c, 0);
        void Own() => Managed(ta, tb, m, n, k, a, 0, b, 0, c, 0);
        // OpenBLAS's first calls start its threads: warm both up before timing.
        for (var i = 0; i < 5; i++)
        {
            Blas();
            Own();
        }
        const int samples = 15;
        var blas = new double[samples];
        var managed = new double[samples];
        for (var r = 0; r < samples; r++)
        {
            var start = Stopwatch.GetTimestamp();
            Blas();
            blas[r] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            start = Stopwatch.GetTimestamp();
            Own();
            managed[r] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
        Array.Sort(blas);
        Array.Sort(managed);
        return !(managed[samples / 2] < 0.8 * blas[samples / 2]);
    }

    /// <summary>C[m×n] = op(A)·op(B) with the managed kernel.</summary>
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
        var packedB = new float[nPanels * k * NR];
        var packedA = new float[mPanels * k * MR];
        // B in panels of 16 columns and A in panels of 6 rows, each k deep and zero padded; the strides say where
        // element (row or column i, depth p) of op(X) lives.
        Pack(b, bOff, n, k, NR, tb ? k : 1, tb ? 1 : n, packedB);
        Pack(a, aOff, m, k, MR, ta ? 1 : k, ta ? m : 1, packedA);
        void Panel(int ip)
        {
            Span<float> tile = stackalloc float[MR * NR];
            fixed (float* pa = packedA, pb = packedB, pc = c)
            {
                for (var jp = 0; jp < nPanels; jp++)
                {
                    MicroKernel(pa + ip * k * MR, pb + jp * k * NR, k, tile);
                    var rows = Math.Min(MR, m - ip * MR);
                    var cols = Math.Min(NR, n - jp * NR);
                    for (var ii = 0; ii < rows; ii++)
                        tile.Slice(ii * NR, cols).CopyTo(new Span<float>(pc + cOff + (ip * MR + ii) * n + jp * NR, cols));
                }
            }
        }
        if ((long)m * n * k >= 1 << 18 && mPanels > 1) Parallel.For(0, mPanels, Panel);
        else
            for (var ip = 0; ip < mPanels; ip++) Panel(ip);
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
                    if (i < count) dst[to + w] = src[offset + i * strideOuter + p * strideDepth];
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

        static OpenBlas()
        {
            foreach (var name in new[] { "libopenblas.so.0", "libopenblas.so", "libopenblas" })
                if (NativeLibrary.TryLoad(name, out var handle) && NativeLibrary.TryGetExport(handle, "cblas_sgemm", out var fn))
                {
                    Sgemm = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)fn;
                    Available = true;
                    return;
                }
        }

        public static bool Available { get; }

        public static void Multiply(bool ta, bool tb, int m, int n, int k, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff)
        {
            fixed (float* pa = a, pb = b, pc = c)
                Sgemm(RowMajor, ta ? Trans : NoTrans, tb ? Trans : NoTrans, m, n, k, 1f, pa + aOff, ta ? m : k, pb + bOff, tb ? k : n, 0f, pc + cOff, n);
        }
    }
}
