extern alias OnnxProto;

using Graph.Core;
using Graph.Core.Data;
using Graph.Kernels;
using Graph.Rnn;
using P = OnnxProto::Onnx;

namespace Graph.Tests;

/// <summary>
/// ONNX export checked by ONNX Runtime (CPU): the notebook's inference graphs give ONNX Runtime's outputs within
/// 1e-5 relative of Graph's (float32), on the same inputs.
/// </summary>
[TestFixture]
public class OnnxExportTests
{
    private static readonly float[,] X0Batch = { { 0, 1, 2 }, { 3, 4, 5 }, { 6, 7, 8 }, { 9, 0, 1 } };
    private static readonly float[,] X1Batch = { { 9, 8, 7 }, { 0, 0, 0 }, { 6, 5, 4 }, { 3, 2, 1 } };

    private static Session Initialised(ComputeGraph g)
    {
        var sess = new Session(g);
        using (g.AsDefault()) sess.Run(TF.GlobalVariablesInitializer());
        return sess;
    }

    private static P.ModelProto Parse(byte[] model) => P.ModelProto.Parser.ParseFrom(model);

    [Test]
    public void TheManualRnnMatchesOnnxRuntime()
    {
        var g = NotebookModels.ManualRnn();
        using var sess = Initialised(g);
        var feeds = new FeedDict { { g.GetTensor("X0:0"), X0Batch }, { g.GetTensor("X1:0"), X1Batch } };
        var (model, _, _) = OnnxCheck.ExportAndCompare(g, sess, feeds, [g.GetTensor("Y0:0"), g.GetTensor("Y1:0")]);
        var proto = Parse(model);
        proto.OpsetImport.Single().Version.Should().Be(17);
        proto.Graph.Input.Select(i => i.Name).Should().Equal("X0", "X1");
        proto.Graph.Output.Select(o => o.Name).Should().Equal("Y0", "Y1");
        proto.Graph.Initializer.Select(i => i.Name).Should().BeEquivalentTo("Wx", "Wy", "b");
        var wx = proto.Graph.Initializer.Single(i => i.Name == "Wx");
        wx.Dims.Should().Equal(3, 5);
        wx.RawData.ToByteArray().Should().Equal(HostOps.BytesOf(sess.GetVariableValue(g.GetCollection<Variable>(GraphKeys.GlobalVariables)[0])!.Data).ToArray());
    }

    /// <summary>Any tensor may be an input: fed Y0, the model computes Y1 without the ops that made Y0.</summary>
    [Test]
    public void AnIntermediateTensorCanBeAnInput()
    {
        var g = NotebookModels.ManualRnn();
        using var sess = Initialised(g);
        var y0 = g.GetTensor("Y0:0");
        var feeds = new FeedDict { { y0, new float[,] { { 0.5f, -0.5f, 0, 1, -1 }, { 0.25f, 0, 0, 0, 0.75f } } }, { g.GetTensor("X1:0"), new float[,] { { 1, 2, 3 }, { -1, 0, 1 } } } };
        var (model, _, _) = OnnxCheck.ExportAndCompare(g, sess, feeds, [g.GetTensor("Y1:0")]);
        Parse(model).Graph.Node.Should().NotContain(n => n.Name.StartsWith("Y0"), "Y0's producer is not exported when Y0 is fed");
    }

    [Test]
    public void StaticRnnMatchesOnnxRuntime([Values] bool withSequenceLength)
    {
        var g = new ComputeGraph { Seed = 42 };
        Tensor[] outputs;
        FeedDict feeds;
        using (g.AsDefault())
        {
            var x0 = TF.Placeholder(DType.Float32, new Shape(-1, 3), "X0");
            var x1 = TF.Placeholder(DType.Float32, new Shape(-1, 3), "X1");
            var lengths = withSequenceLength ? TF.Placeholder(DType.Int32, new Shape(-1), "seq_length") : null;
            var (o, state) = Graph.Rnn.Rnn.StaticRnn(new SimpleRNNCell(5), [x0, x1], sequenceLength: lengths);
            outputs = [TF.Identity(o[0], "Y0"), TF.Identity(o[1], "Y1"), TF.Identity(state[0], "state")];
            feeds = new FeedDict { { x0, X0Batch }, { x1, X1Batch } };
            if (lengths != null) feeds.Add(lengths, new[] { 2, 1, 2, 0 });
        }
        using var sess = Initialised(g);
        OnnxCheck.ExportAndCompare(g, sess, feeds, outputs);
    }

