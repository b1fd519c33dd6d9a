using Graph.Core;

namespace Graph.Tests;

/// <summary>A one-hidden-layer tanh classifier trained by Adam on sparse labels, in the default graph, for the reliability tests.</summary>
internal sealed record SmallClassifier(Tensor X, Tensor Y, Tensor Loss, Tensor Logits, Operation Train)
{
    public static SmallClassifier Build(int inputs, int hidden, int classes, double learningRate)
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1, inputs), name: "x");
        var y = TF.Placeholder(DType.Int32, new Shape(-1), name: "y");
        var w1 = TF.Variable(TF.RandomNormal([inputs, hidden], stddev: 0.3, seed: 1), name: "w1");
        var h = TF.Tanh(TF.MatMul(x, w1) + TF.Variable(TF.Zeros([hidden]), name: "b1"));
        var logits = TF.MatMul(h, TF.Variable(TF.RandomNormal([hidden, classes], stddev: 0.3, seed: 2), name: "w2"));
        var loss = TF.ReduceMean(TF.Nn.SparseSoftmaxCrossEntropyWithLogits(y, logits));
        return new SmallClassifier(x, y, loss, logits, new AdamOptimizer(learningRate).Minimize(loss));
    }

    /// <summary>A batch of <paramref name="rows"/> random inputs in [-0.5, 0.5) and labels.</summary>
    public (HostTensor X, HostTensor Y) Batch(Random rng, int rows)
    {
        var (inputs, classes) = (X.Shape[1], Logits.Shape[1]);
        return (HostTensor.From(Enumerable.Range(0, rows * inputs).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray(), rows, inputs),
            HostTensor.From(Enumerable.Range(0, rows).Select(_ => rng.Next(classes)).ToArray(), rows));
    }
}
