using System.Globalization;
using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

/// <summary>
/// Tests of the math ops: MatMul / BatchMatMul, the reductions (Sum, Mean, Max, Min, Prod) and ArgMax / ArgMin —
/// static shape inference, forward values against float64 references computed here, and bad-input errors.
/// </summary>
[TestFixture("cpu")]
[TestFixture("ilgpu-cpu")]
[TestFixture("cuda", Category = "Cuda")]
public class MathOpTests(string device) : GraphFixture(device)
{

    // ------------------------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------------------------


    private static string S(Tensor t) => t.Shape.ToString();

    /// <summary>Deterministic float32 values in [-1, 1).</summary>
    private static float[] RandomData(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    }

    private static void ShouldBeClose(HostTensor actual, double[] expected, double rtol = 1e-5, double atol = 1e-6)
    {
        var values = actual.ToArray<double>();
        values.Should().HaveCount(expected.Length);
        for (var i = 0; i < expected.Length; i++)
            values[i].Should().BeApproximately(expected[i], atol + rtol * Math.Abs(expected[i]), $"element {i} of {actual.Shape}");
    }

    /// <summary>"all" = null (every axis), "none" = no axis, else a comma-separated list.</summary>
    private static int[]? Axes(string axes) => axes switch
    {
        "all" => null,
        "none" => [],
        _ => axes.Split(',').Select(a => int.Parse(a, CultureInfo.InvariantCulture)).ToArray(),
    };

    /// <summary>Float64 matrix product of rank-2 or rank-3 operands stored with the given transpose flags.</summary>
    private static (int[] Dims, double[] Values) ReferenceMatMul(float[] a, int[] aDims, float[] b, int[] bDims, bool ta, bool tb)
    {
        var r = aDims.Length;
        var batch = r == 3 ? aDims[0] : 1;
        var (ar, ac) = (aDims[r - 2], aDims[r - 1]);
        var (br, bc) = (bDims[r - 2], bDims[r - 1]);
        var m = ta ? ac : ar;
        var k = ta ? ar : ac;
        var n = tb ? br : bc;
        var y = new double[batch * m * n];
        for (var bi = 0; bi < batch; bi++)
        for (var i = 0; i < m; i++)
        for (var j = 0; j < n; j++)
        {
            double sum = 0;
            for (var kk = 0; kk < k; kk++)
            {
                var av = ta ? a[bi * ar * ac + kk * ac + i] : a[bi * ar * ac + i * ac + kk];
                var bv = tb ? b[bi * br * bc + j * bc + kk] : b[bi * br * bc + kk * bc + j];
                sum += (double)av * bv;
            }
            y[(bi * m + i) * n + j] = sum;
        }
        return (r == 3 ? [batch, m, n] : [m, n], y);
    }

    /// <summary>Float64 reduction over <paramref name="axes"/> (null = all; negative counts from the end).</summary>
    private static (int[] Dims, double[] Values) ReferenceReduce(double[] x, int[] dims, int[]? axes, bool keep, Func<double[], double> f)
    {
        var rank = dims.Length;
        var reduced = (axes ?? Enumerable.Range(0, rank).ToArray()).Select(a => a < 0 ? a + rank : a).ToHashSet();
        var keptDims = dims.Select((d, i) => reduced.Contains(i) ? 1 : d).ToArray();
        var groups = Enumerable.Range(0, (int)Shape.Product(keptDims)).Select(_ => new List<double>()).ToArray();
        var strides = HostOps.Strides(dims);
        var outStrides = HostOps.Strides(keptDims);
        for (var flat = 0; flat < x.Length; flat++)
        {
            var o = 0;
            for (var ax = 0; ax < rank; ax++)
            {
                var idx = flat / strides[ax] % dims[ax];
                if (!reduced.Contains(ax)) o += idx * outStrides[ax];
            }
            groups[o].Add(x[flat]);
        }
        var outDims = keep ? keptDims : dims.Where((_, i) => !reduced.Contains(i)).ToArray();
        return (outDims, groups.Select(g => f(g.ToArray())).ToArray());
    }

