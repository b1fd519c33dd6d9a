using Graph.Core;
using Graph.Core.Data;
using Graph.Kernels;
using Graph.Rnn;

namespace Graph.Tests;

[TestFixture]
[Category("Learning")]
public class RealDigitsTests
{
    [Test]
    public void SoftmaxClassifierLearnsOneThousandRealDigits()
    {
        // The notebook's head (dense + sparse softmax cross-entropy + Adam) as a softmax classifier on pixels.
        var data = Mnist.LoadDigits();
        var rows = Enumerable.Range(0, 1000).ToArray();
        var images = Batches.TakeRows(data.TrainImages, rows).Reshape(1000, 784);
        var labels = Batches.TakeRows(data.TrainLabels, rows);
        var g = new ComputeGraph { Seed = 42 };
        using var scope = g.AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 784));
        var y = TF.Placeholder(DType.Int32, new Shape(-1));
        var logits = Layers.Dense(x, 10);
        var loss = TF.ReduceMean(TF.Nn.SparseSoftmaxCrossEntropyWithLogits(y, logits));
        var train = new AdamOptimizer(0.01).Minimize(loss);
        var accuracy = TF.ReduceMean(TF.Cast(TF.Nn.InTopK(logits, y, 1), DType.Float32));
        using var sess = new Session(g);
        sess.Run(TF.GlobalVariablesInitializer());
        for (var epoch = 0; epoch < 10; epoch++)
            foreach (var (xb, yb) in Batches.ShuffleBatch(images, labels, 100, seed: epoch))
                sess.Run(train, new FeedDict { { x, xb }, { y, yb } });
        sess.Run(accuracy, new FeedDict { { x, images }, { y, labels } }).Item<float>().Should().BeGreaterThan(0.8f);
    }
}
