// A consumer of Graph's packages (tools/package/consumer-test.sh): the body of a fresh console project's Program.cs and,
// after `#:package` lines, of a fresh file-based script, both outside the repository. It runs the notebook's manual
// RNN (section 1, as tools/scripts/manual_rnn.cs) and trains the MNIST RNN (section 6, as tools/scripts/mnist_rnn.cs)
// on the digits embedded in the Graph.Core package for --epochs N (default 1).
using System.Diagnostics;
using Graph.Core;
using Graph.Core.Data;
using Graph.Kernels;
using Graph.Rnn;

var epochsAt = Array.IndexOf(args, "--epochs");
var epochs = epochsAt >= 0 && epochsAt + 1 < args.Length ? int.Parse(args[epochsAt + 1]) : 1;
var total = Stopwatch.StartNew();

// Manual RNN: Y(t) = tanh(X(t)·Wx + Y(t-1)·Wy + b), TF1's weights with graph seed 42.
TF.ResetDefaultGraph(seed: 42);
var X0 = TF.Placeholder(DType.Float32, new Shape(-1, 3));
var X1 = TF.Placeholder(DType.Float32, new Shape(-1, 3));
var Wx = TF.Variable(TF.RandomNormal([3, 5], dtype: DType.Float32));
var Wy = TF.Variable(TF.RandomNormal([5, 5], dtype: DType.Float32));
var b = TF.Variable(TF.Zeros([1, 5], DType.Float32));
var Y0 = TF.Tanh(TF.MatMul(X0, Wx) + b);
var Y1 = TF.Tanh(TF.MatMul(Y0, Wy) + TF.MatMul(X1, Wx) + b);
using (var manual = new Session())
{
    manual.Run(TF.GlobalVariablesInitializer());
    var (y0, y1) = manual.Run(Y0, Y1, new FeedDict {
        { X0, new[,] { { 0, 1, 2 }, { 3, 4, 5 }, { 6, 7, 8 }, { 9, 0, 1 } } },
        { X1, new[,] { { 9, 8, 7 }, { 0, 0, 0 }, { 6, 5, 4 }, { 3, 2, 1 } } } });
    Console.WriteLine(y0);
    Console.WriteLine(y1);
}

// The MNIST RNN: 150-unit SimpleRNN over 28 rows of 28 pixels, dense 10, Adam.
var data = Mnist.LoadDigits();
TF.ResetDefaultGraph(seed: 42);
var X = TF.Placeholder(DType.Float32, new Shape(-1, 28, 28), "X");
var y = TF.Placeholder(DType.Int32, new Shape(-1), "y");
var (_, states) = Rnn.DynamicRnn(new SimpleRNNCell(units: 150), X, dtype: DType.Float32);
var logits = Layers.Dense(states[0], 10);
var loss = TF.ReduceMean(TF.Nn.SparseSoftmaxCrossEntropyWithLogits(labels: y, logits: logits));
var trainingOp = new AdamOptimizer(0.001).Minimize(loss);
var accuracy = TF.ReduceMean(TF.Cast(TF.Nn.InTopK(logits, y, 1), DType.Float32));
using var sess = new Session();   // $GRAPH_DEVICE or cpu
sess.Run(TF.GlobalVariablesInitializer());
var testFeed = new FeedDict { { X, data.TestImages }, { y, data.TestLabels } };
for (var epoch = 0; epoch < epochs; epoch++)
{
    var clock = Stopwatch.StartNew();
    FeedDict? last = null;
    foreach (var (xBatch, yBatch) in NotebookModels.EpochBatches(data, 150, 42, epoch))
    {
        last = new FeedDict { { X, xBatch }, { y, yBatch } };
        sess.Run(trainingOp, last);
    }
    var (l, a) = sess.Run(loss, accuracy, last!);
    var accTest = sess.Run(accuracy, testFeed).Item<float>();
    Console.WriteLine(NotebookModels.EpochLine(epoch, l.Item<float>(), a.Item<float>(), accTest, clock.Elapsed));
}
Console.WriteLine($"total {total.Elapsed.TotalSeconds:F2}s");
