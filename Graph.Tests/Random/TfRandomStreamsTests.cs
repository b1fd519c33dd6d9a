using System.Globalization;
using Graph.Core;

namespace Graph.Tests;

/// <summary>Tests of <see cref="TfRandomStreams"/> (TF1-compatible RandomUniform / RandomStandardNormal / TruncatedNormal).</summary>
[TestFixture]
public class TfRandomStreamsTests
{
    // --------------------------------------------------------------------------------------------------------------
    // Published TensorFlow outputs.
    //
    // One published data point is from TF1 graph mode (fenwicks); the others are from TF 2.x eager runs. The CPU
    // kernels involved (PhiloxRandomOp with Uniform/NormalDistribution, GuardedPhiloxRandom, FillPhiloxRandomTask)
    // are unchanged from TF 1.x, and in eager mode an op's kernel (and so its generator) is cached across calls
    // until tf.random.set_seed clears the cache, so the k-th identical call is the k-th "run". Seeds follow random_seed.get_seed: (global seed, op seed), or
    // (DEFAULT_GRAPH_SEED = 87654321, op seed) when only the op seed is set. numpy prints float32 values with the
    // shortest round-tripping repr capped at 8 fractional digits; see ShouldMatchNumpyRepr.
    // --------------------------------------------------------------------------------------------------------------

    /// <summary>
    /// TensorFlow's own doctest in tensorflow/python/ops/random_ops.py (random_normal docstring, also on
    /// tensorflow.org/api_docs/python/tf/random/normal): <c>tf.random.set_seed(5); tf.random.normal([2,2], 0, 1,
    /// tf.float32, seed=1)</c> gives <c>[[-1.3768897, -0.01258316], [-0.169515, 1.0824056]]</c>.
    /// </summary>
    [Test]
    public void MatchesTensorFlowDocstring_RandomNormal_Seed5_Op1()
    {
        var dst = new float[4];
        TfRandomStreams.StandardNormal(dst, seed: 5, seed2: 1, skip: 0);
        ShouldMatchNumpyRepr(dst, "-1.3768897", "-0.01258316", "-0.169515", "1.0824056");
    }

    /// <summary>
    /// TensorFlow's own doctest in tensorflow/python/ops/random_ops.py (random_uniform docstring):
    /// <c>tf.random.set_seed(5)</c>, then <c>tf.random.uniform(shape=[], maxval=3, dtype=tf.int32, seed=10)</c> twice
    /// gives 2 then 0. RandomUniformInt uses <c>UniformDistribution&lt;PhiloxRandom, int32&gt;</c>:
    /// lo + sample[i] % (hi - lo), with the same reservation (n × 256 samples per run), so this checks the
    /// seed layout and <see cref="TfRandomStreams.SamplesReservedPerRun"/>.
    /// </summary>
    [Test]
    public void MatchesTensorFlowDocstring_RandomUniformInt_Seed5_Op10_TwoRuns()
    {
        var run1 = new PhiloxRandom(5, 10);
        (run1.Next().X0 % 3).Should().Be(2u);

        var run2 = new PhiloxRandom(5, 10);
        run2.Skip(TfRandomStreams.SamplesReservedPerRun(1));
        (run2.Next().X0 % 3).Should().Be(0u);
    }

    /// <summary>
    /// Values recorded in a public third-party TF2 test file (found through the code index; its repository was not
    /// identified): <c>tf.random.set_seed(100); tf.random.uniform([6], seed=100)</c> and
    /// <c>tf.random.normal([6], seed=100)</c> (each after its own set_seed, so each is a first run).
    /// </summary>
    [Test]
    public void MatchesPublishedValues_Seeds100_100()
    {
        var u = new float[6];
        TfRandomStreams.Uniform(u, 100, 100, 0);
        ShouldMatchNumpyRepr(u, "0.6834769", "0.628494", "0.55020416", "0.04058826", "0.28132665", "0.7678064");

        var n = new float[6];
        TfRandomStreams.StandardNormal(n, 100, 100, 0);
        ShouldMatchNumpyRepr(n, "-0.6302907", "-0.60320675", "0.27576178", "1.0577745", "-1.582675", "0.17781347");
    }

