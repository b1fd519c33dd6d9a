using System.Security.Cryptography;
using System.Text;
using Graph.Core;
using Graph.Core.Data;
using Graph.Kernels;
using Graph.Rnn;

namespace Graph.Tests;

/// <summary>
/// Saved graphs (tf.train.export_meta_graph / import_meta_graph): a graph written with <c>graph.Save</c> and read
/// with <c>ComputeGraph.Load</c> is the same graph, op for op, and computes the same bits.
/// </summary>
[TestFixture]
public class SavedGraphTests : TempDirectoryFixture
{
    /// <summary>Saves, loads and saves again: both files must be byte-identical (every op, attribute, shape, frame and collection survived).</summary>
    private ComputeGraph RoundTrip(ComputeGraph g)
    {
        var first = PathOf("first.graph");
        g.Save(first);
        var loaded = ComputeGraph.Load(first);
        var second = PathOf("second.graph");
        loaded.Save(second);
        File.ReadAllText(second).Should().Be(File.ReadAllText(first));
        loaded.Operations.Select(o => (o.Name, o.Type, o.Id)).Should().Equal(g.Operations.Select(o => (o.Name, o.Type, o.Id)));
        return loaded;
    }

    [Test]
    public void TheManualRnnComputesTheSameValuesAfterARoundTrip()
    {
        var original = NotebookModels.ManualRnn();
        var loaded = RoundTrip(original);
        HostTensor[] Run(ComputeGraph g)
        {
            using var scope = g.AsDefault();
            using var sess = new Session(g);
            sess.Run(TF.GlobalVariablesInitializer());
            return sess.Run([g.GetTensor("Y0:0"), g.GetTensor("Y1:0")], new FeedDict
            {
                { g.GetTensor("X0:0"), new float[,] { { 0, 1, 2 }, { 3, 4, 5 } } },
                { g.GetTensor("X1:0"), new float[,] { { 9, 8, 7 }, { 0, 0, 0 } } },
            });
        }
        var (a, b) = (Run(original), Run(loaded));
        for (var i = 0; i < a.Length; i++) a[i].ContentEquals(b[i]).Should().BeTrue($"output {i} must be bit-identical");
        loaded.Seed.Should().Be(42);
        loaded.GetCollection<Variable>(GraphKeys.GlobalVariables).Select(v => v.Name).Should().Equal("Wx", "Wy", "b");
    }

    [Test]
    public void ADynamicRnnWithSequenceLengthsAndItsLoopGradientSurvivesARoundTrip()
    {
        var g = new ComputeGraph { Seed = 42 };
        Tensor[] fetches;
        using (g.AsDefault())
        {
            var x = TF.Placeholder(DType.Float32, new Shape(-1, 3, 2), "X");
            var lengths = TF.Placeholder(DType.Int32, new Shape(-1), "lengths");
            var cell = new BasicLSTMCell(4);
            var (outputs, state) = Graph.Rnn.Rnn.DynamicRnn(cell, x, lengths, swapMemory: true);
            var loss = TF.ReduceSum(outputs * outputs) + TF.ReduceSum(state[0]);
            var grads = TF.Gradients(loss, [cell.Kernel!.Value, cell.Bias!.Value, x]);
            fetches = [outputs, state[0], state[1], loss, .. grads!];
        }
        var loaded = RoundTrip(g);
        loaded.Operations.Should().Contain(o => o.Type == "While").And.Contain(o => o.Type == "WhileGrad");
        var forward = loaded.Operations.Single(o => o.Type == "While").Attr<LoopFrame>("frame");
        forward.SwapMemory.Should().BeTrue();
        forward.Saved.Should().NotBeEmpty("the gradient reads values the forward loop records");

        HostTensor[] Run(ComputeGraph graph)
        {
            using var sess = new Session(graph);
            using (graph.AsDefault()) sess.Run(TF.GlobalVariablesInitializer());
            var feeds = new FeedDict
            {
                { graph.GetTensor("X:0"), new float[,,] { { { 1, 2 }, { 3, 4 }, { 5, 6 } }, { { -1, 0 }, { 2, -2 }, { 0.5f, 1 } } } },
                { graph.GetTensor("lengths:0"), new[] { 3, 1 } },
            };
            return sess.Run(fetches.Select(t => graph.GetTensor(t.Name)).ToList(), feeds);
        }
        var (a, b) = (Run(g), Run(loaded));
        for (var i = 0; i < a.Length; i++) a[i].ContentEquals(b[i]).Should().BeTrue($"fetch {fetches[i].Name} must be bit-identical");
    }

