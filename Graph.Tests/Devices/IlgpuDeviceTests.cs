using FluentAssertions;
using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

/// <summary>The ILGPU devices: listing, errors, and the generated kernels on ilgpu-cpu against the cpu device.</summary>
[TestFixture]
public class IlgpuDeviceTests : GraphFixture
{
    private static HostTensor Run(ComputeGraph g, string device, Tensor t, FeedDict? feeds = null, Operation? init = null)
    {
        using var s = new Session(g, new SessionOptions { Device = device });
        if (init != null) s.Run(init);
        return s.Run(t, feeds);
    }

    private static void ShouldMatchCpu(ComputeGraph g, Tensor t, FeedDict? feeds = null, Operation? init = null, double tol = 1e-5)
    {
        var expected = Run(g, "cpu", t, feeds, init);
        var actual = Run(g, "ilgpu-cpu", t, feeds, init);
        actual.Dims.Should().Equal(expected.Dims);
        actual.DType.Should().Be(expected.DType);
        if (expected.DType.IsFloating())
        {
            var e = expected.AsType(DType.Float64).ToArray<double>();
            var a = actual.AsType(DType.Float64).ToArray<double>();
            for (var i = 0; i < e.Length; i++) a[i].Should().BeApproximately(e[i], tol * Math.Max(1, Math.Abs(e[i])), $"element {i}");
        }
        else actual.Data.Should().BeEquivalentTo(expected.Data, o => o.WithStrictOrdering());
    }

    /// <summary>
    /// A slice of a device buffer is a buffer of its own over the same memory (a TensorArray's step): writes through it
    /// land in the parent, its address is the parent's plus the offset (what cuBLAS is given), and disposing it frees nothing.
    /// </summary>
    [Test]
    public void ASliceSharesItsBuffersMemory()
    {
        var device = Graph.Kernels.Ilgpu.IlgpuDevice.Get("ilgpu-cpu");
        using var parent = Graph.Kernels.Ilgpu.DeviceBuffer.FromHost(device, DType.Float32, new float[] { 0, 1, 2, 3, 4, 5 });
        using var row = Graph.Kernels.Ilgpu.DeviceBuffer.FromHost(device, DType.Float32, new float[] { 10, 20 });
        var slice = parent.Slice(2, 2);
        (slice.DevicePointer - parent.DevicePointer).Should().Be(2 * sizeof(float));
        slice.CopyFrom(row);
        var read = new float[2];
        parent.Slice(1, 2).Download(read);
        read.Should().Equal(1f, 10f);
        slice.Dispose();
        var all = new float[6];
        parent.Download(all);
        all.Should().Equal(0f, 1f, 10f, 20f, 4f, 5f);
        var outside = () => parent.Slice(5, 2);
        outside.Should().Throw<InvalidOperationException>();
    }

    /// <summary>
    /// cuBLAS is looked for in the system's current CUDA toolkit first, then in versioned toolkits newest first: 12.10 is
    /// newer than 12.9 (an ordinal sort put 9.2 before 13.0).
    /// </summary>
    [Test]
    public void CudaToolkitsAreSearchedNewestFirst() =>
        Graph.Kernels.Ilgpu.Cuda.CuBlas.NewestToolkitFirst(["/usr/local/cuda-9.2", "/usr/local/cuda-12.9", "/usr/local/cuda-odd", "/usr/local/cuda-13.0", "/usr/local/cuda", "/usr/local/cuda-12.10"])
            .Should().Equal("/usr/local/cuda", "/usr/local/cuda-13.0", "/usr/local/cuda-12.10", "/usr/local/cuda-12.9", "/usr/local/cuda-9.2", "/usr/local/cuda-odd");

    [Test]
    public void ListsIlgpuCpu() => Devices.List().Select(d => d.Name).Should().Contain(["cpu", "ilgpu-cpu"]);

    [Test]
    public void AnAbsentDeviceIsAClearErrorListingThePresentOnes()
    {
        var act = () => new Session(TestGraph, new SessionOptions { Device = "tpu" });
        act.Should().Throw<ArgumentException>().WithMessage("Device 'tpu' is not available; available devices: cpu, ilgpu-cpu*");
        if (Devices.List().All(d => d.Name != "cuda"))
            ((Action)(() => new Session(TestGraph, new SessionOptions { Device = "cuda" }))).Should().Throw<ArgumentException>()
                .WithMessage("Device 'cuda' is not available; available devices: cpu, ilgpu-cpu*");
    }

