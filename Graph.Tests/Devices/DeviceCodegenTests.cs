using System.Text.RegularExpressions;
using Graph.Core;
using Graph.Kernels;
using Graph.Kernels.Ilgpu;

namespace Graph.Tests;

/// <summary>
/// Values that ILGPU's GPU backends once computed wrongly (measured on an H200 and on PoCL): bools computed inside a
/// kernel cast to numbers, signed integer division by an inlined power-of-two constant, integer means. The inputs are
/// computed on the device (a comparison in the same fused kernel), not fed, so the cast happens in generated code.
/// </summary>
[TestFixture("cpu")]
[TestFixture("ilgpu-cpu")]
[TestFixture("cuda", Category = "Cuda")]
public class DeviceNumericsTests(string device) : GraphFixture(device)
{
    [TestCase(DType.Float32)]
    [TestCase(DType.Float64)]
    [TestCase(DType.Int32)]
    [TestCase(DType.Int64)]
    public void DeviceComputedBoolCastsToZeroOrOne(DType to)
    {
        var x = TF.Placeholder(DType.Float32, new Shape(5));
        var y = TF.Cast(TF.Greater(x, TF.Constant(HostTensor.Scalar(0.5f))), to);
        var sum = TF.ReduceSum(y);
        using var sess = NewSession();
        var (values, total) = sess.Run(y, sum, new FeedDict { { x, new[] { 1f, 0f, 2f, -1f, 0.75f } } });
        values.DType.Should().Be(to);
        values.ToArray<double>().Should().Equal(1, 0, 1, 0, 1);
        total.ToArray<double>().Should().Equal(3);
    }

    /// <summary>
    /// A float sum that reaches an infinity (an infinite term, or an overflow) is that infinity, as a plain sum gives it:
    /// the device kernels sum with Kahan compensation, whose correction term became inf − inf = NaN and turned every
    /// such sum into NaN. Rows of a plain reduction, the chunked reduction of a few long rows, column sums, a fused
    /// square-then-sum, float64, and +inf with −inf (NaN, as a plain sum).
    /// </summary>
    [Test]
    public void FloatSumsThatReachAnInfinityAreThatInfinity()
    {
        var inf = float.PositiveInfinity;
        var x = TF.Placeholder(DType.Float32, new Shape(-1, -1));
        var d = TF.Placeholder(DType.Float64, new Shape(-1, -1));
        var longRow = new float[1, 5000];
        for (var i = 0; i < 5000; i++) longRow[0, i] = 1f;
        longRow[0, 17] = inf;
        var columns = new float[100, 3];
        for (var r = 0; r < 100; r++)
            for (var c = 0; c < 3; c++) columns[r, c] = 1f;
        columns[5, 1] = inf;
        columns[7, 2] = -inf;
        using var sess = NewSession();
        float[] Sum(Tensor t, float[,] value) => sess.Run(t, new FeedDict { { x, value } }).ToArray<float>();
        Sum(TF.ReduceSum(x, [1]), new[,] { { inf, 1f, 1f }, { 1f, 1f, -inf }, { 3e38f, 3e38f, 1f }, { -3e38f, -3e38f, 1f }, { inf, -inf, 1f }, { 1f, 2f, 3f } })
            .Should().Equal(inf, -inf, inf, -inf, float.NaN, 6f);
        Sum(TF.ReduceSum(x), longRow).Should().Equal(inf);
        Sum(TF.ReduceSum(x, [1]), longRow).Should().Equal(inf);
        Sum(TF.ReduceSum(x, [0]), columns).Should().Equal(100f, inf, -inf);
        Sum(TF.ReduceMean(x, [0]), columns).Should().Equal(1f, inf, -inf);
        Sum(TF.ReduceSum(TF.Square(x), [1]), new[,] { { 2e19f, 2e19f, 1f }, { 1f, 2f, 3f } }).Should().Equal(inf, 14f);
        sess.Run(TF.ReduceSum(d, [1]), new FeedDict { { d, new[,] { { 1e308, 1e308, 1.0 }, { double.NegativeInfinity, 1.0, 2.0 } } } }).ToArray<double>()
            .Should().Equal(double.PositiveInfinity, double.NegativeInfinity);
    }

    /// <summary>The accuracy metric of the MNIST script: mean of Cast(InTopK(...), float32) — 0 on cuda before the fix.</summary>
    [Test]
    public void AccuracyOfInTopKIsTheFractionOfHits()
    {
        var logits = TF.Placeholder(DType.Float32, new Shape(4, 3));
        var labels = TF.Placeholder(DType.Int32, new Shape(4));
        var accuracy = TF.ReduceMean(TF.Cast(TF.Nn.InTopK(logits, labels, 1), DType.Float32));
        using var sess = NewSession();
        var r = sess.Run(accuracy, new FeedDict
        {
            { logits, new[,] { { 1f, 2f, 3f }, { 3f, 2f, 1f }, { 0f, 5f, 1f }, { 1f, 0f, 0f } } },
            { labels, new[] { 2, 0, 0, 0 } },
        });
        r.ToArray<float>().Should().Equal(0.75f);
    }

