using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Graph.Core;

/// <summary>
/// Random streams bit-compatible with TensorFlow 1.x's CPU kernels <c>RandomUniform</c>,
/// <c>RandomStandardNormal</c> and <c>TruncatedNormal</c> (float and double).
/// </summary>
/// <remarks>
/// <para>Reproduces, from the TensorFlow 1.x sources:</para>
/// <list type="bullet">
/// <item><c>core/util/guarded_philox_random.{h,cc}</c>: the op's generator is
/// <c>PhiloxRandom(seed, seed2)</c>; if both attributes are 0 it is seeded with two fresh random 64-bit values;
/// each <c>Compute</c> takes a copy of the generator and then skips it by
/// <c>ReserveRandomOutputs(n, 256)</c> = n × 256 128-bit samples (see <see cref="SamplesReservedPerRun"/>).</item>
/// <item><c>core/kernels/random_op.cc</c> (<c>FillPhiloxRandomTask</c>): outputs are produced in groups of
/// <c>kResultElementCount</c> values. For fixed-sample distributions (uniform, normal) group g uses the copy
/// skipped by g; for variable-sample distributions (truncated normal) group g uses the copy skipped by
/// g × <c>kGeneratorSkipPerOutputGroup</c> (= groupSize × 256 / 4) read one 32-bit word at a time through
/// <c>SingleSampleAdapter</c>. A partial last group is computed in full and truncated.</item>
/// <item><c>core/lib/random/random_distributions.h</c>: <c>Uint32ToFloat</c>, <c>Uint64ToDouble</c>,
/// <c>BoxMullerFloat</c>, <c>BoxMullerDouble</c>, and the Uniform/Normal/TruncatedNormal distributions
/// (group sizes: float 4, double 2; truncation bound 2).</item>
/// </list>
/// <para>
/// Every output group depends only on (seed, seed2, skip, group index), so groups can be computed in any order,
/// in parallel or on a GPU, and still give the same bits. The current implementation is a sequential loop.
/// </para>
/// <para>
/// Floating-point note: the float Box–Muller uses single-precision <c>logf</c>/<c>sqrtf</c>/<c>sinf</c>/<c>cosf</c>
/// as TensorFlow does (via <see cref="MathF"/>), except the angle 2π·u, which C++ computes in double because
/// <c>M_PI</c> is a double, then rounds to float. Transcendentals come from the platform's C math library
/// (glibc on Linux, as with TensorFlow's Linux builds); results can differ in the last bit on a platform whose
/// libm rounds differently.
/// </para>
/// <para>
/// Seeds: the <c>seed</c>/<c>seed2</c> arguments are the op's attributes (what Python's <c>get_seed</c>
/// returned, see <see cref="GetSeed"/>). When both are 0, TensorFlow draws random seeds once, when the kernel is
/// constructed; these methods then draw fresh random seeds on every call. To mimic TensorFlow exactly (one random
/// pair per op, advanced by <c>skip</c> across runs) call <see cref="ResolveSeeds"/> once per op and pass its
/// result to every run.
/// </para>
/// </remarks>
public static class TfRandomStreams
{
    /// <summary>
    /// The per-output reservation multiplier: TensorFlow reserves this many 128-bit Philox samples per output
    /// element on each run (<c>ReserveRandomOutputs(num_elements, 256)</c> / <c>kReservedSamplesPerOutput</c>).
    /// </summary>
    public const int ReservedSamplesPerOutput = 256;

    /// <summary>Truncation bound of <c>TruncatedNormalDistribution</c> (<c>kTruncateValue</c>): |x| &lt; 2.</summary>
    public const double TruncateValue = 2.0;

    /// <summary>Python <c>random_seed.DEFAULT_GRAPH_SEED</c>, used when only an op-level seed is given.</summary>
    public const long DefaultGraphSeed = 87654321;

    /// <summary>Python <c>random_seed._MAXINT32</c> = 2^31 - 1 (seeds are reduced modulo this).</summary>
    public const long MaxInt32 = int.MaxValue;

    private const int FloatGroupSize = 4;  // kResultElementCount for float distributions (PhiloxRandom::kResultElementCount)
    private const int DoubleGroupSize = 2; // kResultElementCount for double distributions (kResultElementCount / 2)