    /// <summary>
    /// Same third-party file: <c>tf.random.set_seed(1000)</c>, then <c>tf.random.uniform([1], seed=100)</c> twice
    /// gives 0.6579577 then 0.7809596 (second run: skip = 1 × 256).
    /// </summary>
    [Test]
    public void MatchesPublishedValues_Seeds1000_100_TwoRuns()
    {
        var dst = new float[1];
        TfRandomStreams.Uniform(dst, 1000, 100, 0);
        ShouldMatchNumpyRepr(dst, "0.6579577");

        TfRandomStreams.Uniform(dst, 1000, 100, TfRandomStreams.SamplesReservedPerRun(1));
        ShouldMatchNumpyRepr(dst, "0.7809596");
    }

    /// <summary>
    /// Values from a public third-party Markdown note on tf.random (found through the code index; repository not
    /// identified): <c>tf.random.uniform([1], seed=1)</c> with no global seed (seeds (87654321, 1)) gives 0.2390374
    /// then 0.22267115; after <c>tf.random.set_seed(1)</c>, seed=1 gives 0.05554414, seed=3 gives 0.7787856 and
    /// seed=2 gives 0.40639675 (all first runs).
    /// </summary>
    [Test]
    public void MatchesPublishedValues_UniformSeedTable()
    {
        var dst = new float[1];
        TfRandomStreams.Uniform(dst, TfRandomStreams.DefaultGraphSeed, 1, 0);
        ShouldMatchNumpyRepr(dst, "0.2390374");
        TfRandomStreams.Uniform(dst, TfRandomStreams.DefaultGraphSeed, 1, TfRandomStreams.SamplesReservedPerRun(1));
        ShouldMatchNumpyRepr(dst, "0.22267115");

        TfRandomStreams.Uniform(dst, 1, 1, 0);
        ShouldMatchNumpyRepr(dst, "0.05554414");
        TfRandomStreams.Uniform(dst, 1, 3, 0);
        ShouldMatchNumpyRepr(dst, "0.7787856");
        TfRandomStreams.Uniform(dst, 1, 2, 0);
        ShouldMatchNumpyRepr(dst, "0.40639675");
    }

    /// <summary>
    /// TF1 graph mode: fenwickslab/fenwicks test/test_fw_core.py (commit d6ae1f565d7a875227e98315e0b1520466a5c113)
    /// runs <c>fw.core.set_random_seed()</c> (fenwicks/core.py: <c>tf.set_random_seed(777)</c>) and then
    /// <c>tf.random.uniform([2, 2])</c> in a <c>tf.Session</c>, asserting
    /// <c>[[0.06672299, 0.3009504], [0.85697794, 0.1031245]]</c>. In a fresh TF1 graph random_uniform first creates
    /// the shape, min and max constants (ops 1..3), so get_seed uses op seed = graph._last_id = 3: seeds (777, 3).
    /// </summary>
    [Test]
    public void MatchesTf1GraphModeValues_Fenwicks_Seed777()
    {
        (long seed, long seed2) = TfRandomStreams.GetSeed(777, null, graphLastId: 3);
        var dst = new float[4];
        TfRandomStreams.Uniform(dst, seed, seed2, 0);
        ShouldMatchNumpyRepr(dst, "0.06672299", "0.3009504", "0.85697794", "0.1031245");
    }

