using Graph.Core;
using Graph.Kernels;
using Graph.Rnn;

namespace Graph.Tests;

[TestFixture("cpu")]
[TestFixture("ilgpu-cpu")]
[TestFixture("cuda", Category = "Cuda")]
public class RnnTests(string device) : DeviceFixture(device)
{
    private static readonly float[,,] Batch =
    {
        { { 0, 1, 2 }, { 9, 8, 7 } },
        { { 3, 4, 5 }, { 0, 0, 0 } },
        { { 6, 7, 8 }, { 6, 5, 4 } },
        { { 9, 0, 1 }, { 3, 2, 1 } },
    };

    [Test]
    public void DynamicRnnEqualsStaticRnnInOutputsStatesAndGradients()
    {
        var g = new ComputeGraph { Seed = 42 };
        using var scope = g.AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 2, 3), "X");
        var cell = new SimpleRNNCell(5);
        var (dynOut, dynState) = Graph.Rnn.Rnn.DynamicRnn(cell, x, name: "dynamic");
        var steps = TF.Unstack(TF.Transpose(x, [1, 0, 2]));
        var (statOut, statState) = Graph.Rnn.Rnn.StaticRnn(cell, steps, name: "static");
        var statStacked = TF.Transpose(TF.Stack(statOut), [1, 0, 2]);
        var weights = new Tensor[] { cell.Kernel!, cell.RecurrentKernel!, cell.Bias! };
        var dynGrads = TF.Gradients(TF.ReduceSum(dynOut * dynOut) + TF.ReduceSum(dynState[0]), weights);
        var statGrads = TF.Gradients(TF.ReduceSum(statStacked * statStacked) + TF.ReduceSum(statState[0]), weights);
        using var sess = new Session(g, new SessionOptions { Device = Device });
        sess.Run(TF.GlobalVariablesInitializer());
        var feeds = new FeedDict { { x, Batch } };
        var results = sess.Run([dynOut, statStacked, dynState[0], statState[0], .. dynGrads!, .. statGrads!], feeds);
        results[0].Dims.Should().Equal(4, 2, 5);
        AssertClose(results[0], results[1]);
        AssertClose(results[2], results[3]);
        for (var i = 0; i < 3; i++) AssertClose(results[4 + i], results[7 + i]);
    }

    [Test]
    public void SequenceLengthZeroesOutputsAndCarriesState([Values] bool dynamic)
    {
        var g = new ComputeGraph { Seed = 42 };
        using var scope = g.AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 2, 3));
        var lengths = TF.Placeholder(DType.Int32, new Shape(-1));
        var cell = new SimpleRNNCell(5);
        Tensor outputs;
        Tensor state;
        if (dynamic) (outputs, var s) = Graph.Rnn.Rnn.DynamicRnn(cell, x, lengths) is var r ? (r.Outputs, r.State) : default;
        else
        {
            var (o, st) = Graph.Rnn.Rnn.StaticRnn(cell, TF.Unstack(TF.Transpose(x, [1, 0, 2])), sequenceLength: lengths);
            outputs = TF.Transpose(TF.Stack(o), [1, 0, 2]);
            _ = st;
        }
        state = dynamic ? Graph.Rnn.Rnn.DynamicRnn(cell, x, lengths, name: "again").State[0] : Graph.Rnn.Rnn.StaticRnn(cell, TF.Unstack(TF.Transpose(x, [1, 0, 2])), sequenceLength: lengths, name: "again").State[0];
        using var sess = new Session(g, new SessionOptions { Device = Device });
        sess.Run(TF.GlobalVariablesInitializer());
        var (outVal, stateVal) = sess.Run(outputs, state, new FeedDict { { x, Batch }, { lengths, new[] { 2, 1, 2, 2 } } });
        // Instance 1 has length 1: its output at t = 1 is zero and its final state is its output at t = 0.
        outVal[1, 1].ToArray<float>().Should().AllSatisfy(v => v.Should().Be(0f));
        stateVal[1].ToArray<float>().Should().Equal(outVal[1, 0].ToArray<float>());
        foreach (var i in new[] { 0, 2, 3 }) stateVal[i].ToArray<float>().Should().Equal(outVal[i, 1].ToArray<float>());
    }

    [Test]
    public void BadSequenceLengthsFailTheRun([Values(-1, 3)] int bad)
    {
        var g = new ComputeGraph { Seed = 42 };
        using var scope = g.AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 2, 3));
        var lengths = TF.Placeholder(DType.Int32, new Shape(-1));
        var (outputs, _) = Graph.Rnn.Rnn.DynamicRnn(new SimpleRNNCell(5), x, lengths);
        using var sess = new Session(g, new SessionOptions { Device = Device });
        sess.Run(TF.GlobalVariablesInitializer());
        var act = () => sess.Run(outputs, new FeedDict { { x, Batch }, { lengths, new[] { 2, bad, 2, 2 } } });
        act.Should().Throw<InvalidArgumentException>().WithMessage($"*sequence_length[1] = {bad} is outside [0, 2]*");
    }

    [Test]
    public void SwapMemoryIsBitIdenticalAndBoundsDeviceMemory()
    {
        float[] Train(bool swap, out long peak, int steps = 200, int units = 64)
        {
            var g = new ComputeGraph { Seed = 7 };
            using var scope = g.AsDefault();
            var x = TF.Placeholder(DType.Float32, new Shape(-1, steps, 4));
            var cell = new SimpleRNNCell(units);
            var (_, state) = Graph.Rnn.Rnn.DynamicRnn(cell, x, swapMemory: swap);
            var loss = TF.ReduceSum(TF.Square(state[0]));
            var grads = TF.Gradients(loss, cell.Kernel!, cell.RecurrentKernel!);
            using var sess = new Session(g, new SessionOptions { Device = Device });
            sess.Run(TF.GlobalVariablesInitializer());
            var input = new float[2, steps, 4];
            for (var i = 0; i < input.Length; i++) input[i / (steps * 4), i / 4 % steps, i % 4] = MathF.Sin(i);
            var r = sess.Run([grads[0]!, grads[1]!], new FeedDict { { x, input } });
            peak = sess.LastRunPeakBytes;
            return r.SelectMany(t => t.ToArray<float>()).ToArray();
        }
        var off = Train(false, out var peakOff);
        var on = Train(true, out var peakOn);
        on.Should().Equal(off, "swapping changes where values live, not the numbers");
        peakOn.Should().BeLessThan(peakOff);
    }

    [Test]
    public void LstmStepMatchesHandComputation()
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var cell = new BasicLSTMCell(1, forgetBias: 1.0);
        var x = TF.Constant(new float[,] { { 0.5f } });
        var c = TF.Constant(new float[,] { { 0.2f } });
        var h = TF.Constant(new float[,] { { -0.3f } });
        var (output, state) = cell.Call(x, [c, h]);
        using var sess = new Session(g, new SessionOptions { Device = Device });
        sess.Run(TF.GlobalVariablesInitializer());
        // kernel [2, 4] rows (x, h), columns (i, j, f, o); bias zero.
        sess.SetVariableValue(cell.Kernel!, new float[,] { { 0.1f, 0.2f, 0.3f, 0.4f }, { -0.5f, 0.6f, -0.7f, 0.8f } });
        var (o, newC) = sess.Run(output, state[0]);
        double Sig(double v) => 1 / (1 + Math.Exp(-v));
        double Pre(int k, double w0, double w1) => 0.5 * w0 + -0.3 * w1;
        var i = Pre(0, 0.1, -0.5); var j = Pre(1, 0.2, 0.6); var f = Pre(2, 0.3, -0.7); var og = Pre(3, 0.4, 0.8);
        var cNew = 0.2 * Sig(f + 1.0) + Sig(i) * Math.Tanh(j);
        newC.Item<float>().Should().BeApproximately((float)cNew, 1e-6f);
        o.Item<float>().Should().BeApproximately((float)(Math.Tanh(cNew) * Sig(og)), 1e-6f);
    }

    [Test]
    public void GruStepMatchesHandComputation()
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var cell = new GRUCell(1);
        var x = TF.Constant(new float[,] { { 0.5f } });
        var h = TF.Constant(new float[,] { { -0.3f } });
        var (output, _) = cell.Call(x, [h]);
        using var sess = new Session(g, new SessionOptions { Device = Device });
        sess.Run(TF.GlobalVariablesInitializer());
        sess.SetVariableValue(cell.GateKernel!, new float[,] { { 0.1f, 0.2f }, { 0.3f, 0.4f } });
        sess.SetVariableValue(cell.CandidateKernel!, new float[,] { { 0.5f }, { -0.6f } });
        double Sig(double v) => 1 / (1 + Math.Exp(-v));
        var r = Sig(0.5 * 0.1 - 0.3 * 0.3 + 1);
        var u = Sig(0.5 * 0.2 - 0.3 * 0.4 + 1);
        var cand = Math.Tanh(0.5 * 0.5 + (r * -0.3) * -0.6);
        sess.Run(output).Item<float>().Should().BeApproximately((float)(u * -0.3 + (1 - u) * cand), 1e-6f);
    }

    [Test]
    public void MultiCellAndDropoutWrapperRun()
    {
        var g = new ComputeGraph { Seed = 3 };
        using var scope = g.AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 2, 3));
        var cell = new MultiRNNCell([new BasicLSTMCell(4), new DropoutWrapper(new GRUCell(5), outputKeepProb: 0.5, seed: 1)]);
        var (outputs, state) = Graph.Rnn.Rnn.DynamicRnn(cell, x);
        state.Should().HaveCount(3);
        using var sess = new Session(g, new SessionOptions { Device = Device });
        sess.Run(TF.GlobalVariablesInitializer());
        var r = sess.Run(outputs, new FeedDict { { x, Batch } });
        r.Dims.Should().Equal(4, 2, 5);
        r.ToArray<float>().Should().Contain(0f, "dropout zeroes some outputs").And.Contain(v => v != 0);
    }

    [Test]
    public void DenseLayerAppliesKernelAndBias()
    {
        var g = new ComputeGraph { Seed = 1 };
        using var scope = g.AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 3));
        var dense = new Dense(2, t => TF.Relu(t));
        var y = dense.Apply(x);
        dense.Kernel!.Name.Should().Be("dense/kernel");
        using var sess = new Session(g, new SessionOptions { Device = Device });
        sess.Run(TF.GlobalVariablesInitializer());
        sess.SetVariableValue(dense.Kernel, new float[,] { { 1, -1 }, { 2, -2 }, { 3, -3 } });
        sess.SetVariableValue(dense.Bias!, new float[] { 0.5f, 0.5f });
        sess.Run(y, new FeedDict { { x, new float[,] { { 1, 1, 1 } } } }).ToArray<float>().Should().Equal(6.5f, 0f);
    }

    private static void AssertClose(HostTensor a, HostTensor b)
    {
        a.Dims.Should().Equal(b.Dims);
        var (x, y) = (a.ToArray<float>(), b.ToArray<float>());
        for (var i = 0; i < x.Length; i++) x[i].Should().BeApproximately(y[i], 1e-5f * Math.Max(1, Math.Abs(y[i])));
    }
}

