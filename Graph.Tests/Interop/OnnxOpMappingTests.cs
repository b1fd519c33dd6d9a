using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

/// <summary>
/// Every mapped op type, exported on its own (or in a small graph) and run in ONNX Runtime: the values must be
/// Graph's, including the awkward corners (empty reductions, negative axes, out-of-range one-hot indices, loops that
/// never run, nested loops).
/// </summary>
[TestFixture]
public class OnnxOpMappingTests
{
    /// <summary>The tensors every case may read: a and b [2, 3] float32 (b positive), ints [2] int32, labels [2] int32.</summary>
    public sealed record Inputs(Tensor A, Tensor B, Tensor Ints, Tensor Labels);

    private static readonly Dictionary<string, Func<Inputs, Tensor>> Cases = new()
    {
        ["unary"] = p => TF.Concat([-p.A, TF.Abs(p.A), TF.Square(p.A), TF.Sqrt(p.B), TF.Rsqrt(p.B), TF.Exp(p.A), TF.Log(p.B), TF.Tanh(p.A),
            TF.Sigmoid(p.A), TF.Relu(p.A), TF.Softplus(p.A), TF.Sign(p.A), TF.Reciprocal(p.B)], 1),
        ["logical"] = p => TF.Stack([TF.LogicalNot(TF.Greater(p.A, p.B)), TF.LogicalAnd(TF.Less(p.A, p.B), TF.LessEqual(p.A, p.B)),
            TF.LogicalOr(TF.GreaterEqual(p.A, p.B), TF.Equal(p.A, p.A)), TF.NotEqual(p.A, p.B)]),
        ["binary"] = p => TF.Concat([p.A + p.B, p.A - p.B, p.A * p.B, p.A / p.B, TF.Pow(p.B, p.A), TF.Maximum(p.A, p.B), TF.Minimum(p.A, p.B),
            TF.Where(TF.Greater(p.A, p.B), p.A, p.B), TF.WhereV2(TF.Greater(p.A, p.B), p.A, p.B),
            TF.Where(TF.Greater(TF.ReduceSum(p.A, [1]), TF.ReduceSum(p.B, [1])), p.A, p.B)], 0),
        ["int arithmetic"] = p => TF.Concat([p.Ints + p.Labels, p.Ints * p.Labels, TF.Maximum(p.Ints, p.Labels), TF.TruncateDiv(p.Ints, TF.Constant(new[] { 2, -3 }))], 0),
        ["cast"] = p => TF.Concat([TF.Cast(TF.Cast(p.A * 3.0, DType.Int32), DType.Float32), TF.Cast(TF.Greater(p.A, p.B), DType.Float32),
            TF.Cast(TF.Cast(p.A, DType.Float64), DType.Float32)], 0),
        ["matmul"] = p => TF.Concat([TF.MatMul(p.A, p.B, transposeB: true), TF.Slice(TF.MatMul(p.A, p.B, transposeA: true, transposeB: false), [0, 0], [2, -1]),
            TF.MatMul(TF.Transpose(p.A), TF.Transpose(p.B), transposeA: true)], 1),
        ["batch matmul"] = p => TF.MatMul(TF.Stack([p.A, p.B]), TF.Stack([p.B, p.A]), transposeA: true),
        ["reductions"] = p => TF.Concat([TF.ReduceSum(p.A, [1]), TF.ReduceMean(p.A, [-1]), TF.ReduceMax(p.A, [1]), TF.ReduceMin(p.A, [1]),
            TF.ReduceProd(p.B, [1]), TF.Reshape(TF.ReduceSum(p.A), [1]), TF.Reshape(TF.ReduceMax(p.A, [0, 1], keepDims: true), [1]),
            TF.Reshape(TF.ReduceMean(p.A, [0], keepDims: true), [-1]), TF.Reshape(TF.ReduceSum(p.A, []), [-1])], 0),
        ["argmax"] = p => TF.Concat([TF.ArgMax(p.A, 1, DType.Int32), TF.ArgMin(p.A, 0, DType.Int32), TF.Cast(TF.ArgMax(p.B, -1), DType.Int32)], 0),
        ["softmax"] = p => TF.Concat([TF.Nn.Softmax(p.A), TF.Nn.LogSoftmax(p.B)], 0),
        ["sparse cross-entropy"] = p => TF.Nn.SparseSoftmaxCrossEntropyWithLogits(p.Labels, p.A),
        ["cross-entropy"] = p => TF.Nn.SoftmaxCrossEntropyWithLogits(TF.Nn.Softmax(p.B), p.A),
        ["in top k"] = p => TF.Stack([TF.Nn.InTopK(p.A, p.Labels, 1), TF.Nn.InTopK(p.A, p.Labels, 2), TF.Nn.InTopK(p.A, p.Ints, 1)]),
        ["reshape and transpose"] = p => TF.Concat([TF.Reshape(TF.Transpose(p.A), [-1]), TF.Reshape(TF.Squeeze(TF.ExpandDims(p.B, -1)), [6]),
            TF.Reshape(TF.Squeeze(TF.ExpandDims(p.A, 0), [0]), [6]), TF.Reshape(TF.Slice(p.A, [0, 1], [-1, 0]), [0])], 0),
        ["pack and unpack"] = p => TF.Stack([.. TF.Unstack(TF.Stack([p.A, p.B], axis: -1), axis: 2), .. TF.Split(p.A, [1, 2], axis: 1).Select(t => TF.Slice(TF.Tile(t, [1, 3]), [0, 0], [-1, 3]))], axis: 1),
        ["slice, gather, tile"] = p => TF.Concat([TF.Slice(p.A, [0, 1], [-1, 2]), TF.Gather(p.B, TF.Constant(new[] { 2, 0 }), axis: 1),
            TF.Tile(TF.Slice(p.A, [1, 0], [1, 2]), [2, 1])], 1),
        ["one hot"] = p => TF.OneHot(TF.Constant(new[] { 0, 2, -1, 5, 1 }), 3, onValue: 5, offValue: -1),
        ["shape facts"] = p => TF.Concat([TF.ShapeOf(p.A), TF.Reshape(TF.Size(p.B), [1]), TF.Reshape(TF.Rank(p.A), [1])], 0),
        ["fills"] = p => TF.Concat([TF.Fill([2, 3], TF.Constant(2.5f)), TF.ZerosLike(p.A), TF.OnesLike(p.B), TF.Constant(HostTensor.Scalar(7f), shape: [2, 3]),
            TF.StopGradient(p.A), TF.Identity(p.B)], 0),
        ["while loop"] = p =>
        {
            // Doubles the matrix three times (the counter stops it), then a loop whose condition is false at once.
            var doubled = TF.WhileLoop(v => TF.Less(v[0], TF.Constant(10)), v => [v[0] + 1.0, v[1] * 2.0], [TF.Constant(0), p.A], maximumIterations: 3)[1];
            var never = TF.WhileLoop(v => TF.Less(v[0], TF.Constant(0)), v => [v[0] + 1.0, v[1] * 2.0], [TF.Constant(0), p.B])[1];
            return TF.Concat([doubled, never], 0);
        },
        ["nested loops"] = p =>
        {
            // Outer i in 0..2: inner j in 0..i adds b, reading the outer loop's matrix and a.
            var outer = TF.WhileLoop(
                v => TF.Less(v[0], TF.Constant(3)),
                v =>
                {
                    var inner = TF.WhileLoop(w => TF.Less(w[0], v[0]), w => [w[0] + 1.0, w[1] + p.B * v[1]], [TF.Constant(0), p.A]);
                    return [v[0] + 1.0, inner[1] * 0.5];
                },
                [TF.Constant(0), p.A]);
            return outer[1];
        },
    };

    public static IEnumerable<string> CaseNames => Cases.Keys;

    [TestCaseSource(nameof(CaseNames))]
    public void AnExportedOpComputesGraphsValuesInOnnxRuntime(string name)
    {
        var g = new ComputeGraph();
        Tensor output;
        Inputs inputs;
        using (g.AsDefault())
        {
            inputs = new Inputs(TF.Placeholder(DType.Float32, new Shape(-1, 3), "a"), TF.Placeholder(DType.Float32, new Shape(2, 3), "b"),
                TF.Placeholder(DType.Int32, new Shape(2), "ints"), TF.Placeholder(DType.Int32, new Shape(-1), "labels"));
            output = TF.Identity(Cases[name](inputs), "result");
        }
        using var sess = new Session(g);
        var feeds = new FeedDict
        {
            { inputs.A, new float[,] { { 0.5f, -1.25f, 2 }, { -0.75f, 3, 0.25f } } },
            { inputs.B, new float[,] { { 1.5f, 0.25f, 2 }, { 3, 0.5f, 1.25f } } },
            { inputs.Ints, new[] { 7, -4 } },
            { inputs.Labels, new[] { 2, 0 } },
        };
        OnnxCheck.ExportAndCompare(g, sess, feeds, [output]);
    }
}
