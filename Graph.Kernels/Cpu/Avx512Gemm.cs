using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Graph.Core;

namespace Graph.Kernels.Cpu;

/// <summary>
/// float32 GEMM with AVX-512: 12×32 tiles of C held in 24 zmm accumulators, A broadcast per element. A and row-major B
/// are read in place (Bᵀ is packed, and so is a last partial row panel of A unless it has exactly 6 rows; B's last
/// partial column panel is read in place but for its last row); whole tiles are stored straight into C. Deep products
/// run in depth blocks, and an optional element-wise epilogue is run by each part over the elements it finished.
/// Written here because the OpenBLAS a Debian machine has (0.3.21) runs its AVX2 kernels on AVX-512 CPUs when told to
/// (<c>OPENBLAS_CORETYPE=Haswell</c>), and on the RNN's 150×150 products this kernel's inner loop runs at ~200 GFLOP/s on
/// one Zen 5 core against ~90 for those. Every element of C is one chain of FMAs over p = 0…k−1 in order, whatever the
/// tiling, the depth blocks or the thread split, so results do not depend on the core count.
/// </summary>
internal static unsafe class Avx512Gemm
{
    private const int MR = 12, NR = 32;

    /// <summary>Whether this CPU and runtime run the kernel (AVX-512F, not disabled by <c>DOTNET_EnableAVX512=0</c>).</summary>
    public static bool IsSupported => Avx512F.IsSupported;

    /// <summary>
    /// Elements of C (128 KB) a part computes before it runs the epilogue over them: an [4,200 × 150] product's half is
    /// 1.2 MB, more than a core's L2 holds.
    /// </summary>
    private const int EpilogueBlockFloats = 1 << 15;

    /// <summary>
    /// Depth from which a product runs in depth blocks of <see cref="DepthBlock"/>. Without them every tile of the MNIST
    /// RNN's input-kernel gradient ([28 × 4,200]·[4,200 × 150]) streamed its 4,200 rows of both operands, ~1 MB, from
    /// beyond L2 again.
    /// </summary>
    private const int DepthBlockFrom = 512, DepthBlock = 256;

    /// <summary>The deepest product a sum of two products (<see cref="MultiplySum"/>) takes: one without depth blocks.</summary>
    public const int MaxSumDepth = DepthBlockFrom;

    /// <summary>Floats of partial tile sums (128 KB) a part keeps between depth blocks.</summary>
    private const int PartialFloats = 1 << 15;

    /// <summary>Multiply-adds per core from which a product splits its tiles over the cores.</summary>
    private const long ParallelWork = 1 << 18;

    /// <summary>
    /// C[m×n] (row-major, at <paramref name="cOff"/>) = op(A)·op(B), or C += op(A)·op(B) with <paramref name="accumulate"/>
    /// (each finished element of the product added to C's: the bits of the product then a sum); A is m×k (k×m when
    /// <paramref name="ta"/>), B k×n (n×k when <paramref name="tb"/>). An <paramref name="epilogue"/> is applied by each
    /// part to the elements of C it finished, while they are still in its cache, before the call returns.
    /// </summary>
    public static void Multiply(bool ta, bool tb, int m, int n, int k, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff,
        bool accumulate = false, IProductEpilogue? epilogue = null)
    {
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            if (!accumulate) Array.Clear(c, cOff, m * n);
            epilogue?.Apply(0, m * n);
            return;
        }
        if (IsZeroProduct(m, n, k, a, aOff, b, bOff))
        {
            // Every element is +0 (each is an FMA chain from +0 over ±0 terms): C = 0, or C + 0 (which turns a −0 in C
            // into +0, as the chain's sum would).
            if (!accumulate) Array.Clear(c, cOff, m * n);
            else VectorLoops.Map<float, AddZero>(c.AsSpan(cOff, m * n), c.AsSpan(cOff, m * n));
            epilogue?.Apply(0, m * n);
            return;
        }
        int nPanels = (n + NR - 1) / NR, mPanels = (m + MR - 1) / MR;
        var product = _product ??= new Product();
        product.Set(ta, tb, m, n, k, a, aOff, b, bOff, c, cOff, accumulate, epilogue);
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
    /// C[m×n] = op(A)·op(B) + op(A₂)·op(B₂) as one product over the two depths: each element is one chain of FMAs over
    /// the first pair's p = 0…k−1, then the second's p = 0…k₂−1, so the two products are never rounded apart and C is
    /// written once. An RNN step's h·W_h and x_t·W_x (k = 150 and 28 for the MNIST RNN): on two cores the short product
    /// took 8–12 µs as a call of its own and adds 6–8 µs to the long one's 34–36 inside it (each tile takes both depths
    /// in one pass of its kernel, the sums staying in registers). Both depths at most <see cref="DepthBlockFrom"/> (no
    /// depth blocks). A first pair whose A is zero (an RNN's first step from a zero state) is skipped with the bits of
    /// its chains: each stays +0 over it, so the second pair's chains start from +0 as they would alone.
    /// </summary>
    public static void MultiplySum(bool ta, bool tb, int k, float[] a, int aOff, float[] b, int bOff,
        bool ta2, bool tb2, int k2, float[] a2, int aOff2, float[] b2, int bOff2, int m, int n, float[] c, int cOff, IProductEpilogue? epilogue = null)
    {
        if (k > DepthBlockFrom || k2 > DepthBlockFrom)
            throw new InternalException($"A sum of products deeper than {DepthBlockFrom} ({k} and {k2}) runs as two products.");
        if (k2 == 0 || m == 0 || n == 0)
        {
            Multiply(ta, tb, m, n, k, a, aOff, b, bOff, c, cOff, epilogue: epilogue);
            return;
        }
        if (k == 0 || IsZeroProduct(m, n, k, a, aOff, b, bOff))
        {
            Multiply(ta2, tb2, m, n, k2, a2, aOff2, b2, bOff2, c, cOff, epilogue: epilogue);
            return;
        }
        int nPanels = (n + NR - 1) / NR, mPanels = (m + MR - 1) / MR;
        var product = _product ??= new Product();
        product.Set(ta, tb, m, n, k, a, aOff, b, bOff, c, cOff, accumulate: false, epilogue);
        product.SetSecond(ta2, tb2, k2, a2, aOff2, b2, bOff2);
        try
        {
            Run(product, m, n, k + k2, mPanels, nPanels);
        }
        finally
        {
            product.Release();
        }
    }

