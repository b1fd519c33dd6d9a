using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Graph.Cli;
using Graph.Core;
using Graph.Core.Data;
using Graph.Kernels;
using Graph.Rnn;

namespace Graph.Tests;

/// <summary>
/// Models that leave the process that built them: <c>graph export</c>, <c>graph train --graph</c> and
/// <c>graph dot --graph</c>, and a saved graph plus checkpoint resumed in a new process that never ran the building code.
/// </summary>
[TestFixture]
[NonParallelizable]
public class InteropCliTests : TempDirectoryFixture
{
    private static (int Code, string Output, string Errors) Cli(params string[] args)
    {
        var (output, errors) = (Console.Out, Console.Error);
        var (outWriter, errWriter) = (new StringWriter(), new StringWriter());
        Console.SetOut(outWriter);
        Console.SetError(errWriter);
        try
        {
            return (CliApp.Run(args), outWriter.ToString(), errWriter.ToString());
        }
        finally
        {
            Console.SetOut(output);
            Console.SetError(errors);
        }
    }

    /// <summary>Runs the <c>graph</c> program (built next to the tests) in a new process.</summary>
    private static (int Code, string Output, string Errors) CliProcess(params string[] args)
    {
        var dll = Path.Combine(TestContext.CurrentContext.TestDirectory, "graph.dll");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5))) process.Kill(entireProcessTree: true);
        return (process.ExitCode, output, errors.Result);
    }

    /// <summary>
    /// The issue's round trip: this process builds the notebook's MNIST RNN, trains 10 steps, saves graph and checkpoint,
    /// and trains 10 more; a new process given only the two files trains its 10 steps and prints the same losses, bit for bit.
    /// </summary>
    [Test]
    [Category("Slow")]
    public void ANewProcessResumesASavedGraphAndCheckpointWithTheSameLossesBitForBit()
    {
        var data = Mnist.LoadDigits();
        var g = TrainableModels.MnistRnn(seed: 42);
        var expected = new List<float>();
        using (g.AsDefault())
        {
            var signature = Signature.Find(g, Signature.Train)!;
            var train = g.GetCollection<Operation>(GraphKeys.TrainOp).Single();
            using var sess = new Session(g, new SessionOptions { Device = "cpu" });
            sess.Run(TF.GlobalVariablesInitializer());
            var schedule = new TrainingSchedule(data.TrainImages, data.TrainLabels, 150, 42);
            for (var step = 0; step < 20; step++)
            {
                if (step == 10)
                {
                    new Saver().Save(sess, PathOf("ckpt/model"), globalStep: 10);
                    g.Save(PathOf("mnist.graph"));
                }
                var (x, y) = schedule.Batch(step);
                var loss = sess.Run([signature.Outputs["loss"]], [train], new FeedDict { { signature.Inputs["images"], x }, { signature.Inputs["labels"], y } })[0];
                if (step >= 10) expected.Add(loss.Item<float>());
            }
        }

        var (code, output, errors) = CliProcess("train", "--graph", PathOf("mnist.graph"), "--checkpoint", PathOf("ckpt"), "--steps", "10", "--batch-size", "150", "--seed", "42");
        code.Should().Be(0, errors);
        errors.Should().Contain("resumed from").And.Contain("model-10.ckpt");
        var losses = Regex.Matches(output, @"^step (\d+) loss (\S+)$", RegexOptions.Multiline)
            .Select(m => (Step: int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), Loss: float.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture))).ToList();
        losses.Select(l => l.Step).Should().Equal(Enumerable.Range(11, 10));
        losses.Select(l => BitConverter.SingleToInt32Bits(l.Loss)).Should().Equal(expected.Select(BitConverter.SingleToInt32Bits),
            $"the new process must continue bit for bit: expected {string.Join(", ", expected.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}\n{output}");
        Saver.LatestCheckpoint(PathOf("ckpt")).Should().EndWith("model-20.ckpt", "the resumed run checkpoints at its global step");
    }

    [Test]
    public void ExportWritesASavedGraphThatTrainAndDotRead()
    {
        var path = PathOf("mnist.graph");
        Cli("export", "--model", "mnist-rnn", "-o", path).Code.Should().Be(0);
        var loaded = ComputeGraph.Load(path);
        Signature.Find(loaded, Signature.Train)!.Inputs.Keys.Should().Equal("images", "labels");

        var dot = PathOf("mnist.dot");
        var (code, output, _) = Cli("dot", "--graph", path, "-o", dot);
        code.Should().Be(0);
        output.Should().Contain("wrote");
        File.ReadAllText(dot).Should().Be(DotExporter.ToDot(TrainableModels.MnistRnn(), new DotOptions { Title = "mnist.graph" }),
            "the loaded graph draws exactly as the graph that was saved");

        // Whole epochs of 1,000-image batches: 8 steps an epoch, then the usual epoch line and a checkpoint.
        var (trainCode, trainOutput, trainErrors) = Cli("train", "--graph", path, "--epochs", "1", "--batch-size", "1000", "--checkpoint", PathOf("ckpt"));
        trainCode.Should().Be(0, trainErrors);
        trainOutput.Should().MatchRegex(@"^epoch 0 loss \d+\.\d{4} train_acc \d\.\d{4} test_acc \d\.\d{4} time \d+\.\d{2}s");
        Saver.LatestCheckpoint(PathOf("ckpt")).Should().EndWith("model-8.ckpt");
        var (againCode, againOutput, _) = Cli("train", "--graph", path, "--epochs", "1", "--batch-size", "1000", "--checkpoint", PathOf("ckpt"));
        againCode.Should().Be(0);
        againOutput.Should().NotContain("epoch", "the checkpoint's global step says epoch 0 is done");
    }

    [Test]
    public void TrainAndDotExplainAGraphTheyCannotUse()
    {
        var plain = PathOf("plain.graph");
        NotebookModels.ManualRnn().Save(plain);
        var (code, _, errors) = Cli("train", "--graph", plain, "--steps", "1");
        code.Should().Be(2);
        errors.Should().Contain("it lacks a signature named 'train'").And.Contain("docs/interop.md");

        File.WriteAllText(PathOf("broken.graph"), "GRAPHDEF 1 sha256:00\n{}");
        var (dotCode, _, dotErrors) = Cli("dot", "--graph", PathOf("broken.graph"), "-o", PathOf("x.dot"));
        dotCode.Should().Be(1);
        dotErrors.Should().Contain("is not a readable saved graph");
        Cli("dot", "-o", PathOf("x.dot")).Code.Should().Be(2, "one of --model and --graph is needed");
    }

    /// <summary>
    /// <c>graph export --model mnist-rnn -o model.onnx</c> without a checkpoint gives the seed-42 model, byte for byte the
    /// same file each time; ONNX Runtime's logits and predictions on test digits are Graph's.
    /// </summary>
    [Test]
    public void ExportWritesAReproducibleOnnxModelOfTheFreshlyInitialisedRnn()
    {
        var (first, second) = (PathOf("a.onnx"), PathOf("b.onnx"));
        Cli("export", "--model", "mnist-rnn", "-o", first).Code.Should().Be(0);
        Cli("export", "--model", "mnist-rnn", "-o", second).Code.Should().Be(0);
        File.ReadAllBytes(second).Should().Equal(File.ReadAllBytes(first));

        var model = NotebookModels.MnistRnn(seed: 42);
        using var sess = new Session(model.Graph, new SessionOptions { Device = "cpu" });
        using (model.Graph.AsDefault()) sess.Run(TF.GlobalVariablesInitializer());
        CompareWithOrt(File.ReadAllBytes(first), sess, model);
    }

    [Test]
    public void ExportTakesTheWeightsOfTheLatestCheckpoint()
    {
        var data = Mnist.LoadDigits();
        var model = NotebookModels.MnistRnn(seed: 7);
        using var sess = new Session(model.Graph, new SessionOptions { Device = "cpu" });
        using (model.Graph.AsDefault())
        {
            sess.Run(TF.GlobalVariablesInitializer());
            foreach (var (x, y) in Batches.ShuffleBatch(data.TrainImages, data.TrainLabels, 500, seed: 1).Take(3))
                sess.Run(model.TrainingOp, new FeedDict { { model.X, x }, { model.Y, y } });
            new Saver().Save(sess, PathOf("ckpt/model"), globalStep: 3);
        }
        var path = PathOf("trained.onnx");
        var (code, _, errors) = Cli("export", "--model", "mnist-rnn", "--checkpoint", PathOf("ckpt"), "-o", path);
        code.Should().Be(0, errors);
        errors.Should().Contain("model-3.ckpt");
        CompareWithOrt(File.ReadAllBytes(path), sess, model);

        Cli("export", "--model", "mnist-rnn", "--checkpoint", PathOf("nothing-here"), "-o", path).Code.Should().Be(1);
        Cli("export", "--model", "mnist-rnn", "--checkpoint", PathOf("ckpt"), "-o", PathOf("x.graph")).Code.Should().Be(2, "a saved graph holds no values");
    }

    private static void CompareWithOrt(byte[] onnx, Session sess, MnistRnnModel model)
    {
        var images = Batches.TakeRows(Mnist.LoadDigits().TestImages, Enumerable.Range(0, 200).ToArray());
        var logits = sess.Run(model.Logits, new FeedDict { { model.X, images } });
        var ort = OnnxCheck.Run(onnx, new Dictionary<string, HostTensor> { ["X"] = images }, ["logits", "predictions"]);
        OnnxCheck.AssertClose(ort[0], logits, "logits");
        var predicted = Enumerable.Range(0, 200).Select(i => (long)Enumerable.Range(0, 10).MaxBy(c => logits.Get<float>(i, c))).ToArray();
        ort[1].ToArray<long>().Should().Equal(predicted);
    }
}

