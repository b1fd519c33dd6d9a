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

    [Test]
    public void ListsIlgpuCpu() => Devices.List().Select(d => d.Name).Should().Contain(["cpu", "ilgpu-cpu"]);

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