    /// <summary>One product of a batch (<see cref="MultiplyBatch"/>): C (+)= op(A)·op(B), A m×k (k×m when Ta), B k×n (n×k when Tb).</summary>
    public struct BatchedProduct
    {
        public bool Ta, Tb, Accumulate;
        public int M, N, K;
        public float[] A, B, C;
    }

    /// <summary>
    /// Independent products in one dispatch over the cores: their tiles, product after product, are cut into parts of
    /// equal cost together, so the cores meet once instead of once per product, and a product too small to split well
    /// alone shares a part with another's tiles. Each product's elements are computed exactly as
    /// <see cref="Multiply"/> computes them (the same chains; only which core runs a tile changes). An RNN's gradient
    /// step: dz·W_hᵀ, h_{t−1}ᵀ·dz and x_tᵀ·dz, three products of one iteration that read none of each other's results.
    /// No product may write an array another reads. Products with nothing to compute or a zero A take their shortcuts
    /// in <see cref="Multiply"/> apart.
    /// </summary>
    public static void MultiplyBatch(BatchedProduct[] products, int count)
    {
        var batch = _batch ??= new Batch();
        foreach (var p in products.AsSpan(0, count))
            if (p.M == 0 || p.N == 0 || p.K == 0 || IsZeroProduct(p.M, p.N, p.K, p.A, 0, p.B, 0))
                Multiply(p.Ta, p.Tb, p.M, p.N, p.K, p.A, 0, p.B, 0, p.C, 0, p.Accumulate);
            else batch.Add(p);
        try
        {
            batch.Run();
        }
        finally
        {
            batch.Release();
        }
    }

    [ThreadStatic] private static Batch? _batch;

    /// <summary>The products of a <see cref="MultiplyBatch"/> call and their common split, reused by the thread's next call.</summary>
    private sealed class Batch
    {
        private Product[] _products = [];
        private int _count;
        // The batch's tiles in order (product 0's in its split order, then product 1's, …): the first tile of each
        // product, and the first tile of each part.
        private int[] _productStart = new int[1], _firstTile = new int[CoreTeam.Cores + 1];
        private long[] _cost = new long[1];

        public Batch() => RunPart = part => RunTiles(_firstTile[part], _firstTile[part + 1]);

        private Action<int> RunPart { get; }

        public void Add(in BatchedProduct p)
        {
            if (_count == _products.Length) Array.Resize(ref _products, Math.Max(4, 2 * _count));
            var product = _products[_count] ??= new Product();
            product.Set(p.Ta, p.Tb, p.M, p.N, p.K, p.A, 0, p.B, 0, p.C, 0, p.Accumulate, epilogue: null);
            _count++;
        }

        public void Run()
        {
            if (_count == 0) return;
            if (_productStart.Length < _count + 1) _productStart = new int[_count + 1];
            // Each product's tiles in the order Multiply would split them, and their costs one after the other.
            long work = 0;
            for (var i = 0; i < _count; i++)
            {
                var product = _products[i];
                var (mPanels, nPanels) = product.Panels;
                product.Split(1, rowMajor: mPanels >= nPanels, mPanels, nPanels);
                _productStart[i + 1] = _productStart[i] + mPanels * nPanels;
                work += product.Work;
            }
            var tiles = _productStart[_count];
            if (_cost.Length < tiles + 1) _cost = new long[tiles + 1];
            for (var i = 0; i < _count; i++)
            {
                var own = _products[i].CostPrefix();
                for (var t = 1; t < own.Length; t++) _cost[_productStart[i] + t] = _cost[_productStart[i]] + own[t];
            }
            var parts = (int)Math.Clamp(work / ParallelWork, 1, Math.Min(CoreTeam.Cores, tiles));
            if (_firstTile.Length < parts + 1) _firstTile = new int[parts + 1];
            Product.CutByCost(_cost, tiles, parts, _firstTile);
            if (parts <= 1) RunPart(0);
            else CoreTeam.Run(parts, RunPart);
        }

        /// <summary>The batch's tiles [first, last): each product's share of them, in its own split order.</summary>
        private void RunTiles(int first, int last)
        {
            for (var i = 0; i < _count && first < last; i++)
            {
                var (start, end) = (_productStart[i], _productStart[i + 1]);
                if (end <= first || start >= last) continue;
                _products[i].RunTiles(Math.Max(first, start) - start, Math.Min(last, end) - start);
            }
        }

        public void Release()
        {
            for (var i = 0; i < _count; i++) _products[i].Release();
            _count = 0;
        }
    }

    /// <summary>
    /// Whether op(A)·op(B) is zero without computing it: A all zeros and B finite (0·∞ and 0·NaN are NaN). An RNN's
    /// first step from a zero state multiplies one (h₋₁·W_h), and so does that step's weight gradient (h₋₁ᵀ·dz₀): two of
    /// the MNIST RNN's 86 products a training step. Cheap otherwise: the scan of A stops at its first non-zero element.
    /// </summary>
    private static bool IsZeroProduct(int m, int n, int k, float[] a, int aOff, float[] b, int bOff) =>
        a.AsSpan(aOff, m * k).IndexOfAnyExcept(0f) < 0 && AllFinite(b.AsSpan(bOff, k * n));

