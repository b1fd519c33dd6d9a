using Graph.Core;
using Graph.Kernels;
using Graph.Rnn;

namespace Graph.Tests;

/// <summary>
/// dynamic_rnn computes the input part of every step (x·kernel + bias) either before its loop, as one product over all
/// time steps (cells with <see cref="RnnCell.ProjectsInputs"/>; the loop body keeps one product per step), or per step
/// inside the loop: on every device both give static_rnn's results and gradients (which multiplies per step) within
/// float32 rounding.
/// </summary>
[TestFixture("cpu")]
[TestFixture("ilgpu-cpu")]
[TestFixture("cuda", Category = "Cuda")]
public class InputProjectionTests(string device) : DeviceFixture(device)
{
    private static readonly float[,,] Batch =
    {
        { { 0.1f, 1, 0.2f }, { 0.9f, -0.8f, 0.7f } },
        { { 0.3f, -0.4f, 0.5f }, { 0, 0, 0 } },
        { { -0.6f, 0.7f, 0.8f }, { 0.6f, 0.5f, -0.4f } },
    };

    private static IEnumerable<TestCaseData> Cells()
    {
        foreach (var projectInputs in new[] { true, false })
        {
            var form = projectInputs ? "OneProductBeforeTheLoop" : "ProductsPerStep";
            yield return new TestCaseData((Func<RnnCell>)(() => new SimpleRNNCell(4)), projectInputs).SetName($"SimpleRNNCell_{form}");
            yield return new TestCaseData((Func<RnnCell>)(() => new BasicRNNCell(4)), projectInputs).SetName($"BasicRNNCell_{form}");
        }
    }

