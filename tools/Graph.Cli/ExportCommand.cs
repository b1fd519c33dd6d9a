using System.CommandLine;
using Graph.Core;
using Graph.Kernels;
using Graph.Rnn;

namespace Graph.Cli;

/// <summary>
/// <c>graph export</c>: writes the notebook's MNIST RNN as an ONNX model (inference: images to logits and predictions,
/// with trained or freshly initialised weights) or as a saved graph (the whole training graph, for
/// <c>graph train --graph</c> and <c>graph dot --graph</c>).
/// </summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "The model to export: mnist-rnn.", Required = true };
        model.AcceptOnlyFromAmong("mnist-rnn");
        var output = new Option<string>("--output", "-o") { Description = "The file to write (model.onnx, or model.graph for a saved graph).", Required = true };
        var format = new Option<string?>("--format") { Description = "onnx or graph; by default graph for a .graph file, onnx otherwise." };
        format.AcceptOnlyFromAmong("onnx", "graph");
        var checkpoint = new Option<string?>("--checkpoint") { Description = "ONNX only: take the weights from the latest checkpoint in this directory (from `graph train --checkpoint`)." };
        var seed = new Option<int>("--seed") { Description = "Graph seed of the freshly initialised weights.", DefaultValueFactory = _ => 42 };
        var command = new Command("export", "Export the notebook's MNIST RNN as an ONNX model or a saved graph (docs/interop.md).") { model, output, format, checkpoint, seed };
        command.SetAction(r => Run(r.GetValue(output)!, r.GetValue(format), r.GetValue(checkpoint), r.GetValue(seed)));
        return command;
    }

    private static int Run(string output, string? format, string? checkpointDir, int seed)
    {
        format ??= output.EndsWith(".graph", StringComparison.OrdinalIgnoreCase) ? "graph" : "onnx";
        if (format == "graph")
        {
            if (checkpointDir != null)
            {
                Console.Error.WriteLine("A saved graph holds no variable values; pass the checkpoint to `graph train --graph FILE --checkpoint DIR` instead.");
                return 2;
            }
            TrainableModels.MnistRnn(seed).Save(output);
            Console.WriteLine($"wrote {output} (signature '{Signature.Train}': inputs images, labels; outputs loss, accuracy, logits)");
            return 0;
        }

        var model = NotebookModels.MnistRnn(seed);
        var g = model.Graph;
        using var scope = g.AsDefault();
        var logits = TF.Identity(model.Logits, "logits");
        var predictions = TF.ArgMax(logits, 1, name: "predictions");
        using var sess = new Session(g, new SessionOptions { Device = "cpu" });
        if (checkpointDir != null)
        {
            var latest = Saver.LatestCheckpoint(checkpointDir);
            if (latest == null)
            {
                Console.Error.WriteLine($"No checkpoint in '{checkpointDir}' (it has no 'checkpoint' state file listing one).");
                return 1;
            }
            // Only the weights: checkpoints also hold optimizer slots and step counters, which inference does not read.
            new Saver(TF.TrainableVariables()).Restore(sess, latest);
            Console.Error.WriteLine($"weights from {latest}");
        }
        else sess.Run(TF.GlobalVariablesInitializer());
        Onnx.Export(g, [model.X], [logits, predictions], sess, output);
        Console.WriteLine($"wrote {output} (ONNX opset {Onnx.Opset}: input X [batch, 28, 28] float32; outputs logits [batch, 10] float32, predictions [batch] int64)");
        return 0;
    }
}
