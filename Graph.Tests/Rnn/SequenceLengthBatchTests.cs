using Graph.Core;
using Graph.Kernels;
using Graph.Rnn;

namespace Graph.Tests;

/// <summary>
/// A sequence_length whose size is not the batch's is rejected by dynamic_rnn and static_rnn, as TF1's
/// "Expected shape for Tensor sequence_length is [batch_size]": at build time when both sizes are static, else when
/// the graph runs; never broadcast over the batch.
/// </summary>
[TestFixture("cpu")]
[TestFixture("ilgpu-cpu")]
[TestFixture("cuda", Category = "Cuda")]
public class SequenceLengthBatchTests(string device) : GraphFixture(device)
{
    private (Tensor Outputs, Tensor State) Build(bool dynamic, Tensor x, Tensor lengths)
    {
        if (dynamic)
        {
            var (o, s) = Graph.Rnn.Rnn.DynamicRnn(new BasicRNNCell(2), x, lengths);
            return (o, s[0]);
        }
        var (outs, st) = Graph.Rnn.Rnn.StaticRnn(new BasicRNNCell(2), TF.Unstack(TF.Transpose(x, [1, 0, 2])), sequenceLength: lengths);
        return (TF.Transpose(TF.Stack(outs), [1, 0, 2]), st[0]);
    }

    [Test]
    public void SequenceLengthOfAnotherBatchSizeFailsTheRun([Values] bool dynamic, [Values(1, 4)] int lengthsSize)
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 3, 2));
        var lengths = TF.Placeholder(DType.Int32, new Shape(-1));
        var (outputs, state) = Build(dynamic, x, lengths);
        using var sess = NewSession();
        sess.Run(TF.GlobalVariablesInitializer());
        var act = () => sess.Run([outputs, state], new FeedDict { { x, new float[3, 3, 2] }, { lengths, Enumerable.Repeat(1, lengthsSize).ToArray() } });
        act.Should().Throw<InvalidArgumentException>().WithMessage($"*sequence_length*[batch_size]*[3]*[{lengthsSize}]*");
        // The right size still runs.
        var r = sess.Run([outputs, state], new FeedDict { { x, new float[3, 3, 2] }, { lengths, new[] { 1, 2, 3 } } });
        r[0].Dims.Should().Equal(3, 3, 2);
    }

    [Test]
    public void StaticSequenceLengthOfAnotherBatchSizeFailsTheBuild([Values] bool dynamic)
    {
        var x = TF.Placeholder(DType.Float32, new Shape(3, 3, 2));
        var lengths = TF.Constant(new[] { 1 });
        var act = () => Build(dynamic, x, lengths);
        act.Should().Throw<InvalidArgumentException>().WithMessage("*sequence_length*[batch_size]*[3]*[1]*");
    }
}