    /// <summary>One exported model, fed sequences of 1, 2 and 7 steps with per-example lengths: the loop is an ONNX Loop, not unrolled.</summary>
    [Test]
    public void DynamicRnnWithSequenceLengthsMatchesOnnxRuntimeForAnyNumberOfSteps()
    {
        var g = new ComputeGraph { Seed = 42 };
        Tensor x, lengths;
        Tensor[] outputs;
        using (g.AsDefault())
        {
            x = TF.Placeholder(DType.Float32, new Shape(-1, -1, 3), "X");
            lengths = TF.Placeholder(DType.Int32, new Shape(-1), "seq_length");
            var (o, state) = Graph.Rnn.Rnn.DynamicRnn(new SimpleRNNCell(5), x, lengths);
            outputs = [TF.Identity(o, "outputs"), TF.Identity(state[0], "states")];
        }
        using var sess = Initialised(g);
        byte[]? first = null;
        var random = new Random(7);
        foreach (var (steps, lengthValues) in new[] { (2, new[] { 0, 2, 1, 2 }), (1, new[] { 1, 1, 0, 1 }), (7, new[] { 7, 3, 0, 5 }) })
        {
            var data = new float[4 * steps * 3];
            for (var i = 0; i < data.Length; i++) data[i] = (float)(random.NextDouble() * 10 - 5);
            var feeds = new FeedDict { { x, HostTensor.From(data, 4, steps, 3) }, { lengths, lengthValues } };
            var (model, _, _) = OnnxCheck.ExportAndCompare(g, sess, feeds, outputs);
            first ??= model;
            model.Should().Equal(first, "the model does not depend on the number of steps");
        }
        var graph = Parse(first!).Graph;
        var loop = graph.Node.Single(n => n.OpType == "Loop");
        loop.Attribute.Single(a => a.Name == "body").G.Node.Should().Contain(n => n.OpType == "MatMul");
        graph.Node.Count(n => n.OpType == "MatMul").Should().Be(0, "the cell's products live in the loop body only");
    }

    /// <summary>dynamic_rnn's form for a GPU (inputs projected before the loop, RnnProjectedInputs before it) exports too.</summary>
    [Test]
    public void ADynamicRnnWithProjectedInputsMatchesOnnxRuntime()
    {
        var g = new ComputeGraph { Seed = 42 };
        Tensor x, lengths;
        Tensor[] outputs;
        using (g.AsDefault())
        {
            x = TF.Placeholder(DType.Float32, new Shape(-1, 3, 3), "X");
            lengths = TF.Placeholder(DType.Int32, new Shape(-1), "seq_length");
            var (o, state) = Graph.Rnn.Rnn.DynamicRnn(new SimpleRNNCell(5), x, lengths, projectInputs: true);
            outputs = [TF.Identity(o, "outputs"), TF.Identity(state[0], "states")];
        }
        g.Operations.Should().Contain(op => op.Type == "RnnProjectedInputs");
        using var sess = Initialised(g);
        var random = new Random(9);
        var data = new float[4 * 3 * 3];
        for (var i = 0; i < data.Length; i++) data[i] = (float)(random.NextDouble() * 4 - 2);
        OnnxCheck.ExportAndCompare(g, sess, new FeedDict { { x, HostTensor.From(data, 4, 3, 3) }, { lengths, new[] { 3, 0, 2, 1 } } }, outputs);
    }

