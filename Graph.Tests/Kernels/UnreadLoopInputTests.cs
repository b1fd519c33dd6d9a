using Graph.Core;
using Graph.Kernels;
using Graph.Rnn;

namespace Graph.Tests;

/// <summary>
/// On the cpu device a kernel whose results only initialise loop variables the loop never reads does not run:
/// dynamic_rnn's output TensorArray ([time, batch, units] of zeros) when only the final state is used.
/// </summary>
[TestFixture]
public class UnreadLoopInputTests
{
    private static readonly float[,,] Batch =
    {
        { { 0.1f, 1, 0.2f }, { 0.9f, -0.8f, 0.7f }, { 0.3f, 0.2f, -0.1f } },
        { { 0.3f, -0.4f, 0.5f }, { 0, 0, 0 }, { -0.2f, 0.4f, 0.6f } },
    };

    [Test]
    public void TheOutputsZerosAreNotComputedWhenOnlyTheFinalStateIsUsedAndResultsAreUnchanged()
    {
        var g = new ComputeGraph { Seed = 3 };
        using var scope = g.AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 3, 3), "X");
        var (outputs, state) = Graph.Rnn.Rnn.DynamicRnn(new SimpleRNNCell(4), x);
        var weights = TF.TrainableVariables().Select(v => v.Value).ToArray();
        var stateOnly = TF.ReduceSum(state[0] * state[0]);
        var gradients = TF.Gradients(stateOnly, weights)!.Select(t => t!).ToArray();
        using var sess = new Session(g, new SessionOptions { Profile = true });
        sess.Run(TF.GlobalVariablesInitializer());
        var feed = new FeedDict { { x, Batch } };

        sess.Profile!.Clear();
        var finalOnly = sess.Run([state[0], .. gradients], feed);
        sess.Profile.Entries.Select(e => e.Kernel).Should().NotContain(k => k.EndsWith("[3, 2, 4]"),
            "nothing reads the outputs, so their [time, batch, units] zeros are never made");

        // The same values when the outputs are read too (their TensorArray is then filled, from its zeros).
        var withOutputs = sess.Run([state[0], outputs, .. gradients], feed);
        withOutputs[1].Dims.Should().Equal(2, 3, 4);
        finalOnly[0].ToArray<float>().Should().Equal(withOutputs[0].ToArray<float>());
        for (var i = 1; i < finalOnly.Length; i++)
            finalOnly[i].ToArray<float>().Should().Equal(withOutputs[i + 1].ToArray<float>());
    }
}
