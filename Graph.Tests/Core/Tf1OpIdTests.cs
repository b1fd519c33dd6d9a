using Graph.Core;
using Graph.Kernels;
using Graph.Rnn;

namespace Graph.Tests;

/// <summary>
/// TF1 derives a random op's seed from the number of ops TF1 1.15 created before it; every graph-building call counts
/// TF1's ops (docs/tf1-mapping.md, "Op ids and seeds"). The expected numbers here are those counts, read off TF1's
/// Python sources as the docs derive them; the notebook's printouts confirm the BasicRNNCell ones.
/// </summary>
[TestFixture]
public class Tf1OpIdTests
{
    private static int Added(Action build)
    {
        var g = ComputeGraph.Default;
        var before = g.LastId;
        build();
        return g.LastId - before;
    }

    private static long[] OpSeeds(ComputeGraph g) =>
        g.Operations.Where(o => o.Type is "RandomUniform" or "RandomStandardNormal" or "TruncatedNormal").Select(o => o.Attr<long>("seed2")).ToArray();

    private static ComputeGraph Build(Action build)
    {
        var g = new ComputeGraph { Seed = 42 };
        using (g.AsDefault()) build();
        return g;
    }

    [Test]
    public void OneToOneCallsCountOneOpEach()
    {
        using var scope = new ComputeGraph().AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 3));
        Added(() => TF.Placeholder(DType.Float32, new Shape(-1, 3))).Should().Be(1);
        Added(() => TF.Tanh(TF.MatMul(x, x, transposeB: true))).Should().Be(2);
        Added(() => _ = x + 1.0).Should().Be(2, "a Python number becomes a Const 'y' before the Add");
        Added(() => TF.Unstack(TF.Placeholder(DType.Float32, new Shape(2, 3)))).Should().Be(2);
        Added(() => TF.Stack([x, x])).Should().Be(1, "a list of tensors is auto-packed into one Pack");
        Added(() => TF.Cast(x, DType.Float32)).Should().Be(0, "math_ops.cast returns its input when the dtype already matches");
    }

    [Test]
    public void CallsWithConstantArgumentsCountTheirConsts()
    {
        using var scope = new ComputeGraph().AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 2, 3));
        Added(() => TF.Transpose(x, [1, 0, 2])).Should().Be(2);
        Added(() => TF.Transpose(x)).Should().Be(2, "without perm, np.arange(rank) reversed is the Const");
        Added(() => TF.Reshape(x, [-1, 3])).Should().Be(2);
        Added(() => TF.Concat([x, x], 1)).Should().Be(2);
        Added(() => TF.Split(x, 3, axis: 2)).Should().Be(3);
        Added(() => TF.Slice(x, [0, 0, 0], [1, 1, 1])).Should().Be(3);
        Added(() => TF.ReduceSum(x)).Should().Be(2);
        Added(() => TF.ReduceMean(x, [1])).Should().Be(2);
        Added(() => TF.OneHot(TF.Placeholder(DType.Int32, new Shape(-1)), 10)).Should().Be(1 + 4);
        Added(() => TF.Zeros([1, 5])).Should().Be(1);
        Added(() => TF.Zeros([1000])).Should().Be(3, "from 1000 elements tf.zeros is a shape Const, a Const and Fill");
        Added(() => TF.OnesLike(x)).Should().Be(3);
    }

    [Test]
    public void VariablesAndInitializersCountAsTf1CreatesThem()
    {
        using var scope = new ComputeGraph { Seed = 42 }.AsDefault();
        Added(() => TF.Variable(TF.Zeros([2]))).Should().Be(1 + 3);
        Added(() => TF.Variable(TF.Zeros([2]), useResource: true)).Should().Be(1 + 4);
        Added(() => TF.Variable(new float[] { 1, 2 })).Should().Be(1 + 3, "the host value becomes an initial_value Const");
        Added(() => TF.RandomNormal([3, 5])).Should().Be(6);
        Added(() => TF.RandomUniform([3, 5])).Should().Be(7);
        Added(() => Initializers.GlorotUniform([3, 5])).Should().Be(7);
        Added(() => Initializers.Orthogonal([5, 5])).Should().Be(6 + 8);
        Added(() => Initializers.Orthogonal([2, 5])).Should().Be(6 + 10, "a wide matrix adds matrix_transpose's perm Const and Transpose");
        Added(() => Initializers.Constant([4], 1.0)).Should().Be(1);

        // The seed is read after the shape and the two scalar Consts: op seed = ids so far + 3.
        var before = ComputeGraph.Default.LastId;
        TF.RandomUniform([2]);
        ComputeGraph.Default.Operations.Last(o => o.Type == "RandomUniform").Attr<long>("seed2").Should().Be(before + 3);
    }

    [Test]
    public void CellsAndDenseCountTheirBuildAndCall()
    {
        using var scope = new ComputeGraph { Seed = 42 }.AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(4, 3));
        var h = TF.Placeholder(DType.Float32, new Shape(4, 5));
        // Keras SimpleRNNCell: kernel 7 + 4, recurrent kernel 14 + 4, bias 1 + 4; call: 3 reads, 2 MatMul, BiasAdd, Add, Tanh.
        Added(() => new SimpleRNNCell(5).Call(x, [h])).Should().Be(34 + 8);
        // BasicRNNCell: kernel 7 + 3, bias 1 + 3; call: concat 2, MatMul, BiasAdd, Tanh.
        Added(() => new BasicRNNCell(5).Call(x, [h])).Should().Be(14 + 5);
        Added(() => new BasicLSTMCell(5).Call(x, [h, h])).Should().Be(14 + 18);
        Added(() => new GRUCell(5).Call(x, [h])).Should().Be(28 + 19);
        // tf.layers.dense: kernel 7 + 3, bias 1 + 3, MatMul, BiasAdd.
        Added(() => Layers.Dense(x, 2)).Should().Be(16);
    }

    [Test]
    public void ZeroStatesCountAsTheCellFamilyDoes()
    {
        using var scope = new ComputeGraph().AsDefault();
        var unknownBatch = TF.Placeholder(DType.Float32, new Shape(-1, 3));
        var knownBatch = TF.Placeholder(DType.Float32, new Shape(4, 3));
        Added(() => new SimpleRNNCell(5).ZeroState(unknownBatch)).Should().Be(8, "Keras' zeros([batch, n]) with np.prod on a tensor");
        Added(() => new SimpleRNNCell(5).ZeroState(knownBatch)).Should().Be(1);
        Added(() => new BasicRNNCell(5).ZeroState(unknownBatch)).Should().Be(10);
        Added(() => new BasicRNNCell(5).ZeroState(knownBatch)).Should().Be(8);
        Added(() => new BasicLSTMCell(5).ZeroState(unknownBatch)).Should().Be(20);
    }

    [Test]
    public void WhileLoopCountsTf1sLoopStructure()
    {
        using var scope = new ComputeGraph().AsDefault();
        // i = tf.constant(0); tf.while_loop(lambda i: i < 10, lambda i: i + 1, [i]): Const; Enter, Merge; Const, Less;
        // LoopCond, Switch, Identity; Const, Add; NextIteration, Exit.
        Added(() => TF.WhileLoop(v => TF.Less(v[0], TF.Constant(10)), v => [v[0] + 1], [TF.Constant(0)])).Should().Be(12);
        // An outside tensor read in the body is one Enter, however often it is read: the body is Add, Enter, Add.
        var step = TF.Constant(2);
        Added(() => TF.WhileLoop(v => TF.Less(v[0], TF.Constant(10)), v => [v[0] + step + step], [TF.Constant(0)])).Should().Be(10 + 3);
        // maximum_iterations: its Const and the counter's Const, Enter, Merge, Less and its Enter, LogicalAnd, Switch,
        // Identity, Const and Add, NextIteration, Exit.
        Added(() => TF.WhileLoop(v => TF.Less(v[0], TF.Constant(10)), v => [v[0] + 1], [TF.Constant(0)], maximumIterations: 5)).Should().Be(12 + 13);
    }

    [Test]
    public void TheIssuesTableOfKerasCellOpSeedsIsDerived()
    {
        // tf.keras.layers.SimpleRNNCell in the notebook's constructions: (kernel, recurrent kernel) op seeds.
        OpSeeds(Build(() =>
        {
            var x0 = TF.Placeholder(DType.Float32, new Shape(-1, 3));
            var x1 = TF.Placeholder(DType.Float32, new Shape(-1, 3));
            Graph.Rnn.Rnn.StaticRnn(new SimpleRNNCell(5), [x0, x1]);
        })).Should().Equal(18, 29);
        OpSeeds(Build(() =>
        {
            var x = TF.Placeholder(DType.Float32, new Shape(-1, 2, 3));
            var (outputs, _) = Graph.Rnn.Rnn.StaticRnn(new SimpleRNNCell(5), TF.Unstack(TF.Transpose(x, [1, 0, 2])));
            TF.Transpose(TF.Stack(outputs), [1, 0, 2]);
        })).Should().Equal(20, 31);
        OpSeeds(Build(() =>
        {
            var x = TF.Placeholder(DType.Float32, new Shape(-1, 2, 3));
            var lengths = TF.Placeholder(DType.Int32, new Shape(-1));
            Graph.Rnn.Rnn.DynamicRnn(new SimpleRNNCell(5), x, lengths);
        })).Should().Equal(104, 115);
    }

    [Test]
    public void TheNotebooksBasicRnnCellsGetTheOpSeedsItsPrintoutsShow()
    {
        // The op seeds of the BasicRNNCell kernel in sections 2 to 5; NotebookPrintoutTests checks the printed arrays.
        OpSeeds(NotebookGraphs.StaticRnn().Graph).Should().Equal(20);
        OpSeeds(NotebookGraphs.PackingSequences().Graph).Should().Equal(22);
        OpSeeds(NotebookGraphs.DynamicRnn().Graph).Should().Equal(87);
        OpSeeds(NotebookGraphs.SequenceLength().Graph).Should().Equal(106);
    }

    [Test]
    public void TheMnistModelsWeightsAreTf1s()
    {
        var model = NotebookModels.MnistRnn();
        OpSeeds(model.Graph).Should().Equal(86, 97, 156);
        using var scope = model.Graph.AsDefault();
        using var sess = new Session(model.Graph);
        sess.Run(TF.GlobalVariablesInitializer());
        var kernels = TF.GlobalVariables().Where(v => v.Name.EndsWith("/kernel", StringComparison.Ordinal)).ToList();
        kernels.Select(v => v.Name).Should().Equal("simple_rnn_cell/kernel", "dense/kernel");
        // TF1's RandomUniform with seeds (42, s), times (max - min), plus min, each rounded to float32 as TF's
        // separate Mul and Add kernels do.
        foreach (var (variable, opSeed, fanIn, fanOut) in new[] { (kernels[0], 86L, 28, 150), (kernels[1], 156L, 150, 10) })
        {
            var limit = (float)Math.Sqrt(3.0 * (1.0 / Math.Max(1.0, (fanIn + fanOut) / 2.0)));
            var uniform = new float[fanIn * fanOut];
            TfRandomStreams.Uniform(uniform, 42, opSeed, 0);
            var expected = uniform.Select(u => u * (limit - -limit) + -limit).ToArray();
            sess.GetVariableValue(variable)!.ToArray<float>().Should().Equal(expected, $"{variable.Name} is TF1's for seed 42");
        }
    }
}