    /// <summary>
    /// float64: KerasTuner's test_seed_set_before_each_test (keras-team/keras-tuner; its conftest.py calls
    /// <c>tf.random.set_seed(0)</c>) asserts <c>tf.random.uniform([1], dtype=tf.float64)</c> == 0.3358018290373803
    /// exactly. In TF2 eager the op seed is <c>context._internal_operation_seed()</c> =
    /// <c>random.Random(0).randint(0, 2**31 - 1)</c> = 1654615998 (computed with CPython 3.11), so seeds are
    /// (0, 1654615998).
    /// </summary>
    [Test]
    public void MatchesPublishedFloat64Value_KerasTuner()
    {
        var dst = new double[1];
        TfRandomStreams.Uniform(dst, 0, 1654615998, 0);
        dst[0].Should().Be(0.3358018290373803);
    }

    /// <summary>
    /// Same Markdown note as <see cref="MatchesPublishedValues_UniformSeedTable"/>, global-seed-only examples (TF2
    /// eager, op seed = random.Random(global).randint(0, 2**31 - 1), computed with CPython 3.11:
    /// 5 → 1097127993; 1 → 577090037 then 271041745): <c>tf.random.set_seed(5); tf.random.normal([2, 3])</c>,
    /// <c>tf.random.set_seed(5); tf.random.uniform([2,3])</c>, and <c>tf.random.set_seed(1)</c> followed by two
    /// <c>tf.random.uniform([1])</c> calls (different op seeds, so two first runs).
    /// </summary>
    [Test]
    public void MatchesPublishedValues_GlobalSeedOnly()
    {
        var dst = new float[6];
        TfRandomStreams.StandardNormal(dst, 5, 1097127993, 0);
        ShouldMatchNumpyRepr(dst, "-0.18030666", "-0.95028627", "-0.03964049", "-0.7425406", "1.3231523", "-0.61854804");

        TfRandomStreams.Uniform(dst, 5, 1097127993, 0);
        ShouldMatchNumpyRepr(dst, "0.6263931", "0.5298432", "0.7584572", "0.5084884", "0.34415376", "0.31959772");

        var one = new float[1];
        TfRandomStreams.Uniform(one, 1, 577090037, 0);
        ShouldMatchNumpyRepr(one, "0.16513085");
        TfRandomStreams.Uniform(one, 1, 271041745, 0);
        ShouldMatchNumpyRepr(one, "0.51010704");
    }

    // --------------------------------------------------------------------------------------------------------------
    // Scalar conversions.
    // --------------------------------------------------------------------------------------------------------------

    /// <summary>Uint32ToFloat uses the low 23 bits only and maps to [0, 1).</summary>
    [Test]
    public void Uint32ToFloatEdges()
    {
        TfRandomStreams.Uint32ToFloat(0).Should().Be(0f);
        TfRandomStreams.Uint32ToFloat(0xFF800000).Should().Be(0f);
        TfRandomStreams.Uint32ToFloat(0xFFFFFFFF).Should().Be(1f - MathF.Pow(2, -23));
        TfRandomStreams.Uint32ToFloat(0x00400000).Should().Be(0.5f);
    }

    /// <summary>Uint64ToDouble takes 20 bits of x0 (high) and 32 of x1 (low) and maps to [0, 1).</summary>
    [Test]
    public void Uint64ToDoubleEdges()
    {
        TfRandomStreams.Uint64ToDouble(0, 0).Should().Be(0.0);
        TfRandomStreams.Uint64ToDouble(0xFFF00000, 0).Should().Be(0.0);
        TfRandomStreams.Uint64ToDouble(0xFFFFFFFF, 0xFFFFFFFF).Should().Be(1.0 - Math.Pow(2, -52));
        TfRandomStreams.Uint64ToDouble(0x00080000, 0).Should().Be(0.5);
        TfRandomStreams.Uint64ToDouble(0, 1).Should().Be(Math.Pow(2, -52));
    }

