using Graph.Core;
using Graph.Kernels;
using Graph.Kernels.Cpu;

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
        var model = SmallClassifier.Build(inputs: 16, hidden: 32, classes: 10, learningRate: 0.001);
        var (loss, train) = (model.Loss, model.Train);
        var accuracy = TF.ReduceMean(TF.Cast(TF.Nn.InTopK(model.Logits, model.Y, 1), DType.Float32));
        var (bx, by) = model.Batch(new Random(3), 64);
        var feeds = new FeedDict { { model.X, bx }, { model.Y, by } };
        using var s = new Session(TestGraph);
        s.Run(TF.GlobalVariablesInitializer());
        void Step(int i)
        {
            if (i % 2 == 0) s.Run([loss, accuracy], feeds);
            else s.Run(train, feeds);
        }
        for (var i = 0; i < 500; i++) Step(i);
        CpuWarmUp.WaitIdle(TimeSpan.FromSeconds(60)); // the heap is process-wide: the warm-up thread's work must be done
        var before = GC.GetTotalMemory(forceFullCollection: true);
        for (var i = 0; i < 10_000; i++) Step(i);
        var grown = GC.GetTotalMemory(forceFullCollection: true) - before;
        grown.Should().BeLessThan(1 << 20, "nothing may accumulate per run");
        s.PlansCompiled.Should().Be(3);
    }
}
