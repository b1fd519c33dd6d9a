using System.Diagnostics;
using System.Text.RegularExpressions;
using Graph.Cli;

namespace Graph.Tests;

[TestFixture]
[NonParallelizable]
public class CliTests
{
    private static (int Code, string Output) Cli(params string[] args)
    {
        var original = Console.Out;
        var writer = new StringWriter();
        Console.SetOut(writer);
        try
        {
            var code = CliApp.Run(args);
            return (code, writer.ToString());
        }
        finally
        {
            Console.SetOut(original);
        }
    }

    [Test]
    public void DevicesListsTheCpuAndIlgpuCpu()
    {
        var (code, output) = Cli("devices");
        code.Should().Be(0);
        output.Should().StartWith("cpu").And.Contain("\nilgpu-cpu ");
        if (File.Exists("/etc/OpenCL/vendors/pocl.icd")) output.Should().Contain("(unusable) opencl:").And.Contain("generic address space");
    }

    [TestCase("manual-rnn")]
    [TestCase("static-rnn")]
    [TestCase("dynamic-rnn")]
    [TestCase("mnist-rnn")]
    public void DotWritesAGraphvizFileForEveryModel(string model)
    {
        var dir = Directory.CreateTempSubdirectory("graph-dot-");
        var path = Path.Combine(dir.FullName, model + ".dot");
        var hasDot = HasGraphviz();
        var (code, _) = Cli(hasDot ? ["dot", "--model", model, "-o", path, "--svg"] : ["dot", "--model", model, "-o", path]);
        code.Should().Be(0);
        File.ReadAllText(path).Should().StartWith("digraph");
        if (!hasDot) Assert.Ignore("Graphviz's dot is not installed; the DOT text was written but not rendered.");
        File.ReadAllText(Path.ChangeExtension(path, ".svg")).Should().Contain("<svg");
        dir.Delete(recursive: true);
    }

    [Test]
    [Category("Slow")]
    public void TrainTwoEpochsOnTheEmbeddedDigitsReachesEightyFivePercent()
    {
        var dir = Directory.CreateTempSubdirectory("graph-train-");
        var plot = Path.Combine(dir.FullName, "curves.png");
        var (code, output) = Cli("train", "--epochs", "2", "--plot", plot);
        code.Should().Be(0);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var pattern = new Regex(@"^epoch (\d+) loss (\d+\.\d{4}) train_acc (\d\.\d{4}) test_acc (\d\.\d{4}) time (\d+\.\d{2})s$");
        var epochs = lines.Select(l => pattern.Match(l.TrimEnd('\r'))).Where(m => m.Success).ToList();
        epochs.Should().HaveCount(2, output);
        double.Parse(epochs[^1].Groups[4].Value, System.Globalization.CultureInfo.InvariantCulture).Should().BeGreaterThanOrEqualTo(0.85);
        new FileInfo(plot).Length.Should().BeGreaterThan(1000);
        dir.Delete(recursive: true);
    }

    private static bool HasGraphviz()
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("dot", "-V") { RedirectStandardError = true, RedirectStandardOutput = true })!;
            p.WaitForExit(10_000);
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
