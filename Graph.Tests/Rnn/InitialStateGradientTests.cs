using Graph.Core;
using Graph.Kernels;
using Graph.Rnn;

namespace Graph.Tests;

/// <summary>
/// When nothing reads the gradient with respect to a loop's initial values (an RNN's zero initial state), the loop
/// gradient's last iteration leaves it out (dz₀·W_hᵀ is not computed). The weights' gradients keep their bits whether
/// or not the initial state's gradient is fetched too, in any order of runs in one session, and that gradient, when
/// fetched, equals static_rnn's.
/// </summary>
[TestFixture("cpu")]
[TestFixture("ilgpu-cpu")]
[TestFixture("cuda", Category = "Cuda")]
public class InitialStateGradientTests(string device) : DeviceFixture(device)
{
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(5)]
    public void WeightGradientsKeepTheirBitsWhetherOrNotTheInitialStatesIsFetched(int steps)
    {
        var g = new ComputeGraph { Seed = 5 };
        using var scope = g.AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(-1, steps, 3), "X");
        var h0 = TF.Placeholder(DType.Float32, new Shape(-1, 4), "h0");
        var cell = new SimpleRNNCell(4);
        var (outputs, state) = Graph.Rnn.Rnn.DynamicRnn(cell, x, initialState: [h0]);
        var (staticOutputs, staticState) = Graph.Rnn.Rnn.StaticRnn(cell, TF.Unstack(TF.Transpose(x, [1, 0, 2])), [h0], name: "static");
        var loss = TF.ReduceSum(outputs * outputs) + TF.ReduceSum(state[0]);
        var staticLoss = TF.ReduceSum(TF.Stack(staticOutputs) * TF.Stack(staticOutputs)) + TF.ReduceSum(staticState[0]);
        var weights = TF.TrainableVariables().Select(v => v.Value).ToArray();
        var weightGrads = TF.Gradients(loss, weights)!.Select(t => t!).ToArray();
        var withState = TF.Gradients(loss, [.. weights, h0])!.Select(t => t!).ToArray();
        var staticStateGrad = TF.Gradients(staticLoss, [h0])![0]!;

        var random = new Random(9);
        var batch = new float[2, steps, 3];
        for (var i = 0; i < 2; i++)
            for (var t = 0; t < steps; t++)
                for (var d = 0; d < 3; d++) batch[i, t, d] = (float)(random.NextDouble() * 2 - 1);
        var feed = new FeedDict { { x, batch }, { h0, new float[2, 4] } };
        using var sess = new Session(g, new SessionOptions { Device = Device });
        sess.Run(TF.GlobalVariablesInitializer());
        var first = sess.Run(weightGrads, feed);
        var both = sess.Run(withState, feed);
        var again = sess.Run(weightGrads, feed);
        for (var i = 0; i < weightGrads.Length; i++)
        {
            both[i].ToArray<float>().Should().Equal(first[i].ToArray<float>(), $"weight gradient {i} with the state's gradient fetched too");
            again[i].ToArray<float>().Should().Equal(first[i].ToArray<float>(), $"weight gradient {i} in a later run");
        }
        var expected = sess.Run(staticStateGrad, feed).ToArray<float>();
        var stateGrad = both[^1].ToArray<float>();
        stateGrad.Should().NotBeEmpty().And.Contain(v => v != 0, "a zero state still has a gradient");
        for (var i = 0; i < expected.Length; i++) stateGrad[i].Should().BeApproximately(expected[i], 1e-5f + 1e-5f * Math.Abs(expected[i]));
    }
}
