using System.Diagnostics;
using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

/// <summary>
/// Checkpoints leave no debris: the temporaries that processes killed while saving leave behind are deleted by the
/// next save into the directory or by LatestCheckpoint, while those a running process may still be writing are kept.
/// </summary>
[TestFixture]
public class CheckpointDebrisTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "graph-debris-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown()
    {
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }

    /// <summary>The id of a process that has exited.</summary>
    private static int DeadProcessId()
    {
        using var p = Process.Start(new ProcessStartInfo("sh", ["-c", "exit 0"]))!;
        p.WaitForExit();
        return p.Id;
    }

    private string Temp(string name, DateTime? written = null)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, new byte[1024]);
        if (written is { } w) File.SetLastWriteTimeUtc(path, w);
        return path;
    }

    private static string Hex => Guid.NewGuid().ToString("N");

    private (ComputeGraph Graph, Variable V) Model()
    {
        var g = new ComputeGraph();
        using (g.AsDefault()) return (g, TF.Variable(TF.Constant(new[] { 1f, 2f }), name: "v"));
    }

    [Test]
    public void TheNextSaveDeletesWhatKilledWritersLeftAndKeepsLiveWritersFiles()
    {
        var dead = DeadProcessId();
        var killedCheckpoints = Enumerable.Range(0, 13).Select(i => Temp($"model-{i}.ckpt.tmp-{dead}-{Hex}")).ToList();
        var killedState = Temp($"checkpoint.tmp-{dead}-{Hex}");
        var ownAbandoned = Temp($"model-3.ckpt.tmp-{Environment.ProcessId}-{Hex}");
        var oldBuildAbandoned = Temp($"model-2.ckpt.tmp-{Hex}", DateTime.UtcNow.AddHours(-1));
        var liveWriter = Temp($"model-4.ckpt.tmp-1-{Hex}"); // pid 1 always runs
        var oldBuildRecent = Temp($"model-5.ckpt.tmp-{Hex}");
        var notOurs = Temp($"notes.txt.tmp-{dead}-{Hex}");

        var (g, v) = Model();
        using var s = new Session(g);
        s.Run(v.Initializer);
        new Saver([v]).Save(s, Path.Combine(_dir, "model"), 7);

        foreach (var f in killedCheckpoints.Append(killedState).Append(ownAbandoned).Append(oldBuildAbandoned))
            File.Exists(f).Should().BeFalse(Path.GetFileName(f));
        File.Exists(liveWriter).Should().BeTrue("a running process may still be writing it");
        File.Exists(oldBuildRecent).Should().BeTrue("without a process id only age tells an abandoned file");
        File.Exists(notOurs).Should().BeTrue("only files of the saver's own naming are touched");
        Directory.EnumerateFiles(_dir).Select(Path.GetFileName).Should().Contain(["model-7.ckpt", Saver.StateFileName]);
    }

    [Test]
    public void LatestCheckpointDeletesStaleTemporariesToo()
    {
        var (g, v) = Model();
        using var s = new Session(g);
        s.Run(v.Initializer);
        var path = new Saver([v]).Save(s, Path.Combine(_dir, "model"), 1);
        var leftover = Temp($"model-2.ckpt.tmp-{DeadProcessId()}-{Hex}");
        Saver.LatestCheckpoint(_dir).Should().Be(path);
        File.Exists(leftover).Should().BeFalse();
        Saver.LatestCheckpoint(Path.Combine(_dir, "missing")).Should().BeNull();
    }

    [Test]
    public void ASaveNeverLeavesItsOwnTemporaries()
    {
        var (g, v) = Model();
        using var s = new Session(g);
        s.Run(v.Initializer);
        var saver = new Saver([v], maxToKeep: 2);
        for (var step = 0; step < 5; step++) saver.Save(s, Path.Combine(_dir, "model"), step);
        Directory.EnumerateFiles(_dir).Select(Path.GetFileName).Should().BeEquivalentTo(["model-3.ckpt", "model-4.ckpt", Saver.StateFileName]);
    }
}