    // kGeneratorSkipPerOutputGroup = kGroupSize * kReservedSamplesPerOutput / PhiloxRandom::kResultElementCount
    private const ulong TruncatedFloatSkipPerGroup = FloatGroupSize * ReservedSamplesPerOutput / PhiloxRandom.ResultElementCount;   // 256
    private const ulong TruncatedDoubleSkipPerGroup = DoubleGroupSize * ReservedSamplesPerOutput / PhiloxRandom.ResultElementCount; // 128

    // ------------------------------------------------------------------------------------------------------------
    // Public entry points (signatures are relied upon by the kernels).
    // ------------------------------------------------------------------------------------------------------------

    /// <summary>
    /// Fills <paramref name="dst"/> as TF1's CPU <c>RandomStandardNormal</c> (float) does for an op whose
    /// generator was initialised with (<paramref name="seed"/>, <paramref name="seed2"/>) and which has already
    /// reserved <paramref name="skip"/> 128-bit samples in earlier runs (0 on the first run).
    /// </summary>
    /// <param name="dst">Output values, in row-major (flat) order.</param>
    /// <param name="seed">The op's <c>seed</c> attribute.</param>
    /// <param name="seed2">The op's <c>seed2</c> attribute. If both seeds are 0, random seeds are drawn.</param>
    /// <param name="skip">Total 128-bit samples reserved by earlier runs of this op (sum of <see cref="SamplesReservedPerRun"/>).</param>
    public static void StandardNormal(Span<float> dst, long seed, long seed2, ulong skip)
    {
        PhiloxRandom baseGen = CreateGenerator(seed, seed2, skip);
        Span<float> group = stackalloc float[FloatGroupSize];
        int groups = GroupCount(dst.Length, FloatGroupSize);
        for (int g = 0; g < groups; g++)
        {
            NormalFloatGroup(baseGen, g, group);
            CopyGroup(group, dst, g, FloatGroupSize);
        }
    }

    /// <summary>
    /// Fills <paramref name="dst"/> as TF1's CPU <c>RandomStandardNormal</c> (double) does; see
    /// <see cref="StandardNormal(Span{float}, long, long, ulong)"/>. Each pair of doubles uses one 128-bit sample
    /// (two 64-bit uniforms built from two 32-bit words each).
    /// </summary>
    /// <param name="dst">Output values, in row-major (flat) order.</param>
    /// <param name="seed">The op's <c>seed</c> attribute.</param>
    /// <param name="seed2">The op's <c>seed2</c> attribute. If both seeds are 0, random seeds are drawn.</param>
    /// <param name="skip">Total 128-bit samples reserved by earlier runs of this op.</param>
    public static void StandardNormal(Span<double> dst, long seed, long seed2, ulong skip)
    {
        PhiloxRandom baseGen = CreateGenerator(seed, seed2, skip);
        Span<double> group = stackalloc double[DoubleGroupSize];
        int groups = GroupCount(dst.Length, DoubleGroupSize);
        for (int g = 0; g < groups; g++)
        {
            NormalDoubleGroup(baseGen, g, group);
            CopyGroup(group, dst, g, DoubleGroupSize);
        }
    }

    /// <summary>
    /// Fills <paramref name="dst"/> with values in [0, 1) as TF1's CPU <c>RandomUniform</c> (float) does; see
    /// <see cref="StandardNormal(Span{float}, long, long, ulong)"/> for the seed and skip semantics.
    /// </summary>
    /// <param name="dst">Output values, in row-major (flat) order.</param>
    /// <param name="seed">The op's <c>seed</c> attribute.</param>
    /// <param name="seed2">The op's <c>seed2</c> attribute. If both seeds are 0, random seeds are drawn.</param>
    /// <param name="skip">Total 128-bit samples reserved by earlier runs of this op.</param>
    public static void Uniform(Span<float> dst, long seed, long seed2, ulong skip)
    {
        PhiloxRandom baseGen = CreateGenerator(seed, seed2, skip);
        Span<float> group = stackalloc float[FloatGroupSize];
        int groups = GroupCount(dst.Length, FloatGroupSize);
        for (int g = 0; g < groups; g++)
        {
            UniformFloatGroup(baseGen, g, group);
            CopyGroup(group, dst, g, FloatGroupSize);
        }
    }