    /// <summary>Box–Muller clamps u1 at 1e-7 and puts sin in the first output, cos in the second.</summary>
    [Test]
    public void BoxMullerClampAndOrder()
    {
        TfRandomStreams.BoxMullerFloat(0, 0, out float f0, out float f1);
        f0.Should().Be(0f);
        f1.Should().Be(MathF.Sqrt(-2f * MathF.Log(1e-7f)));

        TfRandomStreams.BoxMullerDouble(0, 0, 0, 0, out double d0, out double d1);
        d0.Should().Be(0.0);
        d1.Should().Be(Math.Sqrt(-2.0 * Math.Log(1e-7)));

        // u1 = 0.5, angle = 2π·0.25: sin = 1, cos ≈ 0.
        TfRandomStreams.BoxMullerFloat(0x00400000, 0x00200000, out f0, out f1);
        f0.Should().BeApproximately(MathF.Sqrt(2f * MathF.Log(2f)), 1e-6f);
        f1.Should().BeApproximately(0f, 1e-6f);
    }

    /// <summary>Normal values are Box–Muller of the same words that give the uniform values: (x0, x1) → (sin, cos).</summary>
    [Test]
    public void NormalIsBoxMullerOfTheUniformWords()
    {
        var u = new float[8];
        var n = new float[8];
        TfRandomStreams.Uniform(u, 77, 88, 3);
        TfRandomStreams.StandardNormal(n, 77, 88, 3);
        for (int i = 0; i < 8; i += 2)
        {
            double r = Math.Sqrt(-2 * Math.Log(Math.Max(u[i], 1e-7)));
            n[i].Should().BeApproximately((float)(Math.Sin(2 * Math.PI * u[i + 1]) * r), 1e-4f);
            n[i + 1].Should().BeApproximately((float)(Math.Cos(2 * Math.PI * u[i + 1]) * r), 1e-4f);
        }
    }

    // --------------------------------------------------------------------------------------------------------------
    // Grouping, partial groups, skip structure.
    // --------------------------------------------------------------------------------------------------------------

    /// <summary>A partial last group equals the prefix of the full group (7 values = first 7 of 8; odd doubles too).</summary>
    [Test]
    public void PartialLastGroupIsTruncatedFullGroup()
    {
        foreach (var fill in FloatFills)
        {
            var seven = new float[7];
            var eight = new float[8];
            fill(seven, 11, 22, 5);
            fill(eight, 11, 22, 5);
            seven.Should().Equal(eight.Take(7));

            var one = new float[1];
            fill(one, 11, 22, 5);
            one[0].Should().Be(eight[0]);
        }

        foreach (var fill in DoubleFills)
        {
            var three = new double[3];
            var four = new double[4];
            fill(three, 11, 22, 5);
            fill(four, 11, 22, 5);
            three.Should().Equal(four.Take(3));
        }
    }

    /// <summary>Fixed-sample distributions: group g uses the generator skipped by g samples.</summary>
    [Test]
    public void FixedSampleGroupsAdvanceOneSamplePerGroup()
    {
        var f8 = new float[8];
        var f4 = new float[4];
        TfRandomStreams.Uniform(f8, 3, 4, 0);
        TfRandomStreams.Uniform(f4, 3, 4, 1);
        f8.Skip(4).Should().Equal(f4);

        TfRandomStreams.StandardNormal(f8, 3, 4, 0);
        TfRandomStreams.StandardNormal(f4, 3, 4, 1);
        f8.Skip(4).Should().Equal(f4);

        var d4 = new double[4];
        var d2 = new double[2];
        TfRandomStreams.Uniform(d4, 3, 4, 0);
        TfRandomStreams.Uniform(d2, 3, 4, 1);
        d4.Skip(2).Should().Equal(d2);

        TfRandomStreams.StandardNormal(d4, 3, 4, 0);
        TfRandomStreams.StandardNormal(d2, 3, 4, 1);
        d4.Skip(2).Should().Equal(d2);
    }

