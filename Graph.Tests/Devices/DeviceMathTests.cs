using Graph.Kernels.Ilgpu;

namespace Graph.Tests;

/// <summary>
/// The float functions generated kernels call are written out rather than taken from the backend (CUDA's approximate
/// exp/log/tanh are too coarse); these are their own algorithms, so checking them on the host against float64 checks
/// what every device computes.
/// </summary>
[TestFixture]
public class DeviceMathTests
{
    private static IEnumerable<float> Samples()
    {
        var rng = new Random(7);
        for (var i = 0; i < 20000; i++) yield return (float)((rng.NextDouble() * 2 - 1) * Math.Pow(10, rng.Next(-8, 3)));
        foreach (var v in new[] { 0f, -0f, 1f, -1f, 0.625f, -0.625f, 0.6249f, 88f, -87f, 1e-30f, 1e-40f }) yield return v;
    }

    private static void WithinUlps(Func<float, float> f, Func<double, double> reference, IEnumerable<float> xs, double ulps)
    {
        foreach (var x in xs)
        {
            var expected = reference(x);
            if (double.IsNaN(expected) || double.IsInfinity(expected) || Math.Abs(expected) > float.MaxValue) continue;
            var actual = f(x);
            var ulp = Math.Max(Math.Abs(expected) * Math.Pow(2, -23), float.Epsilon);
            Math.Abs(actual - expected).Should().BeLessThanOrEqualTo(ulps * ulp, $"at x = {x:R}: {actual:R} vs {expected:R}");
        }
    }

    [Test]
    public void ExpIsWithinTwoUlps() => WithinUlps(DeviceMath.Exp, Math.Exp, Samples().Where(x => x > -87f && x < 88f), 2);

    /// <summary>Results below the smallest normal float stay subnormal (within half a subnormal step), as MathF.Exp's.</summary>
    [Test]
    public void ExpGivesSubnormalResults()
    {
        for (var x = -87.4f; x > -104f; x -= 0.37f)
            Math.Abs(DeviceMath.Exp(x) - Math.Exp(x)).Should().BeLessThanOrEqualTo(2 * (double)float.Epsilon + Math.Exp(x) * 1e-6, $"at x = {x}");
        DeviceMath.Log(DeviceMath.Exp(-89f)).Should().BeApproximately(-89f, 0.05f);
    }

    [Test]
    public void DoubleTanhIsWithinTwoUlps()
    {
        var rng = new Random(3);
        for (var i = 0; i < 20000; i++)
        {
            var x = (rng.NextDouble() * 2 - 1) * Math.Pow(10, rng.Next(-9, 2));
            var expected = Math.Tanh(x);
            Math.Abs(DeviceMath.Tanh(x) - expected).Should().BeLessThanOrEqualTo(2 * Math.Abs(expected) * Math.Pow(2, -52) + double.Epsilon, $"at x = {x:R}");
        }
        double.IsNegative(DeviceMath.Tanh(-0.0)).Should().BeTrue();
    }

    [Test]
    public void LogIsWithinTwoUlpsIncludingNearOne() =>
        WithinUlps(DeviceMath.Log, Math.Log, Samples().Select(Math.Abs).Where(x => x > 0).Concat(Enumerable.Range(1, 2000).Select(i => 1f + i * 1e-6f)), 2);

    [Test]
    public void TanhIsWithinTwoUlps() => WithinUlps(DeviceMath.Tanh, Math.Tanh, Samples(), 2);

    [Test]
    public void SoftplusIsAccurateForLargeNegativeInputs() =>
        WithinUlps(DeviceMath.Softplus, x => Math.Max(x, 0) + Log1P(Math.Exp(-Math.Abs(x))), Samples().Where(x => x > -80f), 4);

    /// <summary>ln(1 + v) in float64 without losing a tiny v to 1 + v (a series below 1e-4).</summary>
    private static double Log1P(double v) => v < 1e-4 ? v - v * v / 2 + v * v * v / 3 : Math.Log(1 + v);

    [Test]
    public void SpecialValues()
    {
        DeviceMath.Exp(float.NaN).Should().Be(float.NaN);
        DeviceMath.Exp(100f).Should().Be(float.PositiveInfinity);
        DeviceMath.Exp(-110f).Should().Be(0f);
        DeviceMath.Log(0f).Should().Be(float.NegativeInfinity);
        float.IsNaN(DeviceMath.Log(-1f)).Should().BeTrue();
        DeviceMath.Tanh(1000f).Should().Be(1f);
        DeviceMath.Tanh(-1000f).Should().Be(-1f);
        DeviceMath.Tanh(400.0).Should().Be(1.0);
        DeviceMath.Tanh(-500.0).Should().Be(-1.0);
        DeviceMath.Tanh(1e-9).Should().BeApproximately(1e-9, 1e-24);
    }