    [Test]
    public void TheNotebookDynamicRnnMatchesOnnxRuntime()
    {
        var g = NotebookModels.DynamicRnn();
        using var sess = Initialised(g);
        var while_ = g.Operations.Single(o => o.Type == "While");
        var stacked = g.Operations.Last(o => o.Type == "Transpose").Output;
        var feeds = new FeedDict
        {
            { g.GetTensor("X:0"), new float[,,] { { { 0, 1, 2 }, { 9, 8, 7 } }, { { 3, 4, 5 }, { 0, 0, 0 } }, { { 6, 7, 8 }, { 6, 5, 4 } }, { { 9, 0, 1 }, { 3, 2, 1 } } } },
        };
        OnnxCheck.ExportAndCompare(g, sess, feeds, [stacked, while_.Outputs[1]]);
    }

    /// <summary>
    /// The notebook's MNIST RNN, trained for 40 steps, on the 2,000 embedded test digits: ONNX Runtime's logits are
    /// within 1e-5 of Graph's, its predictions and accuracy are Graph's, and so are the exported loss and accuracy.
    /// </summary>
    [Test]
    [Category("Slow")]
    public void TheMnistRnnGivesTheSamePredictionsInOnnxRuntime()
    {
        var data = Mnist.LoadDigits();
        var model = NotebookModels.MnistRnn();
        using var sess = Initialised(model.Graph);
        var step = 0;
        foreach (var (xb, yb) in Batches.ShuffleBatch(data.TrainImages, data.TrainLabels, 150, seed: 0))
            if (step++ < 40) sess.Run(model.TrainingOp, new FeedDict { { model.X, xb }, { model.Y, yb } });
        Tensor predictions;
        using (model.Graph.AsDefault()) predictions = TF.ArgMax(model.Logits, 1, DType.Int32, name: "predictions");
        var feeds = new FeedDict { { model.X, data.TestImages }, { model.Y, data.TestLabels } };
        var (_, graph, ort) = OnnxCheck.ExportAndCompare(model.Graph, sess, feeds, [model.Logits, predictions, model.Loss, model.Accuracy]);
        ort[1].ToArray<int>().Should().Equal(graph[1].ToArray<int>());
        ort[3].Item<float>().Should().Be(graph[3].Item<float>());
        graph[3].Item<float>().Should().BeGreaterThan(0.5f, "the model has learnt something, so the predictions mean something");
        TestContext.Out.WriteLine($"logits: max relative error {OnnxCheck.MaxRelativeError(ort[0], graph[0]):E2}; accuracy {graph[3].Item<float>()}");
    }

    [Test]
    public void AnOpWithoutAMappingFailsTheExportNamingIt()
    {
        var g = new ComputeGraph { Seed = 1 };
        Tensor x, y;
        using (g.AsDefault())
        {
            x = TF.Placeholder(DType.Float32, new Shape(2), "x");
            y = x + TF.RandomNormal([2], name: "noise");
        }
        using var sess = Initialised(g);
        var act = () => Onnx.ToBytes(g, [x], [y], sess);
        act.Should().Throw<OnnxExportException>().WithMessage("*op 'noise/RandomStandardNormal' of type RandomStandardNormal has no ONNX mapping*")
            .Which.Op!.Name.Should().Be("noise/RandomStandardNormal");
    }

    [Test]
    public void AMissingInputOrAnUninitialisedVariableIsNamed()
    {
        var g = new ComputeGraph();
        Tensor x, y;
        using (g.AsDefault())
        {
            x = TF.Placeholder(DType.Float32, new Shape(2), "x");
            var w = TF.Variable(TF.Ones([2]), name: "w");
            y = x * w;
        }
        using var sess = new Session(g);
        FluentActions.Invoking(() => Onnx.ToBytes(g, [], [y], sess)).Should().Throw<OnnxExportException>()
            .WithMessage("*placeholder 'x' is not among the inputs*add x:0 to the inputs*");
        FluentActions.Invoking(() => Onnx.ToBytes(g, [x], [y], sess)).Should().Throw<OnnxExportException>()
            .WithMessage("*variable 'w' is not initialised in the session*");
    }

    [Test]
    public void EveryMappedOpTypeIsInTheDocsTable()
    {
        var doc = File.ReadAllText(Path.Combine(Repository.Root, "docs", "interop.md"));
        foreach (var type in Onnx.SupportedOpTypes) doc.Should().Contain($"| `{type}` |", "docs/interop.md's op mapping table lists every mapped op");
    }
}