    /// <summary>
    /// TruncatedNormal (variable samples per output): group g uses the generator skipped by
    /// g × kGeneratorSkipPerOutputGroup = g × (groupSize × 256 / 4): 256 for float (groups of 4), 128 for double
    /// (groups of 2).
    /// </summary>
    [Test]
    public void TruncatedNormalGroupsAreSpacedByReservedSamples()
    {
        var f12 = new float[12];
        var f4 = new float[4];
        TfRandomStreams.TruncatedNormal(f12, 9, 10, 0);
        TfRandomStreams.TruncatedNormal(f4, 9, 10, 256);
        f12.Skip(4).Take(4).Should().Equal(f4);
        TfRandomStreams.TruncatedNormal(f4, 9, 10, 512);
        f12.Skip(8).Should().Equal(f4);

        var d6 = new double[6];
        var d2 = new double[2];
        TfRandomStreams.TruncatedNormal(d6, 9, 10, 0);
        TfRandomStreams.TruncatedNormal(d2, 9, 10, 128);
        d6.Skip(2).Take(2).Should().Equal(d2);
        TfRandomStreams.TruncatedNormal(d2, 9, 10, 256);
        d6.Skip(4).Should().Equal(d2);
    }

    /// <summary>TruncatedNormal keeps, in order, the Box–Muller outputs with |x| &lt; 2 from the group's word stream.</summary>
    [Test]
    public void TruncatedNormalIsRejectionOverBoxMullerStream()
    {
        // Reference: walk the 32-bit words of the (seed, seed2) stream, two (float) per Box–Muller pair.
        var gen = new PhiloxRandom(31, 41);
        var words = new List<uint>();
        for (int i = 0; i < 16; i++)
        {
            PhiloxBlock b = gen.Next();
            words.AddRange(new[] { b.X0, b.X1, b.X2, b.X3 });
        }

        var expected = new List<float>();
        for (int i = 0; expected.Count < 4; i += 2)
        {
            TfRandomStreams.BoxMullerFloat(words[i], words[i + 1], out float f0, out float f1);
            if (MathF.Abs(f0) < 2f) expected.Add(f0);
            if (expected.Count < 4 && MathF.Abs(f1) < 2f) expected.Add(f1);
        }

        var dst = new float[4];
        TfRandomStreams.TruncatedNormal(dst, 31, 41, 0);
        dst.Should().Equal(expected);

        var expectedD = new List<double>();
        for (int i = 0; expectedD.Count < 2; i += 4)
        {
            TfRandomStreams.BoxMullerDouble(words[i], words[i + 1], words[i + 2], words[i + 3], out double d0, out double d1);
            if (Math.Abs(d0) < 2.0) expectedD.Add(d0);
            if (expectedD.Count < 2 && Math.Abs(d1) < 2.0) expectedD.Add(d1);
        }

        var dstD = new double[2];
        TfRandomStreams.TruncatedNormal(dstD, 31, 41, 0);
        dstD.Should().Equal(expectedD);
    }

    // --------------------------------------------------------------------------------------------------------------
    // Runs, determinism, seeds.
    // --------------------------------------------------------------------------------------------------------------

    /// <summary>SamplesReservedPerRun is n × 256.</summary>
    [Test]
    public void SamplesReservedPerRunIs256PerElement()
    {
        TfRandomStreams.SamplesReservedPerRun(0).Should().Be(0UL);
        TfRandomStreams.SamplesReservedPerRun(1).Should().Be(256UL);
        TfRandomStreams.SamplesReservedPerRun(6).Should().Be(1536UL);
        TfRandomStreams.SamplesReservedPerRun(1L << 40).Should().Be(256UL << 40);
        FluentActions.Invoking(() => TfRandomStreams.SamplesReservedPerRun(-1)).Should().Throw<ArgumentOutOfRangeException>();
    }