    /// <summary>Whether no element of <paramref name="x"/> is ±∞ or NaN (all exponent bits set).</summary>
    private static bool AllFinite(ReadOnlySpan<float> x)
    {
        var exponent = Vector512.Create(0x7F800000u);
        var bits = System.Runtime.InteropServices.MemoryMarshal.Cast<float, uint>(x);
        var i = 0;
        for (; i + Vector512<uint>.Count <= bits.Length; i += Vector512<uint>.Count)
            if (Vector512.EqualsAny(Vector512.Create(bits.Slice(i, Vector512<uint>.Count)) & exponent, exponent)) return false;
        for (; i < bits.Length; i++)
            if ((bits[i] & 0x7F800000u) == 0x7F800000u) return false;
        return true;
    }

    /// <summary>x + 0: the same bits but for −0, which becomes +0.</summary>
    private readonly struct AddZero : VectorLoops.IUnary<float>
    {
        public static float Apply(float x) => x + 0f;
        public static Vector256<float> Apply(Vector256<float> x) => x + Vector256<float>.Zero;
        public static Vector512<float> Apply(Vector512<float> x) => x + Vector512<float>.Zero;
    }

    /// <summary>
    /// This thread's product, set anew for each call: a product inside a loop body runs tens of times a training step,
    /// and a new object with a new closure per call was garbage for the collector each time.
    /// </summary>
    [ThreadStatic] private static Product? _product;

