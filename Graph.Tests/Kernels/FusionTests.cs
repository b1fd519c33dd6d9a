using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

[TestFixture]
public class FusionTests
{
    [Test]
    public void DenseTanhLayerIsOneKernel()
    {
        var g = new ComputeGraph { Seed = 1 };
        using var scope = g.AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 28));
        var w = TF.Variable(TF.RandomNormal([28, 150]));
        var b = TF.Variable(TF.Zeros([150]));
        var y = TF.Tanh(TF.MatMul(x, w) + b);
        using var sess = new Session(g);
        sess.Run(TF.GlobalVariablesInitializer());
        sess.Run(y, new FeedDict { { x, new float[4, 28] } });
        sess.LastPlan!.Kernels.Should().HaveCountLessThanOrEqualTo(2);
        sess.LastPlan.Kernels.Should().ContainSingle().Which.Group.Head.Should().NotBeNull("the bias add and tanh are the matmul's epilogue");
    }

    [Test]
    public void AdamUpdateOfOneVariableIsOneElementwiseKernel()
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var v = TF.Variable(TF.Constant(new float[] { 1, 2, 3 }));
        var grad = TF.Placeholder(DType.Float32, new Shape(3));
        var adam = new AdamOptimizer(0.1);
        var update = adam.ApplyGradients([(grad, v)]);
        using var sess = new Session(g);
        sess.Run(TF.GlobalVariablesInitializer());
        sess.Run(update, new FeedDict { { grad, new float[] { 1, 1, 1 } } });
        var kernels = sess.LastPlan!.Kernels;
        var tensorKernels = kernels.Where(k => k.Group.Dims.SequenceEqual(new[] { 3 })).ToList();
        tensorKernels.Should().ContainSingle("m, v and the variable update in one pass");
        tensorKernels[0].Group.Outputs.OfType<AssignVariablePrim>().Should().HaveCount(3);
    }

    [Test]
    public void FiftyOpChainOnAMillionElementsHoldsAtMostThreeBuffers([Values] bool fusion)
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(1 << 20));
        var y = x;
        for (var i = 0; i < 50; i++) y = i % 2 == 0 ? TF.Tanh(y) : y * 0.5;
        using var sess = new Session(g, new SessionOptions { Fusion = fusion });
        var input = new float[1 << 20];
        sess.Run(y, new FeedDict { { x, input } });
        var plan = sess.LastPlan!;
        plan.PeakBytes.Should().BeLessThanOrEqualTo(3L * 4 * (1 << 20));
        sess.LastRunPeakBytes.Should().Be(plan.PeakBytes, "there are no variables");
        if (fusion) plan.Kernels.Should().ContainSingle();
        else plan.BufferCount.Should().BeLessThanOrEqualTo(2, "dead buffers are reused");
    }

    [Test]
    public void MemoryLimitFailsBeforeRunningAndNamesTheOp()
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var v = TF.Variable(TF.Zeros([4]));
        var x = TF.Placeholder(DType.Float32, new Shape(1000));
        var big = TF.Exp(x, name: "big_exp");
        var assign = v.Assign(TF.Constant(new float[] { 1, 2, 3, 4 }));
        using var sess = new Session(g, new SessionOptions { MemoryLimitBytes = 1000 });
        sess.Run(v.Initializer);
        var act = () => sess.Run([big], [assign.Op], new FeedDict { { x, new float[1000] } });
        act.Should().Throw<ResourceExhaustedException>().WithMessage("*big_exp*1000 bytes*");
        sess.Run(v.Value).ToArray<float>().Should().Equal(0f, 0f, 0f, 0f);
    }

    [Test]
    public void SoftmaxFusesProducersIntoItsReductions()
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 10));
        var y = TF.Nn.Softmax(x * 2.0);
        using var sess = new Session(g);
        var r = sess.Run(y, new FeedDict { { x, new float[5, 10] } });
        r.ToArray<float>().Should().AllSatisfy(v => v.Should().BeApproximately(0.1f, 1e-6f));
        sess.LastPlan!.Kernels.Count(k => k.Group.Tail != null && k.Group.Members.Count > 1).Should().BeGreaterThanOrEqualTo(1);
        sess.LastPlan.Describe().Should().Contain("reduce-max").And.EndWith($"ops {sess.LastPlan.Operations.Count}");
    }
}

[TestFixture]
public class BufferReuseTests
{
    [Test]
    public void CheckedIndicesKeepTheirComputedSourceAlive()
    {
        // The indices are computed into a plan buffer and range-checked (a pass-through view); later kernels must not
        // reuse that buffer before the gather reads it.
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var p = TF.Placeholder(DType.Float32, new Shape(4, 3));
        var raw = TF.Placeholder(DType.Int32, new Shape(1000));
        var indices = TF.Abs(raw) - 1.0;
        var filler = TF.Cast(TF.Tanh(TF.Cast(raw, DType.Float32)) * 0.0, DType.Int32) + 3.0;
        var gathered = TF.Gather(p, indices + filler * 0.0);
        using var sess = new Session(g);
        var idx = Enumerable.Range(0, 1000).Select(i => i % 4 + 1).ToArray();
        var values = new float[4, 3];
        for (var i = 0; i < 12; i++) values[i / 3, i % 3] = i;
        var r = sess.Run(gathered, new FeedDict { { p, values }, { raw, idx } });
        r.Dims.Should().Equal(1000, 3);
        for (var i = 0; i < 1000; i++) r.Get<float>(i, 0).Should().Be(3 * (i % 4));
    }
}