    /// <summary>
    /// Fills <paramref name="dst"/> with values in [0, 1) as TF1's CPU <c>RandomUniform</c> (double) does: each
    /// 128-bit sample gives two doubles, <c>Uint64ToDouble(x0, x1)</c> and <c>Uint64ToDouble(x2, x3)</c>.
    /// </summary>
    /// <param name="dst">Output values, in row-major (flat) order.</param>
    /// <param name="seed">The op's <c>seed</c> attribute.</param>
    /// <param name="seed2">The op's <c>seed2</c> attribute. If both seeds are 0, random seeds are drawn.</param>
    /// <param name="skip">Total 128-bit samples reserved by earlier runs of this op.</param>
    public static void Uniform(Span<double> dst, long seed, long seed2, ulong skip)
    {
        PhiloxRandom baseGen = CreateGenerator(seed, seed2, skip);
        Span<double> group = stackalloc double[DoubleGroupSize];
        int groups = GroupCount(dst.Length, DoubleGroupSize);
        for (int g = 0; g < groups; g++)
        {
            UniformDoubleGroup(baseGen, g, group);
            CopyGroup(group, dst, g, DoubleGroupSize);
        }
    }

    /// <summary>
    /// Fills <paramref name="dst"/> as TF1's CPU <c>TruncatedNormal</c> (float) does: standard normal values
    /// with |x| &lt; 2, by rejection. Group g of 4 outputs reads 32-bit words from the generator skipped by
    /// g × 256 samples.
    /// </summary>
    /// <param name="dst">Output values, in row-major (flat) order.</param>
    /// <param name="seed">The op's <c>seed</c> attribute.</param>
    /// <param name="seed2">The op's <c>seed2</c> attribute. If both seeds are 0, random seeds are drawn.</param>
    /// <param name="skip">Total 128-bit samples reserved by earlier runs of this op.</param>
    public static void TruncatedNormal(Span<float> dst, long seed, long seed2, ulong skip)
    {
        PhiloxRandom baseGen = CreateGenerator(seed, seed2, skip);
        Span<float> group = stackalloc float[FloatGroupSize];
        int groups = GroupCount(dst.Length, FloatGroupSize);
        for (int g = 0; g < groups; g++)
        {
            TruncatedNormalFloatGroup(baseGen, g, group);
            CopyGroup(group, dst, g, FloatGroupSize);
        }
    }

    /// <summary>
    /// Fills <paramref name="dst"/> as TF1's CPU <c>TruncatedNormal</c> (double) does: group g of 2 outputs
    /// reads 32-bit words from the generator skipped by g × 128 samples, four words per Box–Muller pair.
    /// </summary>
    /// <param name="dst">Output values, in row-major (flat) order.</param>
    /// <param name="seed">The op's <c>seed</c> attribute.</param>
    /// <param name="seed2">The op's <c>seed2</c> attribute. If both seeds are 0, random seeds are drawn.</param>
    /// <param name="skip">Total 128-bit samples reserved by earlier runs of this op.</param>
    public static void TruncatedNormal(Span<double> dst, long seed, long seed2, ulong skip)
    {
        PhiloxRandom baseGen = CreateGenerator(seed, seed2, skip);
        Span<double> group = stackalloc double[DoubleGroupSize];
        int groups = GroupCount(dst.Length, DoubleGroupSize);
        for (int g = 0; g < groups; g++)
        {
            TruncatedNormalDoubleGroup(baseGen, g, group);
            CopyGroup(group, dst, g, DoubleGroupSize);
        }
    }