    [TestCaseSource(nameof(Cells))]
    public void ResultsAndGradientsEqualStaticRnn(Func<RnnCell> makeCell, bool projectInputs)
    {
        var g = new ComputeGraph { Seed = 7 };
        using var scope = g.AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 2, 3), "X");
        var cell = makeCell();
        var (dynOut, dynState) = Graph.Rnn.Rnn.DynamicRnn(cell, x, name: "dynamic", projectInputs: projectInputs);
        var loopMatMuls = g.Operations.Count(o => o.Type == "MatMul" && o.Frame != null);
        var hoisted = g.Operations.Count(o => o.Type == "MatMul" && o.Frame == null);
        if (projectInputs)
        {
            loopMatMuls.Should().Be(1, "only h·recurrent is multiplied per step");
            hoisted.Should().Be(1, "the input projection is one product over [time·batch, depth]");
        }
        else
        {
            loopMatMuls.Should().BeGreaterThan(0, "the cell multiplies its input in the loop (SimpleRNNCell x·kernel and h·recurrent; BasicRNNCell [x, h]·kernel)");
            hoisted.Should().Be(0);
        }

        EqualsStaticRnn(g, cell, x, null, dynOut, dynState);
    }

    /// <summary>
    /// With the inputs projected before the loop, the recurrent weight's gradient is one product over all steps after it
    /// (RnnProjectedInputsDef): the gradient loop computes none per step, and the forward loop records neither the states
    /// nor the weight for it. With sequence lengths (one sequence stopping after a step, one never starting), results
    /// and every gradient equal static_rnn's with the same lengths.
    /// </summary>
    [TestCase(true)]
    [TestCase(false)]
    public void TheRecurrentWeightsGradientIsOneProductAfterTheLoop(bool withLengths)
    {
        var g = new ComputeGraph { Seed = 3 };
        using var scope = g.AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 2, 3), "X");
        var lengths = withLengths ? TF.Constant(new[] { 2, 1, 0 }) : null;
        var cell = new SimpleRNNCell(4);
        var (dynOut, dynState) = Graph.Rnn.Rnn.DynamicRnn(cell, x, lengths, name: "dynamic", projectInputs: true);
        var loopGrad = TF.Gradients(TF.ReduceSum(dynOut * dynOut) + TF.ReduceSum(dynState[0]), [cell.RecurrentKernel!.Value])![0]!;
        var spec = g.Operations.Single(o => o.Type == "WhileGrad").Attr<WhileGradient>("spec");
        var captures = spec.ForwardFrame.Captures;
        captures.Should().Contain(t => t.Op.Type == "StopGradient" && t.Op.Inputs[0] == cell.RecurrentKernel.Value,
            "the loop body reads the recurrent weight through StopGradient");
        spec.FloatCaptures.Select(i => captures[i]).Should().NotContain(t => t.Op.Type == "StopGradient" || t == cell.RecurrentKernel.Value,
            "no gradient of the recurrent weight is summed per step");
        spec.Saved.Should().NotContain(t => t.Op.Type == "LoopVar" && t.DType == DType.Float32, "no step's starting state is recorded for it");
        spec.Saved.Should().NotContain(t => t.Op.Type == "StopGradient", "nor the weight");
        loopGrad.Op.Frame.Should().BeNull();

        EqualsStaticRnn(g, cell, x, lengths, dynOut, dynState);
    }

    /// <summary>
    /// Builds static_rnn with <paramref name="cell"/> over <paramref name="x"/> (and <paramref name="lengths"/>) beside
    /// the given dynamic_rnn results, and checks outputs, final state and every weight's gradient equal on this device.
    /// </summary>
    private void EqualsStaticRnn(ComputeGraph g, RnnCell cell, Tensor x, Tensor? lengths, Tensor dynOut, Tensor[] dynState)
    {
        var (statOut, statState) = Graph.Rnn.Rnn.StaticRnn(cell, TF.Unstack(TF.Transpose(x, [1, 0, 2])), sequenceLength: lengths, name: "static");
        var statStacked = TF.Transpose(TF.Stack(statOut), [1, 0, 2]);
        var weights = TF.TrainableVariables().Select(v => v.Value).ToArray();
        var dynGrads = TF.Gradients(TF.ReduceSum(dynOut * dynOut) + TF.ReduceSum(dynState[0]), weights)!;
        var statGrads = TF.Gradients(TF.ReduceSum(statStacked * statStacked) + TF.ReduceSum(statState[0]), weights)!;
        using var sess = new Session(g, new SessionOptions { Device = Device });
        sess.Run(TF.GlobalVariablesInitializer());
        var results = sess.Run([dynOut, statStacked, dynState[0], statState[0], .. dynGrads.Select(t => t!), .. statGrads.Select(t => t!)], new FeedDict { { x, Batch } });
        Close(results[0], results[1]);
        Close(results[2], results[3]);
        for (var i = 0; i < weights.Length; i++) Close(results[4 + i], results[4 + weights.Length + i]);
    }

    /// <summary>
    /// The gradient of the projected inputs is gathered in one buffer the session keeps between runs, each time step's
    /// slice written by its iteration: a run whose loop stops early (shorter sequences) leaves the later slices at zero,
    /// not at what an earlier, longer run wrote there. The kernel's gradient after a long run equals a fresh session's.
    /// </summary>
    [Test]
    public void AShorterRunAfterALongerOneGetsTheGradientsOfAFreshSession()
    {
        HostTensor[] Gradients(Session sess, Tensor x, Tensor lengths, Tensor[] grads, int[] lengthValues) =>
            sess.Run(grads, new FeedDict { { x, Batch }, { lengths, lengthValues } });
        (Session Session, Tensor X, Tensor Lengths, Tensor[] Grads) Build()
        {
            var g = new ComputeGraph { Seed = 11 };
            using var scope = g.AsDefault();
            var x = TF.Placeholder(DType.Float32, new Shape(-1, 2, 3), "X");
            var lengths = TF.Placeholder(DType.Int32, new Shape(-1), "lengths");
            var (outputs, state) = Graph.Rnn.Rnn.DynamicRnn(new SimpleRNNCell(4), x, lengths, projectInputs: true);
            var weights = TF.TrainableVariables().Select(v => v.Value).ToArray();
            var grads = TF.Gradients(TF.ReduceSum(outputs * outputs) + TF.ReduceSum(state[0]), weights)!.Select(t => t!).ToArray();
            var sess = new Session(g, new SessionOptions { Device = Device });
            sess.Run(TF.GlobalVariablesInitializer());
            return (sess, x, lengths, grads);
        }
        var (used, x1, l1, g1) = Build();
        var (fresh, x2, l2, g2) = Build();
        using (used)
        using (fresh)
        {
            Gradients(used, x1, l1, g1, [2, 2, 2]);
            var afterLong = Gradients(used, x1, l1, g1, [1, 1, 1]);
            var expected = Gradients(fresh, x2, l2, g2, [1, 1, 1]);
            for (var i = 0; i < afterLong.Length; i++) afterLong[i].ToArray<float>().Should().Equal(expected[i].ToArray<float>(), $"gradient {i}");
        }
    }

    private static void Close(HostTensor a, HostTensor b)
    {
        a.Dims.Should().Equal(b.Dims.ToArray());
        var (x, y) = (a.ToArray<float>(), b.ToArray<float>());
        for (var i = 0; i < x.Length; i++) x[i].Should().BeApproximately(y[i], 1e-5f + 1e-5f * Math.Abs(y[i]));
    }
}

/// <summary>Which form dynamic_rnn builds when not told: the one for the device the graph is built for.</summary>
public class InputProjectionDefaultTests
{
    [TestCase("cpu", false)]
    [TestCase("cuda", true)]
    [TestCase("ilgpu-cpu", true)]
    public void TheGraphsTargetDeviceDecides(string device, bool oneProductBeforeTheLoop)
    {
        var g = new ComputeGraph { Seed = 1, TargetDevice = device };
        using var scope = g.AsDefault();
        Graph.Rnn.Rnn.DynamicRnn(new SimpleRNNCell(4), TF.Placeholder(DType.Float32, new Shape(-1, 2, 3), "X"));
        g.Operations.Count(o => o.Type == "MatMul" && o.Frame == null).Should().Be(oneProductBeforeTheLoop ? 1 : 0);
        g.Operations.Count(o => o.Type == "MatMul" && o.Frame != null).Should().Be(oneProductBeforeTheLoop ? 1 : 2, "SimpleRNNCell multiplies x·kernel and h·recurrent");
    }

    [Test]
    public void UnsetItIsTheSessionsDefaultDevice()
    {
        new ComputeGraph().TargetDevice.Should().Be(SessionOptions.DefaultDevice);
        var g = new ComputeGraph { TargetDevice = "cuda" };
        g.TargetDevice.Should().Be("cuda");
    }
}
