using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Graph.Core;
using Graph.Core.Data;

namespace Graph.Tests;

/// <summary>
/// <c>graph train --distributed</c> as jobs of real processes under Open MPI's <c>mpirun</c> (ignored where mpirun is not
/// installed; .ci/run installs it): the banner and epoch lines, a rank killed with SIGKILL mid-epoch, a bad label on one
/// rank's shard, and resuming from rank 0's checkpoint. A small data set (600 training digits, 4 steps an epoch) keeps
/// them short.
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("Slow")]
public partial class MpiJobTests
{
    private const int TrainRows = 600, TestRows = 100, Seed = 42;
    private string _data = null!, _badLabel = null!, _work = null!;

    private static string? Mpirun => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
        .Select(dir => Path.Combine(dir, "mpirun")).FirstOrDefault(File.Exists);

    private static string Cli => Path.Combine(AppContext.BaseDirectory, "graph.dll");

    [OneTimeSetUp]
    public void WriteSmallDataSets()
    {
        if (Mpirun == null) Assert.Ignore("Open MPI's mpirun is not installed (Debian: apt-get install openmpi-bin libopenmpi-dev; .ci/run installs it).");
        _work = Directory.CreateTempSubdirectory("graph-mpi-").FullName;
        var digits = Mnist.LoadDigits();
        var labels = digits.TrainLabels.ToArray<int>()[..TrainRows];
        _data = WriteIdx("digits-600", digits, labels);
        // One label out of range, in rank 1's half of epoch 0's last global batch (rows 525..599 of the shuffle), where
        // the epoch's report evaluates the loss and so TF's label check runs (a training step alone does not check:
        // the cross-entropy's gradient one-hots an out-of-range label to zeros).
        var bad = (int[])labels.Clone();
        bad[Batches.Permutation(TrainRows, Seed)[560]] = 10;
        _badLabel = WriteIdx("bad-label", digits, bad);
    }

    [OneTimeTearDown]
    public void RemoveDataSets()
    {
        if (_work != null) Directory.Delete(_work, recursive: true);
    }

    private string WriteIdx(string name, MnistData digits, int[] trainLabels)
    {
        var dir = Directory.CreateDirectory(Path.Combine(_work, name)).FullName;
        HostTensor Bytes(HostTensor images, int rows) =>
            HostTensor.From(images.ToArray<float>()[..(rows * 28 * 28)].Select(v => (float)Math.Round(v * 255)).ToArray(), rows, 28, 28);
        Idx.Write(Path.Combine(dir, Mnist.TrainImagesFile), Bytes(digits.TrainImages, TrainRows));
        Idx.Write(Path.Combine(dir, Mnist.TrainLabelsFile), HostTensor.From(trainLabels, TrainRows));
        Idx.Write(Path.Combine(dir, Mnist.TestImagesFile), Bytes(digits.TestImages, TestRows));
        Idx.Write(Path.Combine(dir, Mnist.TestLabelsFile), HostTensor.From(digits.TestLabels.ToArray<int>()[..TestRows], TestRows));
        return dir;
    }

    [GeneratedRegex(@"\x1B(\[[0-9;?]*[A-Za-z]|[=>])")]
    private static partial Regex TerminalCodes();

