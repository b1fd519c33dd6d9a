using Graph.Cli;
using Graph.Core;
using Graph.Core.Data;

namespace Graph.Tests;

/// <summary>
/// The CLI speaks to people: a user error prints one line on stderr (no stack trace) and exits 2, before any training
/// starts; a data set the model cannot train on is refused when loaded, naming the file.
/// </summary>
[TestFixture]
[NonParallelizable]
public class CliErrorTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("graph-cli-errors-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Error) Cli(params string[] args)
    {
        var (output, error) = (Console.Out, Console.Error);
        var (o, e) = (new StringWriter(), new StringWriter());
        Console.SetOut(o);
        Console.SetError(e);
        try
        {
            var code = CliApp.Run(args);
            return (code, o.ToString(), e.ToString());
        }
        finally
        {
            Console.SetOut(output);
            Console.SetError(error);
        }
    }

    /// <summary>Exit code 2, one line on stderr containing every fragment, no stack trace, no epoch trained.</summary>
    private static void ShouldBeAUserError((int Code, string Out, string Error) r, params string[] fragments)
    {
        r.Code.Should().Be(2, r.Error);
        var lines = r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().HaveCount(1, r.Error);
        lines[0].Should().StartWith("graph: ").And.NotContain(" at Graph.");
        foreach (var f in fragments) lines[0].Should().Contain(f);
        r.Out.Should().NotContain("epoch ");
    }

    private void WriteDataSet(string dir, int rows = 28, int cols = 28, int n = 4, int badLabel = -1)
    {
        Directory.CreateDirectory(dir);
        var images = HostTensor.From(new int[n * rows * cols], n, rows, cols);
        var labels = HostTensor.From(Enumerable.Range(0, n).Select(i => i == 1 && badLabel >= 0 ? badLabel : i % 10).ToArray(), n);
        Idx.Write(Path.Combine(dir, Mnist.TrainImagesFile + ".gz"), images);
        Idx.Write(Path.Combine(dir, Mnist.TrainLabelsFile + ".gz"), labels);
        Idx.Write(Path.Combine(dir, Mnist.TestImagesFile + ".gz"), images);
        Idx.Write(Path.Combine(dir, Mnist.TestLabelsFile + ".gz"), labels);
    }

    [Test]
    public void AnUnknownDevice() => ShouldBeAUserError(Cli("train", "--device", "tpu"), "Device 'tpu' is not available", "cpu");

    [Test]
    public void AMissingDataSet() => ShouldBeAUserError(Cli("train", "--dataset", Path.Combine(_dir, "nowhere")), Mnist.TrainImagesFile);

    [Test]
    public void ACorruptCheckpoint()
    {
        var ckpt = Path.Combine(_dir, "ckpt");
        Directory.CreateDirectory(ckpt);
        File.WriteAllBytes(Path.Combine(ckpt, "model-1.ckpt"), "GRAPHCKP not really a checkpoint"u8.ToArray());
        File.WriteAllText(Path.Combine(ckpt, "checkpoint"), "model_checkpoint_path: \"model-1.ckpt\"\nall_model_checkpoint_paths: \"model-1.ckpt\"\n");
        ShouldBeAUserError(Cli("train", "--epochs", "1", "--checkpoint", ckpt), "model-1.ckpt", "corrupt");
    }

    [Test]
    public void AnUnwritablePlotPathIsRefusedBeforeTraining()
    {
        var file = Path.Combine(_dir, "a-file");
        File.WriteAllText(file, "");
        ShouldBeAUserError(Cli("train", "--epochs", "1", "--plot", Path.Combine(file, "curves.png")), "--plot", "curves.png");
        ShouldBeAUserError(Cli("train", "--epochs", "1", "--plot", _dir), "--plot", "is a directory");
    }

    [Test]
    public void ACheckpointPathThatIsAFileIsRefusedBeforeTraining()
    {
        var file = Path.Combine(_dir, "a-file");
        File.WriteAllText(file, "");
        ShouldBeAUserError(Cli("train", "--epochs", "1", "--checkpoint", file), "--checkpoint", "is a file");
    }

    [Test]
    public void AnUnwritableDotOutput()
    {
        var file = Path.Combine(_dir, "a-file");
        File.WriteAllText(file, "");
        ShouldBeAUserError(Cli("dot", "--model", "manual-rnn", "-o", Path.Combine(file, "x.dot")), "x.dot");
    }

    [Test]
    public void AnUnknownOptionIsAUsageError()
    {
        var r = Cli("train", "--epochz", "1");
        r.Code.Should().Be(2);
        r.Error.Should().Contain("--epochz").And.Contain("--help");
    }

    [Test]
    public void ADataSetWithALabelOutsideTheModelsClassesIsRefusedWhenLoaded()
    {
        var data = Path.Combine(_dir, "data");
        WriteDataSet(data, badLabel: 200);
        ShouldBeAUserError(Cli("train", "--epochs", "1", "--dataset", data), Mnist.TrainLabelsFile, "label 200", "[0, 10)");
    }

    [Test]
    public void ADataSetOfOtherImageSizesIsRefusedWhenLoaded()
    {
        var data = Path.Combine(_dir, "data");
        WriteDataSet(data, rows: 32, cols: 32);
        ShouldBeAUserError(Cli("train", "--epochs", "1", "--dataset", data), Mnist.TrainImagesFile, "32x32", "28x28");
    }

    [Test]
    public void AnEmptyDataSetIsRefusedWhenLoaded()
    {
        var data = Path.Combine(_dir, "data");
        WriteDataSet(data, n: 0);
        ShouldBeAUserError(Cli("train", "--epochs", "1", "--dataset", data), Mnist.TrainImagesFile, "no images");
    }

    [Test]
    public void AGoodSmallDataSetTrainsAndCheckpoints()
    {
        var data = Path.Combine(_dir, "data");
        WriteDataSet(data, n: 6);
        var ckpt = Path.Combine(_dir, "new", "ckpt");
        var plot = Path.Combine(_dir, "plots", "curves.png");
        var r = Cli("train", "--epochs", "1", "--batch-size", "3", "--dataset", data, "--checkpoint", ckpt, "--plot", plot);
        r.Code.Should().Be(0, r.Error);
        r.Out.Should().Contain("epoch 0 loss");
        File.Exists(plot).Should().BeTrue();
        Directory.EnumerateFiles(ckpt).Select(Path.GetFileName).Should().Contain(["model-1.ckpt", "checkpoint"]).And.OnlyContain(n => !n!.StartsWith(".graph-write-check"));
    }

    [Test]
    public void MnistLoadChecksWhatTheCallerAsksFor()
    {
        var data = Path.Combine(_dir, "data");
        WriteDataSet(data, rows: 32, cols: 20, badLabel: 12);
        Mnist.Load(data, classes: 13, imageRows: 32, imageColumns: 20).TrainImages.Dims.Should().Equal(4, 32, 20);
        var act = () => Mnist.Load(data, classes: 12, imageRows: 32, imageColumns: 20);
        act.Should().Throw<InvalidDataException>().WithMessage($"*{Mnist.TrainLabelsFile}*label 12 (example 1)*[0, 12)*");
    }
}