/// <summary>The graphs of the notebook's sections 2 to 5 as the notebook run that printed them built them (BasicRNNCell).</summary>
internal static class NotebookGraphs
{
    public sealed record Section(ComputeGraph Graph, Tensor[] Placeholders, Tensor[] Outputs);

    public static Section StaticRnn() => In(() =>
    {
        var x0 = TF.Placeholder(DType.Float32, new Shape(-1, 3));
        var x1 = TF.Placeholder(DType.Float32, new Shape(-1, 3));
        var (outputs, _) = Graph.Rnn.Rnn.StaticRnn(new BasicRNNCell(5), [x0, x1]);
        return ([x0, x1], outputs);
    });

    public static Section PackingSequences() => In(() =>
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 2, 3));
        var (outputs, _) = Graph.Rnn.Rnn.StaticRnn(new BasicRNNCell(5), TF.Unstack(TF.Transpose(x, [1, 0, 2])));
        return ([x], [TF.Transpose(TF.Stack(outputs), [1, 0, 2])]);
    });

    public static Section DynamicRnn() => In(() =>
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 2, 3));
        var (outputs, _) = Graph.Rnn.Rnn.DynamicRnn(new BasicRNNCell(5), x);
        return ([x], [outputs]);
    });

    public static Section SequenceLength() => In(() =>
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 2, 3));
        var lengths = TF.Placeholder(DType.Int32, new Shape(-1));
        var (outputs, states) = Graph.Rnn.Rnn.DynamicRnn(new BasicRNNCell(5), x, lengths);
        return ([x, lengths], [outputs, states[0]]);
    });

    private static Section In(Func<(Tensor[] Placeholders, Tensor[] Outputs)> build)
    {
        var g = new ComputeGraph { Seed = 42 };
        using var scope = g.AsDefault();
        var (placeholders, outputs) = build();
        return new Section(g, placeholders, outputs);
    }
}
