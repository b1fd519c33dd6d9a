using System.Text;
using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

[TestFixture]
public class SaverTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "graph-saver-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown()
    {
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }

    private string Prefix(string name = "model") => Path.Combine(_dir, name);

    /// <summary>A graph with one variable of each dtype.</summary>
    private static (ComputeGraph Graph, Variable[] Variables) AllDTypes()
    {
        var g = new ComputeGraph { Seed = 3 };
        using var _ = g.AsDefault();
        var vars = new[]
        {
            TF.Variable(TF.RandomNormal([3, 2]), name: "layer/weights"),
            TF.Variable(TF.Constant(new double[] { 1.5, -2.25 }), name: "f64"),
            TF.Variable(TF.Constant(7), name: "step"),
            TF.Variable(TF.Constant(new long[] { long.MaxValue, -1 }), name: "i64"),
            TF.Variable(TF.Constant(new bool[,] { { true, false }, { false, true } }), name: "flags"),
        };
        return (g, vars);
    }

    [Test]
    public void RoundTripIsBitExactForEveryDType()
    {
        var (g, vars) = AllDTypes();
        using var sess = new Session(g);
        using (g.AsDefault()) sess.Run(TF.GlobalVariablesInitializer());
        // Values whose bits a lossy format would change: NaN payload, negative zero, infinities, subnormals.
        var special = HostTensor.From(new[] { float.NaN, -0f, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, BitConverter.Int32BitsToSingle(0x7fc00123) }, 3, 2);
        sess.SetVariableValue(vars[0], special);
        var saved = vars.Select(v => sess.GetVariableValue(v)!).ToList();

        var saver = new Saver(vars);
        var path = saver.Save(sess, Prefix(), globalStep: 3);
        path.Should().Be(Prefix() + "-3.ckpt");
        File.ReadAllBytes(path).Take(8).Should().Equal(Encoding.ASCII.GetBytes("GRAPHCKP"));

        using var restored = new Session(g);
        saver.Restore(restored, path);
        for (var i = 0; i < vars.Length; i++)
            restored.GetVariableValue(vars[i])!.ContentEquals(saved[i]).Should().BeTrue(vars[i].Name);

        var entries = Saver.ReadCheckpoint(path);
        entries.Keys.Should().Equal("layer/weights", "f64", "step", "i64", "flags");
        entries["flags"].Dims.Should().Equal(2, 2);
        entries["step"].Rank.Should().Be(0);
    }

    [Test]
    public void DefaultVariablesAreTheGraphsGlobalVariables()
    {
        var (g, vars) = AllDTypes();
        Saver saver;
        using (g.AsDefault()) saver = new Saver();
        saver.Variables.Should().Equal(vars);
        saver.MaxToKeep.Should().Be(5);
        FluentActions.Invoking(() => new Saver(Array.Empty<Variable>())).Should().Throw<InvalidArgumentException>().WithMessage("*no variables*");
        FluentActions.Invoking(() => new Saver([vars[0], vars[0]])).Should().Throw<InvalidArgumentException>().WithMessage("*layer/weights*twice*");
    }

    [Test]
    public void SavingAnUninitialisedVariableFailsAndLeavesNoFile()
    {
        var (g, vars) = AllDTypes();
        using var sess = new Session(g);
        FluentActions.Invoking(() => new Saver(vars).Save(sess, Prefix(), 1))
            .Should().Throw<FailedPreconditionException>().WithMessage("*layer/weights*not initialised*");
        Directory.EnumerateFileSystemEntries(_dir).Should().BeEmpty();
    }

    [Test]
    public void MaxToKeepDeletesTheOldestAndTheStateFileListsTheKept()
    {
        var (g, vars) = AllDTypes();
        using var sess = new Session(g);
        using (g.AsDefault()) sess.Run(TF.GlobalVariablesInitializer());
        var saver = new Saver(vars, maxToKeep: 2);
        for (var step = 1; step <= 4; step++) saver.Save(sess, Prefix(), step);

        CheckpointFiles().Should().Equal("model-3.ckpt", "model-4.ckpt");
        saver.LastCheckpoints.Select(Path.GetFileName).Should().Equal("model-3.ckpt", "model-4.ckpt");
        Saver.LatestCheckpoint(_dir).Should().Be(Path.Combine(_dir, "model-4.ckpt"));
        File.ReadAllText(Path.Combine(_dir, Saver.StateFileName)).Should().Be(
            "model_checkpoint_path: \"model-4.ckpt\"\n" +
            "all_model_checkpoint_paths: \"model-3.ckpt\"\n" +
            "all_model_checkpoint_paths: \"model-4.ckpt\"\n");

        // A new saver (a resumed run) takes over the listed checkpoints of its prefix and keeps pruning them.
        var resumed = new Saver(vars, maxToKeep: 2);
        resumed.Save(sess, Prefix(), 5);
        CheckpointFiles().Should().Equal("model-4.ckpt", "model-5.ckpt");

        // Saving the same step again replaces it without duplicating it in the list.
        resumed.Save(sess, Prefix(), 5);
        resumed.LastCheckpoints.Select(Path.GetFileName).Should().Equal("model-4.ckpt", "model-5.ckpt");

        var keepAll = new Saver(vars, maxToKeep: 0);
        for (var step = 10; step < 17; step++) keepAll.Save(sess, Prefix("all"), step);
        CheckpointFiles().Where(f => f.StartsWith("all-", StringComparison.Ordinal)).Should().HaveCount(7);
        Saver.LatestCheckpoint(_dir).Should().Be(Path.Combine(_dir, "all-16.ckpt"));
    }

    [Test]
    public void LatestCheckpointIsNullWithoutAStateFile()
    {
        Saver.LatestCheckpoint(_dir).Should().BeNull();
        Saver.LatestCheckpoint(Path.Combine(_dir, "missing")).Should().BeNull();
    }

    [Test]
    public void AnInterruptedWriteLeavesThePreviousCheckpointUsable()
    {
        var (g, vars) = AllDTypes();
        using var sess = new Session(g);
        using (g.AsDefault()) sess.Run(TF.GlobalVariablesInitializer());
        var saver = new Saver(vars);
        var path5 = saver.Save(sess, Prefix(), 5);
        var at5 = sess.GetVariableValue(vars[0])!;

        // Simulate a process killed while writing step 10: a partial temp checkpoint and a partial temp state file.
        var bytes = File.ReadAllBytes(path5);
        File.WriteAllBytes(Path.Combine(_dir, "model-10.ckpt.tmp-0123456789abcdef"), bytes[..(bytes.Length / 2)]);
        File.WriteAllText(Path.Combine(_dir, Saver.StateFileName + ".tmp-0123456789abcdef"), "model_checkpoint_path: \"model-10.ck");
        sess.SetVariableValue(vars[0], HostTensor.Zeros(DType.Float32, 3, 2));

        Saver.LatestCheckpoint(_dir).Should().Be(path5);
        using var restored = new Session(g);
        new Saver(vars).Restore(restored, Saver.LatestCheckpoint(_dir)!);
        restored.GetVariableValue(vars[0])!.ContentEquals(at5).Should().BeTrue();

        // The next save is unaffected by the leftovers.
        var path10 = saver.Save(sess, Prefix(), 10);
        Saver.LatestCheckpoint(_dir).Should().Be(path10);
        Saver.ReadCheckpoint(path10)["layer/weights"].ContentEquals(HostTensor.Zeros(DType.Float32, 3, 2)).Should().BeTrue();
    }

    [Test]
    public void CorruptFilesAreReportedWithTheirPath()
    {
        var (g, vars) = AllDTypes();
        using var sess = new Session(g);
        using (g.AsDefault()) sess.Run(TF.GlobalVariablesInitializer());
        var saver = new Saver(vars);
        var path = saver.Save(sess, Prefix(), 1);
        var good = File.ReadAllBytes(path);

        void Expect(byte[] content, CheckpointError error, string message)
        {
            File.WriteAllBytes(path, content);
            var e = FluentActions.Invoking(() => saver.Restore(sess, path)).Should().Throw<CheckpointException>().Which;
            e.Error.Should().Be(error);
            e.Path.Should().Be(path);
            e.Message.Should().Contain(path).And.MatchEquivalentOf(message);
        }

        var flipped = (byte[])good.Clone();
        flipped[good.Length / 2] ^= 0x10;
        Expect(flipped, CheckpointError.Corrupt, "*checksum*");
        Expect(good[..^10], CheckpointError.Corrupt, "*checksum*truncated*");
        Expect(good[..20], CheckpointError.Corrupt, "*truncated*");
        Expect([], CheckpointError.Corrupt, "*not a Graph checkpoint*");
        Expect(Encoding.ASCII.GetBytes("model_checkpoint_path: \"x\"\n"), CheckpointError.Corrupt, "*not a Graph checkpoint*");
        var future = (byte[])good.Clone();
        future[8] = 99;
        Expect(future, CheckpointError.UnsupportedVersion, "*version 99*");

        FluentActions.Invoking(() => saver.Restore(sess, Path.Combine(_dir, "nope.ckpt"))).Should().Throw<FileNotFoundException>().WithMessage("*nope.ckpt*");
    }

    [Test]
    public void AMissingVariableIsReportedByNameAndChangesNothing()
    {
        string path;
        {
            var g = new ComputeGraph();
            using var _ = g.AsDefault();
            var w = TF.Variable(TF.Zeros([3, 1]), name: "weights");
            using var sess = new Session(g);
            sess.Run(TF.GlobalVariablesInitializer());
            path = new Saver().Save(sess, Prefix(), 1);
        }

        {
            var g = new ComputeGraph();
            using var _ = g.AsDefault();
            var weights = TF.Variable(TF.Constant(new float[,] { { 5 }, { 5 }, { 5 } }), name: "weights");
            TF.Variable(TF.Constant(new float[] { 4 }), name: "bias");
            using var sess = new Session(g);
            sess.Run(TF.GlobalVariablesInitializer());
            var e = FluentActions.Invoking(() => new Saver().Restore(sess, path)).Should().Throw<CheckpointException>().Which;
            e.Error.Should().Be(CheckpointError.MissingVariable);
            e.VariableName.Should().Be("bias");
            e.Path.Should().Be(path);
            e.Message.Should().Contain(path).And.Contain("'bias'").And.Contain("holds 1 value(s): 'weights'");
            sess.GetVariableValue(weights)!.ToArray<float>().Should().Equal([5f, 5f, 5f], "a failed restore changes nothing, not even the variables that matched");
        }
    }

    [Test]
    public void WrongDTypeOrShapeIsReportedByName()
    {
        var g = new ComputeGraph();
        string path;
        using (g.AsDefault())
        {
            var w = TF.Variable(TF.Zeros([3, 1]), name: "weights");
            using var sess = new Session(g);
            sess.Run(TF.GlobalVariablesInitializer());
            path = new Saver().Save(sess, Prefix(), 1);
        }

        var g2 = new ComputeGraph();
        using (g2.AsDefault())
        {
            var w = TF.Variable(TF.Zeros([4, 1]), name: "weights");
            using var sess = new Session(g2);
            var e = FluentActions.Invoking(() => new Saver().Restore(sess, path)).Should().Throw<CheckpointException>().Which;
            e.Error.Should().Be(CheckpointError.ShapeMismatch);
            e.VariableName.Should().Be("weights");
            e.Message.Should().Contain(path).And.Contain("'weights'").And.Contain("(4, 1) in the graph but (3, 1) in the checkpoint");
        }

        var g3 = new ComputeGraph();
        using (g3.AsDefault())
        {
            var w = TF.Variable(TF.Zeros([3, 1], DType.Float64), name: "weights");
            using var sess = new Session(g3);
            var e = FluentActions.Invoking(() => new Saver().Restore(sess, path)).Should().Throw<CheckpointException>().Which;
            e.Error.Should().Be(CheckpointError.DTypeMismatch);
            e.Message.Should().Contain(path).And.Contain("'weights' is float64 in the graph but float32 in the checkpoint");
        }
    }

    /// <summary>Linear regression y = x·w + b with a global step, trained by <paramref name="optimizer"/>.</summary>
    private static (ComputeGraph Graph, Operation Train, FeedDict Feed) LinearRegression(string optimizer)
    {
        var g = new ComputeGraph { Seed = 11 };
        using var _ = g.AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 3), name: "x");
        var y = TF.Placeholder(DType.Float32, new Shape(-1, 1), name: "y");
        var w = TF.Variable(TF.RandomNormal([3, 1]), name: "weights");
        var b = TF.Variable(TF.Zeros([1]), name: "bias");
        var loss = TF.ReduceMean(TF.Square(TF.MatMul(x, w) + b - y), name: "mse");
        var globalStep = TF.Variable(TF.Constant(0), name: "global_step", trainable: false);
        Optimizer opt = optimizer == "adam" ? new AdamOptimizer(0.1) : new GradientDescentOptimizer(0.1);
        var train = opt.Minimize(loss, globalStep);

        var xs = new float[8, 3];
        var ys = new float[8, 1];
        for (var i = 0; i < 8; i++)
        {
            for (var j = 0; j < 3; j++) xs[i, j] = MathF.Sin(1.7f * i + j);
            ys[i, 0] = 2 * xs[i, 0] - 3 * xs[i, 1] + 0.5f * xs[i, 2] + 1;
        }
        return (g, train, new FeedDict { { x, xs }, { y, ys } });
    }

    [Test]
    public void ResumingFromACheckpointEqualsTrainingContinuously([Values("sgd", "adam")] string optimizer)
    {
        // Continuous: 10 steps.
        var (g1, train1, feed1) = LinearRegression(optimizer);
        using var continuous = new Session(g1);
        using (g1.AsDefault()) continuous.Run(TF.GlobalVariablesInitializer());
        for (var i = 0; i < 10; i++) continuous.Run(train1, feed1);
        var expected = g1.GetCollection<Variable>(GraphKeys.GlobalVariables).ToDictionary(v => v.Name, v => continuous.GetVariableValue(v)!);
        if (optimizer == "adam")
            expected.Keys.Should().Contain(["weights/Adam", "weights/Adam_1", "bias/Adam", "bias/Adam_1", "beta1_power", "beta2_power"]);

        // 5 steps, save.
        var (g2, train2, feed2) = LinearRegression(optimizer);
        string path;
        using (var first = new Session(g2))
        {
            using (g2.AsDefault()) first.Run(TF.GlobalVariablesInitializer());
            for (var i = 0; i < 5; i++) first.Run(train2, feed2);
            Saver saver;
            using (g2.AsDefault()) saver = new Saver();
            path = saver.Save(first, Prefix(), globalStep: 5);
        }
        Saver.ReadCheckpoint(path).Keys.Should().BeEquivalentTo(expected.Keys, "every global variable, slots and β powers included, is saved");

        // A fresh graph and session (a new process): restore without initialising, 5 more steps.
        var (g3, train3, feed3) = LinearRegression(optimizer);
        using var resumed = new Session(g3);
        using (g3.AsDefault()) new Saver().Restore(resumed, Saver.LatestCheckpoint(_dir)!);
        for (var i = 0; i < 5; i++) resumed.Run(train3, feed3);

        foreach (var v in g3.GetCollection<Variable>(GraphKeys.GlobalVariables))
            resumed.GetVariableValue(v)!.ContentEquals(expected[v.Name]).Should().BeTrue($"{v.Name} must be bit-identical to continuous training");
        resumed.GetVariableValue(g3.GetCollection<Variable>(GraphKeys.GlobalVariables).Single(v => v.Name == "global_step"))!.Item<int>().Should().Be(10);
    }

    private List<string> CheckpointFiles() =>
        Directory.EnumerateFiles(_dir, "*" + Saver.Extension).Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal).ToList();
}