    /// <summary>
    /// Debian's PoCL (installed by .ci/run) is an OpenCL 3.0 device without the generic address space ILGPU needs; it is
    /// reached through libOpenCL.so.1 (Debian has no unversioned libOpenCL.so without the -dev package).
    /// </summary>
    [Test]
    public void OpenClWithoutGenericAddressSpaceIsAClearError()
    {
        if (!File.Exists("/etc/OpenCL/vendors/pocl.icd")) Assert.Ignore("PoCL is not installed here (.ci/run installs pocl-opencl-icd).");
        Devices.List().Select(d => d.Name).Should().NotContain("opencl");
        var act = () => new Session(TestGraph, new SessionOptions { Device = "opencl" });
        act.Should().Throw<NotSupportedException>().WithMessage("*opencl*generic address space*Available devices: cpu, ilgpu-cpu*");
    }

    [Test]
    public void PeakBytesAreAccountedAsOnTheCpuDevice()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(8, 16));
        var y = TF.ReduceSum(TF.Exp(x) * 2f, [1]) + TF.ReduceMax(x, [1]);
        var feeds = new FeedDict { { x, HostTensor.Zeros(DType.Float32, 8, 16) } };
        long Peak(string device)
        {
            using var s = new Session(TestGraph, new SessionOptions { Device = device });
            s.Run(y, feeds);
            return s.LastRunPeakBytes;
        }
        Peak("ilgpu-cpu").Should().Be(Peak("cpu")).And.BeGreaterThan(0);
    }

    [Test]
    public void IntegerDivisionByZeroOnTheDeviceNamesTheOp()
    {
        var a = TF.Placeholder(DType.Int32, new Shape(3));
        var q = TF.TruncateDiv(a, TF.Constant(new[] { 1, 0, 2 }), name: "ratio");
        using var s = new Session(TestGraph, new SessionOptions { Device = "ilgpu-cpu" });
        var act = () => s.Run(q * 2, new FeedDict { { a, new[] { 4, 5, 6 } } });
        act.Should().Throw<InvalidArgumentException>().WithMessage("*'ratio'*integer division by zero*");
    }

    [Test]
    public void TrainingUpdatesVariablesOnTheDeviceAsOnTheCpu()
    {
        var rng = new Random(3);
        var x = TF.Placeholder(DType.Float32, new Shape(6, 16));
        var labels = TF.Placeholder(DType.Int32, new Shape(6));
        var w = TF.Variable(TF.RandomNormal([16, 8], stddev: 0.5, seed: 1), name: "w");
        var b = TF.Variable(TF.Zeros([8]), name: "b");
        var loss = TF.ReduceMean(TF.Nn.SparseSoftmaxCrossEntropyWithLogits(labels, TF.MatMul(x, w) + b));
        var train = new AdamOptimizer(0.05).Minimize(loss);
        var init = TF.GlobalVariablesInitializer();
        var feeds = new FeedDict
        {
            { x, HostTensor.From(Enumerable.Range(0, 96).Select(_ => (float)rng.NextDouble() * 2 - 1).ToArray(), 6, 16) },
            { labels, new[] { 0, 1, 2, 0, 1, 7 } },
        };
        var downloaded = 0L;
        (float[] W, float Loss) Train(string device)
        {
            using var s = new Session(TestGraph, new SessionOptions { Device = device });
            s.Run(init);
            s.Run([], [train], feeds);
            var before = Graph.Kernels.Ilgpu.IlgpuDevice.Get("ilgpu-cpu").DownloadedBytes;
            for (var i = 0; i < 4; i++) s.Run([], [train], feeds);
            downloaded = Graph.Kernels.Ilgpu.IlgpuDevice.Get("ilgpu-cpu").DownloadedBytes - before;
            return (s.GetVariableValue(w)!.ToArray<float>(), s.Run(loss, feeds).Item<float>());
        }
        var cpu = Train("cpu");
        var device = Train("ilgpu-cpu");
        // The label check reads the 6 labels on the host; the variables and Adam's slots (3 x 136 floats) stay on the device.
        downloaded.Should().BeLessThan(4 * 6 * sizeof(long) + 64, "training steps leave the variables on the device");
        device.Loss.Should().BeApproximately(cpu.Loss, 1e-5f);
        for (var i = 0; i < cpu.W.Length; i++) device.W[i].Should().BeApproximately(cpu.W[i], 1e-5f);
    }

    [Test]
    public void KernelsAreCompiledOnceAndCached()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(3, 4));
        var y = TF.Sigmoid(x * 3f - 1.25f) + TF.Sqrt(TF.Abs(x));
        var feeds = new FeedDict { { x, HostTensor.From(Enumerable.Range(0, 12).Select(i => i * 0.37f - 2f).ToArray(), 3, 4) } };
        var before = Devices.CompiledKernelCount("ilgpu-cpu");
        ShouldMatchCpu(TestGraph, y, feeds);
        var after = Devices.CompiledKernelCount("ilgpu-cpu");
        after.Should().BeGreaterThan(before, "the first run compiles the fused kernel");
        ShouldMatchCpu(TestGraph, y, feeds);
        Devices.CompiledKernelCount("ilgpu-cpu").Should().Be(after, "an identical fused expression is taken from the cache");
    }

    /// <summary>
    /// A loop on the device keeps its state and captured tensors (here a [64, 64] weight) in device memory: a run
    /// uploads the weight once and brings back only each iteration's condition and the final value.
    /// </summary>
    [Test]
    public void LoopStateStaysOnTheDevice()
    {
        const int n = 64, steps = 20;
        var w = TF.Placeholder(DType.Float32, new Shape(n, n));
        var r = TF.WhileLoop(v => TF.Less(v[0], TF.Constant(steps)), v => [v[0] + 1, TF.Tanh(TF.MatMul(v[1], w))],
            [TF.Constant(0), TF.Ones([1, n])]);
        var weights = HostTensor.From(Enumerable.Range(0, n * n).Select(i => MathF.Sin(i) * 0.1f).ToArray(), n, n);
        var feeds = new FeedDict { { w, weights } };
        var expected = Run(TestGraph, "cpu", r[1], feeds);
        var device = Graph.Kernels.Ilgpu.IlgpuDevice.Get("ilgpu-cpu");
        using var s = new Session(TestGraph, new SessionOptions { Device = "ilgpu-cpu" });
        s.Run(r[1], feeds);
        var (up, down) = (device.UploadedBytes, device.DownloadedBytes);
        var actual = s.Run(r[1], feeds);
        var uploaded = device.UploadedBytes - up;
        var downloaded = device.DownloadedBytes - down;
        uploaded.Should().BeLessThan(2L * n * n * sizeof(float), "the weight goes up once per run");
        downloaded.Should().BeLessThan(n * sizeof(float) + 4 * (steps + 1) * 8, "per iteration only the condition comes back, then the final [1, 64] state");
        var e = expected.ToArray<float>();
        var a = actual.ToArray<float>();
        for (var i = 0; i < e.Length; i++) a[i].Should().BeApproximately(e[i], 1e-5f);
    }

    /// <summary>A few long reductions are cut into chunks reduced by threads of their own, then the partial results.</summary>
    [Test]
    public void LongReductionsSplitAcrossThreadsMatchCpu()
    {
        var rng = new Random(9);
        var x = TF.Placeholder(DType.Float32, new Shape(5000, 3));
        var feeds = new FeedDict { { x, HostTensor.From(Enumerable.Range(0, 15000).Select(_ => (float)rng.NextDouble() * 2 - 1).ToArray(), 5000, 3) } };
        ShouldMatchCpu(TestGraph, TF.ReduceSum(x * x), feeds);                 // fused, one row of 15,000
        ShouldMatchCpu(TestGraph, TF.ReduceMax(x), feeds);                     // a lone reduction
        ShouldMatchCpu(TestGraph, TF.ReduceMean(x, [0]), feeds);               // three outputs, 5,000 each
        ShouldMatchCpu(TestGraph, TF.ReduceProd(x * 0f + 1.0001f, [0]), feeds);
        ShouldMatchCpu(TestGraph, TF.ReduceSum(TF.Exp(x), [1]), feeds);        // many short rows: one thread each
    }

    [Test]
    public void DenseLayerMatchesCpu()
    {
        var rng = new Random(1);
        var x = TF.Placeholder(DType.Float32, new Shape(5, 7));
        var w = TF.Constant(HostTensor.From(Enumerable.Range(0, 21).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray(), 7, 3));
        var b = TF.Constant(new float[] { 0.1f, -0.2f, 0.3f });
        var y = TF.Tanh(TF.MatMul(x, w) + b);
        var feeds = new FeedDict { { x, HostTensor.From(Enumerable.Range(0, 35).Select(_ => (float)rng.NextDouble()).ToArray(), 5, 7) } };
        ShouldMatchCpu(TestGraph, y, feeds);
        ShouldMatchCpu(TestGraph, TF.ReduceSum(y, [1]), feeds);
        ShouldMatchCpu(TestGraph, TF.ReduceMax(y, [0]), feeds);
        ShouldMatchCpu(TestGraph, TF.ArgMax(y, 1), feeds);
        ShouldMatchCpu(TestGraph, TF.Nn.Softmax(y), feeds);
        ShouldMatchCpu(TestGraph, TF.MatMul(x, w, transposeA: false) , feeds);
        ShouldMatchCpu(TestGraph, TF.MatMul(x, x, transposeB: true), feeds);
        ShouldMatchCpu(TestGraph, TF.MatMul(x, x, transposeA: true), feeds);
        ShouldMatchCpu(TestGraph, TF.Transpose(x), feeds);
        ShouldMatchCpu(TestGraph, TF.Concat([x, x * 2f], 1), feeds);
        ShouldMatchCpu(TestGraph, TF.Gather(x, TF.Constant(new[] { 4, 0, 2 })), feeds);
    }
}
