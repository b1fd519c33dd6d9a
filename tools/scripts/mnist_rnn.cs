#:project ../../Graph.Kernels/Graph.Kernels.csproj
#:project ../../Graph.Rnn/Graph.Rnn.csproj
#:property PublishAot=false
// Notebook section 6: a 150-unit SimpleRNN over MNIST rows (28 steps x 28 inputs), dense 10, sparse softmax
// cross-entropy, Adam. Options: --epochs N (default 2), --device cpu (default: $GRAPH_DEVICE or cpu), --dataset digits|fashion-mnist|DIR, --batch-size 150.
using System.Diagnostics;
using Graph.Core;
using Graph.Core.Data;
using Graph.Kernels;
using Graph.Rnn;

string Option(string name, string fallback)
{
    var i = Array.IndexOf(args, "--" + name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
var epochs = int.Parse(Option("epochs", "2"));
var batchSize = int.Parse(Option("batch-size", "150"));
var device = Option("device", SessionOptions.DefaultDevice);
var dataset = Option("dataset", "digits");

var data = dataset switch
{
    "digits" => Mnist.LoadDigits(),
    "fashion-mnist" => Mnist.LoadFashion(),
    _ => Mnist.Load(dataset),
};

TF.ResetDefaultGraph(seed: 42);
const int nSteps = 28, nInputs = 28, nNeurons = 150, nOutputs = 10;
const double learningRate = 0.001;
var X = TF.Placeholder(DType.Float32, new Shape(-1, nSteps, nInputs), "X");
var y = TF.Placeholder(DType.Int32, new Shape(-1), "y");
var basicCell = new SimpleRNNCell(units: nNeurons);
var (outputs, states) = Rnn.DynamicRnn(basicCell, X);
var logits = Layers.Dense(states[0], nOutputs);
var xentropy = TF.Nn.SparseSoftmaxCrossEntropyWithLogits(labels: y, logits: logits);
var loss = TF.ReduceMean(xentropy);
var trainingOp = new AdamOptimizer(learningRate).Minimize(loss);
var correct = TF.Nn.InTopK(logits, y, 1);
var accuracy = TF.ReduceMean(TF.Cast(correct, DType.Float32));
var init = TF.GlobalVariablesInitializer();

using var sess = new Session(options: new SessionOptions { Device = device });
sess.Run(init);
var testFeed = new FeedDict { { X, data.TestImages }, { y, data.TestLabels } };
for (var epoch = 0; epoch < epochs; epoch++)
{
    var clock = Stopwatch.StartNew();
    FeedDict? last = null;
    foreach (var (xBatch, yBatch) in Batches.ShuffleBatch(data.TrainImages, data.TrainLabels, batchSize, seed: epoch))
    {
        last = new FeedDict { { X, xBatch }, { y, yBatch } };
        sess.Run(trainingOp, last);
    }
    // As the notebook reports: loss and accuracy on the epoch's last batch, accuracy on the test set.
    var (l, a) = sess.Run(loss, accuracy, last!);
    var (lossVal, accTrain) = (l.Item<float>(), a.Item<float>());
    var accTest = sess.Run(accuracy, testFeed).Item<float>();
    Console.WriteLine($"epoch {epoch} loss {lossVal:F4} train_acc {accTrain:F4} test_acc {accTest:F4} time {clock.Elapsed.TotalSeconds:F2}s");
}
