using System.CommandLine;
using System.Diagnostics;
using Graph.Core;
using Graph.Core.Data;
using Graph.Kernels;
using Graph.Rnn;
using Spectre.Console;

namespace Graph.Cli;

/// <summary><c>graph train</c>: trains the notebook's MNIST RNN and prints one line per epoch.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var dataset = new Option<string>("--dataset") { Description = "digits (the embedded 10,000 real digits), fashion-mnist, or a directory with MNIST IDX files.", DefaultValueFactory = _ => "digits" };
        var epochs = new Option<int>("--epochs") { Description = "Number of epochs.", DefaultValueFactory = _ => 2 };
        var batchSize = new Option<int>("--batch-size") { Description = "Mini-batch size.", DefaultValueFactory = _ => 150 };
        var device = new Option<string>("--device") { Description = "Device to train on (see `graph devices`).", DefaultValueFactory = _ => "cpu" };
        var swap = new Option<bool>("--swap-memory") { Description = "Keep the values saved for backprop through time in host memory." };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "Directory for checkpoints: resume from the latest one and save after every epoch." };
        var plot = new Option<string?>("--plot") { Description = "Write a PNG with loss and accuracy per epoch." };
        var seed = new Option<int>("--seed") { Description = "Graph seed and shuffling seed.", DefaultValueFactory = _ => 42 };
        var graph = new Option<string?>("--graph") { Description = "Train this saved graph instead (its signature 'train', collections 'train_op' and 'global_step'; docs/interop.md)." };
        var steps = new Option<int?>("--steps") { Description = "With --graph: train this many steps, printing each step's loss, instead of --epochs." };
        var command = new Command("train", "Train the notebook's MNIST RNN (150 SimpleRNN units, dense 10, Adam).")
        {
            dataset, epochs, batchSize, device, swap, checkpoint, plot, seed, graph, steps,
        };
        command.SetAction(r => Run(r.GetValue(dataset)!, r.GetValue(epochs), r.GetValue(batchSize), r.GetValue(device)!, r.GetValue(swap),
            r.GetValue(checkpoint), r.GetValue(plot), r.GetValue(seed), r.GetValue(graph), r.GetValue(steps)));
        return command;
    }

    private static int Run(string datasetName, int epochs, int batchSize, string device, bool swap, string? checkpointDir, string? plotPath, int seed,
        string? graphPath, int? steps)
    {
        if (epochs < 0 || batchSize <= 0)
        {
            Console.Error.WriteLine("graph: --epochs must be >= 0 and --batch-size > 0.");
            return 2;
        }
        if (steps is < 0 || (steps != null && graphPath == null) || (swap && graphPath != null))
        {
            Console.Error.WriteLine("graph: --steps must be >= 0 and needs --graph; --swap-memory is part of a saved graph, not an option for it.");
            return 2;
        }
        // Everything the user named is checked before the data is loaded or a step runs.
        Devices.Require(device);
        var plotFile = plotPath == null ? null : CliApp.WritableFile(plotPath, "--plot");
        if (checkpointDir != null) CliApp.WritableDirectory(checkpointDir, "--checkpoint");
        var model = NotebookModels.MnistRnn(seed, swap);
        var data = datasetName switch
        {
            "digits" => Mnist.LoadDigits(),
            "fashion-mnist" => Mnist.LoadFashion(),
            _ => Mnist.Load(datasetName, classes: model.Logits.Shape[-1], imageRows: model.X.Shape[1], imageColumns: model.X.Shape[2]),
        };
        if (graphPath != null) return SavedGraphTraining.Run(graphPath, data, epochs, steps, batchSize, device, checkpointDir, plotPath, seed);
        using var scope = model.Graph.AsDefault();
        var epochCounter = TF.Variable(TF.Constant(0), name: "epoch", trainable: false);
        var nextEpoch = epochCounter.AssignAdd(TF.Constant(1));
        var init = TF.GlobalVariablesInitializer();
        using var sess = new Session(model.Graph, new SessionOptions { Device = device });
        var saver = SavedGraphTraining.ResumeOrInitialise(sess, checkpointDir, init);

        var first = sess.Run(epochCounter.Value).Item<int>();
        var history = new List<(int Epoch, double Loss, double TrainAcc, double TestAcc)>();
        var testFeed = new FeedDict { { model.X, data.TestImages }, { model.Y, data.TestLabels } };
        var interactive = !Console.IsOutputRedirected;
        for (var epoch = first; epoch < epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            var batches = NotebookModels.EpochBatches(data, batchSize, seed, epoch).ToList();
            FeedDict? last = null;
            void Step(int i)
            {
                last = new FeedDict { { model.X, batches[i].X }, { model.Y, batches[i].y } };
                sess.Run(model.TrainingOp, last);
            }
            if (interactive)
                AnsiConsole.Progress().AutoClear(true).Start(ctx =>
                {
                    var task = ctx.AddTask($"epoch {epoch}", maxValue: batches.Count);
                    for (var i = 0; i < batches.Count; i++)
                    {
                        Step(i);
                        task.Increment(1);
                    }
                });
            else
                for (var i = 0; i < batches.Count; i++) Step(i);
            // The notebook's report: loss and accuracy of the epoch's last batch, and test accuracy.
            var (loss, trainAcc) = last == null ? (0f, 0f) : Pair(sess.Run(model.Loss, model.Accuracy, last));
            var testAcc = sess.Run(model.Accuracy, testFeed).Item<float>();
            sess.Run(nextEpoch);
            Console.WriteLine(NotebookModels.EpochLine(epoch, loss, trainAcc, testAcc, clock.Elapsed));
            history.Add((epoch, loss, trainAcc, testAcc));
            if (saver != null) saver.Save(sess, Path.Combine(checkpointDir!, "model"), globalStep: epoch + 1);
        }
        if (plotFile != null) Plot.Write(plotFile, history);
        return 0;
    }

    private static (float, float) Pair((HostTensor A, HostTensor B) values) => (values.A.Item<float>(), values.B.Item<float>());
}