    private static Tensor Reduce(string op, Tensor x, int[]? axes, bool keep) => op switch
    {
        "Sum" => TF.ReduceSum(x, axes, keep),
        "Mean" => TF.ReduceMean(x, axes, keep),
        "Max" => TF.ReduceMax(x, axes, keep),
        "Min" => TF.ReduceMin(x, axes, keep),
        "Prod" => TF.ReduceProd(x, axes, keep),
        _ => throw new ArgumentException(op),
    };

    private static Func<double[], double> ReferenceOf(string op) => op switch
    {
        "Sum" => v => v.Sum(),
        "Mean" => v => v.Average(),
        "Max" => v => v.Max(),
        "Min" => v => v.Min(),
        "Prod" => v => v.Aggregate(1.0, (p, e) => p * e),
        _ => throw new ArgumentException(op),
    };

    // ------------------------------------------------------------------------------------------------------------
    // MatMul
    // ------------------------------------------------------------------------------------------------------------

    [TestCase(false, false)]
    [TestCase(true, false)]
    [TestCase(false, true)]
    [TestCase(true, true)]
    public void MatMul_Rank2_AllTransposeFlags_MatchFloat64Reference(bool ta, bool tb)
    {
        // Logical A is 2x3 and B is 3x4; stored transposed where the flag says so.
        int[] aDims = ta ? [3, 2] : [2, 3];
        int[] bDims = tb ? [4, 3] : [3, 4];
        var a = RandomData(6, 1);
        var b = RandomData(12, 2);
        var y = TF.MatMul(TF.Constant(HostTensor.From(a, aDims)), TF.Constant(HostTensor.From(b, bDims)), ta, tb);

        y.Op.Type.Should().Be("MatMul");
        S(y).Should().Be("(2, 4)");
        var r = Eval(y);
        var (dims, expected) = ReferenceMatMul(a, aDims, b, bDims, ta, tb);
        r.DType.Should().Be(DType.Float32);
        r.Dims.Should().Equal(dims);
        ShouldBeClose(r, expected);
    }

    [Test]
    public void MatMul_Float64_MatchesReference()
    {
        var a = RandomData(15, 3);
        var b = RandomData(10, 4);
        var y = TF.MatMul(TF.Constant(HostTensor.From(a, 5, 3), DType.Float64), TF.Constant(HostTensor.From(b, 5, 2), DType.Float64), transposeA: true);

        var r = Eval(y);
        r.DType.Should().Be(DType.Float64);
        r.Dims.Should().Equal(3, 2);
        ShouldBeClose(r, ReferenceMatMul(a, [5, 3], b, [5, 2], true, false).Values, rtol: 1e-12, atol: 1e-12);
    }

    [TestCase(false, false)]
    [TestCase(true, false)]
    [TestCase(false, true)]
    [TestCase(true, true)]
    public void BatchMatMul_Rank3_MatchesFloat64Reference(bool ta, bool tb)
    {
        int[] aDims = ta ? [2, 3, 2] : [2, 2, 3];
        int[] bDims = tb ? [2, 4, 3] : [2, 3, 4];
        var a = RandomData(12, 5);
        var b = RandomData(24, 6);
        var y = TF.MatMul(TF.Constant(HostTensor.From(a, aDims)), TF.Constant(HostTensor.From(b, bDims)), ta, tb);

        y.Op.Type.Should().Be("BatchMatMul");
        S(y).Should().Be("(2, 2, 4)");
        var r = Eval(y);
        var (dims, expected) = ReferenceMatMul(a, aDims, b, bDims, ta, tb);
        r.Dims.Should().Equal(dims);
        ShouldBeClose(r, expected);
    }