[TestFixture("cpu")]
[TestFixture("ilgpu-cpu")]
[TestFixture("cuda", Category = "Cuda")]
public class RnnSequenceLengthGradientTests(string device) : DeviceFixture(device)
{
    [Test]
    public void DynamicRnnWithSequenceLengthsMatchesStaticRnnInGradients()
    {
        // The loop's trip count depends on the lengths (it stops after the longest sequence).
        var g = new ComputeGraph { Seed = 11 };
        using var scope = g.AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 4, 3));
        var lengths = TF.Placeholder(DType.Int32, new Shape(-1));
        var cell = new BasicLSTMCell(5);
        var (dynOut, dynState) = Graph.Rnn.Rnn.DynamicRnn(cell, x, lengths, name: "dyn");
        var (statOut, statState) = Graph.Rnn.Rnn.StaticRnn(cell, TF.Unstack(TF.Transpose(x, [1, 0, 2])), sequenceLength: lengths, name: "stat");
        var statStacked = TF.Transpose(TF.Stack(statOut), [1, 0, 2]);
        Tensor Loss(Tensor outputs, Tensor[] state) => TF.ReduceSum(outputs * outputs) + TF.ReduceSum(state[0]) + TF.ReduceSum(TF.Square(state[1]));
        var weights = new Tensor[] { cell.Kernel!, cell.Bias! };
        var dyn = TF.Gradients(Loss(dynOut, dynState), weights);
        var stat = TF.Gradients(Loss(statStacked, statState), weights);
        using var sess = new Session(g, new SessionOptions { Device = Device });
        sess.Run(TF.GlobalVariablesInitializer());
        var input = new float[3, 4, 3];
        for (var i = 0; i < input.Length; i++) input[i / 12, i / 3 % 4, i % 3] = MathF.Cos(i);
        var feeds = new FeedDict { { x, input }, { lengths, new[] { 3, 1, 2 } } };
        var r = sess.Run([dynOut, statStacked, dyn[0]!, stat[0]!, dyn[1]!, stat[1]!], feeds);
        for (var k = 0; k < 6; k += 2)
        {
            var (a, b) = (r[k].ToArray<float>(), r[k + 1].ToArray<float>());
            for (var i = 0; i < a.Length; i++) a[i].Should().BeApproximately(b[i], 1e-5f * Math.Max(1, Math.Abs(b[i])));
        }
        r[0][0, 3].ToArray<float>().Should().AllSatisfy(v => v.Should().Be(0f), "steps past the longest sequence stay zero");
    }
}