    /// <summary>The second run (skip = SamplesReservedPerRun(n)) differs from the first, for every stream.</summary>
    [Test]
    public void SecondRunDiffersFromFirst()
    {
        const int n = 10;
        ulong skip = TfRandomStreams.SamplesReservedPerRun(n);
        foreach (var fill in FloatFills)
        {
            var first = new float[n];
            var second = new float[n];
            fill(first, 5, 6, 0);
            fill(second, 5, 6, skip);
            second.Should().NotEqual(first);
        }

        foreach (var fill in DoubleFills)
        {
            var first = new double[n];
            var second = new double[n];
            fill(first, 5, 6, 0);
            fill(second, 5, 6, skip);
            second.Should().NotEqual(first);
        }
    }

    /// <summary>Same seeds and skip give identical bits; changing seed or seed2 changes the values.</summary>
    [Test]
    public void DeterministicForSameSeeds()
    {
        foreach (var fill in FloatFills)
        {
            var a = new float[33];
            var b = new float[33];
            var c = new float[33];
            var d = new float[33];
            fill(a, -123456789012345, 987654321, 42);
            fill(b, -123456789012345, 987654321, 42);
            fill(c, -123456789012345, 987654322, 42);
            fill(d, -123456789012344, 987654321, 42);
            b.Select(BitConverter.SingleToInt32Bits).Should().Equal(a.Select(BitConverter.SingleToInt32Bits));
            c.Should().NotEqual(a);
            d.Should().NotEqual(a);
        }

        foreach (var fill in DoubleFills)
        {
            var a = new double[33];
            var b = new double[33];
            fill(a, 1, 2, 3);
            fill(b, 1, 2, 3);
            b.Select(BitConverter.DoubleToInt64Bits).Should().Equal(a.Select(BitConverter.DoubleToInt64Bits));
        }
    }

    /// <summary>Seeds (0, 0) mean "random": two calls differ; ResolveSeeds keeps non-zero pairs.</summary>
    [Test]
    public void ZeroSeedsAreRandom()
    {
        var a = new float[16];
        var b = new float[16];
        TfRandomStreams.Uniform(a, 0, 0, 0);
        TfRandomStreams.Uniform(b, 0, 0, 0);
        b.Should().NotEqual(a);

        TfRandomStreams.ResolveSeeds(0, 0).Should().NotBe((0L, 0L));
        TfRandomStreams.ResolveSeeds(3, 0).Should().Be((3L, 0L));
        TfRandomStreams.ResolveSeeds(0, -4).Should().Be((0L, -4L));
    }

    /// <summary>GetSeed follows TF1's python/framework/random_seed.py get_seed.</summary>
    [Test]
    public void GetSeedFollowsRandomSeedPy()
    {
        TfRandomStreams.GetSeed(5, 1, 99).Should().Be((5L, 1L));
        TfRandomStreams.GetSeed(5, null, 99).Should().Be((5L, 99L));
        TfRandomStreams.GetSeed(null, 1, 99).Should().Be((87654321L, 1L));
        TfRandomStreams.GetSeed(null, null, 99).Should().Be((0L, 0L));
        TfRandomStreams.GetSeed(0, 0, 99).Should().Be((0L, 2147483647L));
        TfRandomStreams.GetSeed(2147483647, 0, 99).Should().Be((0L, 2147483647L));
        TfRandomStreams.GetSeed(-1, 2147483648, 0).Should().Be((2147483646L, 1L));
    }

    // --------------------------------------------------------------------------------------------------------------
    // Distribution sanity.
    // --------------------------------------------------------------------------------------------------------------

    /// <summary>Normal: mean ≈ 0, std ≈ 1 over 100k samples (float and double).</summary>
    [Test]
    public void NormalMoments()
    {
        var f = new float[100_000];
        TfRandomStreams.StandardNormal(f, 1234, 5678, 0);
        CheckMoments(f.Select(x => (double)x).ToArray(), 0.0, 1.0);

        var d = new double[100_000];
        TfRandomStreams.StandardNormal(d, 1234, 5678, 0);
        CheckMoments(d, 0.0, 1.0);
    }