    [Test]
    public void MatMul_Int32_IsExact()
    {
        var a = TF.Constant(new[,] { { 1, 2, 3 }, { 4, 5, 6 } });
        var b = TF.Constant(new[,] { { 7, 8 }, { 9, 10 }, { 11, 12 } });
        var y = TF.MatMul(a, b);

        y.DType.Should().Be(DType.Int32);
        var r = Eval(y);
        r.DType.Should().Be(DType.Int32);
        r.Dims.Should().Equal(2, 2);
        r.ToArray<int>().Should().Equal(58, 64, 139, 154);
    }

    [TestCase("-1,3", "3,4", false, false, "(?, 4)")]
    [TestCase("2,-1", "-1,4", false, false, "(2, 4)")]
    [TestCase("-1,2", "4,-1", true, true, "(2, 4)")]
    [TestCase("unknown", "3,4", false, false, "(?, 4)")]
    [TestCase("unknown", "unknown", false, false, "(?, ?)")]
    [TestCase("-1,-1,3", "2,3,5", false, false, "(2, ?, 5)")]
    [TestCase("unknown", "2,3,5", false, false, "(2, ?, 5)")]
    public void MatMul_InfersShapeWithUnknownDims(string aShape, string bShape, bool ta, bool tb, string expected)
    {
        var a = TF.Placeholder(DType.Float32, ParseShape(aShape));
        var b = TF.Placeholder(DType.Float32, ParseShape(bShape));
        S(TF.MatMul(a, b, ta, tb)).Should().Be(expected);
    }

    private static Shape ParseShape(string s) =>
        s == "unknown" ? Shape.Unknown : new Shape(s.Split(',').Select(d => int.Parse(d, CultureInfo.InvariantCulture)).ToArray());

