using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Graph.Kernels.Cpu;

/// <summary>
/// float32 GEMM with AVX-512: 12×32 tiles of C held in 24 zmm accumulators, A and row-major B read in place (Bᵀ and the
/// last partial panels packed, zero padded), A broadcast per element. Written here because the OpenBLAS a Debian machine has (0.3.21) runs its AVX2 kernels
/// on AVX-512 CPUs when told to (<c>OPENBLAS_CORETYPE=Haswell</c>), and on the RNN's 150×150 products this kernel's
/// inner loop runs at ~200 GFLOP/s on one Zen 5 core against ~90 for those. Every element of C is one chain of FMAs
/// over p = 0…k−1 in order, whatever the tiling or the thread split, so results do not depend on the core count.
/// </summary>
internal static unsafe class Avx512Gemm
{
    private const int MR = 12, NR = 32;

    /// <summary>Whether this CPU and runtime run the kernel (AVX-512F, not disabled by <c>DOTNET_EnableAVX512=0</c>).</summary>
    public static bool IsSupported => Avx512F.IsSupported;

    /// <summary>Multiply-adds per core from which a product splits its tiles over the cores.</summary>
    private const long ParallelWork = 1 << 18;

    /// <summary>C[m×n] (row-major, at <paramref name="cOff"/>) = op(A)·op(B); A is m×k (k×m when <paramref name="ta"/>), B k×n (n×k when <paramref name="tb"/>).</summary>
    public static void Multiply(bool ta, bool tb, int m, int n, int k, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff)
    {
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            Array.Clear(c, cOff, m * n);
            return;
        }
        int nPanels = (n + NR - 1) / NR, mPanels = (m + MR - 1) / MR;
        var product = _product ??= new Product();
        product.Set(ta, tb, m, n, k, a, aOff, b, bOff, c, cOff);
        try
        {
            Run(product, m, n, k, mPanels, nPanels);
        }
        finally
        {
            product.Release();
        }
    }

    /// <summary>
    /// This thread's product, set anew for each call: a product inside a loop body runs tens of times a training step,
    /// and a new object with a new closure per call was garbage for the collector each time.
    /// </summary>
    [ThreadStatic] private static Product? _product;

    private static void Run(Product product, int m, int n, int k, int mPanels, int nPanels)
    {
        var parts = (int)Math.Clamp((long)m * n * k / ParallelWork, 1, CoreTeam.Cores);
        // Each part is a block of whole row panels (or of whole column panels where C has too few row panels to go
        // round) and packs the panels of B it reads itself: a panel packed by one core and read by another cost more
        // than packing it twice (150×150·150×150 took 40–90 µs on two cores that way; 26 µs packing per part, 40 µs on one
        // core, Zen 5).
        var byRows = mPanels >= 2 * parts || mPanels >= nPanels;
        parts = Math.Min(parts, byRows ? mPanels : nPanels);
        if (parts <= 1) product.Run(0, mPanels, 0, nPanels);
        else
        {
            product.Split(parts, byRows, mPanels, nPanels);
            CoreTeam.Run(parts, product.RunPart);
        }
    }

    /// <summary>
    /// Column panels [<paramref name="q0"/>, <paramref name="q1"/>) of op(B), 32 columns each: element (p, j) of panel q
    /// at [((q − q0)·k + p)·32 + j], zero past column n.
    /// </summary>
    private static void PackB(bool tb, int n, int k, float* b, int q0, int q1, float* packed)
    {
        for (var q = q0; q < q1; q++)
        {
            var cols = Math.Min(NR, n - q * NR);
            var panel = packed + (long)(q - q0) * k * NR;
            if (!tb)
            {
                // Row p of op(B) = B is contiguous: copy 32 floats (or the last panel's few, zero padded).
                for (var p = 0; p < k; p++)
                {
                    var src = b + (long)p * n + q * NR;
                    var dst = panel + p * NR;
                    if (cols == NR)
                    {
                        Vector512.Store(Vector512.Load(src), dst);
                        Vector512.Store(Vector512.Load(src + 16), dst + 16);
                    }
                    else
                    {
                        Vector512.Store(Vector512<float>.Zero, dst);
                        Vector512.Store(Vector512<float>.Zero, dst + 16);
                        new ReadOnlySpan<float>(src, cols).CopyTo(new Span<float>(dst, cols));
                    }
                }
            }
            else
            {
                // op(B) = Bᵀ: column j of the panel is row j of B, contiguous in p. Blocks of 8 rows × 8 depths are
                // transposed in registers; the depths past the last multiple of 8 and a partial panel's rows go one by one.
                if (cols < NR) new Span<float>(panel, k * NR).Clear();
                var fullRows = cols & ~7;
                var fullDepth = k & ~7;
                for (var j = 0; j < fullRows; j += 8)
                {
                    var src = b + (long)(q * NR + j) * k;
                    for (var p = 0; p < fullDepth; p += 8) Transpose8x8(src + p, k, panel + p * NR + j, NR);
                    for (var jj = j; jj < j + 8; jj++)
                        for (var p = fullDepth; p < k; p++) panel[p * NR + jj] = b[(long)(q * NR + jj) * k + p];
                }
                for (var j = fullRows; j < cols; j++)
                {
                    var src = b + (long)(q * NR + j) * k;
                    for (var p = 0; p < k; p++) panel[p * NR + j] = src[p];
                }
            }
        }
    }

    /// <summary>dst[t·dstStride + i] = src[i·srcStride + t] for an 8×8 block (rows of src become columns of dst).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* src, nint srcStride, float* dst, nint dstStride)
    {
        var r0 = Avx.LoadVector256(src);
        var r1 = Avx.LoadVector256(src + srcStride);
        var r2 = Avx.LoadVector256(src + 2 * srcStride);
        var r3 = Avx.LoadVector256(src + 3 * srcStride);
        var r4 = Avx.LoadVector256(src + 4 * srcStride);
        var r5 = Avx.LoadVector256(src + 5 * srcStride);
        var r6 = Avx.LoadVector256(src + 6 * srcStride);
        var r7 = Avx.LoadVector256(src + 7 * srcStride);
        // Interleave pairs of rows, then pairs of pairs, then swap 128-bit halves: the standard 24-shuffle transpose.
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(dst + dstStride, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(dst + 2 * dstStride, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(dst + 3 * dstStride, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(dst + 4 * dstStride, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(dst + 5 * dstStride, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(dst + 6 * dstStride, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(dst + 7 * dstStride, Avx.Permute2x128(u3, u7, 0x31));
    }

    /// <summary>The last, partial row panel of op(A): element (i, p) at [p·12 + i], zero past row m.</summary>
    private static void PackTailOfA(bool ta, int m, int k, float* a, float* packed)
    {
        var first = m - m % MR;
        new Span<float>(packed, k * MR).Clear();
        for (var i = first; i < m; i++)
            for (var p = 0; p < k; p++)
                packed[p * MR + i - first] = ta ? a[(long)p * m + i] : a[(long)i * k + p];
    }

    /// <summary>One product's operands, shared by the threads that compute its blocks.</summary>
    private sealed class Product
    {
        // The operands under the names the kernel uses for them (GEMM's m, n, k, a, b, c), then the current split.
        private bool ta, tb, _byRows;
        private int m, n, k, aOff, bOff, cOff, _parts, _mPanels, _nPanels;
        private float[] a = [], b = [], c = [];

        public Product() => RunPart = part =>
        {
            if (_byRows) Run(_mPanels * part / _parts, _mPanels * (part + 1) / _parts, 0, _nPanels);
            else Run(0, _mPanels, _nPanels * part / _parts, _nPanels * (part + 1) / _parts);
        };

        /// <summary>Runs part p of the split set by <see cref="Split"/>: a block of whole row (or column) panels.</summary>
        public Action<int> RunPart { get; }

        public void Set(bool ta, bool tb, int m, int n, int k, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff) =>
            (this.ta, this.tb, this.m, this.n, this.k, this.a, this.aOff, this.b, this.bOff, this.c, this.cOff) = (ta, tb, m, n, k, a, aOff, b, bOff, c, cOff);

        public void Split(int parts, bool byRows, int mPanels, int nPanels) => (_parts, _byRows, _mPanels, _nPanels) = (parts, byRows, mPanels, nPanels);

        /// <summary>Drops the operands, so that a thread's product keeps no array alive between calls.</summary>
        public void Release() => (a, b, c) = ([], [], []);

        /// <summary>The tiles of row panels [r0, r1) × column panels [q0, q1), with B's panels packed by this thread.</summary>
        public void Run(int r0, int r1, int q0, int q1)
        {
            // Row-major B is read in place, 32 floats of row p per step (a constant stride the prefetcher follows); only
            // its last, partial column panel is copied out zero padded. Bᵀ is packed whole (its columns are not contiguous).
            var nPanels = (n + NR - 1) / NR;
            var packedFrom = tb ? q0 : n % NR != 0 && q1 == nPanels ? nPanels - 1 : q1;
            var packedB = ThreadScratch.Floats(0, (q1 - packedFrom) * k * NR);
            // A's last row panel, when it has fewer than 12 rows, is copied out zero padded: reading it in place would
            // run past A's rows.
            var tailPanel = m % MR == 0 || r1 * MR < m ? -1 : r1 - 1;
            var packedTail = tailPanel < 0 ? null : ThreadScratch.Floats(1, k * MR);
            var tile = stackalloc float[MR * NR];
            fixed (float* pa = a, pb = b, pbPacked = packedB, pt = packedTail, pc = c)
            {
                PackB(tb, n, k, pb + bOff, packedFrom, q1, pbPacked);
                if (pt != null) PackTailOfA(ta, m, k, pa + aOff, pt);
                for (var q = q0; q < q1; q++)
                    for (var r = r0; r < r1; r++)
                    {
                        var rows = Math.Min(MR, m - r * MR);
                        var cols = Math.Min(NR, n - q * NR);
                        // Element (i, p) of the tile's rows of op(A) is at aTile + i·rowStride + p·depthStride.
                        float* aTile;
                        nint rowStride, depthStride;
                        if (r == tailPanel)
                        {
                            aTile = pt;
                            (rowStride, depthStride) = (1, MR);
                        }
                        else if (ta)
                        {
                            aTile = pa + aOff + r * MR;
                            (rowStride, depthStride) = (1, m);
                        }
                        else
                        {
                            aTile = pa + aOff + (long)r * MR * k;
                            (rowStride, depthStride) = (k, 1);
                        }
                        var packed = q >= packedFrom;
                        var bPanel = packed ? pbPacked + (long)(q - packedFrom) * k * NR : pb + bOff + q * NR;
                        Tile(aTile, rowStride, depthStride, bPanel, packed ? NR : n, k, tile);
                        CopyOut(tile, pc + cOff + (long)r * MR * n + q * NR, n, rows, cols);
                    }
            }
        }
    }

    /// <summary>
    /// One 12×32 tile: C[i, j] = Σ_p A(i, p)·B(p, j), 24 accumulators, two loads of B (32 floats at b + p·bStride) and
    /// twelve broadcasts of A per p.
    /// The accumulators go to <paramref name="tile"/> (12 rows of 32): no call in this method, so that the register
    /// allocator keeps all 24 in registers (with a call after the loop it spilled each one at every FMA).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile(float* a, nint rowStride, nint depthStride, float* b, nint bStride, int k, float* tile)
    {
        // Four row pointers three rows apart and strides 1× and 2×: every broadcast is one addressing mode.
        float* r0 = a, r3 = a + 3 * rowStride, r6 = a + 6 * rowStride, r9 = a + 9 * rowStride;
        nint s1 = rowStride, s2 = 2 * rowStride;
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default;
        Vector512<float> c90 = default, c91 = default, ca0 = default, ca1 = default, cb0 = default, cb1 = default;
        for (var p = 0; p < k; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            b += bStride;
            var x = Vector512.Create(r0[0]); c00 = Avx512F.FusedMultiplyAdd(x, b0, c00); c01 = Avx512F.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(r0[s1]); c10 = Avx512F.FusedMultiplyAdd(x, b0, c10); c11 = Avx512F.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(r0[s2]); c20 = Avx512F.FusedMultiplyAdd(x, b0, c20); c21 = Avx512F.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(r3[0]); c30 = Avx512F.FusedMultiplyAdd(x, b0, c30); c31 = Avx512F.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(r3[s1]); c40 = Avx512F.FusedMultiplyAdd(x, b0, c40); c41 = Avx512F.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(r3[s2]); c50 = Avx512F.FusedMultiplyAdd(x, b0, c50); c51 = Avx512F.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(r6[0]); c60 = Avx512F.FusedMultiplyAdd(x, b0, c60); c61 = Avx512F.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(r6[s1]); c70 = Avx512F.FusedMultiplyAdd(x, b0, c70); c71 = Avx512F.FusedMultiplyAdd(x, b1, c71);
            x = Vector512.Create(r6[s2]); c80 = Avx512F.FusedMultiplyAdd(x, b0, c80); c81 = Avx512F.FusedMultiplyAdd(x, b1, c81);
            x = Vector512.Create(r9[0]); c90 = Avx512F.FusedMultiplyAdd(x, b0, c90); c91 = Avx512F.FusedMultiplyAdd(x, b1, c91);
            x = Vector512.Create(r9[s1]); ca0 = Avx512F.FusedMultiplyAdd(x, b0, ca0); ca1 = Avx512F.FusedMultiplyAdd(x, b1, ca1);
            x = Vector512.Create(r9[s2]); cb0 = Avx512F.FusedMultiplyAdd(x, b0, cb0); cb1 = Avx512F.FusedMultiplyAdd(x, b1, cb1);
            r0 += depthStride; r3 += depthStride; r6 += depthStride; r9 += depthStride;
        }
        StoreRow(tile, c00, c01); StoreRow(tile + 32, c10, c11); StoreRow(tile + 64, c20, c21);
        StoreRow(tile + 96, c30, c31); StoreRow(tile + 128, c40, c41); StoreRow(tile + 160, c50, c51);
        StoreRow(tile + 192, c60, c61); StoreRow(tile + 224, c70, c71); StoreRow(tile + 256, c80, c81);
        StoreRow(tile + 288, c90, c91); StoreRow(tile + 320, ca0, ca1); StoreRow(tile + 352, cb0, cb1);
    }

    /// <summary>Copies the tile's first <paramref name="rows"/> × <paramref name="cols"/> into C.</summary>
    private static void CopyOut(float* tile, float* c, int ldc, int rows, int cols)
    {
        if (cols == NR)
            for (var i = 0; i < rows; i++)
                StoreRow(c + (long)i * ldc, Vector512.Load(tile + i * NR), Vector512.Load(tile + i * NR + 16));
        else
            for (var i = 0; i < rows; i++)
                new ReadOnlySpan<float>(tile + i * NR, cols).CopyTo(new Span<float>(c + (long)i * ldc, cols));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* dst, Vector512<float> lo, Vector512<float> hi)
    {
        Vector512.Store(lo, dst);
        Vector512.Store(hi, dst + 16);
    }
}