    /// <summary>
    /// Runs <c>graph</c> (under <c>mpirun -np N</c> when <paramref name="ranks"/> &gt; 0) and returns its exit code and
    /// output (stdout and stderr, terminal codes removed). <paramref name="whileRunning"/> sees the process and the
    /// output so far; the job is killed after <paramref name="timeout"/>.
    /// </summary>
    private static (int Code, string Output) Run(int ranks, TimeSpan timeout, Action<Process, Func<string>>? whileRunning, params string[] args)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var start = ranks > 0
            ? new ProcessStartInfo(Mpirun!, ["-np", ranks.ToString(), "--oversubscribe", "--allow-run-as-root", dotnet, Cli, .. args])
            : new ProcessStartInfo(dotnet, [Cli, .. args]);
        start.RedirectStandardOutput = start.RedirectStandardError = true;
        start.Environment["DOTNET_PROCESSOR_COUNT"] = "1"; // two ranks on two cores
        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        void Append(object _, DataReceivedEventArgs e)
        {
            if (e.Data == null) return;
            lock (output) output.AppendLine(TerminalCodes().Replace(e.Data, ""));
        }
        process.OutputDataReceived += Append;
        process.ErrorDataReceived += Append;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        string Text()
        {
            lock (output) return output.ToString();
        }
        whileRunning?.Invoke(process, Text);
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"graph {string.Join(' ', args)} on {ranks} ranks did not end within {timeout.TotalSeconds} s; output:\n{Text()}");
        }
        process.WaitForExit();
        return (process.ExitCode, Text());
    }

    private static double[] EpochNumbers(string output) =>
        EpochLines(output).SelectMany(l => Regex.Matches(l, @"-?\d+\.\d+").Select(m => double.Parse(m.Value, System.Globalization.CultureInfo.InvariantCulture))).ToArray();

    private static string[] EpochLines(string output) =>
        output.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.StartsWith("epoch ", StringComparison.Ordinal))
            .Select(l => Regex.Replace(l, @" time \S+$", "")).ToArray();

    [Test]
    public void TwoRanksPrintTheBannerFirstThenTheEpochLinesOfOneProcess()
    {
        var (code, output) = Run(2, TimeSpan.FromMinutes(3), null, "train", "--distributed", "--epochs", "2", "--dataset", _data);
        code.Should().Be(0, output);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();
        lines[0].Should().MatchRegex(@"^distributed: 2 workers \(MPI: Open MPI v4\.\d+\.\d+.*\)$", "rank 0 prints the banner first");
        lines.Should().ContainSingle(l => l.StartsWith("distributed: allreduce ")).Which.Should().Contain("1.00 calls", "one fused allreduce per step");

        var (singleCode, single) = Run(0, TimeSpan.FromMinutes(3), null, "train", "--epochs", "2", "--dataset", _data);
        singleCode.Should().Be(0, single);
        // Equal to the last printed digit: a mean over 75 + 75 rounds differently from one over 150.
        EpochLines(output).Should().HaveCount(2, "only rank 0 prints");
        EpochNumbers(output).Zip(EpochNumbers(single)).Should().OnlyContain(p => Math.Abs(p.First - p.Second) <= 1.5e-4,
            "the global batch of 150 is split 75 + 75 and the averaged gradient is the global one");

        // Without mpirun, --distributed is one process of rank 0, with no MPI loaded.
        var (aloneCode, alone) = Run(0, TimeSpan.FromMinutes(3), null, "train", "--distributed", "--epochs", "1", "--dataset", _data);
        aloneCode.Should().Be(0, alone);
        alone.Should().StartWith("distributed: 1 worker (no MPI: not started by mpirun)");
        EpochLines(alone).Should().Equal(EpochLines(single)[..1]);
    }

    [Test]
    public void AKilledRankStopsTheOthersWithAClearErrorInBoundedTime()
    {
        var killedAt = Stopwatch.StartNew();
        var (code, output) = Run(2, TimeSpan.FromMinutes(3), (mpirun, text) =>
        {
            // The full embedded digits (53 steps an epoch): wait until training has started, then SIGKILL rank 1.
            var clock = Stopwatch.StartNew();
            while (!text().Contains("distributed: 2 workers") && clock.Elapsed < TimeSpan.FromMinutes(2)) Thread.Sleep(100);
            Thread.Sleep(4000);
            var rank1 = RankProcess(mpirun.Id, 1);
            rank1.Should().NotBeNull($"rank 1 runs under mpirun; output so far:\n{text()}");
            killedAt.Restart();
            Process.GetProcessById(rank1!.Value).Kill();
        }, "train", "--distributed", "--epochs", "5");
        var stopped = killedAt.Elapsed;
        TestContext.Out.WriteLine($"the job ended {stopped.TotalSeconds:F1} s after the kill:\n{output}");
        code.Should().NotBe(0);
        stopped.Should().BeLessThan(TimeSpan.FromSeconds(30), "the others are stopped, not left waiting in their allreduce");
        output.Should().MatchRegex(@"process rank 1 .* exited on signal 9", "mpirun names the rank that died");
        EpochLines(output).Should().HaveCountLessThan(5);
    }

    [Test]
    public void ABadLabelOnOneShardFailsTheWholeJobWithItsMessage()
    {
        var (code, output) = Run(2, TimeSpan.FromMinutes(3), null, "train", "--distributed", "--epochs", "1", "--dataset", _badLabel);
        code.Should().NotBe(0, output);
        // The IDX loader refuses a label outside the model's classes when any rank loads the file (docs/errors.md), so the
        // first rank to load it aborts the job with that message.
        output.Should().MatchRegex(@"rank [01] of 2: \w+Exception: .*label.* 10\b", "the failing rank says what failed");
        output.Should().MatchRegex("(MPI_ABORT was invoked on rank [01]|rank [01] of 2: stopped by mpirun)", "the abort stops the other rank too");
        EpochLines(output).Should().BeEmpty();
    }

    [Test]
    public void TrainingResumesFromRankZerosLastCheckpoint()
    {
        var checkpoints = Path.Combine(_work, "ckpt-" + Guid.NewGuid().ToString("N"));
        var (code, first) = Run(2, TimeSpan.FromMinutes(3), null, "train", "--distributed", "--epochs", "1", "--dataset", _data, "--checkpoint", checkpoints);
        code.Should().Be(0, first);
        Graph.Kernels.Saver.LatestCheckpoint(checkpoints).Should().EndWith("model-1.ckpt", "rank 0 saved after epoch 0");
        var (resumedCode, resumed) = Run(2, TimeSpan.FromMinutes(3), null, "train", "--distributed", "--epochs", "2", "--dataset", _data, "--checkpoint", checkpoints);
        resumedCode.Should().Be(0, resumed);
        resumed.Should().Contain("resumed from", Exactly.Once(), "only rank 0 prints").And.Contain("model-1");
        var (straightCode, straight) = Run(0, TimeSpan.FromMinutes(3), null, "train", "--epochs", "2", "--dataset", _data);
        straightCode.Should().Be(0, straight);
        EpochLines(resumed).Should().Equal(EpochLines(straight)[1..], "epoch 1 continues from rank 0's weights and Adam state");
        // The checkpoint is an ordinary one: a single process restores it too.
        var (aloneCode, alone) = Run(0, TimeSpan.FromMinutes(3), null, "train", "--epochs", "2", "--dataset", _data, "--checkpoint", checkpoints);
        aloneCode.Should().Be(0, alone);
        alone.Should().Contain("resumed from");
    }

    /// <summary>The pid of the descendant of <paramref name="root"/> whose environment says it is MPI rank <paramref name="rank"/>.</summary>
    private static int? RankProcess(int root, int rank)
    {
        var parents = new Dictionary<int, int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces, so parse after the last ')'.
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                parents[pid] = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        bool Descends(int pid)
        {
            for (var p = pid; parents.TryGetValue(p, out var parent) && p > 1; p = parent)
                if (parent == root) return true;
            return false;
        }
        foreach (var pid in parents.Keys.Where(Descends))
        {
            try
            {
                var environment = File.ReadAllText($"/proc/{pid}/environ").Split('\0');
                if (environment.Contains($"OMPI_COMM_WORLD_RANK={rank}") && File.ReadAllText($"/proc/{pid}/cmdline").Contains("graph.dll")) return pid;
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return null;
    }
}
