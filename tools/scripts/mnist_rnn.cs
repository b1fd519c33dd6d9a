#:project ../../Graph.Kernels/Graph.Kernels.csproj
#:project ../../Graph.Rnn/Graph.Rnn.csproj
#:property PublishAot=false
// Notebook section 6: a 150-unit SimpleRNN over MNIST rows (28 steps x 28 inputs), dense 10, sparse softmax
// cross-entropy, Adam. With graph seed 42 the initial weights are the ones TF1 1.15 creates for this code (op seeds 86
// and 97 for the cell, 156 for the dense kernel). It trains on the embedded 10,000 real digits (8,000 train, 2,000 test):
// the notebook's 55,000 MNIST images and 100 epochs are not shipped, so its accuracies are not reproduced.
// Options: --epochs N (default 2), --device cpu (default: $GRAPH_DEVICE or cpu), --dataset digits|fashion-mnist|DIR,
// --batch-size 150, --seed 42 (graph seed; epoch e shuffles with seed + e). `graph train` with the same options shuffles
// the same batches and prints the same lines (times aside).
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
var seed = int.Parse(Option("seed", "42"));

// (X_train, y_train), (X_test, y_test) = mnist.load_data(); pixels / 255.0; rows are time steps.
var data = dataset switch
{
    "digits" => Mnist.LoadDigits(),
    "fashion-mnist" => Mnist.LoadFashion(),
    _ => Mnist.Load(dataset),
};

// The graph is built for the device it runs on (dynamic_rnn's structure differs between cpu and GPUs).
TF.ResetDefaultGraph(seed: seed).TargetDevice = device;
const int nSteps = 28, nInputs = 28, nNeurons = 150, nOutputs = 10;
const double learningRate = 0.001;
var X = TF.Placeholder(DType.Float32, new Shape(-1, nSteps, nInputs), "X");
var y = TF.Placeholder(DType.Int32, new Shape(-1), "y");
var basicCell = new SimpleRNNCell(units: nNeurons);
var (outputs, states) = Rnn.DynamicRnn(basicCell, X, dtype: DType.Float32);
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
    // for X_batch, y_batch in shuffle_batch(X_train, y_train, batch_size): sess.run(training_op, ...)
    foreach (var (xBatch, yBatch) in NotebookModels.EpochBatches(data, batchSize, seed, epoch))
    {
        last = new FeedDict { { X, xBatch }, { y, yBatch } };
        sess.Run(trainingOp, last);
    }
    // The notebook prints `epoch, "Last batch accuracy:", acc_batch, "Test accuracy:", acc_test` and no loss (the
    // reference notebook's "last batch accuracy" evaluated X_test; handson-ml's code evaluates the last batch). This
    // prints, as `graph train` does, the loss and accuracy on the epoch's last training batch and the test accuracy.
    var (l, a) = sess.Run(loss, accuracy, last!);
    var accTest = sess.Run(accuracy, testFeed).Item<float>();
    Console.WriteLine(NotebookModels.EpochLine(epoch, l.Item<float>(), a.Item<float>(), accTest, clock.Elapsed));
}
