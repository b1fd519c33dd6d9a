using System.Runtime.InteropServices;
using Graph.Core;
using Graph.Kernels.Cpu;

namespace Graph.Tests;

/// <summary>The cpu device's float32 GEMM forms agree with a float64 reference on every transpose combination.</summary>
[TestFixture]
public class Gemm32Tests
{
    /// <summary><paramref name="n"/> floats uniform in [−1, 1) from <paramref name="seed"/>.</summary>
    internal static float[] Random(int n, int seed)
    {
        var r = new System.Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
    }

    private static double[] Reference(bool ta, bool tb, int m, int n, int k, float[] a, float[] b)
    {
        var c = new double[m * n];
        for (var i = 0; i < m; i++)
            for (var j = 0; j < n; j++)
            {
                double s = 0;
                for (var p = 0; p < k; p++) s += (double)a[ta ? p * m + i : i * k + p] * b[tb ? j * k + p : p * n + j];
                c[i * n + j] = s;
            }
        return c;
    }

    /// <summary>
    /// The kernel a shape takes is a rule of its size, never a timing: a timed choice differed between processes of a
    /// loaded machine, and a training run resumed in a new process then lost bit equality with the uninterrupted one.
    /// </summary>
    [Test]
    public void TheKernelOfAShapeIsAFixedRuleOfItsSize()
    {
        Gemm32.ForShape(10, 10, 10).Should().Be(Gemm32.Kernel.Managed, "a cblas call costs more than a thousand multiply-adds");
        Enumerable.Range(0, 20).Select(_ => Gemm32.ForShape(28, 150, 4200)).Distinct().Should().ContainSingle();
        if (Avx512Gemm.IsSupported && Gemm32.Setting != "openblas")
        {
            Gemm32.ForShape(150, 10, 150).Should().Be(Gemm32.Kernel.Avx512, "AVX-512 CPUs run Graph's kernel");
            Gemm32.ForShape(150, 150, 150).Should().Be(Gemm32.Kernel.Avx512);
            return;
        }
        if (!Gemm32.HasOpenBlas)
        {
            Gemm32.ForShape(150, 150, 150).Should().Be(Gemm32.Kernel.Managed, "without OpenBLAS everything runs managed");
            return;
        }
        Gemm32.ForShape(150, 10, 150).Should().Be(Gemm32.Kernel.Blas, "450K flops run on one thread");
        Gemm32.ForShape(150, 150, 150).Should().Be(Environment.ProcessorCount > 1 ? Gemm32.Kernel.BlasBlocks : Gemm32.Kernel.Blas,
            "6.75 MFLOP run on blocks across the cores");
    }

    [Test]
    public void EveryKernelMatchesTheReference(
        [Values("Managed", "Avx512", "Blas", "BlasBlocks")] string kernelName,
        [Values(false, true)] bool ta, [Values(false, true)] bool tb, [Values(1, 67, 150)] int m, [Values(45, 130)] int n)
    {
        var kernel = Enum.Parse<Gemm32.Kernel>(kernelName);
        if (kernel == Gemm32.Kernel.Avx512 && !Avx512Gemm.IsSupported) Assert.Ignore("this CPU has no AVX-512.");
        if (kernel is Gemm32.Kernel.Blas or Gemm32.Kernel.BlasBlocks && !Gemm32.HasOpenBlas)
            Assert.Ignore("libopenblas.so.0 is not installed (apt-get install -y libopenblas0-pthread).");
        const int k = 33;
        var a = Random(m * k + 3, 1);
        var b = Random(k * n + 5, 2);
        var c = Enumerable.Repeat(float.NaN, m * n + 7).ToArray();
        // Offsets into larger arrays, as batched products use them; the spare elements of C must stay untouched.
        Gemm32.Multiply(kernel, ta, tb, m, n, k, a, 3, b, 5, c, 7);
        var expected = Reference(ta, tb, m, n, k, a[3..], b[5..]);
        c.Take(7).Should().OnlyContain(v => float.IsNaN(v));
        for (var i = 0; i < expected.Length; i++) c[7 + i].Should().BeApproximately((float)expected[i], 1e-4f, $"element {i}");
    }

