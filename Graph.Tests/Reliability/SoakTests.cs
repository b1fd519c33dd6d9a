using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

/// <summary>Long runs keep the managed heap flat: nothing accumulates per run.</summary>
[TestFixture]
[NonParallelizable]
public class SoakTests : GraphFixture
{
    /// <summary>10,000 runs alternating a forward pass (loss and accuracy fetched) and an Adam training step.</summary>
    [Test]
    public void TenThousandRunsAlternatingForwardAndTrainingKeepManagedMemoryFlat()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 16), name: "x");
        var y = TF.Placeholder(DType.Int32, new Shape(-1), name: "y");
        var h = TF.Tanh(TF.MatMul(x, TF.Variable(TF.RandomNormal([16, 32], stddev: 0.2, seed: 1), name: "w1")) + TF.Variable(TF.Zeros([32]), name: "b1"));
        var logits = TF.MatMul(h, TF.Variable(TF.RandomNormal([32, 10], stddev: 0.2, seed: 2), name: "w2"));
        var loss = TF.ReduceMean(TF.Nn.SparseSoftmaxCrossEntropyWithLogits(y, logits));
        var accuracy = TF.ReduceMean(TF.Cast(TF.Nn.InTopK(logits, y, 1), DType.Float32));
        var train = new AdamOptimizer(0.001).Minimize(loss);
        var rng = new Random(3);
        var feeds = new FeedDict
        {
            { x, HostTensor.From(Enumerable.Range(0, 64 * 16).Select(_ => (float)rng.NextDouble()).ToArray(), 64, 16) },
            { y, HostTensor.From(Enumerable.Range(0, 64).Select(_ => rng.Next(10)).ToArray(), 64) },
        };
        using var s = new Session(TestGraph);
        s.Run(TF.GlobalVariablesInitializer());
        void Step(int i)
        {
            if (i % 2 == 0) s.Run([loss, accuracy], feeds);
            else s.Run(train, feeds);
        }
        for (var i = 0; i < 500; i++) Step(i);
        var before = GC.GetTotalMemory(forceFullCollection: true);
        for (var i = 0; i < 10_000; i++) Step(i);
        var grown = GC.GetTotalMemory(forceFullCollection: true) - before;
        grown.Should().BeLessThan(1 << 20, "nothing may accumulate per run");
        s.PlansCompiled.Should().Be(3);
    }
}