    private static void Run(Product product, int m, int n, int k, int mPanels, int nPanels)
    {
        var parts = (int)Math.Clamp((long)m * n * k / ParallelWork, 1, CoreTeam.Cores);
        // Each part is a run of consecutive tiles, row panel after row panel (or column panel after column panel where
        // C has more column panels than row panels), cut where the parts' FMA counts are equal (edge tiles cost less:
        // see TileCost). A part packs the panels of B it reads itself: a panel packed by one core and read by another
        // cost more than packing it twice (150×150·150×150 took 40–90 µs on two cores that way; 26 µs packing per part,
        // 40 µs on one core, Zen 5). Cutting at whole row panels instead gave one core 35 of the 65 tiles of a
        // 150×150 product and left the other waiting.
        product.Split(Math.Min(parts, mPanels * nPanels), rowMajor: mPanels >= nPanels, mPanels, nPanels);
        if (product.Parts <= 1) product.RunPart(0);
        else CoreTeam.Run(product.Parts, product.RunPart);
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
        private bool ta, tb, _rowMajor, _accumulate;
        private int m, n, k, aOff, bOff, cOff, _mPanels, _nPanels;
        private float[] a = [], b = [], c = [];
        // The second pair of a sum of two products (MultiplySum): k2 = 0 when there is none.
        private bool ta2, tb2;
        private int k2, aOff2, bOff2;
        private float[] a2 = [], b2 = [];
        // Part p runs tiles [_firstTile[p], _firstTile[p + 1]) in the split's order.
        private int[] _firstTile = new int[CoreTeam.Cores + 1];
        private IProductEpilogue? _epilogue;

        public Product() => RunPart = part => RunTiles(_firstTile[part], _firstTile[part + 1]);

        /// <summary>Runs part p of the split set by <see cref="Split"/>: a run of consecutive tiles.</summary>
        public Action<int> RunPart { get; }

        /// <summary>The number of parts of the current split.</summary>
        public int Parts { get; private set; }

        public void Set(bool ta, bool tb, int m, int n, int k, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, bool accumulate,
            IProductEpilogue? epilogue) =>
            (this.ta, this.tb, this.m, this.n, this.k, this.a, this.aOff, this.b, this.bOff, this.c, this.cOff, _accumulate, _epilogue) =
            (ta, tb, m, n, k, a, aOff, b, bOff, c, cOff, accumulate, epilogue);

        public void SetSecond(bool ta2, bool tb2, int k2, float[] a2, int aOff2, float[] b2, int bOff2) =>
            (this.ta2, this.tb2, this.k2, this.a2, this.aOff2, this.b2, this.bOff2) = (ta2, tb2, k2, a2, aOff2, b2, bOff2);

        /// <summary>
        /// Orders the tiles row panel by row panel (<paramref name="rowMajor"/>) or column panel by column panel and cuts
        /// them into <paramref name="parts"/> runs of equal cost.
        /// </summary>
        public void Split(int parts, bool rowMajor, int mPanels, int nPanels)
        {
            (Parts, _rowMajor, _mPanels, _nPanels) = (parts, rowMajor, mPanels, nPanels);
            var tiles = mPanels * nPanels;
            if (_firstTile.Length < parts + 1) _firstTile = new int[parts + 1];
            if (parts <= 1)
            {
                (_firstTile[0], _firstTile[parts]) = (0, tiles);
                return;
            }
            CutByCost(CostPrefix(rowMajor, mPanels, nPanels), tiles, parts, _firstTile);
        }

        /// <summary>
        /// Cuts <paramref name="tiles"/> tiles, whose costs add up as <paramref name="cost"/> (cost[t]: the first t
        /// tiles'), into <paramref name="parts"/> runs of equal cost: part p runs [firstTile[p], firstTile[p + 1]).
        /// </summary>
        public static void CutByCost(long[] cost, int tiles, int parts, int[] firstTile)
        {
            firstTile[0] = 0;
            firstTile[parts] = tiles;
            for (var part = 1; part < parts; part++)
            {
                // Cut before the first tile t whose middle is at or past the part's share: the parts so far are then
                // closer to their share without tile t than with it. (Costs rise strictly: every tile costs something.)
                var t = firstTile[part - 1];
                while (t < tiles && (cost[t] + cost[t + 1]) * parts < 2 * cost[tiles] * part) t++;
                firstTile[part] = t;
            }
        }

        /// <summary>The product's row and column panels (12 rows, 32 columns each).</summary>
        public (int M, int N) Panels => ((m + MR - 1) / MR, (n + NR - 1) / NR);

        /// <summary>Its multiply-adds.</summary>
        public long Work => (long)m * n * k;

        /// <summary>The cost prefix of the current split's order (<see cref="Split"/> first).</summary>
        public long[] CostPrefix() => CostPrefix(_rowMajor, _mPanels, _nPanels);

        /// <summary>
        /// The cost of the first t tiles in the split's order, for each t (0 … tiles): the same few shapes recur every
        /// step, and summing a 150×150 product's 65 tile costs on the calling thread was 1% of a training step.
        /// </summary>
        private long[] CostPrefix(bool rowMajor, int mPanels, int nPanels)
        {
            foreach (var known in _costs)
                if (known.Cost != null && known.M == m && known.N == n && known.RowMajor == rowMajor) return known.Cost;
            var tiles = mPanels * nPanels;
            var cost = new long[tiles + 1];
            for (var t = 0; t < tiles; t++) cost[t + 1] = cost[t] + CostOf(t);
            // The latest few shapes this thread multiplied, the oldest replaced first (an array, not a dictionary: a
            // framework generic over a value type would be JIT-compiled on the first training step).
            _costs[_nextCost] = new ShapeCost { M = m, N = n, RowMajor = rowMajor, Cost = cost };
            _nextCost = (_nextCost + 1) % _costs.Length;
            return cost;
        }

        private struct ShapeCost
        {
            public int M, N;
            public bool RowMajor;
            public long[]? Cost;
        }

        private readonly ShapeCost[] _costs = new ShapeCost[8];
        private int _nextCost;

        /// <summary>The panels [from, to) that tiles [first, last) cover along the inner axis of the order, of <paramref name="count"/>.</summary>
        private static (int From, int To) Covered(int first, int last, int count) =>
            first / count == (last - 1) / count ? (first % count, (last - 1) % count + 1) : (0, count);

        private (int R, int Q) TileAt(int t) => _rowMajor ? (t / _nPanels, t % _nPanels) : (t % _mPanels, t / _mPanels);

        private int CostOf(int t)
        {
            var (r, q) = TileAt(t);
            return TileCost(Math.Min(MR, m - r * MR), Math.Min(NR, n - q * NR));
        }

        /// <summary>
        /// Runs the epilogue over the elements of C in row panels [<paramref name="r0"/>, <paramref name="r1"/>) that tiles
        /// [<paramref name="first"/>, <paramref name="last"/>) computed: whole row panels as one range (consecutive ones
        /// merged), a row panel this part shares with another row by row over its own columns.
        /// </summary>
        private void ApplyEpilogue(int first, int last, int r0, int r1)
        {
            long pending = 0, pendingEnd = 0;
            for (var r = r0; r < r1; r++)
            {
                // The column panels [qa, qb) of row panel r among the tiles, in either order.
                int qa, qb;
                if (_rowMajor) (qa, qb) = (Math.Max(0, first - r * _nPanels), Math.Min(_nPanels, last - r * _nPanels));
                else if (last - 1 < r) continue;
                else (qa, qb) = (Math.Max(0, (first - r + _mPanels - 1) / _mPanels), Math.Min(_nPanels, (last - 1 - r) / _mPanels + 1));
                if (qa >= qb) continue;
                var rows = Math.Min(MR, m - r * MR);
                var start = (long)r * MR * n;
                if (qa == 0 && qb == _nPanels)
                {
                    if (start != pendingEnd)
                    {
                        Flush(pending, pendingEnd);
                        pending = start;
                    }
                    pendingEnd = start + (long)rows * n;
                    continue;
                }
                var (from, to) = (qa * NR, Math.Min(n, qb * NR));
                for (var i = 0; i < rows; i++) _epilogue!.Apply(start + (long)i * n + from, to - from);
            }
            Flush(pending, pendingEnd);

            void Flush(long from, long to)
            {
                if (to > from) _epilogue!.Apply(from, (int)(to - from));
            }
        }

        /// <summary>Drops the operands, so that a thread's product keeps no array alive between calls.</summary>
        public void Release() => (a, b, c, a2, b2, k2, _epilogue) = ([], [], [], [], [], 0, null);

        /// <summary>Tiles [<paramref name="first"/>, <paramref name="last"/>) of the split's order, with B's panels packed by this thread.</summary>
        public void RunTiles(int first, int last)
        {
            if (first >= last) return;
            // The row and column panels these tiles lie in: a run within one row (column) panel covers a range of the
            // column (row) panels, a longer run all of them.
            var (r0, r1) = _rowMajor ? (first / _nPanels, (last - 1) / _nPanels + 1) : Covered(first, last, _mPanels);
            var (q0, q1) = _rowMajor ? Covered(first, last, _nPanels) : (first / _mPanels, (last - 1) / _mPanels + 1);
            var lastRow = stackalloc float[NR];
            var lastRow2 = stackalloc float[NR];
            var packedB = ThreadScratch.Floats(0, PackedLength(tb, k, q0, q1));
            var packedB2 = k2 > 0 ? ThreadScratch.Floats(3, PackedLength(tb2, k2, q0, q1)) : [];
            var packedTail = m % MR is 0 or MR / 2 ? [] : ThreadScratch.Floats(1, k * MR);
            var packedTail2 = k2 > 0 && m % MR is not (0 or MR / 2) ? ThreadScratch.Floats(4, k2 * MR) : [];
            var tile = stackalloc float[MR * NR];
            // A deep product runs its depth in blocks (each tile's sums kept between them): the rows of A and B that
            // one block reads stay in L2 while every tile of the part passes over them. (A sum of two products is never
            // that deep: MultiplySum.)
            var depthBlock = k > DepthBlockFrom ? DepthBlock : k;
            // Blocks of row panels: with an epilogue, small enough that their C stays in cache until the epilogue reads it
            // back; with depth blocks, small enough that their tiles' partial sums stay in cache.
            var blockPanels = r1 - r0;
            if (_epilogue != null) blockPanels = Math.Min(blockPanels, Math.Max(1, EpilogueBlockFloats / (MR * n)));
            if (depthBlock < k) blockPanels = Math.Min(blockPanels, Math.Max(1, PartialFloats / ((q1 - q0) * MR * NR)));
            var partialTiles = depthBlock < k ? ThreadScratch.Floats(2, (q1 - q0) * blockPanels * MR * NR) : null;
            fixed (float* pa = a, pb = b, pbPacked = packedB, pt = packedTail, pa2 = a2, pb2 = b2, pbPacked2 = packedB2, pt2 = packedTail2,
                   pc = c, partials = partialTiles)
            {
                var firstPair = Prepare(ta, tb, k, pa + aOff, pb + bOff, pbPacked, pt, lastRow, q0, q1);
                var secondPair = k2 > 0 ? Prepare(ta2, tb2, k2, pa2 + aOff2, pb2 + bOff2, pbPacked2, pt2, lastRow2, q0, q1) : default;
                for (var rb = r0; rb < r1; rb += blockPanels)
                {
                    var re = Math.Min(r1, rb + blockPanels);
                    for (var p0 = 0; p0 < k; p0 += depthBlock)
                    {
                        var depth = Math.Min(depthBlock, k - p0);
                        var final = p0 + depth == k;
                        // Column panel by column panel whatever the split's order: a panel of B stays in L1 while the rows
                        // of A pass (the other way round, B was read from L2 once per row panel: 37 against 34 µs for a
                        // 150×150 product whose A is the previous product's C, as in an RNN's steps).
                        for (var q = q0; q < q1; q++)
                        for (var r = rb; r < re; r++)
                        {
                            var t = _rowMajor ? r * _nPanels + q : q * _mPanels + r;
                            if (t < first || t >= last) continue;
                            var rows = Math.Min(MR, m - r * MR);
                            var cols = Math.Min(NR, n - q * NR);
                            // A whole tile of a plain product is stored straight into C (no copy out of a tile buffer).
                            var direct = rows == MR && cols == NR && !_accumulate && partialTiles == null;
                            var sums = direct ? pc + cOff + (long)r * MR * n + q * NR
                                : partialTiles == null ? tile : partials + ((q - q0) * (re - rb) + r - rb) * (MR * NR);
                            var ts = direct ? n : NR;
                            // This depth block of the tile, continuing the sums the previous block left in its partial tile;
                            // then a second product's whole depth, continuing the same chains.
                            if (k2 > 0 && q != firstPair.EdgePanel && q != secondPair.EdgePanel)
                            {
                                // Both products' depths in one pass of the tile kernel (no depth blocks with two products).
                                var then = Segment(ref secondPair, r, q, 0);
                                var at = Segment(ref firstPair, r, q, 0);
                                RunTile(rows, cols, at.A, at.RowStride, at.DepthStride, at.B, at.BStride, k, sums, ts, resume: false, &then);
                            }
                            else
                            {
                                // B's edge panel in place takes its last row apart: each pair's depth on its own, the second
                                // continuing the first's sums.
                                RunPairTile(ref firstPair, r, q, p0, depth, final, rows, cols, sums, ts, resume: p0 > 0);
                                if (k2 > 0) RunPairTile(ref secondPair, r, q, 0, k2, final: true, rows, cols, sums, ts, resume: true);
                            }
                            if (!final || direct) continue;
                            if (_accumulate) AddOut(sums, pc + cOff + (long)r * MR * n + q * NR, n, rows, cols);
                            else CopyOut(sums, pc + cOff + (long)r * MR * n + q * NR, n, rows, cols);
                        }
                    }
                    if (_epilogue != null) ApplyEpilogue(first, last, rb, re);
                }
            }
        }

        /// <summary>Floats of B's panels [q0, q1) a part packs: all of Bᵀ's, else only a last partial panel read otherwise than in place.</summary>
        private int PackedLength(bool transposed, int depth, int q0, int q1) => (q1 - PackedFrom(transposed, q0, q1)) * depth * NR;

        /// <summary>Whether B's last, partial column panel is read in place (but for its last row) by a part reaching it.</summary>
        private bool EdgeInPlace(bool transposed, int q1)
        {
            var edgeWidth = n % NR;
            return !transposed && edgeWidth != 0 && q1 == _nPanels && EdgeLoadWidth(edgeWidth) - edgeWidth <= n;
        }

        /// <summary>The first of the panels [q0, q1) of B that a part packs (q1: none).</summary>
        private int PackedFrom(bool transposed, int q0, int q1) =>
            transposed ? q0 : n % NR != 0 && q1 == _nPanels && !EdgeInPlace(transposed, q1) ? _nPanels - 1 : q1;

        /// <summary>
        /// One (A, B) pair as a part's tiles read it. Row-major B is read in place, 32 floats of row p per step (a
        /// constant stride the prefetcher follows); Bᵀ is packed whole (its columns are not contiguous). B's last,
        /// partial column panel is read in place too but for its last row: the edge kernel's loads run a few floats past
        /// the panel's columns, into the next row (lanes never stored), but past the last row they would leave B, so that
        /// row is copied into 32 zero-padded floats. Copying the whole panel (k rows) out was work for every part. A B
        /// narrower than the loads' overrun keeps it. A's last row panel, when it has fewer than 12 rows, is copied out
        /// zero padded when first read (reading it in place would run past A's rows), except one of exactly 6 rows (a
        /// 150-row product's): the 6-row kernel reads it in place and no further.
        /// </summary>
        private struct PairView
        {
            public bool Ta;
            public int K, PackedFrom, EdgePanel, TailPanel;
            public float* A, B, PackedB, LastRow, PackedTail;
            public bool TailPacked;
        }

        private PairView Prepare(bool transposeA, bool transposeB, int depth, float* aAt, float* bAt, float* packed, float* tail, float* lastRow,
            int q0, int q1)
        {
            var edgeInPlace = EdgeInPlace(transposeB, q1);
            var view = new PairView
            {
                Ta = transposeA, K = depth, A = aAt, B = bAt, PackedB = packed, LastRow = lastRow, PackedTail = tail,
                PackedFrom = PackedFrom(transposeB, q0, q1), EdgePanel = edgeInPlace ? _nPanels - 1 : -1,
                TailPanel = m % MR is 0 or MR / 2 ? -1 : _mPanels - 1,
            };
            if (edgeInPlace)
            {
                new Span<float>(lastRow, NR).Clear();
                new ReadOnlySpan<float>(bAt + (long)(depth - 1) * n + view.EdgePanel * NR, n % NR).CopyTo(new Span<float>(lastRow, NR));
            }
            PackB(transposeB, n, depth, bAt, view.PackedFrom, q1, packed);
            return view;
        }

        /// <summary>
        /// Where the pair's operands of tile (r, q) start at depth <paramref name="p0"/>: element (i, p) of the tile's
        /// rows of op(A) at A + i·RowStride + p·DepthStride, row p of its panel of op(B) at B + p·BStride.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private Segment Segment(ref PairView v, int r, int q, int p0)
        {
            var at = new Segment { K = v.K };
            if (r == v.TailPanel)
            {
                if (!v.TailPacked) PackTailOfA(v.Ta, m, v.K, v.A, v.PackedTail);
                v.TailPacked = true;
                at.A = v.PackedTail;
                (at.RowStride, at.DepthStride) = (1, MR);
            }
            else if (v.Ta)
            {
                at.A = v.A + r * MR;
                (at.RowStride, at.DepthStride) = (1, m);
            }
            else
            {
                at.A = v.A + (long)r * MR * v.K;
                (at.RowStride, at.DepthStride) = (v.K, 1);
            }
            var packed = q >= v.PackedFrom;
            at.B = packed ? v.PackedB + (long)(q - v.PackedFrom) * v.K * NR : v.B + q * NR;
            at.BStride = packed ? NR : n;
            at.A += p0 * at.DepthStride;
            at.B += p0 * at.BStride;
            return at;
        }

        /// <summary>Depths [p0, p0 + depth) of the pair's contribution to tile (r, q), added to the chains in <paramref name="sums"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void RunPairTile(ref PairView v, int r, int q, int p0, int depth, bool final, int rows, int cols, float* sums, nint ts, bool resume)
        {
            var at = Segment(ref v, r, q, p0);
            if (q != v.EdgePanel)
            {
                RunTile(rows, cols, at.A, at.RowStride, at.DepthStride, at.B, at.BStride, depth, sums, ts, resume);
                return;
            }
            // The edge panel in place up to B's last row, which comes from its padded copy.
            var inPlace = Math.Min(depth, v.K - 1 - p0);
            if (inPlace > 0) RunTile(rows, cols, at.A, at.RowStride, at.DepthStride, at.B, at.BStride, inPlace, sums, ts, resume);
            if (final) RunTile(rows, cols, at.A + inPlace * at.DepthStride, at.RowStride, at.DepthStride, v.LastRow, NR, 1, sums, ts, resume || inPlace > 0);
        }
    }