    /// <summary>
    /// Graph's AVX-512 kernel on shapes that exercise every edge: partial row panels (m not a multiple of 12), partial
    /// column panels (n not a multiple of 32), long and short depths, products big enough to split over the cores, and
    /// operands at offsets in larger arrays.
    /// </summary>
    [Test]
    public void TheAvx512KernelMatchesTheReferenceOnEdgeShapes(
        [Values(false, true)] bool ta, [Values(false, true)] bool tb,
        [Values(new[] { 1, 1, 1 }, new[] { 13, 33, 1 }, new[] { 11, 31, 7 }, new[] { 150, 150, 150 }, new[] { 200, 70, 300 }, new[] { 18, 56, 9 }, new[] { 30, 48, 20 },
            new[] { 4200, 150, 28 }, new[] { 28, 150, 4200 })] int[] shape)
    {
        if (!Avx512Gemm.IsSupported) Assert.Ignore("this CPU has no AVX-512.");
        var (m, n, k) = (shape[0], shape[1], shape[2]);
        var a = Random(m * k + 5, 11);
        var b = Random(k * n + 2, 12);
        var c = Enumerable.Repeat(float.NaN, m * n + 9 + 40).ToArray();
        Avx512Gemm.Multiply(ta, tb, m, n, k, a, 5, b, 2, c, 9);
        var expected = Reference(ta, tb, m, n, k, a[5..], b[2..]);
        c.Take(9).Concat(c.Skip(9 + m * n)).Should().OnlyContain(v => float.IsNaN(v), "the kernel writes only C's m×n elements");
        var tolerance = 2e-6f * k + 1e-5f;
        for (var i = 0; i < expected.Length; i++)
            if (Math.Abs(c[9 + i] - expected[i]) > tolerance)
                Assert.Fail($"element {i} (row {i / n}, column {i % n}) of {m}×{n}×{k} (ta {ta}, tb {tb}): {c[9 + i]} against {expected[i]}");
    }

    /// <summary>
    /// Each element of C is one chain of FMAs in order of p, whichever tile, part or core computes it: a block of C's
    /// rows computed alone (a product that does not split, in another place of the tiling) has the same bits as those
    /// rows of the whole product (which splits over the cores). So results do not depend on the core count.
    /// </summary>
    [Test]
    public void TheAvx512KernelsBitsDoNotDependOnHowTheProductIsSplit([Values(false, true)] bool tb)
    {
        if (!Avx512Gemm.IsSupported) Assert.Ignore("this CPU has no AVX-512.");
        const int m = 150, n = 150, k = 150;
        var (a, b) = (Random(m * k, 13), Random(k * n, 14));
        var whole = new float[m * n];
        Avx512Gemm.Multiply(false, tb, m, n, k, a, 0, b, 0, whole, 0);
        foreach (var (first, rows) in new[] { (0, 1), (5, 7), (12, 12), (137, 13) })
        {
            var block = new float[rows * n];
            Avx512Gemm.Multiply(false, tb, rows, n, k, a, first * k, b, 0, block, 0);
            block.Should().Equal(whole.AsSpan(first * n, rows * n).ToArray(), $"rows {first}…{first + rows - 1}");
        }
    }

    /// <summary>
    /// A deep product runs its depth in blocks, each tile's sums carried from block to block: every element must still be
    /// the one chain of fused multiply-adds over p in order that an unblocked tile computes, bit for bit, on full and
    /// edge tiles, split over the cores in row or column order.
    /// </summary>
    [Test]
    public void TheAvx512KernelsDeepProductsAreOneChainOfFmasPerElement(
        [Values(false, true)] bool ta, [Values(false, true)] bool tb,
        [Values(new[] { 28, 150, 4200 }, new[] { 37, 61, 1300 }, new[] { 150, 70, 777 }, new[] { 13, 150, 513 }, new[] { 7, 9, 600 })] int[] shape)
    {
        if (!Avx512Gemm.IsSupported) Assert.Ignore("this CPU has no AVX-512.");
        var (m, n, k) = (shape[0], shape[1], shape[2]);
        var (a, b) = (Random(m * k, 31), Random(k * n, 32));
        var c = new float[m * n];
        Avx512Gemm.Multiply(ta, tb, m, n, k, a, 0, b, 0, c, 0);
        for (var i = 0; i < m; i++)
            for (var j = 0; j < n; j++)
            {
                var chain = 0f;
                for (var p = 0; p < k; p++) chain = MathF.FusedMultiplyAdd(a[ta ? p * m + i : i * k + p], b[tb ? j * k + p : p * n + j], chain);
                if (BitConverter.SingleToInt32Bits(c[i * n + j]) != BitConverter.SingleToInt32Bits(chain))
                    Assert.Fail($"element ({i}, {j}) of {m}×{n}×{k} (ta {ta}, tb {tb}): {c[i * n + j]} against the in-order chain's {chain}");
            }
    }