    [Test]
    public void MatMul_WithUnknownBatch_ComputesForFedShape()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 3));
        var w = RandomData(6, 7);
        var y = TF.MatMul(x, TF.Constant(HostTensor.From(w, 3, 2)));
        var xs = RandomData(12, 8);

        var r = Eval(y, new FeedDict { { x, HostTensor.From(xs, 4, 3) } });
        r.Dims.Should().Equal(4, 2);
        ShouldBeClose(r, ReferenceMatMul(xs, [4, 3], w, [3, 2], false, false).Values);
    }

    [TestCase(false, false, "2,3", "4,2")]
    [TestCase(true, false, "3,2", "4,2")]
    [TestCase(false, true, "2,3", "2,4")]
    public void MatMul_InnerDimensionMismatch_ThrowsAtBuildTime(bool ta, bool tb, string aShape, string bShape)
    {
        var a = TF.Placeholder(DType.Float32, ParseShape(aShape));
        var b = TF.Placeholder(DType.Float32, ParseShape(bShape));

        var act = () => TF.MatMul(a, b, ta, tb);
        act.Should().Throw<InvalidArgumentException>().Which.Message.Should()
            .ContainAll("MatMul", a.Shape.ToString(), b.Shape.ToString());
    }

    [Test]
    public void MatMul_InnerDimensionMismatch_ThrowsAtRunTimeWhenDimsWereUnknown()
    {
        var a = TF.Placeholder(DType.Float32, new Shape(-1, -1));
        var b = TF.Placeholder(DType.Float32, new Shape(-1, -1));
        var y = TF.MatMul(a, b);
        S(y).Should().Be("(?, ?)");

        var act = () => Eval(y, new FeedDict { { a, new float[2, 3] }, { b, new float[4, 2] } });
        act.Should().Throw<InvalidArgumentException>().Which.Message.Should().ContainAll("MatMul", "(2, 3)", "(4, 2)");
    }

    [Test]
    public void BatchMatMul_InnerDimensionMismatch_ThrowsAtRunTimeWhenDimsWereUnknown()
    {
        var a = TF.Placeholder(DType.Float32, new Shape(-1, -1, -1));
        var b = TF.Placeholder(DType.Float32, new Shape(-1, -1, -1));
        var y = TF.MatMul(a, b);

        var act = () => Eval(y, new FeedDict { { a, new float[2, 2, 3] }, { b, new float[2, 2, 2] } });
        act.Should().Throw<InvalidArgumentException>().Which.Message.Should().ContainAll("BatchMatMul", "(2, 2, 3)", "(2, 2, 2)");
    }

    [Test]
    public void BatchMatMul_BatchMismatch_ThrowsAtBuildTime()
    {
        var a = TF.Placeholder(DType.Float32, new Shape(2, 2, 3));
        var b = TF.Placeholder(DType.Float32, new Shape(3, 3, 2));

        var act = () => TF.MatMul(a, b);
        act.Should().Throw<InvalidArgumentException>().Which.Message.Should().ContainAll("BatchMatMul", "(2, 2, 3)", "(3, 3, 2)");
    }

    [Test]
    public void MatMul_RankOneOperand_Throws()
    {
        var a = TF.Placeholder(DType.Float32, new Shape(3));
        var b = TF.Placeholder(DType.Float32, new Shape(3, 2));

        var act = () => TF.MatMul(a, b);
        act.Should().Throw<InvalidArgumentException>().Which.Message.Should().ContainAll("MatMul", "rank 2", "(3,)");
    }

    [Test]
    public void MatMul_DTypeMismatch_Throws()
    {
        var a = TF.Placeholder(DType.Float32, new Shape(2, 3));
        var b = TF.Placeholder(DType.Float64, new Shape(3, 2));

        var act = () => TF.MatMul(a, b);
        act.Should().Throw<InvalidArgumentException>().Which.Message.Should().ContainAll("MatMul", "float64", "float32");
    }

    // ------------------------------------------------------------------------------------------------------------
    // Reductions
    // ------------------------------------------------------------------------------------------------------------

    private static readonly string[] ReduceOps = ["Sum", "Mean", "Max", "Min", "Prod"];
    private static readonly string[] AxesCases = ["all", "none", "0", "1", "-1", "0,2", "2,0", "1,2", "-3,-1", "0,1,2"];

    /// <summary>Values ±0.125 … ±1.375 (no zeros, so products are informative).</summary>
    private static double[] ReduceData(int n) => Enumerable.Range(0, n).Select(i => ((i * 7) % 11 - 5.5) * 0.25).ToArray();

    [Test]
    public void Reduce_Rank3_MatchesFloat64Reference(
        [ValueSource(nameof(ReduceOps))] string op, [ValueSource(nameof(AxesCases))] string axes, [Values] bool keepDims)
    {
        int[] dims = [2, 3, 4];
        var data = ReduceData(24);
        var x = TF.Constant(HostTensor.From(data.Select(v => (float)v).ToArray(), dims));
        var y = Reduce(op, x, Axes(axes), keepDims);

        var (expectedDims, expected) = ReferenceReduce(data, dims, Axes(axes), keepDims, ReferenceOf(op));
        y.Op.Type.Should().Be(op);
        y.DType.Should().Be(DType.Float32);
        y.Shape.Dims.Should().Equal(expectedDims, "static shape");
        var r = Eval(y);
        r.Dims.Should().Equal(expectedDims);
        ShouldBeClose(r, expected);
    }

    [Test]
    public void Reduce_LeadingAxesOfWideTensor_MatchesFloat64Reference(
        [ValueSource(nameof(ReduceOps))] string op, [Values("0", "0,1")] string axes, [Values] bool keepDims)
    {
        // Reducing leading axes with >= 16 kept elements takes the row-accumulating kernel.
        int[] dims = [2, 3, 16];
        var data = ReduceData(96);
        var x = TF.Constant(HostTensor.From(data, dims));
        var y = Reduce(op, x, Axes(axes), keepDims);

        var (expectedDims, expected) = ReferenceReduce(data, dims, Axes(axes), keepDims, ReferenceOf(op));
        var r = Eval(y);
        r.DType.Should().Be(DType.Float64);
        r.Dims.Should().Equal(expectedDims);
        ShouldBeClose(r, expected, rtol: 1e-12, atol: 1e-12);
    }

    [TestCase("Sum", new[] { 1, 6, 14 }, new[] { 2, 10, 9 })]
    [TestCase("Max", new[] { 2, 7, 12 }, new[] { 3, 12, 7 })]
    [TestCase("Min", new[] { -2, -4, -2 }, new[] { -2, -4, -2 })]
    [TestCase("Prod", new[] { -4, -84, -96 }, new[] { -6, -96, -56 })]
    public void Reduce_Int32_IsExact(string op, int[] overAxis0, int[] overAxis1)
    {
        var x = TF.Constant(new[,] { { 1, 3, -2 }, { 2, -4, 12 }, { -2, 7, 4 } });

        var r0 = Eval(Reduce(op, x, [0], false));
        var r1 = Eval(Reduce(op, x, [1], true));
        r0.DType.Should().Be(DType.Int32);
        r0.ToArray<int>().Should().Equal(overAxis0);
        r1.Dims.Should().Equal(3, 1);
        r1.ToArray<int>().Should().Equal(overAxis1);
    }

    [Test]
    public void ReduceMean_Int32_TruncatesTowardZero()
    {
        var x = TF.Constant(new[,] { { 1, 2 }, { 3, 6 }, { -1, -2 }, { 7, 7 } });

        var rows = Eval(TF.ReduceMean(x, [1]));
        rows.DType.Should().Be(DType.Int32);
        rows.ToArray<int>().Should().Equal(1, 4, -1, 7); // 1.5 -> 1, 4.5 -> 4, -1.5 -> -1
        Eval(TF.ReduceMean(x)).Item<int>().Should().Be(2); // 23 / 8 = 2.875
        Eval(TF.ReduceMean(x, [0], keepDims: true)).ToArray<int>().Should().Equal(2, 3); // 10/4, 13/4
    }

    [Test]
    public void ReduceMean_Int64_TruncatesTowardZero()
    {
        var x = TF.Constant(new long[] { 1, 2, 2, 0 });
        var r = Eval(TF.ReduceMean(x));
        r.DType.Should().Be(DType.Int64);
        r.Item<long>().Should().Be(1); // 5 / 4
    }

    [TestCase("-1,3,4", "all", false, "()")]
    [TestCase("-1,3,4", "all", true, "(1, 1, 1)")]
    [TestCase("-1,3,4", "0", false, "(3, 4)")]
    [TestCase("-1,3,4", "1", false, "(?, 4)")]
    [TestCase("-1,3,4", "1", true, "(?, 1, 4)")]
    [TestCase("-1,3,4", "-1", false, "(?, 3)")]
    [TestCase("-1,3,4", "0,2", false, "(3,)")]
    [TestCase("-1,3,4", "0,2", true, "(1, 3, 1)")]
    [TestCase("-1,-1", "-2", true, "(1, ?)")]
    [TestCase("unknown", "all", false, "()")]
    [TestCase("unknown", "all", true, "<unknown>")]
    [TestCase("unknown", "1", false, "<unknown>")]
    public void Reduce_InfersShapeWithUnknownDims(string shape, string axes, bool keepDims, string expected)
    {
        var x = TF.Placeholder(DType.Float32, ParseShape(shape));
        foreach (var op in ReduceOps)
            S(Reduce(op, x, Axes(axes), keepDims)).Should().Be(expected, op);
    }

    [Test]
    public void Reduce_UnknownDims_ComputeForFedShape()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 3));
        var sum = TF.ReduceSum(x, [1], keepDims: true);
        var mean = TF.ReduceMean(x, [0]);
        var feeds = new FeedDict { { x, new float[,] { { 1, 2, 3 }, { 4, 5, 6 } } } };

        var r = Eval(sum, feeds);
        r.Dims.Should().Equal(2, 1);
        r.ToArray<float>().Should().Equal(6f, 15f);
        Eval(mean, feeds).ToArray<float>().Should().Equal(2.5f, 3.5f, 4.5f);
    }

    [Test]
    public void Reduce_UnknownRank_ComputesForFedShape()
    {
        var x = TF.Placeholder(DType.Float32, Shape.Unknown);
        var y = TF.ReduceMax(x, [-1]);
        S(y).Should().Be("<unknown>");

        var r = Eval(y, new FeedDict { { x, new float[,,] { { { 1, 9 }, { 4, 2 } } } } });
        r.Dims.Should().Equal(1, 2);
        r.ToArray<float>().Should().Equal(9f, 4f);
    }

    [TestCase(3)]
    [TestCase(-4)]
    public void Reduce_AxisOutOfRange_Throws(int axis)
    {
        var x = TF.Placeholder(DType.Float32, new Shape(2, 3, 4));
        foreach (var op in ReduceOps)
        {
            var act = () => Reduce(op, x, [axis], false);
            act.Should().Throw<InvalidArgumentException>().Which.Message.Should()
                .ContainAll(op, $"axis {axis}", "rank 3");
        }
    }

    [Test]
    public void Reduce_BoolInput_Throws()
    {
        var x = TF.Placeholder(DType.Bool, new Shape(2));
        var act = () => TF.ReduceSum(x);
        act.Should().Throw<InvalidArgumentException>().Which.Message.Should().ContainAll("Sum", "bool");
    }

    [Test]
    public void Reduce_EmptyAxis_GivesTheIdentity()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 3));
        var feeds = new FeedDict { { x, HostTensor.Zeros(DType.Float32, 0, 3) } };

        Eval(TF.ReduceSum(x, [0]), feeds).ToArray<float>().Should().Equal(0f, 0f, 0f);
        Eval(TF.ReduceProd(x, [0]), feeds).ToArray<float>().Should().Equal(1f, 1f, 1f);
        // As TF1: the max of nothing is -inf, the min +inf.
        Eval(TF.ReduceMax(x, [0]), feeds).ToArray<float>().Should().Equal(float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity);
        Eval(TF.ReduceMin(x, [0]), feeds).ToArray<float>().Should().Equal(float.PositiveInfinity, float.PositiveInfinity, float.PositiveInfinity);
    }

    // ------------------------------------------------------------------------------------------------------------
    // ArgMax / ArgMin
    // ------------------------------------------------------------------------------------------------------------

    private static readonly float[,] ArgData = { { 1, 5, 3, 5 }, { 7, 0, 7, -1 }, { 7, 0, -4, -4 } };

    [TestCase(1, new[] { 1, 0, 0 }, new[] { 0, 3, 2 })]
    [TestCase(-1, new[] { 1, 0, 0 }, new[] { 0, 3, 2 })]
    [TestCase(0, new[] { 1, 0, 1, 0 }, new[] { 0, 1, 2, 2 })]
    [TestCase(-2, new[] { 1, 0, 1, 0 }, new[] { 0, 1, 2, 2 })]
    public void ArgMaxArgMin_ReturnFirstIndexOnTies(int axis, int[] argMax, int[] argMin)
    {
        var x = TF.Constant(ArgData);
        Eval(TF.ArgMax(x, axis)).ToArray<long>().Should().Equal(argMax.Select(v => (long)v));
        Eval(TF.ArgMin(x, axis)).ToArray<long>().Should().Equal(argMin.Select(v => (long)v));
    }

    [TestCase(DType.Int32)]
    [TestCase(DType.Int64)]
    public void ArgMaxArgMin_OutputType(DType outputType)
    {
        var x = TF.Constant(ArgData);
        var max = TF.ArgMax(x, 1, outputType);
        var min = TF.ArgMin(x, 1, outputType);

        max.DType.Should().Be(outputType);
        min.DType.Should().Be(outputType);
        var rMax = Eval(max);
        var rMin = Eval(min);
        rMax.DType.Should().Be(outputType);
        rMin.DType.Should().Be(outputType);
        rMax.ToArray<long>().Should().Equal(1, 0, 0);
        rMin.ToArray<long>().Should().Equal(0, 3, 2);
    }

    [Test]
    public void ArgMax_DefaultsToAxis0AndInt64()
    {
        var y = TF.ArgMax(TF.Constant(ArgData));
        y.Op.Type.Should().Be("ArgMax");
        y.DType.Should().Be(DType.Int64);
        S(y).Should().Be("(4,)");
    }

    [TestCase(DType.Float32)]
    [TestCase(DType.Float64)]
    [TestCase(DType.Int32)]
    [TestCase(DType.Int64)]
    public void ArgMaxArgMin_LongVectorWithTiesAcrossSimdLanes_ReturnFirstIndex(DType dtype)
    {
        // 40 elements: the extreme values occur at 5, 21 and 38, in different SIMD blocks.
        var data = Enumerable.Range(0, 40).Select(i => (double)(i % 7)).ToArray();
        foreach (var i in new[] { 5, 21, 38 })
        {
            data[i] = 100;
            data[i + 1] = -100;
        }
        var x = TF.Constant(HostTensor.From(data, 40).AsType(dtype));

        Eval(TF.ArgMax(x)).Item<long>().Should().Be(5);
        Eval(TF.ArgMin(x)).Item<long>().Should().Be(6);
    }

    [Test]
    public void ArgMaxArgMin_SignedZerosAreTies_FirstIndexWins()
    {
        // -0.0 == 0.0, so TF (Eigen's strict > / < comparison) keeps the first index.
        var x = TF.Constant(new[] { -0.0f, 0.0f, -1f });
        var y = TF.Constant(new[] { 0.0f, -0.0f, 1f });

        using (new FluentAssertions.Execution.AssertionScope())
        {
            Eval(TF.ArgMax(x)).Item<long>().Should().Be(0, "argmax([-0.0, 0.0, -1]) ties at index 0 and 1");
            Eval(TF.ArgMin(y)).Item<long>().Should().Be(0, "argmin([0.0, -0.0, 1]) ties at index 0 and 1");
        }
    }

    [TestCase("-1,3", 1, "(?,)")]
    [TestCase("-1,3", 0, "(3,)")]
    [TestCase("2,-1,4", -1, "(2, ?)")]
    [TestCase("5", 0, "()")]
    [TestCase("unknown", 0, "<unknown>")]
    public void ArgMaxArgMin_InferShape(string shape, int axis, string expected)
    {
        var x = TF.Placeholder(DType.Float32, ParseShape(shape));
        S(TF.ArgMax(x, axis)).Should().Be(expected);
        S(TF.ArgMin(x, axis)).Should().Be(expected);
    }

    [Test]
    public void ArgMax_UnknownDims_ComputesForFedShape()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 3));
        var y = TF.ArgMax(x, 1, DType.Int32);

        var r = Eval(y, new FeedDict { { x, new float[,] { { 1, 2, 3 }, { 3, 2, 1 }, { 2, 3, 1 }, { 0, 0, 0 } } } });
        r.Dims.Should().Equal(4);
        r.ToArray<int>().Should().Equal(2, 0, 1, 0);
    }

    [Test]
    public void ArgMax_AxisOutOfRange_Throws()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(2, 3));
        var act = () => TF.ArgMax(x, 2);
        act.Should().Throw<InvalidArgumentException>().Which.Message.Should().ContainAll("ArgMax", "axis 2");
    }

    [Test]
    public void ArgMin_FloatOutputType_Throws()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(2, 3));
        var act = () => TF.ArgMin(x, 1, DType.Float32);
        act.Should().Throw<InvalidArgumentException>().Which.Message.Should().ContainAll("ArgMin", "output_type", "float32");
    }
}
