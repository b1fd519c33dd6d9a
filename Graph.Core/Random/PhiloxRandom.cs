using System.Runtime.CompilerServices;

namespace Graph.Core;

/// <summary>
/// One 128-bit output block of <see cref="PhiloxRandom"/>: four 32-bit words, in the order TensorFlow's
/// <c>PhiloxRandom::ResultType</c> (<c>Array&lt;uint32, 4&gt;</c>) holds them.
/// </summary>
/// <param name="X0">Word 0.</param>
/// <param name="X1">Word 1.</param>
/// <param name="X2">Word 2.</param>
/// <param name="X3">Word 3.</param>
public readonly record struct PhiloxBlock(uint X0, uint X1, uint X2, uint X3)
{
    /// <summary>Word <paramref name="index"/> (0..3) of the block.</summary>
    /// <param name="index">Index 0, 1, 2 or 3.</param>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="index"/> is not in 0..3.</exception>
    public uint this[int index] => index switch
    {
        0 => X0,
        1 => X1,
        2 => X2,
        3 => X3,
        _ => throw new ArgumentOutOfRangeException(nameof(index), index, "A Philox block has four words (0..3)."),
    };

    /// <summary>Copies the four words into <paramref name="destination"/> (which must hold at least four).</summary>
    /// <param name="destination">Where the words go, in order X0, X1, X2, X3.</param>
    public void CopyTo(Span<uint> destination)
    {
        if (destination.Length < 4)
        {
            throw new ArgumentException("Destination must hold at least four values.", nameof(destination));
        }

        destination[0] = X0;
        destination[1] = X1;
        destination[2] = X2;
        destination[3] = X3;
    }
}

/// <summary>
/// The Philox4x32-10 counter-based random number generator, bit-for-bit as TensorFlow 1.x implements it in
/// <c>tensorflow/core/lib/random/philox_random.h</c> (Salmon et al., SC 2011, "Parallel random numbers: as easy
/// as 1, 2, 3").
/// </summary>
/// <remarks>
/// <para>
/// State is a 128-bit counter (four 32-bit words, word 0 least significant) and a 64-bit key (two words).
/// Each call to <see cref="Next()"/> runs ten Philox rounds over the current counter (raising the key by the
/// Weyl constants between rounds), returns the four resulting words, and then increments the counter by one.
/// Because the output is a pure function of (counter, key) — see <see cref="Compute"/> — any block of the
/// stream can be produced independently, which is what makes it suitable for parallel or GPU generation.
/// </para>
/// <para>This is a mutable value type (as TensorFlow's class is trivially copyable): copying it forks the stream.</para>
/// </remarks>
public struct PhiloxRandom
{
    /// <summary>First Weyl key increment (<c>kPhiloxW32A</c>, golden ratio).</summary>
    public const uint W32A = 0x9E3779B9;

    /// <summary>Second Weyl key increment (<c>kPhiloxW32B</c>, sqrt(3) - 1).</summary>
    public const uint W32B = 0xBB67AE85;

    /// <summary>First round multiplier (<c>kPhiloxM4x32A</c>).</summary>
    public const uint M4x32A = 0xD2511F53;

    /// <summary>Second round multiplier (<c>kPhiloxM4x32B</c>).</summary>
    public const uint M4x32B = 0xCD9E8D57;

    /// <summary>Number of 32-bit words produced per call of <see cref="Next()"/> (<c>kResultElementCount</c>).</summary>
    public const int ResultElementCount = 4;

    private uint _c0, _c1, _c2, _c3;
    private uint _k0, _k1;

    /// <summary>
    /// Seeds the generator as TensorFlow's <c>PhiloxRandom(uint64 seed_lo, uint64 seed_hi)</c> does (and as
    /// <c>GuardedPhiloxRandom::Init(seed, seed2)</c> uses it): key = [low 32 bits of <paramref name="seed"/>,
    /// high 32 bits of <paramref name="seed"/>], counter = [0, 0, low 32 bits of <paramref name="seed2"/>,
    /// high 32 bits of <paramref name="seed2"/>].
    /// </summary>
    /// <param name="seed">Becomes the 64-bit key (TensorFlow's op attribute <c>seed</c>, reinterpreted as unsigned).</param>
    /// <param name="seed2">Becomes the upper 64 bits of the counter (TensorFlow's op attribute <c>seed2</c>).</param>
    public PhiloxRandom(ulong seed, ulong seed2)
    {
        _k0 = (uint)seed;
        _k1 = (uint)(seed >> 32);
        _c0 = 0;
        _c1 = 0;
        _c2 = (uint)seed2;
        _c3 = (uint)(seed2 >> 32);
    }