    /// <summary>
    /// dynamic_rnn's form for a GPU (inputs projected before the loop, the recurrent weight's gradient after it through
    /// RnnProjectedInputs) survives a round trip: the gradients built before saving and those a loaded graph builds
    /// (the op finds its loop again) give the original's bits.
    /// </summary>
    [Test]
    public void ADynamicRnnWithProjectedInputsAndItsGradientsSurvivesARoundTrip()
    {
        var g = new ComputeGraph { Seed = 42 };
        Tensor[] fetches;
        Tensor loss;
        using (g.AsDefault())
        {
            var x = TF.Placeholder(DType.Float32, new Shape(-1, 3, 2), "X");
            var lengths = TF.Placeholder(DType.Int32, new Shape(-1), "lengths");
            var (outputs, state) = Graph.Rnn.Rnn.DynamicRnn(new SimpleRNNCell(4), x, lengths, projectInputs: true);
            loss = TF.ReduceSum(outputs * outputs) + TF.ReduceSum(state[0]);
            fetches = [outputs, state[0], loss, .. TF.Gradients(loss, TF.TrainableVariables().Select(v => v.Value).ToArray())!];
        }
        var loaded = RoundTrip(g);
        loaded.Operations.Should().Contain(o => o.Type == "RnnProjectedInputs");
        Tensor[] rebuilt;
        using (loaded.AsDefault())
            rebuilt = TF.Gradients(loaded.GetTensor(loss.Name), TF.TrainableVariables().Select(v => v.Value).ToArray())!.Select(t => t!).ToArray();

        HostTensor[] Run(ComputeGraph graph, IEnumerable<Tensor> wanted)
        {
            using var sess = new Session(graph);
            using (graph.AsDefault()) sess.Run(TF.GlobalVariablesInitializer());
            var feeds = new FeedDict
            {
                { graph.GetTensor("X:0"), new float[,,] { { { 1, 2 }, { 3, 4 }, { 5, 6 } }, { { -1, 0 }, { 2, -2 }, { 0.5f, 1 } } } },
                { graph.GetTensor("lengths:0"), new[] { 3, 1 } },
            };
            return sess.Run(wanted.ToList(), feeds);
        }
        var (a, b) = (Run(g, fetches), Run(loaded, fetches.Select(t => loaded.GetTensor(t.Name))));
        for (var i = 0; i < fetches.Length; i++) a[i].ContentEquals(b[i]).Should().BeTrue($"fetch {fetches[i].Name} must be bit-identical");
        // (Its own run: each gradient of a loop takes the record of one forward run.)
        var c = Run(loaded, rebuilt);
        for (var i = 0; i < rebuilt.Length; i++)
            c[i].ContentEquals(a[3 + i]).Should().BeTrue($"the loaded graph's own gradient {i} must equal the original's");
    }

    [Test]
    public void TheMnistRnnWithAdamTrainsIdenticallyAfterARoundTrip()
    {
        var data = Mnist.LoadDigits();
        var batch = Batches.ShuffleBatch(data.TrainImages, data.TrainLabels, 20, seed: 3).First();
        var model = NotebookModels.MnistRnn();
        using (model.Graph.AsDefault()) model.Graph.AddToCollection(GraphKeys.TrainOp, model.TrainingOp);
        var loaded = RoundTrip(model.Graph);

        var slots = loaded.GetCollection<Variable>(GraphKeys.GlobalVariables).Select(v => v.Name).ToList();
        slots.Should().Contain(["beta1_power", "beta2_power", "dense/kernel/Adam", "dense/kernel/Adam_1"]);
        loaded.GetCollection<Variable>(GraphKeys.TrainableVariables).Should().OnlyContain(v => v.Trainable).And.HaveCount(5);
        loaded.GetCollection<Operation>(GraphKeys.TrainOp).Single().Name.Should().Be(model.TrainingOp.Name);

        float[] Train(ComputeGraph g, string x, string y, string loss, string train)
        {
            using var scope = g.AsDefault();
            using var sess = new Session(g);
            sess.Run(TF.GlobalVariablesInitializer());
            var feeds = new FeedDict { { g.GetTensor(x), batch.X }, { g.GetTensor(y), batch.y } };
            return Enumerable.Range(0, 3).Select(_ => sess.Run([g.GetTensor(loss)], [g.GetOperation(train)], feeds)[0].Item<float>()).ToArray();
        }
        var names = (model.X.Name, model.Y.Name, model.Loss.Name, model.TrainingOp.Name);
        Train(loaded, names.Item1, names.Item2, names.Item3, names.Item4).Should().Equal(Train(model.Graph, names.Item1, names.Item2, names.Item3, names.Item4));
    }

