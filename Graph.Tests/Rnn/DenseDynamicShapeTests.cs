using Graph.Core;
using Graph.Kernels;
using Graph.Rnn;

namespace Graph.Tests;

/// <summary>tf.layers.dense on a rank-3 input with unknown batch and time (dynamic_rnn's outputs): TF1's tensordot reshapes back with the input's run-time shape.</summary>
[TestFixture("cpu")]
[TestFixture("ilgpu-cpu")]
[TestFixture("cuda", Category = "Cuda")]
public class DenseDynamicShapeTests(string device) : GraphFixture(device)
{
    [Test]
    public void DenseOnRnnOutputsOfUnknownBatchAndTime()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1, -1, 2));
        var (o, _) = Graph.Rnn.Rnn.DynamicRnn(new BasicRNNCell(3), x);
        var layer = new Dense(4, name: "dense");
        var y = layer.Apply(o);
        y.Shape.Dims.Should().Equal(-1, -1, 4);
        var grads = TF.Gradients(TF.ReduceSum(y * y), layer.Kernel!.Value);
        using var sess = NewSession();
        sess.Run(TF.GlobalVariablesInitializer());
        var input = new float[2, 5, 2];
        for (var i = 0; i < input.Length; i++) input[i / 10, i / 2 % 5, i % 2] = MathF.Sin(i);
        var r = sess.Run([y, o, layer.Kernel!.Value, layer.Bias!.Value, grads[0]!], new FeedDict { { x, input } });
        r[0].Dims.Should().Equal(2, 5, 4);
        var (outs, kernel, bias) = (r[1].ToArray<float>(), r[2].ToArray<float>(), r[3].ToArray<float>());
        var expected = new float[2 * 5 * 4];
        for (var row = 0; row < 10; row++)
            for (var u = 0; u < 4; u++)
            {
                var sum = bias[u];
                for (var k = 0; k < 3; k++) sum += outs[row * 3 + k] * kernel[k * 4 + u];
                expected[row * 4 + u] = sum;
            }
        r[0].ToArray<float>().Should().Equal(expected, (a, b) => Math.Abs(a - b) < 1e-5f);
        r[4].Dims.Should().Equal(3, 4);
        // Another batch and length through the same graph.
        sess.Run(y, new FeedDict { { x, new float[3, 1, 2] } }).Dims.Should().Equal(3, 1, 4);
    }
}
