using Graph.Core;
using Graph.Kernels;
using Graph.Rnn;

namespace Graph.Tests;

/// <summary>dynamic_rnn over zero time steps: no iteration, outputs [batch, 0, units] and the initial (or zero) state, as TF1.</summary>
[TestFixture("cpu")]
[TestFixture("ilgpu-cpu")]
[TestFixture("cuda", Category = "Cuda")]
public class ZeroTimeStepsTests(string device) : GraphFixture(device)
{
    [Test]
    public void DynamicRnnOverZeroStepsReturnsEmptyOutputsAndTheInitialState([Values] bool withLengths, [Values] bool timeMajor, [Values] bool projectInputs)
    {
        var x = TF.Placeholder(DType.Float32, timeMajor ? new Shape(-1, 2, 2) : new Shape(2, -1, 2));
        var lengths = TF.Placeholder(DType.Int32, new Shape(-1));
        var initial = TF.Placeholder(DType.Float32, new Shape(2, 3));
        var (outputs, state) = Graph.Rnn.Rnn.DynamicRnn(new BasicRNNCell(3), x, withLengths ? lengths : null, [initial],
            timeMajor: timeMajor, projectInputs: projectInputs);
        var (zeroOutputs, zeroState) = Graph.Rnn.Rnn.DynamicRnn(new BasicRNNCell(3), x, withLengths ? lengths : null,
            timeMajor: timeMajor, projectInputs: projectInputs, name: "zero");
        using var sess = NewSession();
        sess.Run(TF.GlobalVariablesInitializer());
        var init = new float[,] { { 1, 2, 3 }, { 4, 5, 6 } };
        var feeds = new FeedDict { { x, timeMajor ? new float[0, 2, 2] : new float[2, 0, 2] }, { initial, init } };
        if (withLengths) feeds.Add(lengths, new[] { 0, 0 });
        var r = sess.Run([outputs, state[0], zeroOutputs, zeroState[0]], feeds);
        r[0].Dims.Should().Equal(timeMajor ? [0, 2, 3] : [2, 0, 3]);
        r[1].ToArray<float>().Should().Equal(1, 2, 3, 4, 5, 6);
        r[2].Dims.Should().Equal(timeMajor ? [0, 2, 3] : [2, 0, 3]);
        r[3].Dims.Should().Equal(2, 3);
        r[3].ToArray<float>().Should().AllSatisfy(v => v.Should().Be(0f));
        // And the same graph still runs over steps.
        var steps = new FeedDict { { x, new float[2, 2, 2] }, { initial, init } };
        if (withLengths) steps.Add(lengths, new[] { 2, 1 });
        sess.Run(outputs, steps).Dims.Should().Equal(2, 2, 3);
    }
}