/// <summary>The serving snippet of docs/interop.md, compiled and run here on a model from <c>graph export</c>.</summary>
[TestFixture]
[NonParallelizable]
public class OnnxServingSnippetTests
{
    [Test]
    public void TheDocsServingSnippetRunsOnAnExportedModel()
    {
        var dir = Directory.CreateTempSubdirectory("graph-serving-");
        var previous = Environment.CurrentDirectory;
        try
        {
            Environment.CurrentDirectory = dir.FullName;
            CliApp.Run(["export", "--model", "mnist-rnn", "-o", "mnist.onnx"]).Should().Be(0);
            long first;
            // snippet:begin
            using var session = new Microsoft.ML.OnnxRuntime.InferenceSession("mnist.onnx");
            var images = new float[2 * 28 * 28];  // two 28×28 images, pixels scaled to [0, 1] as in training
            using var input = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(images, [2, 28, 28]);
            using var run = new Microsoft.ML.OnnxRuntime.RunOptions();
            using var results = session.Run(run, new Dictionary<string, Microsoft.ML.OnnxRuntime.OrtValue> { ["X"] = input }, ["logits", "predictions"]);
            var logits = results[0].GetTensorDataAsSpan<float>();     // [2, 10]
            var predictions = results[1].GetTensorDataAsSpan<long>(); // [2]
            Console.WriteLine($"the first image is a {predictions[0]} (logit {logits[(int)predictions[0]]})");
            // snippet:end
            first = predictions[0];
            first.Should().BeInRange(0, 9);

            var doc = File.ReadAllText(Path.Combine(Repository.Root, "docs", "interop.md"));
            var source = File.ReadAllLines(Path.Combine(Repository.Root, "Graph.Tests", "Interop", "InteropCliTests.cs"));
            var begin = Array.FindIndex(source, l => l.Trim() == "// snippet:begin");
            var end = Array.FindIndex(source, l => l.Trim() == "// snippet:end");
            foreach (var line in source[(begin + 1)..end])
                doc.Should().Contain(line.Trim().Replace("Microsoft.ML.OnnxRuntime.", ""), "docs/interop.md shows the snippet this test runs");
        }
        finally
        {
            Environment.CurrentDirectory = previous;
            dir.Delete(recursive: true);
        }
    }
}