    /// <summary>
    /// How many 128-bit samples one run of a random op producing <paramref name="elementCount"/> values reserves
    /// (<c>GuardedPhiloxRandom::ReserveRandomOutputs(num_elements, 256)</c> in TF1's <c>random_op.cc</c>): the
    /// amount by which <c>skip</c> grows per run, so that run k (0-based) of an op uses
    /// skip = k × <c>SamplesReservedPerRun(n)</c> when every run has the same n.
    /// </summary>
    /// <param name="elementCount">Number of output elements of the run (0 reserves nothing).</param>
    /// <returns><paramref name="elementCount"/> × 256.</returns>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="elementCount"/> is negative.</exception>
    /// <exception cref="OverflowException">When the product does not fit in 64 bits (more than 2^56 elements).</exception>
    public static ulong SamplesReservedPerRun(long elementCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(elementCount);
        return checked((ulong)elementCount * ReservedSamplesPerOutput);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Seed helpers.
    // ------------------------------------------------------------------------------------------------------------

    /// <summary>
    /// Returns the seeds a TF1 kernel actually uses for attributes (<paramref name="seed"/>,
    /// <paramref name="seed2"/>): unchanged, unless both are 0, in which case two random 64-bit values
    /// (<c>GuardedPhiloxRandom::Init</c> uses <c>random::New64()</c> twice). Call once per op instance and keep
    /// the result to reproduce TF's behaviour of a random but persistent per-op stream.
    /// </summary>
    /// <param name="seed">The op's <c>seed</c> attribute.</param>
    /// <param name="seed2">The op's <c>seed2</c> attribute.</param>
    /// <returns>The effective (seed, seed2).</returns>
    public static (long Seed, long Seed2) ResolveSeeds(long seed, long seed2)
    {
        if (seed != 0 || seed2 != 0)
        {
            return (seed, seed2);
        }

        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes);
        return (BinaryPrimitives.ReadInt64LittleEndian(bytes), BinaryPrimitives.ReadInt64LittleEndian(bytes[8..]));
    }

    /// <summary>
    /// TF1's Python <c>random_seed.get_seed(op_seed)</c> (graph mode): the (seed, seed2) attributes a random op
    /// gets from the graph-level seed and the op-level seed. <c>None</c> results are returned as 0 (the attribute
    /// default), so (0, 0) means "nondeterministic".
    /// </summary>
    /// <param name="graphSeed">The graph-level seed (<c>tf.set_random_seed</c>), or null if unset.</param>
    /// <param name="opSeed">The op-level <c>seed</c> argument, or null if not given.</param>
    /// <param name="graphLastId">
    /// The graph's <c>_last_id</c> at the time the op's seed is requested (the id of the most recently created
    /// operation); used as the op seed when a graph seed is set but no op seed is given.
    /// </param>
    /// <returns>The (seed, seed2) attribute values.</returns>
    public static (long Seed, long Seed2) GetSeed(long? graphSeed, long? opSeed, long graphLastId)
    {
        long seed, seed2;
        if (graphSeed is long gs)
        {
            seed = TruncateSeed(gs);
            seed2 = TruncateSeed(opSeed ?? graphLastId);
        }
        else if (opSeed is long os)
        {
            seed = DefaultGraphSeed;
            seed2 = TruncateSeed(os);
        }
        else
        {
            return (0, 0);
        }

        // "Avoid (0, 0) as the C++ ops interpret it as nondeterminism".
        return seed == 0 && seed2 == 0 ? (0, MaxInt32) : (seed, seed2);
    }

    // Python's `seed % _MAXINT32` (result has the sign of the divisor, i.e. is non-negative).
    private static long TruncateSeed(long seed)
    {
        long r = seed % MaxInt32;
        return r < 0 ? r + MaxInt32 : r;
    }

    // ------------------------------------------------------------------------------------------------------------
    // TensorFlow's scalar conversions (random_distributions.h).
    // ------------------------------------------------------------------------------------------------------------

    /// <summary>
    /// TensorFlow's <c>Uint32ToFloat</c>: the low 23 bits of <paramref name="x"/> become the mantissa of a float
    /// in [1, 2), from which 1 is subtracted, giving a value in [0, 1).
    /// </summary>
    /// <param name="x">Random bits.</param>
    /// <returns>A float in [0, 1).</returns>
    public static float Uint32ToFloat(uint x)
    {
        uint val = (127u << 23) | (x & 0x7fffffu);
        return BitConverter.UInt32BitsToSingle(val) - 1.0f;
    }

