using System.Numerics;
using FluentAssertions;
using Graph.Core;
using NUnit.Framework;

namespace Graph.Tests.Core;

/// <summary>
/// <see cref="DTypeConversion.Convert"/> (behind <see cref="HostTensor.AsType"/>) for every pair of element types,
/// against the framework's generic <c>CreateTruncating</c> (C cast semantics: floats truncate toward zero and
/// saturate, NaN gives 0, integers wrap, anything nonzero is true), on values at the edges of each type.
/// </summary>
public class DTypeConversionTests
{
    private static readonly float[] Floats =
        [0f, -0f, 0.5f, -0.5f, 1.99f, -1.99f, 16777217f, 3e9f, -3e9f, 1e30f, -1e30f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon];

    private static readonly double[] Doubles =
        [0.0, -0.0, 1.0 / 3, -2.5, 2147483647.9, -2147483648.9, 3e9, 1e19, -1e19, 1e300, double.NaN, double.PositiveInfinity, double.NegativeInfinity, double.Epsilon];

    private static readonly int[] Ints = [0, 1, -1, 16777217, int.MaxValue, int.MinValue];

    private static readonly long[] Longs = [0, 1, -1, 5_000_000_000L, -5_000_000_000L, long.MaxValue, long.MinValue, (1L << 53) + 1];

    private static readonly bool[] Bools = [false, true, true, false];

    public static IEnumerable<TestCaseData> Pairs()
    {
        Array[] sources = [Floats, Doubles, Ints, Longs, Bools];
        DType[] targets = [DType.Float32, DType.Float64, DType.Int32, DType.Int64, DType.Bool];
        foreach (var source in sources)
            foreach (var target in targets)
                yield return new TestCaseData(source, target).SetName($"Convert_{source.GetType().GetElementType()!.Name}_To_{target.Name()}");
    }

    [TestCaseSource(nameof(Pairs))]
    public void Convert_MatchesCreateTruncating(Array source, DType target)
    {
        var converted = new HostTensor(source, source.Length).AsType(target).Data;
        var expected = source switch
        {
            float[] s => Reference(s, target),
            double[] s => Reference(s, target),
            int[] s => Reference(s, target),
            long[] s => Reference(s, target),
            bool[] s => Reference(s.Select(b => b ? 1 : 0).ToArray(), target),
            _ => throw new ArgumentException(source.GetType().Name),
        };
        converted.Should().BeEquivalentTo(expected, o => o.WithStrictOrdering());
    }

    [Test]
    public void Convert_RejectsArraysOfDifferentLengths()
    {
        var act = () => DTypeConversion.Convert(new float[2], new int[3]);
        act.Should().Throw<ArgumentException>().WithMessage("*different lengths*");
    }

    private static Array Reference<T>(T[] s, DType target) where T : INumber<T> => target switch
    {
        DType.Float32 => s.Select(float.CreateTruncating).ToArray(),
        DType.Float64 => s.Select(double.CreateTruncating).ToArray(),
        DType.Int32 => s.Select(int.CreateTruncating).ToArray(),
        DType.Int64 => s.Select(long.CreateTruncating).ToArray(),
        _ => s.Select(v => v != T.Zero).ToArray(),
    };
}