    [Test]
    public void ALoadedGraphNamesNewOpsAsTheSavedGraphWould()
    {
        var g = NotebookModels.StaticRnn();
        var loaded = RoundTrip(g);
        string Next(ComputeGraph graph)
        {
            using var scope = graph.AsDefault();
            using var rnn = TF.NameScope("rnn");
            return TF.MatMul(graph.GetTensor("X0:0"), graph.GetTensor("X1:0"), transposeB: true).Op.Name + " " + TF.Variable(TF.Zeros([1])).Name;
        }
        Next(loaded).Should().Be(Next(g));
        loaded.LastId.Should().Be(g.LastId);
    }

    [Test]
    public void SignaturesAndOtherCollectionItemsSurvive()
    {
        var g = new ComputeGraph();
        using (g.AsDefault())
        {
            var x = TF.Placeholder(DType.Float32, new Shape(-1, 2), "x");
            var y = TF.Identity(x * 2.0, "doubled");
            g.AddToCollection(GraphKeys.Signatures, new Signature("serving_default", [new("in", x)], [new("out", y)]));
            g.AddToCollection("notes", "a string");
            g.AddToCollection("outputs", y);
            g.AddToCollection("ops", y.Op);
        }
        var loaded = RoundTrip(g);
        var signature = Signature.Find(loaded, "serving_default")!;
        signature.Inputs["in"].Name.Should().Be("x:0");
        signature.Outputs["out"].Name.Should().Be("doubled:0");
        loaded.CollectionKeys.Should().Equal(GraphKeys.Signatures, "notes", "outputs", "ops");
        loaded.GetCollection<string>("notes").Should().Equal("a string");
        loaded.GetCollection<Tensor>("outputs").Single().Name.Should().Be("doubled:0");
    }

    [Test]
    public void ConstantsKeepEveryValueBitForBit()
    {
        var g = new ComputeGraph();
        var floats = new[] { 0.1f, -0f, float.Epsilon, float.MaxValue, float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1 / 3f };
        using (g.AsDefault())
        {
            TF.Constant(HostTensor.From(floats, 2, 4), name: "f");
            TF.Constant(HostTensor.From(new[] { Math.PI, -0.0, double.NaN, 1e-300 }, 4), name: "d");
            TF.Constant(HostTensor.From(new[] { long.MinValue, long.MaxValue }, 2), name: "l");
            TF.Constant(HostTensor.From(new[] { true, false }, 2), name: "b");
            TF.Constant(HostTensor.Scalar(7), shape: [2, 3], name: "broadcast");
        }
        var loaded = RoundTrip(g);
        foreach (var name in new[] { "f", "d", "l", "b" })
            loaded.GetOperation(name).Attr<HostTensor>("value").ContentEquals(g.GetOperation(name).Attr<HostTensor>("value")).Should().BeTrue(name);
        loaded.GetTensor("broadcast:0").Shape.Dims.Should().Equal(2, 3);
    }

    [Test]
    public void ATruncatedOrModifiedFileIsCorrupt()
    {
        var path = PathOf("m.graph");
        NotebookModels.ManualRnn().Save(path);
        var bytes = File.ReadAllBytes(path);

        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        ShouldFail(path, SavedGraphError.Corrupt, "*do not match the checksum*");

        var modified = (byte[])bytes.Clone();
        modified[^20] ^= 1;
        File.WriteAllBytes(path, modified);
        ShouldFail(path, SavedGraphError.Corrupt, "*do not match the checksum*");

        File.WriteAllText(path, "hello");
        ShouldFail(path, SavedGraphError.Corrupt, "*does not start with 'GRAPHDEF '*");

        File.WriteAllBytes(path, bytes[..5]);
        ShouldFail(path, SavedGraphError.Corrupt, "*does not start with*");
    }