    /// <summary>
    /// A sum of two products (an RNN step's x_t·W_x + h·W_h) is one chain of fused multiply-adds per element, over the
    /// first pair's depth then the second's, bit for bit, for every transpose of either pair, on full and edge tiles
    /// (12- and 6-row tails, packed or in place; 32-, 24- and 16-column edges), split over the cores; an epilogue runs
    /// once over every element after the chains; an empty pair leaves the other's product.
    /// </summary>
    [Test]
    public void TheAvx512KernelsSumOfTwoProductsIsOneChainOverBothDepths(
        [Values(false, true)] bool ta, [Values(false, true)] bool tb, [Values(false, true)] bool ta2, [Values(false, true)] bool tb2,
        [Values(new[] { 150, 150, 28, 150 }, new[] { 13, 22, 5, 9 }, new[] { 18, 56, 1, 512 }, new[] { 150, 10, 150, 28 }, new[] { 7, 40, 0, 3 },
            new[] { 30, 17, 4, 0 })] int[] shape)
    {
        if (!Avx512Gemm.IsSupported) Assert.Ignore("this CPU has no AVX-512.");
        var (m, n, k, k2) = (shape[0], shape[1], shape[2], shape[3]);
        var (a, b, a2, b2) = (Random(m * k, 51), Random(k * n, 52), Random(m * k2, 53), Random(k2 * n, 54));
        var c = Random(m * n, 55);
        var epilogue = new CountingEpilogue(m * n);
        Avx512Gemm.MultiplySum(ta, tb, k, a, 0, b, 0, ta2, tb2, k2, a2, 0, b2, 0, m, n, c, 0, epilogue);
        for (var i = 0; i < m; i++)
            for (var j = 0; j < n; j++)
            {
                var chain = 0f;
                for (var p = 0; p < k; p++) chain = MathF.FusedMultiplyAdd(a[ta ? p * m + i : i * k + p], b[tb ? j * k + p : p * n + j], chain);
                for (var p = 0; p < k2; p++) chain = MathF.FusedMultiplyAdd(a2[ta2 ? p * m + i : i * k2 + p], b2[tb2 ? j * k2 + p : p * n + j], chain);
                if (BitConverter.SingleToInt32Bits(c[i * n + j]) != BitConverter.SingleToInt32Bits(chain))
                    Assert.Fail($"element ({i}, {j}) of {m}×{n}, depths {k} and {k2} (ta {ta}, tb {tb}, ta2 {ta2}, tb2 {tb2}): {c[i * n + j]} against the chain's {chain}");
            }
        epilogue.Counts.Should().OnlyContain(x => x == 1, "the epilogue runs once over each element");
    }

    /// <summary>A first product whose A is zero (an RNN's first step) is skipped: the sum keeps the bits of the chains, −0 in A included.</summary>
    [Test]
    public void ASumWhoseFirstAIsZeroHasTheBitsOfTheChains([Values(0f, -0f)] float zero, [Values(false, true)] bool ta)
    {
        if (!Avx512Gemm.IsSupported) Assert.Ignore("this CPU has no AVX-512.");
        var (m, n, k, k2) = (150, 150, 150, 28);
        var a = Enumerable.Repeat(zero, m * k).ToArray();
        var (b, a2, b2) = (Random(k * n, 61), Random(m * k2, 62), Random(k2 * n, 63));
        a2[5] = -0f;
        var c = new float[m * n];
        Avx512Gemm.MultiplySum(ta, false, k, a, 0, b, 0, false, false, k2, a2, 0, b2, 0, m, n, c, 0);
        for (var i = 0; i < m; i++)
            for (var j = 0; j < n; j++)
            {
                var chain = 0f;
                for (var p = 0; p < k; p++) chain = MathF.FusedMultiplyAdd(a[ta ? p * m + i : i * k + p], b[p * n + j], chain);
                for (var p = 0; p < k2; p++) chain = MathF.FusedMultiplyAdd(a2[i * k2 + p], b2[p * n + j], chain);
                BitConverter.SingleToInt32Bits(c[i * n + j]).Should().Be(BitConverter.SingleToInt32Bits(chain), $"element ({i}, {j})");
            }
    }

