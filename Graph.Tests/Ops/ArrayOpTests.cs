using System.Globalization;
using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

/// <summary>
/// Tests of the array ops: Reshape, Transpose, ExpandDims, Squeeze, Stack/Unstack, Concat, Split, Slice, Gather,
/// Tile, Fill, Zeros/Ones(-Like), Shape/Size/Rank, Identity and StopGradient — static shape inference (with unknown
/// dimensions and rank), forward values, and bad-input errors.
/// </summary>
[TestFixture("cpu")]
[TestFixture("ilgpu-cpu")]
[TestFixture("cuda", Category = "Cuda")]
public class ArrayOpTests(string device) : GraphFixture(device)
{

    // ------------------------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------------------------


    private HostTensor[] Eval(IReadOnlyList<Tensor> ts, FeedDict? feeds = null)
    {
        using var session = NewSession();
        return session.Run(ts, feeds);
    }

    private static string S(Tensor t) => t.Shape.ToString();

    private static int[] Ints(string s) =>
        s.Length == 0 ? [] : s.Split(',').Select(d => int.Parse(d, CultureInfo.InvariantCulture)).ToArray();

    private static Shape ParseShape(string s) => s switch
    {
        "unknown" => Shape.Unknown,
        "()" => Shape.Scalar,
        _ => new Shape(Ints(s)),
    };

    /// <summary>0, 1, 2, … as a float32 tensor of <paramref name="dims"/>.</summary>
    private static HostTensor Iota(params int[] dims) =>
        HostTensor.From(Enumerable.Range(0, (int)Shape.Product(dims)).Select(i => (float)i).ToArray(), dims);

    private static Tensor IotaConst(params int[] dims) => TF.Constant(Iota(dims));

    private static void ShouldEqual(HostTensor actual, HostTensor expected)
    {
        actual.DType.Should().Be(expected.DType);
        actual.Dims.Should().Equal(expected.Dims);
        actual.ContentEquals(expected).Should().BeTrue($"values {actual.Shape} should be\n{expected}\nbut were\n{actual}");
    }