    /// <summary>The columns the kernel for a tile <paramref name="cols"/> wide loads per row of B.</summary>
    private static int EdgeLoadWidth(int cols) => cols <= 16 ? 16 : cols <= 24 ? 24 : 32;

    /// <summary>One tile (or depth block of one) by the kernel for its size: edge tiles run a smaller kernel, as fewer rows or narrower columns are fewer FMAs.</summary>
    private static void RunTile(int rows, int cols, float* a, nint rowStride, nint depthStride, float* b, nint bStride, int depth, float* sums, nint ts, bool resume,
        Segment* next = null)
    {
        switch (rows <= MR / 2, EdgeLoadWidth(cols))
        {
            case (false, 32): Tile<Twelve, Wide>(a, rowStride, depthStride, b, bStride, depth, sums, ts, resume, next); break;
            case (false, 24): Tile<Twelve, ThreeQuarters>(a, rowStride, depthStride, b, bStride, depth, sums, ts, resume, next); break;
            case (false, _): Tile<Twelve, Half>(a, rowStride, depthStride, b, bStride, depth, sums, ts, resume, next); break;
            case (true, 32): Tile<Six, Wide>(a, rowStride, depthStride, b, bStride, depth, sums, ts, resume, next); break;
            case (true, 24): Tile<Six, ThreeQuarters>(a, rowStride, depthStride, b, bStride, depth, sums, ts, resume, next); break;
            default: Tile<Six, Half>(a, rowStride, depthStride, b, bStride, depth, sums, ts, resume, next); break;
        }
    }