    /// <summary>Integer division by inlined constants (powers of two among them) truncates toward zero, in int32 and int64.</summary>
    [Test]
    public void IntegerDivisionByConstantsTruncatesTowardZero()
    {
        int[] values = [-7, 7, -1, 1, -8, 9, int.MinValue + 1, int.MaxValue, 0];
        foreach (var divisor in new[] { 2, 4, -2, 3, -8, 1 })
        {
            var x = TF.Placeholder(DType.Int32, new Shape(values.Length));
            var x64 = TF.Placeholder(DType.Int64, new Shape(values.Length));
            using var sess = NewSession();
            var (q, q64) = sess.Run(TF.TruncateDiv(x, TF.Constant(divisor)), TF.TruncateDiv(x64, TF.Constant((long)divisor)), new FeedDict { { x, values }, { x64, values.Select(v => (long)v * 3).ToArray() } });
            q.ToArray<int>().Should().Equal(values.Select(v => v / divisor), $"int32 x / {divisor}");
            q64.ToArray<long>().Should().Equal(values.Select(v => (long)v * 3 / divisor), $"int64 x / {divisor}");
        }
    }

    [Test]
    public void IntegerMeanTruncatesTowardZero()
    {
        var x = TF.Placeholder(DType.Int32, new Shape(2, 2));
        using var sess = NewSession();
        var (all, rows) = sess.Run(TF.ReduceMean(x), TF.ReduceMean(x, [1]), new FeedDict { { x, new[,] { { -1, -2 }, { -4, 1 } } } });
        all.ToArray<int>().Should().Equal(-1);   // -6 / 4
        rows.ToArray<int>().Should().Equal(-1, -1); // -3 / 2, -3 / 2
    }

    /// <summary>An index check feeding only a gather is done by the gather kernel on the devices, with the cpu's message.</summary>
    [Test]
    public void ABadGatherIndexFailsWithTheIndexChecksMessage()
    {
        var p = TF.Placeholder(DType.Float32, new Shape(4, 2));
        var i = TF.Placeholder(DType.Int32, new Shape(3));
        var y = TF.Gather(p, i, name: "pick");
        string Message(string device)
        {
            using var sess = new Session(TestGraph, new SessionOptions { Device = device });
            var run = () => sess.Run(y, new FeedDict { { p, new float[4, 2] }, { i, new[] { 1, 7, 9 } } });
            return run.Should().Throw<InvalidArgumentException>().Which.Message;
        }
        var expected = Message("cpu");
        expected.Should().Contain("pick").And.Contain("7");
        Message(Device).Should().Be(expected);
    }

    [Test]
    public void MinValueDividedByMinusOneFailsNamingTheOp()
    {
        var x = TF.Placeholder(DType.Int32, new Shape(2));
        var y = TF.Placeholder(DType.Int32, new Shape(2));
        var q = TF.TruncateDiv(x, y, name: "overflowing_div");
        using var sess = NewSession();
        var run = () => sess.Run(q, new FeedDict { { x, new[] { 6, int.MinValue } }, { y, new[] { -1, -1 } } });
        run.Should().Throw<InvalidArgumentException>().WithMessage("*overflowing_div*integer division overflow*");
    }
}

/// <summary>
/// The code ILGPU generates for the GPU backends, checked without a GPU: the kernels a graph runs on <c>ilgpu-cpu</c>
/// are compiled to PTX (SM 9.0) and OpenCL C, and must not contain the patterns that made cuda and opencl compute
/// wrong values (a bool's bits moved into a float; a signed division by 2 as an arithmetic shift) or differ from
/// the cpu device (float multiply-adds the driver may contract into FMAs).
/// </summary>
[TestFixture]
public class KernelCodeTests
{
    private static readonly Regex Contractable = new(@"\b(add|sub|mul)\.f(32|64)\b");

    /// <summary>Runs <paramref name="build"/>'s fetches on ilgpu-cpu and returns the kernel methods its plan loaded (compiled or cached).</summary>
    private static List<System.Reflection.MethodInfo> KernelsOf(Func<(Tensor[] Fetches, FeedDict Feeds)> build)
    {
        var graph = new ComputeGraph();
        using var scope = graph.AsDefault();
        var (fetches, feeds) = build();
        var device = IlgpuDevice.Get(IlgpuDevices.IlgpuCpu);
        var loaded = new List<System.Reflection.MethodInfo>();
        device.Recording = loaded;
        try
        {
            using var sess = new Session(graph, new SessionOptions { Device = IlgpuDevices.IlgpuCpu });
            sess.Run(fetches, feeds);
        }
        finally
        {
            device.Recording = null;
        }
        return loaded.Distinct().ToList();
    }