    private static InvalidArgumentException ShouldThrow(Action act, params string[] fragments)
    {
        var e = act.Should().Throw<InvalidArgumentException>().Which;
        e.Message.Should().ContainAll(fragments);
        return e;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Reshape
    // ------------------------------------------------------------------------------------------------------------

    [TestCase("3,2", "(3, 2)")]
    [TestCase("-1", "(6,)")]
    [TestCase("-1,2", "(3, 2)")]
    [TestCase("1,-1,3", "(1, 2, 3)")]
    [TestCase("6,1", "(6, 1)")]
    [TestCase("2,3", "(2, 3)")]
    public void Reshape_KeepsRowMajorOrder(string shape, string expected)
    {
        var y = TF.Reshape(IotaConst(2, 3), Ints(shape));

        y.Op.Type.Should().Be("Reshape");
        S(y).Should().Be(expected);
        var r = Eval(y);
        r.Dims.Should().Equal(y.Shape.Dims);
        r.ToArray<float>().Should().Equal(0, 1, 2, 3, 4, 5);
    }

    [Test]
    public void Reshape_ScalarAndBack()
    {
        var y = TF.Reshape(TF.Constant(new[] { 7 }), []);
        S(y).Should().Be("()");
        Eval(y).Item<int>().Should().Be(7);
        S(TF.Reshape(y, [1, 1])).Should().Be("(1, 1)");
    }

    [TestCase("4,2")]
    [TestCase("4,-1")]
    [TestCase("5")]
    [TestCase("0,-1")]
    public void Reshape_IncompatibleElementCount_ThrowsNamingReshape(string shape)
    {
        var x = IotaConst(2, 3);
        ShouldThrow(() => TF.Reshape(x, Ints(shape)), "Reshape", "6 values", Shape.Format(Ints(shape)));
    }

    [TestCase("-1,-1")]
    [TestCase("-2,3")]
    public void Reshape_BadShapeAttribute_Throws(string shape)
    {
        var x = IotaConst(2, 3);
        ShouldThrow(() => TF.Reshape(x, Ints(shape)), "Reshape", "-1");
    }

    [TestCase("-1,3", "-1", "(?,)")]
    [TestCase("-1,3", "-1,6", "(?, 6)")]
    [TestCase("-1,3", "2,3,-1", "(2, 3, ?)")]
    [TestCase("-1,3", "3,2", "(3, 2)")]
    [TestCase("unknown", "2,-1", "(2, ?)")]
    [TestCase("unknown", "4", "(4,)")]
    public void Reshape_InfersShapeWithUnknownDims(string input, string shape, string expected)
    {
        var x = TF.Placeholder(DType.Float32, ParseShape(input));
        S(TF.Reshape(x, Ints(shape))).Should().Be(expected);
    }

    [Test]
    public void Reshape_UnknownDims_ResolvesMinusOneFromFedShape()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 3));
        var y = TF.Reshape(x, [-1, 6]);

        var r = Eval(y, new FeedDict { { x, Iota(4, 3) } });
        r.Dims.Should().Equal(2, 6);
        r.ToArray<float>().Should().Equal(Iota(4, 3).ToArray<float>());
    }

    [Test]
    public void Reshape_UnknownDims_IncompatibleFedShape_ThrowsAtRunNamingReshape()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 3));
        var y = TF.Reshape(x, [-1, 6], name: "to_pairs");

        ShouldThrow(() => Eval(y, new FeedDict { { x, Iota(1, 3) } }), "Reshape", "to_pairs", "3 values", "[-1, 6]");
    }

    // ------------------------------------------------------------------------------------------------------------
    // Transpose
    // ------------------------------------------------------------------------------------------------------------

    /// <summary>Float64 reference: output axis i is input axis perm[i].</summary>
    private static HostTensor ReferenceTranspose(HostTensor x, int[] perm)
    {
        var inDims = x.Dims;
        var outDims = perm.Select(p => inDims[p]).ToArray();
        var data = x.ToArray<float>();
        var result = new float[data.Length];
        var inStrides = HostOps.Strides(inDims);
        var outStrides = HostOps.Strides(outDims);
        for (var o = 0; o < result.Length; o++)
        {
            var src = 0;
            for (var i = 0; i < outDims.Length; i++) src += o / outStrides[i] % outDims[i] * inStrides[perm[i]];
            result[o] = data[src];
        }
        return HostTensor.From(result, outDims);
    }

    [TestCase("2,3", "1,0", "(3, 2)")]
    [TestCase("2,3", "0,1", "(2, 3)")]
    [TestCase("2,3,4", "1,0,2", "(3, 2, 4)")]
    [TestCase("2,3,4", "2,0,1", "(4, 2, 3)")]
    [TestCase("2,3,4", "0,2,1", "(2, 4, 3)")]
    [TestCase("2,3,4", "2,1,0", "(4, 3, 2)")]
    public void Transpose_PermutesAxes(string shape, string perm, string expected)
    {
        var x = Iota(Ints(shape));
        var y = TF.Transpose(TF.Constant(x), Ints(perm));

        y.Op.Type.Should().Be("Transpose");
        S(y).Should().Be(expected);
        ShouldEqual(Eval(y), ReferenceTranspose(x, Ints(perm)));
    }

    [Test]
    public void Transpose_Matrix_HandComputed()
    {
        var r = Eval(TF.Transpose(TF.Constant(new[,] { { 1, 2, 3 }, { 4, 5, 6 } })));
        r.Dims.Should().Equal(3, 2);
        r.ToArray<int>().Should().Equal(1, 4, 2, 5, 3, 6);
    }

    [TestCase("2,3", "1,0")]
    [TestCase("2,3,4", "2,1,0")]
    [TestCase("5", "0")]
    public void Transpose_DefaultReversesAxes(string shape, string reversed)
    {
        var x = Iota(Ints(shape));
        var y = TF.Transpose(TF.Constant(x));

        y.Op.Attr<int[]>("perm").Should().Equal(Ints(reversed));
        ShouldEqual(Eval(y), ReferenceTranspose(x, Ints(reversed)));
    }

    [TestCase("0,0")]
    [TestCase("0,1,2")]
    [TestCase("0")]
    [TestCase("0,2")]
    [TestCase("-1,0")]
    public void Transpose_BadPerm_Throws(string perm)
    {
        var x = TF.Placeholder(DType.Float32, new Shape(2, 3));
        ShouldThrow(() => TF.Transpose(x, Ints(perm)), "Transpose", Shape.Format(Ints(perm)));
    }

    [TestCase("-1,3", "1,0", "(3, ?)")]
    [TestCase("-1,3,-1", "2,0,1", "(?, ?, 3)")]
    [TestCase("unknown", "1,0", "(?, ?)")]
    public void Transpose_InfersShapeWithUnknownDims(string shape, string perm, string expected)
    {
        var x = TF.Placeholder(DType.Float32, ParseShape(shape));
        S(TF.Transpose(x, Ints(perm))).Should().Be(expected);
    }

    [Test]
    public void Transpose_UnknownRank_NeedsPerm_AndComputesForFedShape()
    {
        var x = TF.Placeholder(DType.Float32, Shape.Unknown);
        ShouldThrow(() => TF.Transpose(x), "Transpose", "rank");

        var y = TF.Transpose(x, [1, 0]);
        ShouldEqual(Eval(y, new FeedDict { { x, Iota(2, 3) } }), ReferenceTranspose(Iota(2, 3), [1, 0]));
        ShouldThrow(() => Eval(y, new FeedDict { { x, Iota(2, 3, 4) } }), "Transpose", "[1, 0]");
    }

    // ------------------------------------------------------------------------------------------------------------
    // ExpandDims / Squeeze
    // ------------------------------------------------------------------------------------------------------------

    [TestCase(0, "(1, 2, 3)")]
    [TestCase(1, "(2, 1, 3)")]
    [TestCase(2, "(2, 3, 1)")]
    [TestCase(-1, "(2, 3, 1)")]
    [TestCase(-2, "(2, 1, 3)")]
    [TestCase(-3, "(1, 2, 3)")]
    public void ExpandDims_InsertsSizeOneAxis(int axis, string expected)
    {
        var y = TF.ExpandDims(IotaConst(2, 3), axis);

        y.Op.Type.Should().Be("ExpandDims");
        S(y).Should().Be(expected);
        var r = Eval(y);
        r.Dims.Should().Equal(y.Shape.Dims);
        r.ToArray<float>().Should().Equal(0, 1, 2, 3, 4, 5);
    }

    [TestCase(3)]
    [TestCase(-4)]
    public void ExpandDims_AxisOutOfRange_Throws(int axis)
    {
        var x = TF.Placeholder(DType.Float32, new Shape(2, 3));
        ShouldThrow(() => TF.ExpandDims(x, axis), "ExpandDims", $"axis {axis}");
    }

    [TestCase("-1,3", 0, "(1, ?, 3)")]
    [TestCase("-1,3", -1, "(?, 3, 1)")]
    [TestCase("()", 0, "(1,)")]
    [TestCase("unknown", 0, "<unknown>")]
    public void ExpandDims_InfersShape(string shape, int axis, string expected)
    {
        var x = TF.Placeholder(DType.Float32, ParseShape(shape));
        S(TF.ExpandDims(x, axis)).Should().Be(expected);
    }

    [TestCase(null, "(2, 3)")]
    [TestCase("0", "(2, 1, 3)")]
    [TestCase("2", "(1, 2, 3)")]
    [TestCase("-2", "(1, 2, 3)")]
    [TestCase("0,2", "(2, 3)")]
    [TestCase("-4,-2", "(2, 3)")]
    public void Squeeze_RemovesSizeOneAxes(string? axes, string expected)
    {
        var y = TF.Squeeze(IotaConst(1, 2, 1, 3), axes == null ? null : Ints(axes));

        y.Op.Type.Should().Be("Squeeze");
        S(y).Should().Be(expected);
        var r = Eval(y);
        r.Dims.Should().Equal(y.Shape.Dims);
        r.ToArray<float>().Should().Equal(0, 1, 2, 3, 4, 5);
    }

    [TestCase("1")]
    [TestCase("0,3")]
    [TestCase("-1")]
    public void Squeeze_NonOneAxis_Throws(string axes)
    {
        var x = TF.Placeholder(DType.Float32, new Shape(1, 2, 1, 3));
        ShouldThrow(() => TF.Squeeze(x, Ints(axes)), "Squeeze", "not 1");
    }

    [Test]
    public void Squeeze_AxisOutOfRange_Throws()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(1, 2));
        ShouldThrow(() => TF.Squeeze(x, [2]), "Squeeze", "axis 2");
    }

    [TestCase("-1,1,3", null, "<unknown>")]
    [TestCase("-1,1,3", "1", "(?, 3)")]
    [TestCase("-1,1,3", "0", "(1, 3)")]
    [TestCase("2,1,3", null, "(2, 3)")]
    [TestCase("unknown", "0", "<unknown>")]
    public void Squeeze_InfersShapeWithUnknownDims(string shape, string? axes, string expected)
    {
        var x = TF.Placeholder(DType.Float32, ParseShape(shape));
        S(TF.Squeeze(x, axes == null ? null : Ints(axes))).Should().Be(expected);
    }

    [Test]
    public void Squeeze_UnknownDims_UsesFedShape()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 1, 3));
        var all = TF.Squeeze(x);
        var first = TF.Squeeze(x, [0]);

        Eval(all, new FeedDict { { x, Iota(2, 1, 3) } }).Dims.Should().Equal(2, 3);
        Eval(all, new FeedDict { { x, Iota(1, 1, 3) } }).Dims.Should().Equal(3);
        Eval(first, new FeedDict { { x, Iota(1, 1, 3) } }).Dims.Should().Equal(1, 3);
        ShouldThrow(() => Eval(first, new FeedDict { { x, Iota(2, 1, 3) } }), "Squeeze", "not 1");
    }

    // ------------------------------------------------------------------------------------------------------------
    // Stack / Unstack
    // ------------------------------------------------------------------------------------------------------------

    [TestCase(0, "(3, 2)", new float[] { 1, 2, 3, 4, 5, 6 })]
    [TestCase(1, "(2, 3)", new float[] { 1, 3, 5, 2, 4, 6 })]
    [TestCase(-1, "(2, 3)", new float[] { 1, 3, 5, 2, 4, 6 })]
    [TestCase(-2, "(3, 2)", new float[] { 1, 2, 3, 4, 5, 6 })]
    public void Stack_Vectors(int axis, string expectedShape, float[] expected)
    {
        var parts = new[] { TF.Constant(new[] { 1f, 2f }), TF.Constant(new[] { 3f, 4f }), TF.Constant(new[] { 5f, 6f }) };
        var y = TF.Stack(parts, axis);

        y.Op.Type.Should().Be("Pack");
        S(y).Should().Be(expectedShape);
        var r = Eval(y);
        r.Dims.Should().Equal(y.Shape.Dims);
        r.ToArray<float>().Should().Equal(expected);
    }

    [TestCase(0, "(2, 2, 3)")]
    [TestCase(1, "(2, 2, 3)")]
    [TestCase(2, "(2, 3, 2)")]
    public void Stack_Matrices_MatchesUnstackedSlices(int axis, string expectedShape)
    {
        var a = Iota(2, 3);
        var b = HostTensor.From(a.ToArray<float>().Select(v => v + 10).ToArray(), 2, 3);
        var y = TF.Stack([TF.Constant(a), TF.Constant(b)], axis);

        S(y).Should().Be(expectedShape);
        var parts = Eval(TF.Unstack(y, axis));
        parts.Should().HaveCount(2);
        ShouldEqual(parts[0], a);
        ShouldEqual(parts[1], b);
    }

    [Test]
    public void Stack_InfersShapeWithUnknownDims()
    {
        var a = TF.Placeholder(DType.Float32, new Shape(-1, 3));
        var b = TF.Placeholder(DType.Float32, new Shape(2, -1));
        S(TF.Stack([a, b])).Should().Be("(2, 2, 3)");
        S(TF.Stack([a, a], axis: 1)).Should().Be("(?, 2, 3)");
        S(TF.Stack([TF.Placeholder(DType.Float32, Shape.Unknown), a], axis: 2)).Should().Be("(?, 3, 2)");
        S(TF.Stack([TF.Placeholder(DType.Float32, Shape.Unknown)])).Should().Be("<unknown>");
    }

    [Test]
    public void Stack_BadInputs_Throw()
    {
        var a = TF.Placeholder(DType.Float32, new Shape(2));
        ShouldThrow(() => TF.Stack([a, TF.Placeholder(DType.Float32, new Shape(3))]), "Pack", "(2,)", "(3,)");
        ShouldThrow(() => TF.Stack([a, TF.Placeholder(DType.Int32, new Shape(2))]), "Pack", "int32", "float32");
        ShouldThrow(() => TF.Stack([a, a], axis: 2), "Pack", "axis 2");
    }

    [TestCase(0, 2, "(3,)")]
    [TestCase(1, 3, "(2,)")]
    [TestCase(-1, 3, "(2,)")]
    public void Unstack_Matrix(int axis, int count, string partShape)
    {
        var x = Iota(2, 3);
        var parts = TF.Unstack(TF.Constant(x), axis);

        parts.Should().HaveCount(count);
        parts.Should().AllSatisfy(p => S(p).Should().Be(partShape));
        parts[0].Op.Type.Should().Be("Unpack");
        var values = Eval(parts);
        for (var i = 0; i < count; i++)
        {
            var expected = axis == 0 ? x[i] : ReferenceTranspose(x, [1, 0])[i];
            ShouldEqual(values[i], expected);
        }
    }

    [Test]
    public void Unstack_UnknownDims()
    {
        var parts = TF.Unstack(TF.Placeholder(DType.Float32, new Shape(-1, 2)), axis: 1);
        parts.Should().HaveCount(2);
        S(parts[0]).Should().Be("(?,)");

        ShouldThrow(() => TF.Unstack(TF.Placeholder(DType.Float32, new Shape(-1, 2))), "Unpack", "(?, 2)");
        ShouldThrow(() => TF.Unstack(TF.Placeholder(DType.Float32, Shape.Unknown)), "Unpack", "unknown rank");
        ShouldThrow(() => TF.Unstack(TF.Placeholder(DType.Float32, new Shape(2, 2)), axis: 2), "Unpack", "axis 2");
    }

    // ------------------------------------------------------------------------------------------------------------
    // Concat
    // ------------------------------------------------------------------------------------------------------------

    [TestCase(0, "2,3", "1,3", "(3, 3)", new float[] { 0, 1, 2, 3, 4, 5, 100, 101, 102 })]
    [TestCase(1, "2,3", "2,2", "(2, 5)", new float[] { 0, 1, 2, 100, 101, 3, 4, 5, 102, 103 })]
    [TestCase(-1, "2,3", "2,1", "(2, 4)", new float[] { 0, 1, 2, 100, 3, 4, 5, 101 })]
    [TestCase(-2, "1,2", "2,2", "(3, 2)", new float[] { 0, 1, 100, 101, 102, 103 })]
    public void Concat_JoinsAlongAxis(int axis, string aShape, string bShape, string expectedShape, float[] expected)
    {
        var a = TF.Constant(Iota(Ints(aShape)));
        var b = TF.Constant(HostTensor.From(Iota(Ints(bShape)).ToArray<float>().Select(v => v + 100).ToArray(), Ints(bShape)));
        var y = TF.Concat([a, b], axis);

        y.Op.Type.Should().Be("ConcatV2");
        S(y).Should().Be(expectedShape);
        var r = Eval(y);
        r.Dims.Should().Equal(y.Shape.Dims);
        r.ToArray<float>().Should().Equal(expected);
    }

    /// <summary>
    /// Concats write into plan buffers that later values of their size reuse (and into a fresh array when fetched):
    /// chained concats, each read once, give the right values in two runs with different feeds, and the fetched
    /// results of the two runs are distinct arrays.
    /// </summary>
    [Test]
    public void Concat_IntoReusedPlanBuffers_KeepsEachRunsValues()
    {
        var a = TF.Placeholder(DType.Float32, new Shape(2, 3), "a");
        var b = TF.Placeholder(DType.Float32, new Shape(2, 1), "b");
        var first = TF.Concat([a, b], 1);
        var second = TF.Concat([b, first * 2f], 1);
        var third = TF.Concat([second - 1f, b], 1);
        var ints = TF.Concat([TF.Cast(a, DType.Int32), TF.Cast(-a, DType.Int32)], 0);
        float[] Expected(float[] av, float[] bv)
        {
            var rows = new List<float>();
            for (var r = 0; r < 2; r++)
                rows.AddRange(new[] { bv[r] - 1, 2 * av[3 * r] - 1, 2 * av[3 * r + 1] - 1, 2 * av[3 * r + 2] - 1, 2 * bv[r] - 1, bv[r] });
            return rows.ToArray();
        }
        using var sess = NewSession();
        var results = new List<HostTensor[]>();
        foreach (var (av, bv) in new[] { (new float[] { 1, 2, 3, 4, 5, 6 }, new float[] { 7, 8 }), (new float[] { -1, -2, -3, -4, -5, -6 }, new float[] { 9, 10 }) })
        {
            var r = sess.Run([third, ints], new FeedDict { { a, HostTensor.From(av, [2, 3]) }, { b, HostTensor.From(bv, [2, 1]) } });
            r[0].Dims.Should().Equal(2, 6);
            r[0].ToArray<float>().Should().Equal(Expected(av, bv));
            r[1].ToArray<int>().Should().Equal(av.Select(v => (int)v).Concat(av.Select(v => -(int)v)));
            results.Add(r);
        }
        results[0][0].ToArray<float>().Should().NotEqual(results[1][0].ToArray<float>());
    }

    [Test]
    public void Concat_ThreeInt64Vectors()
    {
        var y = TF.Concat([TF.Constant(new long[] { 1 }), TF.Constant(new long[] { 2, 3 }), TF.Constant(new long[] { 4 })], 0);
        S(y).Should().Be("(4,)");
        Eval(y).ToArray<long>().Should().Equal(1, 2, 3, 4);
    }

    [TestCase(1, "2,3", "3,2")]
    [TestCase(0, "2,3", "2,2")]
    [TestCase(-1, "2,3", "3,2")]
    [TestCase(2, "2,3,4", "2,4,1")]
    public void Concat_MismatchedDims_ThrowNamingConcatAndBothShapes(int axis, string aShape, string bShape)
    {
        var a = TF.Placeholder(DType.Float32, ParseShape(aShape));
        var b = TF.Placeholder(DType.Float32, ParseShape(bShape));
        ShouldThrow(() => TF.Concat([a, b], axis), "ConcatV2", a.Shape.ToString(), b.Shape.ToString());
    }

    [TestCase(0, "2", "2,3")]
    [TestCase(0, "2,3", "2")]
    [TestCase(1, "2,3", "2")]
    public void Concat_RankMismatch_ThrowsAtBuildTime(int axis, string aShape, string bShape)
    {
        var a = TF.Placeholder(DType.Float32, ParseShape(aShape));
        var b = TF.Placeholder(DType.Float32, ParseShape(bShape));
        ShouldThrow(() => TF.Concat([a, b], axis), "ConcatV2", "rank");
    }

    [Test]
    public void Concat_AxisOutOfRange_Throws()
    {
        var a = TF.Placeholder(DType.Float32, new Shape(2, 3));
        ShouldThrow(() => TF.Concat([a, a], 2), "ConcatV2", "axis 2");
    }

    [TestCase(0, "-1,3", "2,3", "(?, 3)")]
    [TestCase(1, "-1,3", "2,4", "(2, 7)")]
    [TestCase(1, "-1,-1", "2,4", "(2, ?)")]
    [TestCase(0, "unknown", "2,3", "(?, 3)")]
    [TestCase(0, "unknown", "unknown", "<unknown>")]
    public void Concat_InfersShapeWithUnknownDims(int axis, string aShape, string bShape, string expected)
    {
        var a = TF.Placeholder(DType.Float32, ParseShape(aShape));
        var b = TF.Placeholder(DType.Float32, ParseShape(bShape));
        S(TF.Concat([a, b], axis)).Should().Be(expected);
    }

    [Test]
    public void Concat_UnknownDims_MismatchAtRun_ThrowsNamingConcat()
    {
        var a = TF.Placeholder(DType.Float32, new Shape(-1, 3));
        var b = TF.Placeholder(DType.Float32, new Shape(-1, 3));
        var y = TF.Concat([a, b], 1);
        S(y).Should().Be("(?, 6)");

        Eval(y, new FeedDict { { a, Iota(2, 3) }, { b, Iota(2, 3) } }).Dims.Should().Equal(2, 6);
        ShouldThrow(() => Eval(y, new FeedDict { { a, Iota(2, 3) }, { b, Iota(3, 3) } }), "ConcatV2", "(2, 3)", "(3, 3)");
    }

    // ------------------------------------------------------------------------------------------------------------
    // Split
    // ------------------------------------------------------------------------------------------------------------

    [TestCase(3, 1, "(2, 2)")]
    [TestCase(2, 0, "(1, 6)")]
    [TestCase(2, -1, "(2, 3)")]
    [TestCase(1, 1, "(2, 6)")]
    public void Split_EqualParts(int numSplits, int axis, string partShape)
    {
        var x = Iota(2, 6);
        var parts = TF.Split(TF.Constant(x), numSplits, axis);

        parts.Should().HaveCount(numSplits);
        parts.Should().AllSatisfy(p => S(p).Should().Be(partShape));
        var values = Eval(parts);
        var a = axis < 0 ? axis + 2 : axis;
        var width = x.Dims[a] / numSplits;
        for (var i = 0; i < numSplits; i++)
        {
            var begin = a == 0 ? new[] { i * width, 0 } : new[] { 0, i * width };
            var size = a == 0 ? new[] { width, 6 } : new[] { 2, width };
            ShouldEqual(values[i], ReferenceSlice(x, begin, size));
        }
    }

    [Test]
    public void Split_SizesWithMinusOne()
    {
        var x = Iota(2, 6);
        var parts = TF.Split(TF.Constant(x), [1, -1, 2], axis: 1);

        parts.Select(S).Should().Equal("(2, 1)", "(2, 3)", "(2, 2)");
        parts[0].Op.Type.Should().Be("SplitV");
        var values = Eval(parts);
        values[0].ToArray<float>().Should().Equal(0, 6);
        values[1].ToArray<float>().Should().Equal(1, 2, 3, 7, 8, 9);
        values[2].ToArray<float>().Should().Equal(4, 5, 10, 11);
    }

    [Test]
    public void Split_ExplicitSizesAlongAxis0()
    {
        var parts = TF.Split(TF.Constant(Iota(3, 2)), [2, 1]);
        var values = Eval(parts);
        values[0].Dims.Should().Equal(2, 2);
        values[0].ToArray<float>().Should().Equal(0, 1, 2, 3);
        values[1].ToArray<float>().Should().Equal(4, 5);
    }

    [Test]
    public void Split_UnknownDims_InfersParts()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 4));
        var parts = TF.Split(x, 2, axis: 1);
        parts.Select(S).Should().Equal("(?, 2)", "(?, 2)");

        var values = Eval(parts, new FeedDict { { x, Iota(3, 4) } });
        values[0].Dims.Should().Equal(3, 2);
        values[1].ToArray<float>().Should().Equal(2, 3, 6, 7, 10, 11);
        ShouldThrow(() => TF.Split(x, 2, axis: 0), "Split", "(?, 4)");
    }

    [Test]
    public void Split_BadInputs_Throw()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(2, 6));
        ShouldThrow(() => TF.Split(x, 4, axis: 1), "Split", "4");
        ShouldThrow(() => TF.Split(x, [1, 2], axis: 1), "[1, 2]", "6");
        ShouldThrow(() => TF.Split(x, [-1, -1], axis: 1), "Split", "-1");
        ShouldThrow(() => TF.Split(x, [1, -2, 7], axis: 1), "Split", "-2");
    }

    [TestCase("4,-1,3")]
    [TestCase("7,-1")]
    public void Split_KnownSizesExceedingDimensionWithMinusOne_Throw(string sizes)
    {
        // The known sizes already exceed the 6 columns, so nothing is left for the -1 part.
        var x = TF.Placeholder(DType.Float32, new Shape(2, 6));
        ShouldThrow(() => TF.Split(x, Ints(sizes), axis: 1), "Split", "6");
    }

    [TestCase(2)]
    [TestCase(-3)]
    public void Split_AxisOutOfRange_ThrowsInvalidArgument(int axis)
    {
        var x = TF.Placeholder(DType.Float32, new Shape(2, 6));
        ShouldThrow(() => TF.Split(x, 2, axis), "Split", $"axis {axis}");
        ShouldThrow(() => TF.Split(x, [1, 1], axis), "Split", $"axis {axis}");
    }

    // ------------------------------------------------------------------------------------------------------------
    // Slice
    // ------------------------------------------------------------------------------------------------------------

    private static HostTensor ReferenceSlice(HostTensor x, int[] begin, int[] size)
    {
        var dims = x.Dims;
        size = size.Select((s, i) => s == -1 ? dims[i] - begin[i] : s).ToArray();
        var data = x.ToArray<float>();
        var result = new float[(int)Shape.Product(size)];
        var inStrides = HostOps.Strides(dims);
        var outStrides = HostOps.Strides(size);
        for (var o = 0; o < result.Length; o++)
        {
            var src = 0;
            for (var i = 0; i < size.Length; i++) src += (begin[i] + o / outStrides[i] % size[i]) * inStrides[i];
            result[o] = data[src];
        }
        return HostTensor.From(result, size);
    }

    [TestCase("1,1", "2,-1", "(2, 3)")]
    [TestCase("0,2", "-1,1", "(3, 1)")]
    [TestCase("0,0", "3,4", "(3, 4)")]
    [TestCase("2,3", "1,1", "(1, 1)")]
    [TestCase("3,0", "0,-1", "(0, 4)")]
    [TestCase("1,0", "-1,-1", "(2, 4)")]
    public void Slice_TakesBlock(string begin, string size, string expected)
    {
        var x = Iota(3, 4);
        var y = TF.Slice(TF.Constant(x), Ints(begin), Ints(size));

        y.Op.Type.Should().Be("Slice");
        S(y).Should().Be(expected);
        ShouldEqual(Eval(y), ReferenceSlice(x, Ints(begin), Ints(size)));
    }

    [Test]
    public void Slice_HandComputed()
    {
        var r = Eval(TF.Slice(TF.Constant(new[,] { { 1, 2, 3 }, { 4, 5, 6 } }), [0, 1], [-1, 2]));
        r.Dims.Should().Equal(2, 2);
        r.ToArray<int>().Should().Equal(2, 3, 5, 6);
    }

    [TestCase("2,0", "2,4")]
    [TestCase("0,3", "1,2")]
    [TestCase("4,0", "-1,1")]
    [TestCase("-1,0", "1,1")]
    [TestCase("0,0", "1,-2")]
    public void Slice_OutOfBounds_ThrowsAtBuildTime(string begin, string size)
    {
        var x = TF.Placeholder(DType.Float32, new Shape(3, 4));
        ShouldThrow(() => TF.Slice(x, Ints(begin), Ints(size)), "Slice", Shape.Format(Ints(begin)), Shape.Format(Ints(size)));
    }

    [Test]
    public void Slice_WrongNumberOfEntries_Throws()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(3, 4));
        ShouldThrow(() => TF.Slice(x, [0], [1]), "Slice");
        ShouldThrow(() => TF.Slice(x, [0, 0], [1]), "Slice");
    }

    [TestCase("-1,4", "1,0", "-1,2", "(?, 2)")]
    [TestCase("-1,4", "1,1", "2,-1", "(2, 3)")]
    [TestCase("unknown", "0,1", "2,-1", "(2, ?)")]
    public void Slice_InfersShapeWithUnknownDims(string shape, string begin, string size, string expected)
    {
        var x = TF.Placeholder(DType.Float32, ParseShape(shape));
        S(TF.Slice(x, Ints(begin), Ints(size))).Should().Be(expected);
    }

    [Test]
    public void Slice_UnknownDims_ComputesForFedShape_AndThrowsWhenOutOfBounds()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 4));
        var y = TF.Slice(x, [1, 0], [-1, 2]);
        var z = TF.Slice(x, [1, 0], [2, 2]);

        ShouldEqual(Eval(y, new FeedDict { { x, Iota(3, 4) } }), ReferenceSlice(Iota(3, 4), [1, 0], [2, 2]));
        ShouldThrow(() => Eval(z, new FeedDict { { x, Iota(2, 4) } }), "Slice", "(2, 4)");
    }

    // ------------------------------------------------------------------------------------------------------------
    // Gather
    // ------------------------------------------------------------------------------------------------------------

    [TestCase(DType.Int32)]
    [TestCase(DType.Int64)]
    public void Gather_Axis0(DType indexType)
    {
        var indices = TF.Constant(HostTensor.From(new[] { 3, 0, 3 }, 3).AsType(indexType));
        var y = TF.Gather(TF.Constant(Iota(4, 2)), indices);

        y.Op.Type.Should().Be("GatherV2");
        S(y).Should().Be("(3, 2)");
        var r = Eval(y);
        r.Dims.Should().Equal(3, 2);
        r.ToArray<float>().Should().Equal(6, 7, 0, 1, 6, 7);
    }

    [TestCase(DType.Int32)]
    [TestCase(DType.Int64)]
    public void Gather_Axis1(DType indexType)
    {
        var indices = TF.Constant(HostTensor.From(new[] { 2, 0 }, 2).AsType(indexType));
        var y = TF.Gather(TF.Constant(Iota(2, 3)), indices, axis: 1);

        S(y).Should().Be("(2, 2)");
        Eval(y).ToArray<float>().Should().Equal(2, 0, 5, 3);
    }

    [Test]
    public void Gather_MatrixIndices_Axis1OfRank3()
    {
        var y = TF.Gather(TF.Constant(Iota(2, 3, 2)), TF.Constant(new[,] { { 0, 2 }, { 1, 1 } }), axis: 1);

        S(y).Should().Be("(2, 2, 2, 2)");
        // params[i, j, k] = 6i + 2j + k; result[i, a, b, k] = params[i, idx[a, b], k].
        Eval(y).ToArray<float>().Should().Equal(0, 1, 4, 5, 2, 3, 2, 3, 6, 7, 10, 11, 8, 9, 8, 9);
    }

    [Test]
    public void Gather_NegativeAxis_AndScalarIndex()
    {
        var y = TF.Gather(TF.Constant(Iota(2, 3)), TF.Constant(HostTensor.Scalar(1)), axis: -1);
        S(y).Should().Be("(2,)");
        Eval(y).ToArray<float>().Should().Equal(1, 4);
    }

    [TestCase(4)]
    [TestCase(-1)]
    public void Gather_IndexOutOfRange_ThrowsAtRunNamingOp(int bad)
    {
        var y = TF.Gather(TF.Constant(Iota(4, 2)), TF.Constant(new[] { 0, bad }), name: "lookup");
        S(y).Should().Be("(2, 2)");

        ShouldThrow(() => Eval(y), "GatherV2", "lookup", bad.ToString(CultureInfo.InvariantCulture), "[0, 4)");
    }

    [Test]
    public void Gather_IndexOutOfRangeOnAxis1_ThrowsAtRunWithFedIndices()
    {
        var indices = TF.Placeholder(DType.Int64, new Shape(-1));
        var y = TF.Gather(TF.Constant(Iota(4, 2)), indices, axis: 1);

        Eval(y, new FeedDict { { indices, new long[] { 1, 0, 1 } } }).ToArray<float>().Should().Equal(1, 0, 1, 3, 2, 3, 5, 4, 5, 7, 6, 7);
        ShouldThrow(() => Eval(y, new FeedDict { { indices, new long[] { 2 } } }), "GatherV2", "[0, 2)");
    }

    [TestCase("-1,3", "5", 0, "(5, 3)")]
    [TestCase("-1,3", "5", 1, "(?, 5)")]
    [TestCase("4,3", "-1,2", 0, "(?, 2, 3)")]
    [TestCase("4,3", "()", 0, "(3,)")]
    [TestCase("unknown", "5", 0, "<unknown>")]
    [TestCase("4,3", "unknown", 0, "<unknown>")]
    public void Gather_InfersShape(string paramsShape, string indicesShape, int axis, string expected)
    {
        var p = TF.Placeholder(DType.Float32, ParseShape(paramsShape));
        var i = TF.Placeholder(DType.Int32, ParseShape(indicesShape));
        S(TF.Gather(p, i, axis)).Should().Be(expected);
    }

    [Test]
    public void Gather_BadInputs_Throw()
    {
        var p = TF.Placeholder(DType.Float32, new Shape(4, 3));
        ShouldThrow(() => TF.Gather(p, TF.Placeholder(DType.Float32, new Shape(2))), "GatherV2", "indices", "float32");
        ShouldThrow(() => TF.Gather(p, TF.Placeholder(DType.Int32, new Shape(2)), axis: 2), "GatherV2", "axis 2");
        ShouldThrow(() => TF.Gather(TF.Placeholder(DType.Float32, Shape.Scalar), TF.Placeholder(DType.Int32, new Shape(2))), "GatherV2", "scalar");
    }

    // ------------------------------------------------------------------------------------------------------------
    // Tile
    // ------------------------------------------------------------------------------------------------------------

    [TestCase("2,1", "(4, 3)", new float[] { 0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5 })]
    [TestCase("1,2", "(2, 6)", new float[] { 0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5 })]
    [TestCase("2,2", "(4, 6)", new float[] { 0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5, 0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5 })]
    [TestCase("1,1", "(2, 3)", new float[] { 0, 1, 2, 3, 4, 5 })]
    [TestCase("0,1", "(0, 3)", new float[0])]
    public void Tile_RepeatsAlongAxes(string multiples, string expectedShape, float[] expected)
    {
        var y = TF.Tile(IotaConst(2, 3), Ints(multiples));

        y.Op.Type.Should().Be("Tile");
        S(y).Should().Be(expectedShape);
        var r = Eval(y);
        r.Dims.Should().Equal(y.Shape.Dims);
        r.ToArray<float>().Should().Equal(expected);
    }

    [TestCase("-1,3", "2,2", "(?, 6)")]
    [TestCase("unknown", "2,3", "(?, ?)")]
    public void Tile_InfersShapeWithUnknownDims(string shape, string multiples, string expected)
    {
        var x = TF.Placeholder(DType.Float32, ParseShape(shape));
        S(TF.Tile(x, Ints(multiples))).Should().Be(expected);
    }

    [Test]
    public void Tile_UnknownDims_ComputesForFedShape()
    {
        var x = TF.Placeholder(DType.Int32, new Shape(-1));
        var r = Eval(TF.Tile(x, [3]), new FeedDict { { x, new[] { 1, 2 } } });
        r.ToArray<int>().Should().Equal(1, 2, 1, 2, 1, 2);
    }

    [Test]
    public void Tile_BadMultiples_Throw()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(2, 3));
        ShouldThrow(() => TF.Tile(x, [2]), "Tile", "[2]", "(2, 3)");
        ShouldThrow(() => TF.Tile(x, [1, -1]), "Tile", "[1, -1]");
    }

    // ------------------------------------------------------------------------------------------------------------
    // Fill, Zeros, Ones, ZerosLike, OnesLike
    // ------------------------------------------------------------------------------------------------------------

    [Test]
    public void Fill_BroadcastsScalar()
    {
        var y = TF.Fill([2, 3], TF.Constant(HostTensor.Scalar(7.5f)));

        y.Op.Type.Should().Be("Fill");
        y.DType.Should().Be(DType.Float32);
        S(y).Should().Be("(2, 3)");
        var r = Eval(y);
        r.Dims.Should().Equal(2, 3);
        r.ToArray<float>().Should().AllBeEquivalentTo(7.5f).And.HaveCount(6);
    }

    [Test]
    public void Fill_IntFromFedScalar_AndEmptyDims()
    {
        var v = TF.Placeholder(DType.Int64, Shape.Scalar);
        var y = TF.Fill([3], v);
        var s = TF.Fill([], v);

        Eval(y, new FeedDict { { v, 4L } }).ToArray<long>().Should().Equal(4, 4, 4);
        S(s).Should().Be("()");
        Eval(s, new FeedDict { { v, -2L } }).Item<long>().Should().Be(-2);
    }

    [Test]
    public void Fill_BadInputs_Throw()
    {
        ShouldThrow(() => TF.Fill([2], TF.Constant(new[] { 1f, 2f })), "Fill", "scalar", "(2,)");
        ShouldThrow(() => TF.Fill([2, -1], TF.Constant(HostTensor.Scalar(1f))), "Fill", "[2, -1]");
    }

    [TestCase(DType.Float32)]
    [TestCase(DType.Float64)]
    [TestCase(DType.Int32)]
    [TestCase(DType.Int64)]
    [TestCase(DType.Bool)]
    public void ZerosAndOnes_HaveShapeDTypeAndValues(DType dtype)
    {
        var zeros = TF.Zeros([2, 3], dtype);
        var ones = TF.Ones([2, 3], dtype);

        zeros.Op.Name.Should().Be("zeros");
        ones.Op.Name.Should().Be("ones");
        zeros.DType.Should().Be(dtype);
        S(zeros).Should().Be("(2, 3)");
        S(ones).Should().Be("(2, 3)");
        ShouldEqual(Eval(zeros), HostTensor.Zeros(dtype, 2, 3));
        ShouldEqual(Eval(ones), HostTensor.From(Enumerable.Repeat(1.0, 6).ToArray(), 2, 3).AsType(dtype));
    }

    [Test]
    public void ZerosAndOnes_DefaultToFloat32_AndScalarShape()
    {
        var z = TF.Zeros([]);
        z.DType.Should().Be(DType.Float32);
        S(z).Should().Be("()");
        Eval(z).Item<float>().Should().Be(0f);
        Eval(TF.Ones([1])).ToArray<float>().Should().Equal(1f);
    }

    [TestCase(DType.Float32)]
    [TestCase(DType.Int32)]
    [TestCase(DType.Int64)]
    [TestCase(DType.Bool)]
    public void ZerosLikeAndOnesLike_KeepShapeAndDType(DType dtype)
    {
        var x = TF.Constant(HostTensor.From(new double[] { 3, -1, 2, 5, 0, 7 }, 3, 2).AsType(dtype));
        var zeros = TF.ZerosLike(x);
        var ones = TF.OnesLike(x);

        zeros.Op.Type.Should().Be("ZerosLike");
        ones.Op.Type.Should().Be("OnesLike");
        zeros.DType.Should().Be(dtype);
        ones.DType.Should().Be(dtype);
        S(ones).Should().Be("(3, 2)");
        ShouldEqual(Eval(zeros), HostTensor.Zeros(dtype, 3, 2));
        ShouldEqual(Eval(ones), HostTensor.From(Enumerable.Repeat(1.0, 6).ToArray(), 3, 2).AsType(dtype));
    }

    [Test]
    public void ZerosLikeAndOnesLike_UnknownDims_UseFedShape()
    {
        var x = TF.Placeholder(DType.Float64, new Shape(-1, 3));
        var u = TF.Placeholder(DType.Float32, Shape.Unknown);
        S(TF.ZerosLike(x)).Should().Be("(?, 3)");
        S(TF.OnesLike(u)).Should().Be("<unknown>");

        var r = Eval(TF.OnesLike(x), new FeedDict { { x, new double[4, 3] } });
        r.DType.Should().Be(DType.Float64);
        r.Dims.Should().Equal(4, 3);
        r.ToArray<double>().Should().AllBeEquivalentTo(1.0);
        var z = Eval(TF.ZerosLike(u), new FeedDict { { u, Iota(2, 1, 2) } });
        z.Dims.Should().Equal(2, 1, 2);
        z.ToArray<float>().Should().AllBeEquivalentTo(0f);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Shape, Size, Rank
    // ------------------------------------------------------------------------------------------------------------

    [TestCase("-1,3", "(2,)")]
    [TestCase("2,3,4", "(3,)")]
    [TestCase("()", "(0,)")]
    [TestCase("unknown", "(?,)")]
    public void ShapeSizeRank_InferShape(string shape, string expectedShapeOfShape)
    {
        var x = TF.Placeholder(DType.Float32, ParseShape(shape));
        var shapeOf = TF.ShapeOf(x);
        var size = TF.Size(x);
        var rank = TF.Rank(x);

        shapeOf.Op.Type.Should().Be("Shape");
        size.Op.Type.Should().Be("Size");
        rank.Op.Type.Should().Be("Rank");
        new[] { shapeOf, size, rank }.Should().AllSatisfy(t => t.DType.Should().Be(DType.Int32));
        S(shapeOf).Should().Be(expectedShapeOfShape);
        S(size).Should().Be("()");
        S(rank).Should().Be("()");
    }

    [Test]
    public void ShapeSizeRank_OfConstant()
    {
        var x = IotaConst(2, 3, 4);
        var r = Eval([TF.ShapeOf(x), TF.Size(x), TF.Rank(x)]);
        r[0].DType.Should().Be(DType.Int32);
        r[0].ToArray<int>().Should().Equal(2, 3, 4);
        r[1].Item<int>().Should().Be(24);
        r[2].Item<int>().Should().Be(3);
    }

    [TestCase("-1,-1", new[] { 2, 5 })]
    [TestCase("-1,-1", new[] { 0, 7 })]
    [TestCase("unknown", new[] { 2, 3, 4 })]
    [TestCase("unknown", new[] { 6 })]
    [TestCase("unknown", new int[0])]
    public void ShapeSizeRank_ReflectTheFedShape(string placeholderShape, int[] fedDims)
    {
        var x = TF.Placeholder(DType.Float32, ParseShape(placeholderShape));
        var feeds = new FeedDict { { x, HostTensor.Zeros(DType.Float32, fedDims) } };

        var r = Eval([TF.ShapeOf(x), TF.Size(x), TF.Rank(x)], feeds);
        r[0].Dims.Should().Equal(fedDims.Length);
        r[0].ToArray<int>().Should().Equal(fedDims);
        r[1].Item<int>().Should().Be((int)Shape.Product(fedDims));
        r[2].Item<int>().Should().Be(fedDims.Length);
    }

    [Test]
    public void ShapeSizeRank_SameSession_FollowEachFeed()
    {
        var x = TF.Placeholder(DType.Int32, Shape.Unknown);
        var fetches = new[] { TF.ShapeOf(x), TF.Size(x), TF.Rank(x) };
        using var session = NewSession();

        var first = session.Run(fetches, new FeedDict { { x, new int[2, 3] } });
        var second = session.Run(fetches, new FeedDict { { x, new[] { 1, 2, 3, 4, 5 } } });

        first[0].ToArray<int>().Should().Equal(2, 3);
        first[1].Item<int>().Should().Be(6);
        first[2].Item<int>().Should().Be(2);
        second[0].ToArray<int>().Should().Equal(5);
        second[1].Item<int>().Should().Be(5);
        second[2].Item<int>().Should().Be(1);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Identity / StopGradient
    // ------------------------------------------------------------------------------------------------------------

    [TestCase("Identity")]
    [TestCase("StopGradient")]
    public void IdentityAndStopGradient_PassValuesThrough(string type)
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 2));
        var y = type == "Identity" ? TF.Identity(x) : TF.StopGradient(x);

        y.Op.Type.Should().Be(type);
        y.DType.Should().Be(DType.Float32);
        S(y).Should().Be("(?, 2)");
        var fed = Iota(3, 2);
        ShouldEqual(Eval(y, new FeedDict { { x, fed } }), fed);
    }

    [TestCase("Identity")]
    [TestCase("StopGradient")]
    public void IdentityAndStopGradient_OfConstant_ReturnCopies(string type)
    {
        var c = TF.Constant(new long[] { 1, 2, 3 });
        var y = type == "Identity" ? TF.Identity(c) : TF.StopGradient(c);
        S(TF.Identity(TF.Placeholder(DType.Bool, Shape.Unknown))).Should().Be("<unknown>");

        var first = Eval(y);
        first.DType.Should().Be(DType.Int64);
        first.Span<long>()[0] = 100; // must not alter the constant
        Eval(y).ToArray<long>().Should().Equal(1, 2, 3);
    }
}