    /// <summary>
    /// Creates a generator from an explicit counter and key (TensorFlow's <c>PhiloxRandom(ResultType counter,
    /// Key key)</c>); used for Random123 known-answer tests.
    /// </summary>
    /// <param name="counter0">Counter word 0 (least significant).</param>
    /// <param name="counter1">Counter word 1.</param>
    /// <param name="counter2">Counter word 2.</param>
    /// <param name="counter3">Counter word 3 (most significant).</param>
    /// <param name="key0">Key word 0.</param>
    /// <param name="key1">Key word 1.</param>
    public PhiloxRandom(uint counter0, uint counter1, uint counter2, uint counter3, uint key0, uint key1)
    {
        _c0 = counter0;
        _c1 = counter1;
        _c2 = counter2;
        _c3 = counter3;
        _k0 = key0;
        _k1 = key1;
    }

    /// <summary>The current 128-bit counter as four words (word 0 least significant).</summary>
    public readonly PhiloxBlock Counter => new(_c0, _c1, _c2, _c3);

    /// <summary>Key word 0.</summary>
    public readonly uint Key0 => _k0;

    /// <summary>Key word 1.</summary>
    public readonly uint Key1 => _k1;

    /// <summary>
    /// Skips <paramref name="count"/> 128-bit samples, i.e. adds <paramref name="count"/> to the counter,
    /// with exactly TensorFlow's carry handling (<c>PhiloxRandom::Skip</c>).
    /// </summary>
    /// <param name="count">Number of 128-bit samples (calls of <see cref="Next()"/>) to skip.</param>
    public void Skip(ulong count)
    {
        uint countLo = (uint)count;
        uint countHi = (uint)(count >> 32);

        _c0 += countLo;
        if (_c0 < countLo)
        {
            ++countHi;
        }

        _c1 += countHi;
        if (_c1 < countHi)
        {
            if (++_c2 == 0)
            {
                ++_c3;
            }
        }
    }

    /// <summary>Returns the next four 32-bit outputs and advances the counter by one.</summary>
    /// <returns>The block computed from the counter value before the increment.</returns>
    public PhiloxBlock Next()
    {
        PhiloxBlock result = Compute(_c0, _c1, _c2, _c3, _k0, _k1);
        SkipOne();
        return result;
    }

    /// <summary>Writes the next four 32-bit outputs into <paramref name="four"/> and advances the counter by one.</summary>
    /// <param name="four">Destination of at least four elements.</param>
    public void Next(Span<uint> four)
    {
        if (four.Length < 4)
        {
            throw new ArgumentException("Destination must hold at least four values.", nameof(four));
        }

        Next().CopyTo(four);
    }

    /// <summary>
    /// The stateless Philox4x32-10 bijection: ten rounds over the given counter with the given key. This is what
    /// <see cref="Next()"/> returns before it increments the counter.
    /// </summary>
    /// <param name="c0">Counter word 0.</param>
    /// <param name="c1">Counter word 1.</param>
    /// <param name="c2">Counter word 2.</param>
    /// <param name="c3">Counter word 3.</param>
    /// <param name="k0">Key word 0.</param>
    /// <param name="k1">Key word 1.</param>
    /// <returns>The four output words.</returns>
    public static PhiloxBlock Compute(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1)
    {
        // Ten rounds with nine key raises in between, as in philox_random.h's unrolled operator().
        Round(ref c0, ref c1, ref c2, ref c3, k0, k1);
        for (int i = 1; i < 10; i++)
        {
            k0 += W32A;
            k1 += W32B;
            Round(ref c0, ref c1, ref c2, ref c3, k0, k1);
        }

        return new PhiloxBlock(c0, c1, c2, c3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Round(ref uint c0, ref uint c1, ref uint c2, ref uint c3, uint k0, uint k1)
    {
        ulong p0 = (ulong)M4x32A * c0;
        ulong p1 = (ulong)M4x32B * c2;
        uint lo0 = (uint)p0, hi0 = (uint)(p0 >> 32);
        uint lo1 = (uint)p1, hi1 = (uint)(p1 >> 32);

        uint r0 = hi1 ^ c1 ^ k0;
        uint r2 = hi0 ^ c3 ^ k1;
        c0 = r0;
        c1 = lo1;
        c2 = r2;
        c3 = lo0;
    }

    private void SkipOne()
    {
        if (++_c0 == 0)
        {
            if (++_c1 == 0)
            {
                if (++_c2 == 0)
                {
                    ++_c3;
                }
            }
        }
    }
}