    /// <summary>
    /// TensorFlow's <c>Uint64ToDouble(x0, x1)</c>: the low 20 bits of <paramref name="x0"/> are the upper mantissa
    /// bits and all 32 bits of <paramref name="x1"/> the lower ones, of a double in [1, 2), from which 1 is
    /// subtracted, giving a value in [0, 1).
    /// </summary>
    /// <param name="x0">Random bits for the upper 20 mantissa bits.</param>
    /// <param name="x1">Random bits for the lower 32 mantissa bits.</param>
    /// <returns>A double in [0, 1).</returns>
    public static double Uint64ToDouble(uint x0, uint x1)
    {
        ulong man = ((ulong)(x0 & 0xfffffu) << 32) | x1;
        ulong val = (1023UL << 52) | man;
        return BitConverter.UInt64BitsToDouble(val) - 1.0;
    }

    /// <summary>
    /// TensorFlow's <c>BoxMullerFloat(x0, x1, &amp;f0, &amp;f1)</c>: u1 = max(Uint32ToFloat(x0), 1e-7f),
    /// v = (float)(2π · Uint32ToFloat(x1)) (computed in double, as <c>2.0f * M_PI * float</c> is in C++),
    /// r = sqrtf(-2 · logf(u1)), f0 = sinf(v) · r, f1 = cosf(v) · r.
    /// </summary>
    /// <param name="x0">Bits for the radius.</param>
    /// <param name="x1">Bits for the angle.</param>
    /// <param name="f0">The sine output.</param>
    /// <param name="f1">The cosine output.</param>
    public static void BoxMullerFloat(uint x0, uint x1, out float f0, out float f1)
    {
        const float epsilon = 1.0e-7f;
        float u1 = Uint32ToFloat(x0);
        if (u1 < epsilon)
        {
            u1 = epsilon;
        }

        // C++: `const float v1 = 2.0f * M_PI * Uint32ToFloat(x1);` - M_PI is a double, so the product is a
        // double (2.0f * M_PI is exactly 2π in double) that is then rounded to float.
        float v1 = (float)(2.0 * Math.PI * (double)Uint32ToFloat(x1));
        float u2 = MathF.Sqrt(-2.0f * MathF.Log(u1));
        (float s, float c) = MathF.SinCos(v1);
        f0 = s * u2;
        f1 = c * u2;
    }