    /// <summary>Uniform: all in [0, 1), mean ≈ 0.5, std ≈ 1/sqrt(12) over 100k samples.</summary>
    [Test]
    public void UniformRangeAndMoments()
    {
        var f = new float[100_000];
        TfRandomStreams.Uniform(f, 1234, 5678, 0);
        f.Should().OnlyContain(x => x >= 0f && x < 1f);
        CheckMoments(f.Select(x => (double)x).ToArray(), 0.5, Math.Sqrt(1.0 / 12));

        var d = new double[100_000];
        TfRandomStreams.Uniform(d, 1234, 5678, 0);
        d.Should().OnlyContain(x => x >= 0.0 && x < 1.0);
        CheckMoments(d, 0.5, Math.Sqrt(1.0 / 12));
    }

    /// <summary>Truncated normal: all within (-2, 2), mean ≈ 0, std ≈ 0.8796 over 100k samples.</summary>
    [Test]
    public void TruncatedNormalRangeAndMoments()
    {
        // Std of N(0,1) truncated to (-2, 2): sqrt(1 - 2·2·φ(2) / (Φ(2) - Φ(-2))) ≈ 0.87962.
        const double truncatedStd = 0.87962;
        var f = new float[100_000];
        TfRandomStreams.TruncatedNormal(f, 1234, 5678, 0);
        f.Should().OnlyContain(x => x > -2f && x < 2f);
        CheckMoments(f.Select(x => (double)x).ToArray(), 0.0, truncatedStd);

        var d = new double[100_000];
        TfRandomStreams.TruncatedNormal(d, 1234, 5678, 0);
        d.Should().OnlyContain(x => x > -2.0 && x < 2.0);
        CheckMoments(d, 0.0, truncatedStd);
    }

    // --------------------------------------------------------------------------------------------------------------
    // Helpers.
    // --------------------------------------------------------------------------------------------------------------

    private delegate void FloatFill(Span<float> dst, long seed, long seed2, ulong skip);

    private delegate void DoubleFill(Span<double> dst, long seed, long seed2, ulong skip);

    private static readonly FloatFill[] FloatFills =
    {
        TfRandomStreams.Uniform, TfRandomStreams.StandardNormal, TfRandomStreams.TruncatedNormal,
    };

    private static readonly DoubleFill[] DoubleFills =
    {
        TfRandomStreams.Uniform, TfRandomStreams.StandardNormal, TfRandomStreams.TruncatedNormal,
    };

    private static void CheckMoments(double[] xs, double mean, double std)
    {
        double m = xs.Average();
        double s = Math.Sqrt(xs.Select(x => (x - m) * (x - m)).Sum() / (xs.Length - 1));
        m.Should().BeApproximately(mean, 0.01);
        s.Should().BeApproximately(std, 0.01);
    }

    /// <summary>
    /// numpy prints float32 with the shortest repr that round-trips, limited to 8 fractional digits (default
    /// precision). So either the printed text parses to exactly <paramref name="actual"/>, or it has 8 fractional
    /// digits and is <paramref name="actual"/> rounded to 8 decimals.
    /// </summary>
    private static void ShouldMatchNumpyRepr(float actual, string printed)
    {
        float parsed = float.Parse(printed, CultureInfo.InvariantCulture);
        if (actual == parsed)
        {
            return;
        }

        int fractionDigits = printed.Length - printed.IndexOf('.') - 1;
        fractionDigits.Should().Be(8, $"only a repr capped at 8 decimals may differ from the float ({actual:R} vs {printed})");
        Math.Abs((double)actual - double.Parse(printed, CultureInfo.InvariantCulture))
            .Should().BeLessThanOrEqualTo(0.5e-8 + 1e-15, $"{actual:R} should print as {printed}");
    }

    private static void ShouldMatchNumpyRepr(float[] actual, params string[] printed)
    {
        actual.Should().HaveCount(printed.Length);
        for (int i = 0; i < printed.Length; i++)
        {
            ShouldMatchNumpyRepr(actual[i], printed[i]);
        }
    }
}
