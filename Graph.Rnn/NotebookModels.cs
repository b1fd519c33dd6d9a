using Graph.Core;
using Graph.Core.Data;

namespace Graph.Rnn;

/// <summary>The MNIST RNN of the notebook's section 6 and the tensors a training loop needs.</summary>
/// <param name="Graph">The graph holding the model.</param>
/// <param name="X">Images [batch, 28, 28] (rows are time steps).</param>
/// <param name="Y">Labels [batch] int32.</param>
/// <param name="Logits">Class scores [batch, 10].</param>
/// <param name="Loss">Mean sparse softmax cross-entropy.</param>
/// <param name="TrainingOp">One Adam step.</param>
/// <param name="Accuracy">Fraction of correct top-1 predictions.</param>
public sealed record MnistRnnModel(ComputeGraph Graph, Tensor X, Tensor Y, Tensor Logits, Tensor Loss, Operation TrainingOp, Tensor Accuracy);

/// <summary>The reference notebook's models (sections 1–6), built in a new graph each, for tools and tests.</summary>
public static class NotebookModels
{
    /// <summary>Section 1: the manual two-step RNN (graph seed 42).</summary>
    public static ComputeGraph ManualRnn()
    {
        var g = new ComputeGraph { Seed = 42 };
        using var scope = g.AsDefault();
        var x0 = TF.Placeholder(DType.Float32, new Shape(-1, 3), "X0");
        var x1 = TF.Placeholder(DType.Float32, new Shape(-1, 3), "X1");
        var wx = TF.Variable(TF.RandomNormal([3, 5]), name: "Wx");
        var wy = TF.Variable(TF.RandomNormal([5, 5]), name: "Wy");
        var b = TF.Variable(TF.Zeros([1, 5]), name: "b");
        var y0 = TF.Tanh(TF.MatMul(x0, wx) + b, name: "Y0");
        TF.Tanh(TF.MatMul(y0, wy) + TF.MatMul(x1, wx) + b, name: "Y1");
        return g;
    }

    /// <summary>Section 2: static_rnn over two placeholders with a SimpleRNNCell of 5 units.</summary>
    public static ComputeGraph StaticRnn()
    {
        var g = new ComputeGraph { Seed = 42 };
        using var scope = g.AsDefault();
        var x0 = TF.Placeholder(DType.Float32, new Shape(-1, 3), "X0");
        var x1 = TF.Placeholder(DType.Float32, new Shape(-1, 3), "X1");
        Rnn.StaticRnn(new SimpleRNNCell(5), [x0, x1]);
        return g;
    }

    /// <summary>Section 4: dynamic_rnn (a while loop) over [batch, 2, 3] inputs with a SimpleRNNCell of 5 units.</summary>
    public static ComputeGraph DynamicRnn()
    {
        var g = new ComputeGraph { Seed = 42 };
        using var scope = g.AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 2, 3), "X");
        Rnn.DynamicRnn(new SimpleRNNCell(5), x);
        return g;
    }

    /// <summary>
    /// One epoch's shuffled mini-batches for training the MNIST RNN, as both <c>graph train</c> and
    /// tools/scripts/mnist_rnn.cs draw them: the notebook's <c>shuffle_batch</c> (a permutation, then
    /// <c>np.array_split</c> into <c>n // batch_size</c> batches) with the permutation seeded by <c>seed + epoch</c>.
    /// </summary>
    public static IEnumerable<(HostTensor X, HostTensor y)> EpochBatches(MnistData data, int batchSize, int seed, int epoch) =>
        Batches.ShuffleBatch(data.TrainImages, data.TrainLabels, batchSize, seed + epoch, BatchSplit.ArraySplit);

    /// <summary>
    /// <see cref="EpochBatches(MnistData, int, int, int)"/> over images kept as bytes: the same batches, bit for bit,
    /// each scaled to float32 pixel / 255f as it is cut.
    /// </summary>
    public static IEnumerable<(HostTensor X, HostTensor y)> EpochBatches(MnistBytes data, int batchSize, int seed, int epoch) =>
        Batches.ShuffleBatch(data.TrainImages, data.TrainLabels, batchSize, seed + epoch, BatchSplit.ArraySplit);

    /// <summary>
    /// The line <c>graph train</c> and tools/scripts/mnist_rnn.cs print after each epoch: loss and accuracy on the epoch's
    /// last batch, accuracy on the test set, and the epoch's time.
    /// </summary>
    public static string EpochLine(int epoch, float loss, float trainAccuracy, float testAccuracy, TimeSpan time) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"epoch {epoch} loss {loss:F4} train_acc {trainAccuracy:F4} test_acc {testAccuracy:F4} time {time.TotalSeconds:F2}s");

    /// <summary>
    /// Section 6: a 150-unit SimpleRNN over 28 rows of 28 pixels, a dense layer of 10, sparse softmax cross-entropy and
    /// Adam (learning rate 0.001), with graph seed <paramref name="seed"/>, in <paramref name="dtype"/> (float32 as in
    /// the notebook). <paramref name="minimize"/> makes the training op from the Adam optimizer, the loss and the labels
    /// (e.g. through a DistributedOptimizer); by default it is <c>adam.Minimize(loss)</c>. <paramref name="device"/>: the
    /// device it is built to run on (<see cref="ComputeGraph.TargetDevice"/>; by default the sessions' default device).
    /// </summary>
    public static MnistRnnModel MnistRnn(int seed = 42, bool swapMemory = false, double learningRate = 0.001, DType dtype = DType.Float32,
        Func<AdamOptimizer, Tensor, Tensor, Operation>? minimize = null, string? device = null)
    {
        var g = new ComputeGraph { Seed = seed };
        if (device != null) g.TargetDevice = device;
        using var scope = g.AsDefault();
        var x = TF.Placeholder(dtype, new Shape(-1, 28, 28), "X");
        var y = TF.Placeholder(DType.Int32, new Shape(-1), "y");
        var (_, states) = Rnn.DynamicRnn(new SimpleRNNCell(150), x, swapMemory: swapMemory, dtype: dtype);
        var logits = Layers.Dense(states[0], 10);
        var loss = TF.ReduceMean(TF.Nn.SparseSoftmaxCrossEntropyWithLogits(y, logits), name: "loss");
        var adam = new AdamOptimizer(learningRate);
        var training = minimize != null ? minimize(adam, loss, y) : adam.Minimize(loss);
        var predictions = dtype == DType.Float32 ? logits : TF.Cast(logits, DType.Float32); // InTopK takes float32
        var accuracy = TF.ReduceMean(TF.Cast(TF.Nn.InTopK(predictions, y, 1), DType.Float32), name: "accuracy");
        return new MnistRnnModel(g, x, y, logits, loss, training, accuracy);
    }
}
