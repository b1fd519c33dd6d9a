using Graph.Core;
using Graph.Core.Data;
using Graph.Kernels;
using Graph.Rnn;

namespace Graph.Tests;

/// <summary>Notebook section 6 on the embedded real digits: 8,000 train / 2,000 test, two epochs.</summary>
[TestFixture]
[Category("Slow")]
public class MnistRnnTests
{
    [Test]
    public void TwoEpochsReachEightyFivePercentTestAccuracy()
    {
        var data = Mnist.LoadDigits();
        var g = new ComputeGraph { Seed = 42 };
        using var scope = g.AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 28, 28), "X");
        var y = TF.Placeholder(DType.Int32, new Shape(-1), "y");
        var (_, states) = Graph.Rnn.Rnn.DynamicRnn(new SimpleRNNCell(150), x);
        var logits = Layers.Dense(states[0], 10);
        var loss = TF.ReduceMean(TF.Nn.SparseSoftmaxCrossEntropyWithLogits(y, logits));
        var train = new AdamOptimizer(0.001).Minimize(loss);
        var accuracy = TF.ReduceMean(TF.Cast(TF.Nn.InTopK(logits, y, 1), DType.Float32));
        using var sess = new Session(g);
        sess.Run(TF.GlobalVariablesInitializer());
        var before = sess.Run(loss, new FeedDict { { x, data.TestImages }, { y, data.TestLabels } }).Item<float>();
        for (var epoch = 0; epoch < 2; epoch++)
            foreach (var (xb, yb) in Batches.ShuffleBatch(data.TrainImages, data.TrainLabels, 150, seed: epoch))
                sess.Run(train, new FeedDict { { x, xb }, { y, yb } });
        var (after, acc) = sess.Run(loss, accuracy, new FeedDict { { x, data.TestImages }, { y, data.TestLabels } });
        after.Item<float>().Should().BeLessThan(before);
        acc.Item<float>().Should().BeGreaterThanOrEqualTo(0.85f);
    }
}