    // ───────── float64: written out too (XMath's double exp/log/pow are ILGPU's own approximations on PTX) ─────────

    private static IEnumerable<double> DoubleSamples(int seed, double minExp, double maxExp)
    {
        var rng = new Random(seed);
        for (var i = 0; i < 20000; i++) yield return (rng.NextDouble() * 2 - 1) * Math.Pow(10, minExp + rng.NextDouble() * (maxExp - minExp));
    }

    private static void WithinDoubleUlps(Func<double, double> f, Func<double, double> reference, IEnumerable<double> xs, double ulps)
    {
        foreach (var x in xs)
        {
            var expected = reference(x);
            if (double.IsNaN(expected) || double.IsInfinity(expected)) continue;
            var ulp = Math.Max(Math.Abs(expected) * Math.Pow(2, -52), double.Epsilon);
            Math.Abs(f(x) - expected).Should().BeLessThanOrEqualTo(ulps * ulp, $"at x = {x:R}: {f(x):R} vs {expected:R}");
        }
    }

    [Test]
    public void DoubleExpIsWithinTwoUlps()
    {
        WithinDoubleUlps(DeviceMath.Exp, Math.Exp, DoubleSamples(11, -12, 2.85).Append(0.0).Append(-0.0).Append(709.7).Append(-708.3), 2);
        DeviceMath.Exp(0.0).Should().Be(1.0);
        DeviceMath.Exp(710.0).Should().Be(double.PositiveInfinity);
        DeviceMath.Exp(-746.0).Should().Be(0.0);
        // Subnormal results, within half a subnormal step.
        for (var x = -708.5; x > -745; x -= 0.731)
            Math.Abs(DeviceMath.Exp(x) - Math.Exp(x)).Should().BeLessThanOrEqualTo(Math.Exp(x) * 1e-15 + double.Epsilon, $"at x = {x}");
    }

    [Test]
    public void DoubleLogIsWithinTwoUlpsIncludingNearOneAndSubnormals()
    {
        var xs = DoubleSamples(12, -300, 300).Select(Math.Abs)
            .Concat(Enumerable.Range(1, 4000).Select(i => 1.0 + (i - 2000) * 1e-12))
            .Concat([1e-310, 4.9e-324, double.MaxValue, 0.9999999505838704e-7]);
        WithinDoubleUlps(DeviceMath.Log, Math.Log, xs, 2);
        DeviceMath.Log(1.0).Should().Be(0.0);
        DeviceMath.Log(0.0).Should().Be(double.NegativeInfinity);
        double.IsNaN(DeviceMath.Log(-1.0)).Should().BeTrue();
    }

    [Test]
    public void DoublePowIsWithinFourUlpsEvenForLargeExponents()
    {
        var rng = new Random(13);
        for (var i = 0; i < 20000; i++)
        {
            var a = rng.NextDouble() * Math.Pow(10, rng.Next(-5, 6));
            var b = (rng.NextDouble() * 2 - 1) * Math.Pow(10, rng.Next(-3, 3));
            var expected = Math.Pow(a, b);
            if (double.IsInfinity(expected) || expected == 0 || expected < 1e-300) continue;
            Math.Abs(DeviceMath.Pow(a, b) - expected).Should().BeLessThanOrEqualTo(4 * expected * Math.Pow(2, -52), $"at {a:R} ^ {b:R}");
        }
    }

    /// <summary>IEEE 754's special cases, exactly as .NET's Math.Pow (signed zeros and infinities, NaN, integer exponents of negative bases).</summary>
    [Test]
    public void DoublePowSpecialCasesMatchMathPow()
    {
        double[] values = [0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, -3.0, 2.5, -2.5, double.PositiveInfinity, double.NegativeInfinity, double.NaN, 1e308, -1e-308];
        foreach (var a in values)
            foreach (var b in values)
            {
                var expected = Math.Pow(a, b);
                var actual = DeviceMath.Pow(a, b);
                if (double.IsNaN(expected)) double.IsNaN(actual).Should().BeTrue($"{a} ^ {b}");
                else
                {
                    actual.Should().BeApproximately(expected, Math.Abs(expected) * 4e-16, $"{a} ^ {b}");
                    double.IsNegative(actual).Should().Be(double.IsNegative(expected), $"sign of {a} ^ {b}");
                }
            }
        DeviceMath.Pow(2f, 10f).Should().Be(1024f);
    }
}