    /// <summary>
    /// TensorFlow's <c>BoxMullerDouble(x0, x1, x2, x3, &amp;d0, &amp;d1)</c>: u1 = max(Uint64ToDouble(x0, x1), 1e-7),
    /// v = 2π · Uint64ToDouble(x2, x3), r = sqrt(-2 · log(u1)), d0 = sin(v) · r, d1 = cos(v) · r.
    /// </summary>
    /// <param name="x0">Upper bits for the radius uniform.</param>
    /// <param name="x1">Lower bits for the radius uniform.</param>
    /// <param name="x2">Upper bits for the angle uniform.</param>
    /// <param name="x3">Lower bits for the angle uniform.</param>
    /// <param name="d0">The sine output.</param>
    /// <param name="d1">The cosine output.</param>
    public static void BoxMullerDouble(uint x0, uint x1, uint x2, uint x3, out double d0, out double d1)
    {
        const double epsilon = 1.0e-7;
        double u1 = Uint64ToDouble(x0, x1);
        if (u1 < epsilon)
        {
            u1 = epsilon;
        }

        double v1 = 2 * Math.PI * Uint64ToDouble(x2, x3);
        double u2 = Math.Sqrt(-2.0 * Math.Log(u1));
        (double s, double c) = Math.SinCos(v1);
        d0 = s * u2;
        d1 = c * u2;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Per-group kernels: each depends only on (baseGen, group index) - the unit to parallelise or port to a GPU.
    // ------------------------------------------------------------------------------------------------------------

    private static void UniformFloatGroup(PhiloxRandom gen, long group, Span<float> out4)
    {
        gen.Skip((ulong)group);
        PhiloxBlock s = gen.Next();
        out4[0] = Uint32ToFloat(s.X0);
        out4[1] = Uint32ToFloat(s.X1);
        out4[2] = Uint32ToFloat(s.X2);
        out4[3] = Uint32ToFloat(s.X3);
    }

    private static void UniformDoubleGroup(PhiloxRandom gen, long group, Span<double> out2)
    {
        gen.Skip((ulong)group);
        PhiloxBlock s = gen.Next();
        out2[0] = Uint64ToDouble(s.X0, s.X1);
        out2[1] = Uint64ToDouble(s.X2, s.X3);
    }

    private static void NormalFloatGroup(PhiloxRandom gen, long group, Span<float> out4)
    {
        gen.Skip((ulong)group);
        PhiloxBlock s = gen.Next();
        BoxMullerFloat(s.X0, s.X1, out out4[0], out out4[1]);
        BoxMullerFloat(s.X2, s.X3, out out4[2], out out4[3]);
    }

    private static void NormalDoubleGroup(PhiloxRandom gen, long group, Span<double> out2)
    {
        gen.Skip((ulong)group);
        PhiloxBlock s = gen.Next();
        BoxMullerDouble(s.X0, s.X1, s.X2, s.X3, out out2[0], out out2[1]);
    }

    private static void TruncatedNormalFloatGroup(PhiloxRandom gen, long group, Span<float> out4)
    {
        gen.Skip((ulong)group * TruncatedFloatSkipPerGroup);
        var single = new SingleSampleAdapter(gen);
        const float truncate = (float)TruncateValue;
        int index = 0;
        while (true)
        {
            uint x0 = single.Next();
            uint x1 = single.Next();
            BoxMullerFloat(x0, x1, out float f0, out float f1);
            if (MathF.Abs(f0) < truncate)
            {
                out4[index++] = f0;
                if (index >= FloatGroupSize)
                {
                    return;
                }
            }

            if (MathF.Abs(f1) < truncate)
            {
                out4[index++] = f1;
                if (index >= FloatGroupSize)
                {
                    return;
                }
            }
        }
    }

    private static void TruncatedNormalDoubleGroup(PhiloxRandom gen, long group, Span<double> out2)
    {
        gen.Skip((ulong)group * TruncatedDoubleSkipPerGroup);
        var single = new SingleSampleAdapter(gen);
        int index = 0;
        while (true)
        {
            uint x0 = single.Next();
            uint x1 = single.Next();
            uint x2 = single.Next();
            uint x3 = single.Next();
            BoxMullerDouble(x0, x1, x2, x3, out double d0, out double d1);
            if (Math.Abs(d0) < TruncateValue)
            {
                out2[index++] = d0;
                if (index >= DoubleGroupSize)
                {
                    return;
                }
            }

            if (Math.Abs(d1) < TruncateValue)
            {
                out2[index++] = d1;
                if (index >= DoubleGroupSize)
                {
                    return;
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Plumbing.
    // ------------------------------------------------------------------------------------------------------------

    private static PhiloxRandom CreateGenerator(long seed, long seed2, ulong skip)
    {
        (long s1, long s2) = ResolveSeeds(seed, seed2);
        var gen = new PhiloxRandom(unchecked((ulong)s1), unchecked((ulong)s2));
        gen.Skip(skip);
        return gen;
    }

    private static int GroupCount(int size, int groupSize) => (int)(((long)size + groupSize - 1) / groupSize);

    // Copies a computed group into dst, truncating a partial last group.
    private static void CopyGroup<T>(ReadOnlySpan<T> group, Span<T> dst, int groupIndex, int groupSize)
    {
        int offset = groupIndex * groupSize;
        int count = Math.Min(groupSize, dst.Length - offset);
        group[..count].CopyTo(dst.Slice(offset, count));
    }

    /// <summary>TensorFlow's <c>SingleSampleAdapter&lt;PhiloxRandom&gt;</c>: hands out one 32-bit word at a time.</summary>
    private struct SingleSampleAdapter
    {
        private PhiloxRandom _gen;
        private PhiloxBlock _block;
        private int _used;

        public SingleSampleAdapter(PhiloxRandom gen)
        {
            _gen = gen;
            _block = default;
            _used = PhiloxRandom.ResultElementCount;
        }

        public uint Next()
        {
            if (_used == PhiloxRandom.ResultElementCount)
            {
                _block = _gen.Next();
                _used = 0;
            }

            return _block[_used++];
        }
    }
}