    private static (Tensor[], FeedDict) BoolCastAndIntegerDivision()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(3));
        var i = TF.Placeholder(DType.Int32, new Shape(3));
        var hits = TF.ReduceSum(TF.Cast(TF.Greater(x, TF.Constant(HostTensor.Scalar(0f))), DType.Float32));
        var halves = TF.TruncateDiv(i, TF.Constant(2));
        var mean = TF.ReduceMean(i);
        return ([hits, halves, mean], new FeedDict { { x, new[] { 1f, -1f, 2f } }, { i, new[] { -7, 3, -1 } } });
    }

    [Test]
    public void PtxMovesNoBoolBitsIntoFloats()
    {
        foreach (var kernel in KernelsOf(BoolCastAndIntegerDivision))
        {
            var ptx = KernelCode.ToPtx(kernel);
            ptx.Should().NotMatchRegex(@"selp\.b32\s+%f\d+,\s*0f00000001", $"{kernel.DeclaringType?.Name}.{kernel.Name} must select 1.0f, not the bits 0x00000001");
        }
    }

    [Test]
    public void PtxDividesSignedInt32WithoutArithmeticShifts()
    {
        var kernels = KernelsOf(BoolCastAndIntegerDivision);
        var divisions = kernels.Select(KernelCode.ToPtx).Where(p => p.Contains("div.u32") || p.Contains("shr.u32")).ToList();
        divisions.Should().NotBeEmpty("the integer division and mean kernels were compiled");
        foreach (var ptx in divisions) ptx.Should().NotContain("shr.s32", "a signed shift rounds toward -infinity");
    }

    [Test]
    public void PtxRoundsEveryFloatAddAndMultiplyOnItsOwn()
    {
        var kernels = KernelsOf(() =>
        {
            var x = TF.Placeholder(DType.Float64, new Shape(4));
            var f = TF.Placeholder(DType.Float32, new Shape(4));
            // The sums: a fused square-then-sum and a plain reduction, whose Kahan steps call DeviceMath.KahanCompensation.
            return ([TF.Log(x) * x + x, TF.Pow(x, x), TF.Tanh(f) * f + f, TF.Softplus(x), TF.ReduceSum(TF.Square(f)), TF.ReduceSum(TF.Reshape(x, [2, 2]), [0])], new FeedDict { { x, new[] { 0.5, 1.5, 2.0, 3.0 } }, { f, new[] { 0.5f, 1f, 2f, 3f } } });
        });
        kernels.Should().NotBeEmpty();
        foreach (var kernel in kernels)
        {
            var ptx = KernelCode.ToPtx(kernel);
            Contractable.IsMatch(ptx).Should().BeFalse($"{kernel.Name}: every float add/sub/mul carries .rn (no FMA contraction)");
            ptx.Should().Contain(".rn.f", "the kernels do float arithmetic");
        }
    }

    [Test]
    public void OpenClForbidsContractionAndMovesNoBoolBits()
    {
        foreach (var kernel in KernelsOf(BoolCastAndIntegerDivision))
        {
            var source = KernelCode.ToOpenCl(kernel);
            source.Should().StartWith("#pragma OPENCL FP_CONTRACT OFF");
            // The bug's OpenCL form: cond ? 1.40129846E-45f : 0.0f (the float whose bits are 1).
            source.Should().NotContain("1.40129846E-45f");
        }
    }

    [Test]
    public void RewriteAddsRoundingModesOnlyWhereMissing()
    {
        KernelCode.WithoutContraction("mul.f32 %f1, %f2, %f3;\nadd.f64 %fd1, %fd2, %fd3;\nsub.f32 a;\nmul.rn.f32 x;\nadd.s32 %r1;\nmul.wide.u32 %rd1;")
            .Should().Be("mul.rn.f32 %f1, %f2, %f3;\nadd.rn.f64 %fd1, %fd2, %fd3;\nsub.rn.f32 a;\nmul.rn.f32 x;\nadd.s32 %r1;\nmul.wide.u32 %rd1;");
        // Indented and predicated instructions too; an atomic's operation takes no rounding mode and is left alone.
        KernelCode.WithoutContraction("\tmul.f32 %f1, %f2, %f3;\n\t@%p1 add.f32 %f4, %f5, %f6;\n\t@!%p2 sub.f64 %fd1, %fd2, %fd3;\n\tatom.global.add.f32 %f7, [%rd1], %f8;\n\tred.global.add.f64 [%rd2], %fd4;")
            .Should().Be("\tmul.rn.f32 %f1, %f2, %f3;\n\t@%p1 add.rn.f32 %f4, %f5, %f6;\n\t@!%p2 sub.rn.f64 %fd1, %fd2, %fd3;\n\tatom.global.add.f32 %f7, [%rd1], %f8;\n\tred.global.add.f64 [%rd2], %fd4;");
    }
}
