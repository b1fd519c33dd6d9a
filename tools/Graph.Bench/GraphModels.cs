using Graph.Core;
using Graph.Core.Data;
using Graph.Kernels;
using Graph.Rnn;

namespace Graph.Bench;

/// <summary>
/// The notebook's MNIST RNN in Graph's API, as Graph ships it (<see cref="NotebookModels.MnistRnn"/>, the model of
/// tools/scripts/mnist_rnn.cs): SimpleRNNCell(150) over 28 steps of 28 inputs, dense 10, sparse softmax cross-entropy,
/// Adam(0.001), graph seed 42, run on the <c>cpu</c> device.
/// </summary>
internal sealed class GraphRnn : IDisposable
{
    public const int Steps = 28, Inputs = 28, Units = 150, Outputs = 10;
    private readonly MnistRnnModel _model;

    /// <param name="device">The Session's device.</param>
    /// <param name="withGradients">Also build the loss's gradients as fetchable tensors (forward + backward without Adam).</param>
    /// <param name="profile">Time every kernel into <see cref="Session.Profile"/>.</param>
    public GraphRnn(string device = "cpu", bool withGradients = false, bool profile = false)
    {
        _model = NotebookModels.MnistRnn(seed: 42, device: device);
        using (_model.Graph.AsDefault())
        {
            if (withGradients)
            {
                var trainables = TF.TrainableVariables().Select(v => v.Value).ToArray();
                Gradients = TF.Gradients(_model.Loss, trainables).Where(g => g != null).Select(g => g!).ToArray();
            }
            var init = TF.GlobalVariablesInitializer();
            Session = new Session(_model.Graph, new SessionOptions { Device = device, Profile = profile });
            Session.Run(init);
        }
    }

    public Tensor X => _model.X;
    public Tensor Y => _model.Y;
    public Tensor Loss => _model.Loss;
    public Operation TrainingOp => _model.TrainingOp;
    public Tensor Accuracy => _model.Accuracy;
    public Tensor[] Gradients { get; } = [];
    public Session Session { get; }

    public FeedDict Feed(HostTensor x, HostTensor y) => new() { { X, x }, { Y, y } };

    public void Step(HostTensor x, HostTensor y) => Session.Run(TrainingOp, Feed(x, y));

    public float Evaluate(HostTensor x, HostTensor y) => Session.Run(Accuracy, Feed(x, y)).Item<float>();

    public void Dispose() => Session.Dispose();
}

/// <summary>The data every scenario uses: the embedded digits, cut into the notebook's batches of 150.</summary>
internal static class BenchData
{
    public const int BatchSize = 150;
    private static MnistData? _digits;
    private static MnistBytes? _digitBytes;

    /// <summary>The digits with float32 images, for the scenarios that time steps on prepared batches.</summary>
    public static MnistData Digits => _digits ??= Mnist.LoadDigits();

    /// <summary>
    /// The digits with the images kept as bytes, each batch scaled as it is cut: how the memory and fair children of
    /// every contender load and batch them (7.8 MB of images instead of 31 MB, as torchvision and Keras keep MNIST),
    /// into one reused pair of arrays per batch size (an epoch of fresh batches is 25 MB for the collector to find).
    /// </summary>
    public static MnistBytes DigitBytes => _digitBytes ??= Mnist.LoadDigitsBytes();

    /// <summary>One shuffled epoch of full batches (8,000 / 150: 53 batches of 150; the last partial batch is dropped).</summary>
    public static List<(HostTensor X, HostTensor Y)> FullBatches(int seed = 0) =>
        Batches.ShuffleBatch(Digits.TrainImages, Digits.TrainLabels, BatchSize, seed).Where(b => b.X.DimsSpan[0] == BatchSize).ToList();

    /// <summary>The 2,000 test images tiled to <paramref name="count"/> (10,000: five copies).</summary>
    public static (HostTensor X, HostTensor Y) TiledTest(int count)
    {
        var images = Digits.TestImages.Span<float>();
        var labels = Digits.TestLabels.Span<int>();
        var n = labels.Length;
        var rowSize = images.Length / n;
        var x = new float[count * rowSize];
        var y = new int[count];
        for (var i = 0; i < count; i++)
        {
            Array.Copy(images, (i % n) * rowSize, x, i * rowSize, rowSize);
            y[i] = labels[i % n];
        }
        return (HostTensor.From(x, count, GraphRnn.Steps, GraphRnn.Inputs), HostTensor.From(y, count));
    }
}
