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
        var (g, x, y, _, loss, train, accuracy) = NotebookModels.MnistRnn();
        using var scope = g.AsDefault();
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