    [Test]
    public void ASumOfProductsDeeperThanTheDepthBlocksIsRefused()
    {
        if (!Avx512Gemm.IsSupported) Assert.Ignore("this CPU has no AVX-512.");
        var act = () => Avx512Gemm.MultiplySum(false, false, 600, new float[600], 0, new float[600], 0, false, false, 1, new float[1], 0, new float[1], 0, 1, 1, new float[1], 0);
        act.Should().Throw<InternalException>().WithMessage("*600*");
    }

    private sealed class CountingEpilogue(int length) : IProductEpilogue
    {
        public int[] Counts { get; } = new int[length];

        public void Apply(long start, int count)
        {
            lock (Counts)
                for (var e = start; e < start + count; e++) Counts[e]++;
        }
    }

    /// <summary>
    /// Adding into C (a loop gradient's running sum) gives the bits of the product followed by the sum, element by
    /// element, on every edge shape and split.
    /// </summary>
    [Test]
    public void TheAvx512KernelAddsIntoCWithTheBitsOfAProductThenASum(
        [Values(false, true)] bool ta, [Values(false, true)] bool tb,
        [Values(new[] { 13, 33, 1 }, new[] { 150, 150, 150 }, new[] { 18, 56, 9 }, new[] { 28, 150, 4200 })] int[] shape)
    {
        if (!Avx512Gemm.IsSupported) Assert.Ignore("this CPU has no AVX-512.");
        var (m, n, k) = (shape[0], shape[1], shape[2]);
        var (a, b) = (Random(m * k, 21), Random(k * n, 22));
        var sum = Random(m * n, 23);
        var product = new float[m * n];
        Avx512Gemm.Multiply(ta, tb, m, n, k, a, 0, b, 0, product, 0);
        var expected = sum.Select((s, i) => s + product[i]).ToArray();
        Avx512Gemm.Multiply(ta, tb, m, n, k, a, 0, b, 0, sum, 0, accumulate: true);
        sum.Select(BitConverter.SingleToInt32Bits).Should().Equal(expected.Select(BitConverter.SingleToInt32Bits));
    }

    /// <summary>
    /// A zero A (an RNN's first step from a zero state) skips the tiles, with the bits the FMA chains would give: +0
    /// everywhere from +0 or −0 in A, C + 0 when adding into C (its −0 becomes +0), NaN where B holds ∞ or NaN.
    /// </summary>
    [Test]
    public void AZeroAGivesTheBitsOfTheChains(
        [Values(false, true)] bool ta, [Values(false, true)] bool tb, [Values(false, true)] bool accumulate,
        [Values(0f, -0f)] float zero, [Values(0f, float.PositiveInfinity, float.NaN)] float inB)
    {
        if (!Avx512Gemm.IsSupported) Assert.Ignore("this CPU has no AVX-512.");
        var (m, n, k) = (150, 150, 150);
        var a = Enumerable.Repeat(zero, m * k).ToArray();
        var b = Random(k * n, 41);
        if (inB != 0) b[k * n / 2 + 3] = inB;
        var c = Random(m * n, 42);
        c[0] = -0f;
        c[1] = 0f;
        var expected = new float[m * n];
        for (var i = 0; i < m; i++)
            for (var j = 0; j < n; j++)
            {
                var chain = 0f;
                for (var p = 0; p < k; p++) chain = MathF.FusedMultiplyAdd(a[ta ? p * m + i : i * k + p], b[tb ? j * k + p : p * n + j], chain);
                expected[i * n + j] = accumulate ? c[i * n + j] + chain : chain;
            }
        Avx512Gemm.Multiply(ta, tb, m, n, k, a, 0, b, 0, c, 0, accumulate);
        for (var e = 0; e < m * n; e++)
            if (float.IsNaN(expected[e]) ? !float.IsNaN(c[e]) : BitConverter.SingleToInt32Bits(c[e]) != BitConverter.SingleToInt32Bits(expected[e]))
                Assert.Fail($"element {e}: {c[e]} against the chain's {expected[e]}");
        if (!accumulate && inB == 0) c.Should().OnlyContain(x => BitConverter.SingleToInt32Bits(x) == 0, "a zero A with a finite B gives +0");
    }

    [Test]
    public void TheAvx512KernelHandlesEmptyProducts()
    {
        if (!Avx512Gemm.IsSupported) Assert.Ignore("this CPU has no AVX-512.");
        var c = new[] { 1f, 2f, 3f, 4f };
        Avx512Gemm.Multiply(false, false, 2, 2, 0, [], 0, [], 0, c, 0);
        c.Should().Equal([0f, 0f, 0f, 0f], "a sum over no terms is zero");
        Avx512Gemm.Multiply(false, false, 0, 2, 3, [], 0, new float[6], 0, c, 0);
        c.Should().Equal([0f, 0f, 0f, 0f]);
    }

