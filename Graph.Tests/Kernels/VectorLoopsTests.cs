using System.Numerics.Tensors;
using Graph.Kernels.Cpu;

namespace Graph.Tests;

/// <summary>
/// The element-wise vector loops: bit-identical to TensorPrimitives (which they replace) at every length around the
/// vector widths, with special values, and in place.
/// </summary>
[TestFixture]
public class VectorLoopsTests
{
    private static readonly int[] Lengths = [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100];

    private static float[] Floats(int n, int seed)
    {
        var random = new Random(seed);
        var values = new float[n];
        float[] special = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0f, 0f, float.Epsilon, -1f, 3e38f];
        for (var i = 0; i < n; i++) values[i] = i % 11 == 5 ? special[i / 11 % special.Length] : (float)(random.NextDouble() * 20 - 10);
        return values;
    }

    [Test]
    public void FloatOperationsEqualTensorPrimitivesBitForBit()
    {
        foreach (var n in Lengths)
        {
            var a = Floats(n, n);
            var b = Floats(n, n + 1000);
            void Binary<TOp>(Action<float[], float[], float[]> reference) where TOp : VectorLoops.IBinary<float>
            {
                var expected = new float[n];
                reference(a, b, expected);
                var actual = new float[n];
                VectorLoops.Zip<float, TOp>(a, b, actual);
                actual.Select(BitConverter.SingleToInt32Bits).Should().Equal(expected.Select(BitConverter.SingleToInt32Bits), $"{typeof(TOp).Name} at length {n}");
            }
            void Unary<TOp>(Action<float[], float[]> reference) where TOp : VectorLoops.IUnary<float>
            {
                var expected = new float[n];
                reference(a, expected);
                var actual = new float[n];
                VectorLoops.Map<float, TOp>(a, actual);
                actual.Select(BitConverter.SingleToInt32Bits).Should().Equal(expected.Select(BitConverter.SingleToInt32Bits), $"{typeof(TOp).Name} at length {n}");
            }
            Binary<VectorLoops.Add<float>>((x, y, z) => TensorPrimitives.Add(x, y, z));
            Binary<VectorLoops.Subtract<float>>((x, y, z) => TensorPrimitives.Subtract(x, y, z));
            Binary<VectorLoops.Multiply<float>>((x, y, z) => TensorPrimitives.Multiply(x, y, z));
            Binary<VectorLoops.Divide<float>>((x, y, z) => TensorPrimitives.Divide(x, y, z));
            Unary<VectorLoops.Negate<float>>((x, z) => TensorPrimitives.Negate(x, z));
            Unary<VectorLoops.Square<float>>((x, z) => TensorPrimitives.Multiply(x, x, z));
            Unary<VectorLoops.SquareRoot<float>>((x, z) => TensorPrimitives.Sqrt(x, z));
        }
    }

    [Test]
    public void DoubleAndIntOperationsEqualScalarArithmetic()
    {
        foreach (var n in Lengths)
        {
            var a = Floats(n, n).Select(v => (double)v * 1.0000001).ToArray();
            var b = Floats(n, n + 7).Select(v => (double)v).ToArray();
            var quotient = new double[n];
            VectorLoops.Zip<double, VectorLoops.Divide<double>>(a, b, quotient);
            quotient.Select(BitConverter.DoubleToInt64Bits).Should().Equal(a.Zip(b, (x, y) => BitConverter.DoubleToInt64Bits(x / y)));

            var i1 = Enumerable.Range(0, n).Select(i => i * 7919 - 50_000).ToArray();
            var i2 = Enumerable.Range(0, n).Select(i => int.MaxValue - i).ToArray();
            var product = new int[n];
            VectorLoops.Zip<int, VectorLoops.Multiply<int>>(i1, i2, product);
            product.Should().Equal(i1.Zip(i2, (x, y) => unchecked(x * y)), "integer products wrap as C# does");
            var negated = new int[n];
            VectorLoops.Map<int, VectorLoops.Negate<int>>(i1, negated);
            negated.Should().Equal(i1.Select(x => -x));
        }
    }

    [Test]
    public void TheOutputMayBeOneOfTheInputs()
    {
        var a = Floats(45, 1);
        var b = Floats(45, 2);
        var expected = a.Zip(b, (x, y) => x - y).ToArray();
        VectorLoops.Zip<float, VectorLoops.Subtract<float>>(a, b, a);
        a.Select(BitConverter.SingleToInt32Bits).Should().Equal(expected.Select(BitConverter.SingleToInt32Bits));
    }

    [Test]
    public void AnInputShorterThanTheOutputIsRefused()
    {
        var act = () => VectorLoops.Zip<float, VectorLoops.Add<float>>(new float[3], new float[4], new float[4]);
        act.Should().Throw<ArgumentException>().WithMessage("*shorter than the output*");
    }
}
