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
        var distributed = new Option<bool>("--distributed") { Description = "Data-parallel over the processes mpirun started: each trains on its share of every --batch-size batch, gradients are averaged; rank 0 prints and saves (docs/distributed.md)." };
        var command = new Command("train", "Train the notebook's MNIST RNN (150 SimpleRNN units, dense 10, Adam).")
        {
            dataset, epochs, batchSize, device, swap, checkpoint, plot, seed, graph, steps, distributed,
        };
        command.SetAction(r => DistributedTraining.Run(r.GetValue(distributed), job => Run(r.GetValue(dataset)!, r.GetValue(epochs), r.GetValue(batchSize),
            r.GetValue(device)!, r.GetValue(swap), r.GetValue(checkpoint), r.GetValue(plot), r.GetValue(seed), r.GetValue(graph), r.GetValue(steps), job)));
        return command;
    }

    private static int Run(string datasetName, int epochs, int batchSize, string device, bool swap, string? checkpointDir, string? plotPath, int seed,
        string? graphPath, int? steps, DistributedTraining? job)
    {
        if (epochs < 0 || batchSize < (job?.Communicator.Size ?? 1))
        {
            Console.Error.WriteLine($"graph: --epochs must be >= 0 and --batch-size >= {job?.Communicator.Size ?? 1}{(job == null ? "" : " (one row per worker at least)")}.");
            return 2;
        }
        if (steps is < 0 || (steps != null && graphPath == null) || (swap && graphPath != null) || (graphPath != null && job != null))
        {
            Console.Error.WriteLine("graph: --steps must be >= 0 and needs --graph; --swap-memory is part of a saved graph, not an option for it; --graph does not train --distributed.");
            return 2;
        }
        // Everything the user named is checked before the data is loaded or a step runs.
        // Preparing the device checks its name first (as Devices.Require does); then its kernels compile on another core
        // while the data loads and the model is built.
        Devices.Prepare(device);
        var root = job?.IsRoot ?? true;
        var plotFile = plotPath == null || !root ? null : CliApp.WritableFile(plotPath, "--plot");
        if (checkpointDir != null && root) CliApp.WritableDirectory(checkpointDir, "--checkpoint");
        // The built-in data sets load (decompress) on another core while the model is built. Training images stay bytes
        // (a quarter of their float32 size; Fashion-MNIST's 60,000 are 47 MB instead of 188 MB), scaled batch by batch.
        var loading = datasetName switch
        {
            "digits" => Task.Run(Mnist.LoadDigitsBytes),
            "fashion-mnist" => Task.Run(Mnist.LoadFashionBytes),
            _ => null,
        };
        var model = job != null ? DistributedTraining.MnistRnn(seed, swap, device: device) : NotebookModels.MnistRnn(seed, swap, device: device);
        var data = loading != null
            ? loading.GetAwaiter().GetResult() // the loader's own exception, not an AggregateException
            : Mnist.LoadBytes(datasetName, classes: model.Logits.Shape[-1], imageRows: model.X.Shape[1], imageColumns: model.X.Shape[2]);
        if (graphPath != null) return SavedGraphTraining.Run(graphPath, data.ToFloat32(), epochs, steps, batchSize, device, checkpointDir, plotPath, seed);
        using var scope = model.Graph.AsDefault();
        var epochCounter = TF.Variable(TF.Constant(0), name: "epoch", trainable: false);
        var nextEpoch = epochCounter.AssignAdd(TF.Constant(1));
        var init = TF.GlobalVariablesInitializer();
        using var sess = new Session(model.Graph, new SessionOptions { Device = device });
        var saver = SavedGraphTraining.ResumeOrInitialise(sess, checkpointDir, init, report: root);
        job?.Synchronize(sess, model.Graph);

        var first = sess.Run(epochCounter.Value).Item<int>();
        var history = new List<(int Epoch, double Loss, double TrainAcc, double TestAcc)>();
        var testImages = job == null ? data.TestImages.ToFloat32() : Sharding.Shard(data.TestImages.ToFloat32(), job.Communicator.Rank, job.Communicator.Size);
        var testFeed = new FeedDict { { model.X, testImages }, { model.Y, job == null ? data.TestLabels : Sharding.Shard(data.TestLabels, job.Communicator.Rank, job.Communicator.Size) } };
        var interactive = !Console.IsOutputRedirected && job == null; // mpirun forwards output line by line
        for (var epoch = first; epoch < epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            var globalBatches = NotebookModels.EpochBatches(data, batchSize, seed, epoch);
            var batches = (job?.Shard(globalBatches) ?? globalBatches).ToList();
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
            // Distributed: the means over the whole last batch and test set, each rank evaluating its shard.
            var (loss, trainAcc) = last == null ? (0f, 0f)
                : job != null ? Pair(job.Mean(sess, last, batches[^1].X.DimsSpan[0], model.Loss, model.Accuracy))
                : Pair(sess.Run(model.Loss, model.Accuracy, last));
            var testAcc = job?.Mean(sess, testFeed, testImages.DimsSpan[0], model.Accuracy)[0] ?? sess.Run(model.Accuracy, testFeed).Item<float>();
            sess.Run(nextEpoch);
            if (root) Console.WriteLine(NotebookModels.EpochLine(epoch, loss, trainAcc, testAcc, clock.Elapsed));
            history.Add((epoch, loss, trainAcc, testAcc));
            if (saver != null && root) saver.Save(sess, Path.Combine(checkpointDir!, "model"), globalStep: epoch + 1);
        }
        if (plotFile != null) Plot.Write(plotFile, history);
        if (job != null && root) Console.WriteLine(job.CostLine());
        return 0;
    }

    private static (float, float) Pair((HostTensor A, HostTensor B) values) => (values.A.Item<float>(), values.B.Item<float>());

    private static (float, float) Pair(float[] values) => (values[0], values[1]);
}