    [DllImport("libopenblas.so.0")]
    private static extern int openblas_get_num_threads();

    [DllImport("libopenblas.so.0")]
    private static extern void openblas_set_num_threads(int n);

    [Test]
    public void OpenBlasKeepsTheProcesssThreadCount()
    {
        if (!Gemm32.HasOpenBlas) Assert.Ignore("libopenblas.so.0 is not installed (apt-get install -y libopenblas0-pthread).");
        var before = openblas_get_num_threads();
        try
        {
            openblas_set_num_threads(3);
            var (a, b, c) = (Random(150 * 150, 3), Random(150 * 150, 4), new float[150 * 150]);
            Gemm32.Multiply(Gemm32.Kernel.BlasBlocks, false, false, 150, 150, 150, a, 0, b, 0, c, 0);
            Gemm32.Multiply(Gemm32.Kernel.Blas, false, true, 150, 150, 150, a, 0, b, 0, c, 0);
            openblas_get_num_threads().Should().Be(3, "Graph runs OpenBLAS single-threaded only for its own calls");
            // Two threads in Graph's OpenBLAS calls at once: neither restores the count while the other is inside.
            Parallel.For(0, 4, i =>
            {
                var (x, y, z) = (Random(150 * 150, i), Random(150 * 150, i + 10), new float[150 * 150]);
                for (var r = 0; r < 20; r++)
                    Gemm32.Multiply(i % 2 == 0 ? Gemm32.Kernel.BlasBlocks : Gemm32.Kernel.Blas, false, false, 150, 150, 150, x, 0, y, 0, z, 0);
            });
            openblas_get_num_threads().Should().Be(3);
        }
        finally
        {
            openblas_set_num_threads(before);
        }
    }
    /// <summary>
    /// The managed kernel packs its panels into per-thread scratch arrays: after the first call a product allocates nothing
    /// on one thread, so a machine without OpenBLAS trains without garbage per step. The scratch is reused dirty, so
    /// results must not depend on what a previous product left in it.
    /// </summary>
    [Test]
    public void TheManagedKernelAllocatesNothingPerCallAndIgnoresWhatItsScratchHeld()
    {
        var (a, b) = (Random(40 * 33, 7), Random(33 * 29, 8));
        var c = new float[40 * 29];
        var expected = Reference(false, false, 40, 29, 33, a, b);
        // A larger product first leaves non-zero values in the pooled panels.
        var (big, bigB) = (Random(64 * 64, 9), Random(64 * 64, 10));
        Gemm32.Managed(false, false, 64, 64, 64, big, 0, bigB, 0, new float[64 * 64], 0);
        Gemm32.Managed(false, false, 40, 29, 33, a, 0, b, 0, c, 0);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10; i++) Gemm32.Managed(false, false, 40, 29, 33, a, 0, b, 0, c, 0);
        (GC.GetAllocatedBytesForCurrentThread() - before).Should().Be(0);
        for (var i = 0; i < c.Length; i++) c[i].Should().BeApproximately((float)expected[i], 1e-4f, $"element {i}");
    }

    [TestCase("", false)]
    [TestCase("auto", true)]
    [TestCase("managed", true)]
    [TestCase("managed", false)]
    [TestCase("openblas", true)]
    public void GraphBlasSettingsThatCanBeHonouredAreAccepted(string setting, bool hasOpenBlas) =>
        Gemm32.CheckSetting(setting, () => hasOpenBlas);

    /// <summary>Loading OpenBLAS starts its spinning thread pool: a session checks for it only when told to use it.</summary>
    [TestCase("")]
    [TestCase("auto")]
    [TestCase("managed")]
    public void OnlyTheOpenBlasSettingLooksForOpenBlas(string setting) =>
        Gemm32.CheckSetting(setting, () => throw new AssertionException($"GRAPH_BLAS='{setting}' looked for OpenBLAS"));

    [TestCase("openblas", false, "*libopenblas.so.0 was not found*")]
    [TestCase("mkl", true, "*GRAPH_BLAS='mkl'*managed*openblas*auto*")]
    public void GraphBlasSettingsThatCannotBeHonouredFailClearly(string setting, bool hasOpenBlas, string message)
    {
        var act = () => Gemm32.CheckSetting(setting, () => hasOpenBlas);
        act.Should().Throw<Graph.Core.InvalidArgumentException>().WithMessage(message);
    }
}