    /// <summary>
    /// What one tile costs relative to the others, as measured (Zen 4, k = 150, one thread, whole row and column panels
    /// added to a product): 12×32 1.03 µs, 12×24 0.93, 12×16 0.76, 6×32 0.76, 6×24 and 6×16 ~0.3–0.5. Edge tiles cost far
    /// more than their share of FMAs (a 6-row tile has half the FMAs of a 12-row one and takes 74% of its time: the loads
    /// of B and the loop do not halve). Counting FMAs instead gave the part holding the 6-row tail of a 150×150 product
    /// 6–9% more time than the other, and the other core waited for it at the end of every product.
    /// </summary>
    private static int TileCost(int rows, int cols) => (rows <= MR / 2 ? 3 : 4) * (cols <= 16 ? 6 : cols <= 24 ? 7 : 8);

    /// <summary>A second product's operands for a tile whose chains continue over its depth (a sum of two products).</summary>
    private struct Segment
    {
        public float* A, B;
        public nint RowStride, DepthStride, BStride;
        public int K;
    }

    /// <summary>A tile kernel's row count: 12, or 6 for the last row panel of a product whose rows leave at most 6 there.</summary>
    private interface ITileRows { static abstract bool IsSix { get; } }
    private struct Twelve : ITileRows { public static bool IsSix => false; }
    private struct Six : ITileRows { public static bool IsSix => true; }

    /// <summary>A tile kernel's column count: 32 (two 512-bit vectors), 24 (512 + 256 bits) or 16 (one 512-bit vector).</summary>
    private interface ITileWidth { static abstract int Columns { get; } }
    private struct Wide : ITileWidth { public static int Columns => 32; }
    private struct ThreeQuarters : ITileWidth { public static int Columns => 24; }
    private struct Half : ITileWidth { public static int Columns => 16; }

