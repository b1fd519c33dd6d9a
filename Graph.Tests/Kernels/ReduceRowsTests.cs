using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

/// <summary>
/// A reduction over leading axes (a bias gradient) combines each column in row order, on widths with and without a
/// vector tail, with the columns in one part or split over the cores: the bits equal a sequential loop's.
/// </summary>
[TestFixture]
public class ReduceRowsTests
{
    [Test]
    public void LeadingAxisReductionsGiveTheRowOrderBits([Values(150, 17, 333, 40, 1000)] int width, [Values("sum", "max", "prod")] string op)
    {
        var rows = 140_000 / width;
        var random = new Random(width);
        var values = Enumerable.Range(0, rows * width)
            .Select(_ => op == "prod" ? 1f + ((float)random.NextDouble() - 0.5f) * 1e-3f : (float)random.NextDouble() * 2 - 1).ToArray();
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(rows, width), "x");
        var y = op switch
        {
            "sum" => TF.ReduceSum(x, [0]),
            "max" => TF.ReduceMax(x, [0]),
            _ => TF.ReduceProd(x, [0]),
        };
        using var session = new Session(g);
        var actual = session.Run(y, new FeedDict { { x, HostTensor.From(values, rows, width) } }).ToArray<float>();

        for (var c = 0; c < width; c++)
        {
            var expected = values[c];
            for (var r = 1; r < rows; r++)
            {
                var v = values[r * width + c];
                expected = op switch { "sum" => expected + v, "max" => Math.Max(expected, v), _ => expected * v };
            }
            BitConverter.SingleToInt32Bits(actual[c]).Should().Be(BitConverter.SingleToInt32Bits(expected), $"column {c} of {width}");
        }
    }

    [Test]
    public void LeadingAxisSumsOfOtherTypesGiveTheRowOrderValues([Values(DType.Float64, DType.Int32, DType.Int64)] DType dtype, [Values(150, 17, 36)] int width)
    {
        var rows = 100_000 / width;
        var random = new Random(width);
        var values = Enumerable.Range(0, rows * width).Select(_ => random.Next(-1000, 1000) * 0.37).ToArray();
        Array data = dtype switch
        {
            DType.Float64 => values,
            DType.Int32 => values.Select(v => (int)v).ToArray(),
            _ => values.Select(v => (long)v).ToArray(),
        };
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var x = TF.Placeholder(dtype, new Shape(rows, width), "x");
        using var session = new Session(g);
        var actual = session.Run(TF.ReduceSum(x, [0]), new FeedDict { { x, new HostTensor(data, rows, width) } }).Data;

        for (var c = 0; c < width; c++)
            switch (data)
            {
                case double[] d:
                    var sum = d[c];
                    for (var r = 1; r < rows; r++) sum += d[r * width + c];
                    ((double[])actual)[c].Should().Be(sum, $"column {c} of {width}");
                    break;
                case int[] i:
                    ((int[])actual)[c].Should().Be(Enumerable.Range(0, rows).Sum(r => i[r * width + c]), $"column {c} of {width}");
                    break;
                default:
                    var l = (long[])data;
                    ((long[])actual)[c].Should().Be(Enumerable.Range(0, rows).Sum(r => l[r * width + c]), $"column {c} of {width}");
                    break;
            }
    }
}