    [Test]
    public void AFileOfANewerFormatVersionSaysSo()
    {
        var path = PathOf("new.graph");
        File.WriteAllText(path, "GRAPHDEF 2 sha256:whatever\n{\"something\": \"new\"}");
        ShouldFail(path, SavedGraphError.UnsupportedVersion, "*format version 2, written by a newer Graph; this build reads format version 1*");
    }

    [Test]
    public void AnUnknownOpTypeIsNamed()
    {
        var path = PathOf("unknown.graph");
        WithChecksum(path, """
            {"seed": null, "libraries": ["Graph.Core", "My.Ops"], "names_in_use": {}, "frames": [],
             "ops": [{"name": "fancy", "type": "FancyOp", "inputs": [], "outputs": []}], "collections": {}}
            """);
        ShouldFail(path, SavedGraphError.UnknownOpType, "*op 'fancy'*type 'FancyOp', which no loaded assembly defines*My.Ops*");
    }

    [TestCase("""{"name": "t", "type": "Tanh", "inputs": ["x:0"], "outputs": [{"dtype": "float32", "shape": []}]}""", "*op 'x' is not defined before it is used*")]
    [TestCase("""{"name": "t", "type": "Placeholder", "inputs": [], "attrs": {"dtype": {"dtype": "float16"}, "shape": {"shape": null}}, "outputs": [{"dtype": "float32", "shape": null}]}""", "*unknown dtype 'float16'*")]
    [TestCase("""{"name": "t", "type": "Placeholder", "inputs": [], "attrs": {"dtype": {"dtype": "float32"}, "shape": {"shape": [2]}}, "outputs": [{"dtype": "int32", "shape": [2]}]}""", "*output 0 is saved as int32 (2,) but the op's shape rule gives float32 (2,)*")]
    [TestCase("""{"name": "t", "type": "Placeholder", "inputs": [], "attrs": {"shape": {"shape": [2]}}, "outputs": []}""", "*op 't' (ops[0]) cannot be rebuilt*")]
    [TestCase("""{"name": "t", "type": "Placeholder", "inputs": [], "attrs": {"dtype": {"int": "float32"}}, "outputs": []}""", "*wrong type*")]
    [TestCase("""{"type": "Placeholder"}""", "*ops[0] has no 'name'*")]
    public void AnInconsistentGraphIsCorruptNamingWhere(string op, string message)
    {
        var path = PathOf("bad.graph");
        WithChecksum(path, $$$"""{"seed": null, "libraries": ["Graph.Core"], "names_in_use": {}, "frames": [], "ops": [{{{op}}}], "collections": {}}""");
        ShouldFail(path, SavedGraphError.Corrupt, message);
    }

    [Test]
    public void ACollectionItemWithoutAnEncodingFailsTheSaveNamingIt()
    {
        var g = new ComputeGraph();
        g.AddToCollection("odd", new Uri("http://example.invalid/"));
        var act = () => g.Save(PathOf("odd.graph"));
        act.Should().Throw<InvalidArgumentException>().WithMessage("*collection 'odd'*Uri*");
        File.Exists(PathOf("odd.graph")).Should().BeFalse();
    }

    private static void WithChecksum(string path, string json)
    {
        var payload = Encoding.UTF8.GetBytes(json);
        File.WriteAllBytes(path, [.. Encoding.ASCII.GetBytes($"GRAPHDEF 1 sha256:{Convert.ToHexStringLower(SHA256.HashData(payload))}\n"), .. payload]);
    }

    private static void ShouldFail(string path, SavedGraphError error, string message)
    {
        var act = () => ComputeGraph.Load(path);
        var e = act.Should().Throw<SavedGraphException>().WithMessage(message).Which;
        e.Error.Should().Be(error);
        e.Path.Should().Be(path);
    }
}