    /// <summary>
    /// One tile of up to 12×32: C[i, j] = Σ_p A(i, p)·B(p, j), 24 accumulators, two loads of B (32 floats at
    /// b + p·bStride) and twelve broadcasts of A per p. Edge tiles compile to fewer rows (<typeparamref name="TRows"/>)
    /// or a narrower second vector (<typeparamref name="TWidth"/>): on Zen 4 a 512-bit FMA is two 256-bit halves, so a
    /// 150×150 product's 6-row and 22-column edges cost 7% of its FMAs less that way. Each element is still one chain
    /// of FMAs over p in order, whichever kernel computes it.
    /// The accumulators go to <paramref name="tile"/> (12 rows, <paramref name="ts"/> floats apart: 32 in a tile buffer,
    /// C's row length when a whole tile goes straight into C): no call in this method, so that the register
    /// allocator keeps all 24 in registers (with a call after the loop it spilled each one at every FMA). With
    /// <paramref name="resume"/> they start from the sums in <paramref name="tile"/> (a depth block continuing the chains
    /// of the blocks before it) instead of zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TRows, TWidth>(float* a, nint rowStride, nint depthStride, float* b, nint bStride, int k, float* tile, nint ts, bool resume,
        Segment* next = null)
        where TRows : struct, ITileRows where TWidth : struct, ITileWidth
    {
        // Four row pointers three rows apart and strides 1× and 2×: every broadcast is one addressing mode.
        float* r0 = a, r3 = a + 3 * rowStride, r6 = a + 6 * rowStride, r9 = a + 9 * rowStride;
        nint s1 = rowStride, s2 = 2 * rowStride;
        var six = TRows.IsSix;
        var wide = TWidth.Columns == 32;
        var threeQuarters = TWidth.Columns == 24;
        // Zero, or (resuming a depth block) the sums so far that the previous block left in the tile.
        var r6Loads = resume && !six;
        var hiLoads = resume && wide;
        var narrowLoads = resume && threeQuarters;
        Vector512<float> c00 = Start(resume, tile), c01 = Start(hiLoads, tile + 16), c10 = Start(resume, tile + ts), c11 = Start(hiLoads, tile + ts + 16);
        Vector512<float> c20 = Start(resume, tile + 2 * ts), c21 = Start(hiLoads, tile + 2 * ts + 16), c30 = Start(resume, tile + 3 * ts), c31 = Start(hiLoads, tile + 3 * ts + 16);
        Vector512<float> c40 = Start(resume, tile + 4 * ts), c41 = Start(hiLoads, tile + 4 * ts + 16), c50 = Start(resume, tile + 5 * ts), c51 = Start(hiLoads, tile + 5 * ts + 16);
        Vector512<float> c60 = Start(r6Loads, tile + 6 * ts), c61 = Start(r6Loads && wide, tile + 6 * ts + 16), c70 = Start(r6Loads, tile + 7 * ts), c71 = Start(r6Loads && wide, tile + 7 * ts + 16);
        Vector512<float> c80 = Start(r6Loads, tile + 8 * ts), c81 = Start(r6Loads && wide, tile + 8 * ts + 16), c90 = Start(r6Loads, tile + 9 * ts), c91 = Start(r6Loads && wide, tile + 9 * ts + 16);
        Vector512<float> ca0 = Start(r6Loads, tile + 10 * ts), ca1 = Start(r6Loads && wide, tile + 10 * ts + 16), cb0 = Start(r6Loads, tile + 11 * ts), cb1 = Start(r6Loads && wide, tile + 11 * ts + 16);
        // The second vector's accumulators of the 24-column kernel.
        Vector256<float> d01 = Start256(narrowLoads, tile + 16), d11 = Start256(narrowLoads, tile + ts + 16), d21 = Start256(narrowLoads, tile + 2 * ts + 16);
        Vector256<float> d31 = Start256(narrowLoads, tile + 3 * ts + 16), d41 = Start256(narrowLoads, tile + 4 * ts + 16), d51 = Start256(narrowLoads, tile + 5 * ts + 16);
        Vector256<float> d61 = Start256(narrowLoads && !six, tile + 6 * ts + 16), d71 = Start256(narrowLoads && !six, tile + 7 * ts + 16), d81 = Start256(narrowLoads && !six, tile + 8 * ts + 16);
        Vector256<float> d91 = Start256(narrowLoads && !six, tile + 9 * ts + 16), da1 = Start256(narrowLoads && !six, tile + 10 * ts + 16), db1 = Start256(narrowLoads && !six, tile + 11 * ts + 16);
        while (true)
        {
        for (var p = 0; p < k; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = wide ? Vector512.Load(b + 16) : default;
            var e1 = threeQuarters ? Vector256.Load(b + 16) : default;
            b += bStride;
            var x = Vector512.Create(r0[0]); c00 = Avx512F.FusedMultiplyAdd(x, b0, c00);
            if (wide) c01 = Avx512F.FusedMultiplyAdd(x, b1, c01); else if (threeQuarters) d01 = Fma.MultiplyAdd(x.GetLower(), e1, d01);
            x = Vector512.Create(r0[s1]); c10 = Avx512F.FusedMultiplyAdd(x, b0, c10);
            if (wide) c11 = Avx512F.FusedMultiplyAdd(x, b1, c11); else if (threeQuarters) d11 = Fma.MultiplyAdd(x.GetLower(), e1, d11);
            x = Vector512.Create(r0[s2]); c20 = Avx512F.FusedMultiplyAdd(x, b0, c20);
            if (wide) c21 = Avx512F.FusedMultiplyAdd(x, b1, c21); else if (threeQuarters) d21 = Fma.MultiplyAdd(x.GetLower(), e1, d21);
            x = Vector512.Create(r3[0]); c30 = Avx512F.FusedMultiplyAdd(x, b0, c30);
            if (wide) c31 = Avx512F.FusedMultiplyAdd(x, b1, c31); else if (threeQuarters) d31 = Fma.MultiplyAdd(x.GetLower(), e1, d31);
            x = Vector512.Create(r3[s1]); c40 = Avx512F.FusedMultiplyAdd(x, b0, c40);
            if (wide) c41 = Avx512F.FusedMultiplyAdd(x, b1, c41); else if (threeQuarters) d41 = Fma.MultiplyAdd(x.GetLower(), e1, d41);
            x = Vector512.Create(r3[s2]); c50 = Avx512F.FusedMultiplyAdd(x, b0, c50);
            if (wide) c51 = Avx512F.FusedMultiplyAdd(x, b1, c51); else if (threeQuarters) d51 = Fma.MultiplyAdd(x.GetLower(), e1, d51);
            if (!six)
            {
                x = Vector512.Create(r6[0]); c60 = Avx512F.FusedMultiplyAdd(x, b0, c60);
                if (wide) c61 = Avx512F.FusedMultiplyAdd(x, b1, c61); else if (threeQuarters) d61 = Fma.MultiplyAdd(x.GetLower(), e1, d61);
                x = Vector512.Create(r6[s1]); c70 = Avx512F.FusedMultiplyAdd(x, b0, c70);
                if (wide) c71 = Avx512F.FusedMultiplyAdd(x, b1, c71); else if (threeQuarters) d71 = Fma.MultiplyAdd(x.GetLower(), e1, d71);
                x = Vector512.Create(r6[s2]); c80 = Avx512F.FusedMultiplyAdd(x, b0, c80);
                if (wide) c81 = Avx512F.FusedMultiplyAdd(x, b1, c81); else if (threeQuarters) d81 = Fma.MultiplyAdd(x.GetLower(), e1, d81);
                x = Vector512.Create(r9[0]); c90 = Avx512F.FusedMultiplyAdd(x, b0, c90);
                if (wide) c91 = Avx512F.FusedMultiplyAdd(x, b1, c91); else if (threeQuarters) d91 = Fma.MultiplyAdd(x.GetLower(), e1, d91);
                x = Vector512.Create(r9[s1]); ca0 = Avx512F.FusedMultiplyAdd(x, b0, ca0);
                if (wide) ca1 = Avx512F.FusedMultiplyAdd(x, b1, ca1); else if (threeQuarters) da1 = Fma.MultiplyAdd(x.GetLower(), e1, da1);
                x = Vector512.Create(r9[s2]); cb0 = Avx512F.FusedMultiplyAdd(x, b0, cb0);
                if (wide) cb1 = Avx512F.FusedMultiplyAdd(x, b1, cb1); else if (threeQuarters) db1 = Fma.MultiplyAdd(x.GetLower(), e1, db1);
                r6 += depthStride; r9 += depthStride;
            }
            r0 += depthStride; r3 += depthStride;
        }
            // A second product's depth continues the same chains, the accumulators still in registers.
            if (next == null) break;
            a = next->A;
            b = next->B;
            (rowStride, depthStride, bStride, k) = (next->RowStride, next->DepthStride, next->BStride, next->K);
            r0 = a;
            r3 = a + 3 * rowStride;
            r6 = a + 6 * rowStride;
            r9 = a + 9 * rowStride;
            (s1, s2) = (rowStride, 2 * rowStride);
            next = null;
        }
        // The tile's rows of 32: the second vector of a narrower kernel goes to its low half (the rest is never copied out).
        StoreRow<TWidth>(tile, c00, c01, d01); StoreRow<TWidth>(tile + ts, c10, c11, d11); StoreRow<TWidth>(tile + 2 * ts, c20, c21, d21);
        StoreRow<TWidth>(tile + 3 * ts, c30, c31, d31); StoreRow<TWidth>(tile + 4 * ts, c40, c41, d41); StoreRow<TWidth>(tile + 5 * ts, c50, c51, d51);
        if (six) return;
        StoreRow<TWidth>(tile + 6 * ts, c60, c61, d61); StoreRow<TWidth>(tile + 7 * ts, c70, c71, d71); StoreRow<TWidth>(tile + 8 * ts, c80, c81, d81);
        StoreRow<TWidth>(tile + 9 * ts, c90, c91, d91); StoreRow<TWidth>(tile + 10 * ts, ca0, ca1, da1); StoreRow<TWidth>(tile + 11 * ts, cb0, cb1, db1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Start(bool load, float* at) => load ? Vector512.Load(at) : default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Start256(bool load, float* at) => load ? Vector256.Load(at) : default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<TWidth>(float* dst, Vector512<float> lo, Vector512<float> hi, Vector256<float> narrowHi) where TWidth : struct, ITileWidth
    {
        Vector512.Store(lo, dst);
        if (TWidth.Columns == 32) Vector512.Store(hi, dst + 16);
        else if (TWidth.Columns == 24) Vector256.Store(narrowHi, dst + 16);
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

    /// <summary>Adds the tile's first <paramref name="rows"/> × <paramref name="cols"/> into C.</summary>
    private static void AddOut(float* tile, float* c, int ldc, int rows, int cols)
    {
        for (var i = 0; i < rows; i++)
        {
            var src = tile + i * NR;
            var dst = c + (long)i * ldc;
            var j = 0;
            for (; j + 16 <= cols; j += 16) Vector512.Store(Vector512.Load(dst + j) + Vector512.Load(src + j), dst + j);
            for (; j < cols; j++) dst[j] += src[j];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* dst, Vector512<float> lo, Vector512<float> hi)
    {
        Vector512.Store(lo, dst);
        Vector512.Store(hi, dst + 16);
    }
}

/// <summary>
/// Element-wise work on a product's result that <see cref="Avx512Gemm.Multiply"/> runs inside its parts, on elements
/// [start, start + count) of C (row-major, counted from the product's first element) once they are final. Calls run
/// concurrently on disjoint ranges.
/// </summary>
internal interface IProductEpilogue
{
    /// <summary>Applies the epilogue to elements [<paramref name="start"/>, <paramref name="start"/> + <paramref name="count"/>).</summary>
    void Apply(long start, int count);
}
