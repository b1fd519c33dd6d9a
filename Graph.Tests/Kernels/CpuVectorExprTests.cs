using System.Runtime.Intrinsics;
using Graph.Core;
using Graph.Kernels;
using Graph.Kernels.Cpu;

namespace Graph.Tests;

/// <summary>
/// Fused float32 element-wise trees run as one register-resident loop on the cpu device (<see cref="CpuVectorExpr"/>):
/// results must be bit-identical to the same float operations done one by one, for every broadcast form, run length
/// and chunk split.
/// </summary>
[TestFixture]
public class CpuVectorExprTests
{
    private static float[] Random(int n, int seed, float scale = 1f)
    {
        var r = new System.Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 2 - 1) * scale).ToArray();
    }

    private static float[] Run(Tensor y, FeedDict feed)
    {
        using var sess = new Session(y.Graph);
        return sess.Run(y, feed).Span<float>().ToArray();
    }

    private static void ShouldEqualBitwise(float[] actual, float[] expected)
    {
        actual.Should().HaveSameCount(expected);
        for (var i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(actual[i]) != BitConverter.SingleToInt32Bits(expected[i]))
                Assert.Fail($"element {i}: {actual[i]:R}, expected {expected[i]:R}");
    }

    [Test]
    public void ScalarTanhAndExpGiveTheVectorFormsBits()
    {
        var values = new List<float> { 0f, -0f, 1e-30f, -1e-30f, 0.625f, -0.625f, 0.62499994f, 9f, 88f, 88.7f, 89f, -87.5f, -100f, -103.9f, -104f, -200f, 300f,
            float.PositiveInfinity, float.NegativeInfinity, float.NaN, float.Epsilon };
        for (var x = -110f; x < 110f; x += 0.01371f) values.Add(x);
        for (var x = -1f; x < 1f; x += 0.000731f) values.Add(x);
        while (values.Count % 16 != 0) values.Add(0.5f);
        var data = values.ToArray();
        void Check(int i, float[] tanh, float[] exp, float[] sigmoid, string width)
        {
            for (var k = 0; k < tanh.Length; k++)
            {
                var x = data[i + k];
                BitConverter.SingleToInt32Bits(AccurateMath.Tanh(x)).Should().Be(BitConverter.SingleToInt32Bits(tanh[k]), $"tanh({x:R}), {width}");
                BitConverter.SingleToInt32Bits(AccurateMath.Exp(x)).Should().Be(BitConverter.SingleToInt32Bits(exp[k]), $"exp({x:R}), {width}");
                BitConverter.SingleToInt32Bits(AccurateMath.Sigmoid(x)).Should().Be(BitConverter.SingleToInt32Bits(sigmoid[k]), $"sigmoid({x:R}), {width}");
            }
        }
        float[] Lanes256(Vector256<float> v) { var a = new float[8]; v.CopyTo(a); return a; }
        float[] Lanes512(Vector512<float> v) { var a = new float[16]; v.CopyTo(a); return a; }
        for (var i = 0; i < data.Length; i += 8)
        {
            var v = Vector256.Create(data, i);
            Check(i, Lanes256(AccurateMath.Tanh(v)), Lanes256(AccurateMath.Exp(v)), Lanes256(AccurateMath.Sigmoid(v)), "8 lanes");
        }
        if (!Vector512.IsHardwareAccelerated) return;
        for (var i = 0; i < data.Length; i += 16)
        {
            var v = Vector512.Create(data, i);
            Check(i, Lanes512(AccurateMath.Tanh(v)), Lanes512(AccurateMath.Exp(v)), Lanes512(AccurateMath.Sigmoid(v)), "16 lanes");
        }
    }

    /// <summary>
    /// The epilogue gives the bits of the product followed by the element-wise operations, whether the product is
    /// computed into the result's array and overwritten there (nothing else reads it) or kept (fetched too), on shapes
    /// the AVX-512 kernel splits by rows, by columns and with edge tiles, and the MNIST RNN's input projection, whose
    /// parts run the epilogue block by block.
    /// </summary>
    [Test]
    public void EpilogueOfAMatMulWithARowBroadcastBias(
        [Values(new[] { 7, 150, 150 }, new[] { 150, 150, 150 }, new[] { 37, 64, 70 }, new[] { 20, 64, 700 }, new[] { 300, 28, 150 },
            new[] { 4200, 28, 150 })] int[] shape)
    {
        var (rows, depth, cols) = (shape[0], shape[1], shape[2]);
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(rows, depth));
        var w = TF.Placeholder(DType.Float32, new Shape(depth, cols));
        var xw = TF.Placeholder(DType.Float32, new Shape(rows, cols));
        var bias = TF.Placeholder(DType.Float32, new Shape(cols));
        var product = TF.MatMul(x, w);
        var y = TF.Tanh(product + xw + bias);
        var feed = new FeedDict
        {
            { x, HostTensor.From(Random(rows * depth, 1), rows, depth) }, { w, HostTensor.From(Random(depth * cols, 2, 0.2f), depth, cols) },
            { xw, HostTensor.From(Random(rows * cols, 3), rows, cols) }, { bias, HostTensor.From(Random(cols, 4), cols) },
        };
        var p = Run(product, feed);
        var a = feed[xw].Span<float>().ToArray();
        var b = feed[bias].Span<float>().ToArray();
        var expected = p.Select((v, i) => AccurateMath.Tanh(v + a[i] + b[i % cols])).ToArray();
        ShouldEqualBitwise(Run(y, feed), expected);
        using var sess = new Session(g);
        var both = sess.Run([product, y], feed);
        ShouldEqualBitwise(both[0].Span<float>().ToArray(), p);
        ShouldEqualBitwise(both[1].Span<float>().ToArray(), expected);
    }

    /// <summary>
    /// An epilogue that reads the product transposed reads other elements than it writes, so the product must keep its
    /// own array (computed into the result's array, elements still to be read would be overwritten). Fusion keeps such a
    /// reader out of the product's kernel today; the cpu runner's in-place rule refuses it as well.
    /// </summary>
    [Test]
    public void AnEpilogueReadingTheProductTransposedIsNotComputedInPlace([Values(40, 150)] int n)
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(n, n));
        var w = TF.Placeholder(DType.Float32, new Shape(n, n));
        var product = TF.MatMul(x, w);
        var y = TF.Tanh(TF.Transpose(product, [1, 0]) + product);
        var feed = new FeedDict { { x, HostTensor.From(Random(n * n, 5), n, n) }, { w, HostTensor.From(Random(n * n, 6, 0.2f), n, n) } };
        var p = Run(product, feed);
        var expected = new float[n * n];
        for (var i = 0; i < n; i++)
            for (var j = 0; j < n; j++) expected[i * n + j] = AccurateMath.Tanh(p[j * n + i] + p[i * n + j]);
        ShouldEqualBitwise(Run(y, feed), expected);
    }

    [Test]
    public void TanhGradientWithAScalarConstant([Values(22500, 1003, 300 * 300)] int n)
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var h = TF.Placeholder(DType.Float32, new Shape(n));
        var dh = TF.Placeholder(DType.Float32, new Shape(n));
        var y = dh * (1f - h * h);
        var hv = Random(n, 5);
        var dv = Random(n, 6);
        ShouldEqualBitwise(Run(y, new FeedDict { { h, hv }, { dh, dv } }), hv.Select((v, i) => dv[i] * (1f - v * v)).ToArray());
    }

    [Test]
    public void ColumnBroadcastIsReadOncePerRow()
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var a = TF.Placeholder(DType.Float32, new Shape(64, 40));
        var c = TF.Placeholder(DType.Float32, new Shape(64, 1));
        var d = TF.Placeholder(DType.Float32, new Shape(40));
        var y = TF.Sqrt(TF.Abs(a * c)) / (TF.Exp(-a) + d);
        var av = Random(64 * 40, 7, 3f);
        var cv = Random(64, 8);
        var dv = Random(40, 9).Select(v => v + 2f).ToArray();
        var expected = av.Select((v, i) => MathF.Sqrt(MathF.Abs(v * cv[i / 40])) / (AccurateMath.Exp(-v) + dv[i % 40])).ToArray();
        ShouldEqualBitwise(Run(y, new FeedDict { { a, HostTensor.From(av, 64, 40) }, { c, HostTensor.From(cv, 64, 1) }, { d, dv } }), expected);
    }

    [Test]
    public void ShortRowsAndTransposedOperandsFallBackToTheInterpreterWithTheSameResults()
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var a = TF.Placeholder(DType.Float32, new Shape(100, 5));
        var bias = TF.Placeholder(DType.Float32, new Shape(5));
        var t = TF.Placeholder(DType.Float32, new Shape(5, 100));
        var y = TF.Tanh(a + bias) * TF.Transpose(t);
        var av = Random(500, 10);
        var bv = Random(5, 11);
        var tv = Random(500, 12);
        var expected = av.Select((v, i) => AccurateMath.Tanh(v + bv[i % 5]) * tv[(i % 5) * 100 + i / 5]).ToArray();
        ShouldEqualBitwise(Run(y, new FeedDict { { a, HostTensor.From(av, 100, 5) }, { bias, bv }, { t, HostTensor.From(tv, 5, 100) } }), expected);
    }

    [Test]
    public void ASquareOfOneMemberAndASigmoidStayInTheLoop([Values(1003, 1 << 16)] int n)
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(n));
        var t = TF.Tanh(x * 1.5f + 0.25f) - 0.1f;
        var y = TF.Sigmoid(t * t + x);
        var xv = Random(n, 13, 4f);
        var expected = xv.Select(v =>
        {
            var u = AccurateMath.Tanh(v * 1.5f + 0.25f) - 0.1f;
            return AccurateMath.Sigmoid(u * u + v);
        }).ToArray();
        ShouldEqualBitwise(Run(y, new FeedDict { { x, xv } }), expected);
    }

    [Test]
    public void AFillOfLowerRankInAOneElementGroup()
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(1));
        var y = TF.Placeholder(DType.Float32, new Shape(1, 1));
        var z = TF.OnesLike(x) * y;
        Run(z, new FeedDict { { x, new[] { 5f } }, { y, HostTensor.From(new[] { 3f }, 1, 1) } }).Should().Equal(3f);
    }
}
