using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

/// <summary>
/// Placeholders of unknown rank: every op's shape rule runs again on the concrete fed shapes when a plan is made, so
/// a feed the op cannot take fails with the op's own message naming it and the shape — never a wrong answer or an
/// exception deep in a kernel.
/// </summary>
[TestFixture("cpu")]
[TestFixture("ilgpu-cpu")]
[TestFixture("cuda", Category = "Cuda")]
public class UnknownRankTests(string device) : GraphFixture(device)
{
    private static Tensor Any(DType dtype = DType.Float32, string name = "p") => TF.Placeholder(dtype, name: name);

    private void ShouldFail(Tensor fetch, FeedDict feeds, params string[] fragments)
    {
        using var s = NewSession();
        var act = () => s.Run(fetch, feeds);
        var message = act.Should().Throw<InvalidArgumentException>().Which.Message;
        foreach (var f in fragments) message.Should().Contain(f);
    }

    [Test]
    public void MatMulOfRank4OperandsFailsInsteadOfMultiplyingTheFirstBatch()
    {
        var (a, b) = (Any(name: "a"), Any(name: "b"));
        var y = TF.MatMul(a, b, name: "mm");
        ShouldFail(y, new FeedDict { { a, HostTensor.Zeros(DType.Float32, [2, 3, 4, 5]) }, { b, HostTensor.Zeros(DType.Float32, [2, 3, 5, 4]) } },
            "MatMul 'mm'", "rank 2", "(2, 3, 4, 5)");
    }

    [Test]
    public void MatMulOfVectorsAndScalarsNamesTheOp()
    {
        var (a, b) = (Any(name: "a"), Any(name: "b"));
        var y = TF.MatMul(a, b, name: "mm");
        ShouldFail(y, new FeedDict { { a, new[] { 1f, 2f } }, { b, new[] { 3f, 4f } } }, "MatMul 'mm'", "(2,)");
        ShouldFail(y, new FeedDict { { a, 1f }, { b, new[,] { { 3f } } } }, "MatMul 'mm'", "()");
    }

    [Test]
    public void MatMulWithMatricesStillWorks()
    {
        var (a, b) = (Any(name: "a"), Any(name: "b"));
        using var s = NewSession();
        s.Run(TF.MatMul(a, b), new FeedDict { { a, new[,] { { 1f, 2f } } }, { b, new[,] { { 3f }, { 4f } } } }).ToArray<float>().Should().Equal(11f);
    }

    [Test]
    public void SliceOfAScalarNamesTheOp()
    {
        var x = Any();
        ShouldFail(TF.Slice(x, [0, 0], [1, 1], name: "cut"), new FeedDict { { x, 5f } }, "Slice 'cut'", "()");
        ShouldFail(TF.Slice(x, [0, 0], [1, 1], name: "cut2"), new FeedDict { { x, new[] { 1f, 2f } } }, "Slice 'cut2'", "(2,)");
    }

    [Test]
    public void InTopKOfVectorsNamesTheOp()
    {
        var (p, t) = (Any(name: "predictions"), Any(DType.Int32, "targets"));
        var y = TF.Nn.InTopK(p, t, 1, name: "topk");
        ShouldFail(y, new FeedDict { { p, new[] { 0.1f, 0.9f } }, { t, new[] { 1 } } }, "InTopKV2 'topk'", "(2,)");
        ShouldFail(y, new FeedDict { { p, new[,] { { 0.1f, 0.9f } } }, { t, 1 } }, "InTopKV2 'topk'", "()");
    }

    [Test]
    public void SparseCrossEntropyOfScalarLogitsNamesTheOp()
    {
        var (logits, labels) = (Any(name: "logits"), Any(DType.Int32, "labels"));
        var y = TF.Nn.SparseSoftmaxCrossEntropyWithLogits(labels, logits, name: "xent");
        ShouldFail(y, new FeedDict { { logits, 1f }, { labels, 0 } }, "SparseSoftmaxCrossEntropyWithLogits 'xent'", "rank >= 1");
        ShouldFail(y, new FeedDict { { logits, new[,] { { 1f, 2f } } }, { labels, new[,] { { 0 } } } }, "xent", "labels");
    }

    [Test]
    public void SoftmaxOfAScalarNamesTheOp()
    {
        var x = Any();
        ShouldFail(TF.Nn.Softmax(x, name: "sm"), new FeedDict { { x, 2f } }, "Softmax 'sm'", "rank >= 1");
        ShouldFail(TF.Nn.LogSoftmax(x, name: "lsm"), new FeedDict { { x, 2f } }, "LogSoftmax 'lsm'", "rank >= 1");
    }

    [Test]
    public void StackOfScalarsAlongAMissingAxisNamesTheOp()
    {
        var (a, b) = (Any(name: "a"), Any(name: "b"));
        ShouldFail(TF.Stack([a, b], axis: 1, name: "st"), new FeedDict { { a, 1f }, { b, 2f } }, "Pack 'st'", "axis 1");
        ShouldFail(TF.Stack([a, b], name: "st2"), new FeedDict { { a, 1f }, { b, new[] { 2f } } }, "Pack 'st2'");
    }

    [Test]
    public void ReductionAxesOutOfRangeForTheFedRankNameTheOp()
    {
        var x = Any();
        ShouldFail(TF.ReduceSum(x, [1], name: "sum"), new FeedDict { { x, new[] { 1f, 2f } } }, "Sum 'sum'", "axis 1");
        ShouldFail(TF.ArgMax(x, 2, name: "am"), new FeedDict { { x, new[,] { { 1f } } } }, "ArgMax 'am'", "axis 2");
    }

    [Test]
    public void TransposeAndConcatCheckTheFedRank()
    {
        var (a, b) = (Any(name: "a"), Any(name: "b"));
        ShouldFail(TF.Transpose(a, [1, 0], name: "tr"), new FeedDict { { a, new[] { 1f, 2f } } }, "Transpose 'tr'");
        ShouldFail(TF.Concat([a, b], 0, name: "cc"), new FeedDict { { a, new[] { 1f } }, { b, new[,] { { 1f } } } }, "ConcatV2 'cc'", "rank");
    }
}
