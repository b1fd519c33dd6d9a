using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

/// <summary>Notebook section 1: the manual two-step RNN.</summary>
[TestFixture]
public class ManualRnnTests
{
    [Test]
    public void TwoStepRnnMatchesAnIndependentFloat64Computation()
    {
        var g = new ComputeGraph { Seed = 42 };
        using var scope = g.AsDefault();
        const int nInputs = 3, nNeurons = 5;
        var x0 = TF.Placeholder(DType.Float32, new Shape(-1, nInputs));
        var x1 = TF.Placeholder(DType.Float32, new Shape(-1, nInputs));
        var wx = TF.Variable(TF.RandomNormal([nInputs, nNeurons]));
        var wy = TF.Variable(TF.RandomNormal([nNeurons, nNeurons]));
        var b = TF.Variable(TF.Zeros([1, nNeurons]));
        var y0 = TF.Tanh(TF.MatMul(x0, wx) + b);
        var y1 = TF.Tanh(TF.MatMul(y0, wy) + TF.MatMul(x1, wx) + b);

        int[,] x0Batch = { { 0, 1, 2 }, { 3, 4, 5 }, { 6, 7, 8 }, { 9, 0, 1 } };
        int[,] x1Batch = { { 9, 8, 7 }, { 0, 0, 0 }, { 6, 5, 4 }, { 3, 2, 1 } };
        using var sess = new Session(g);
        sess.Run(TF.GlobalVariablesInitializer());
        var (y0Val, y1Val) = sess.Run(y0, y1, new FeedDict { { x0, x0Batch }, { x1, x1Batch } });
        var wxVal = sess.Run(wx.Value);
        var wyVal = sess.Run(wy.Value);

        y0Val.Dims.Should().Equal(4, nNeurons);
        var expected0 = Step(x0Batch, wxVal, null, wyVal);
        var expected1 = Step(x1Batch, wxVal, expected0, wyVal);
        for (var i = 0; i < 4; i++)
            for (var j = 0; j < nNeurons; j++)
            {
                y0Val.Get<float>(i, j).Should().BeApproximately((float)expected0[i, j], 2e-6f);
                y1Val.Get<float>(i, j).Should().BeApproximately((float)expected1[i, j], 2e-6f);
            }
        // TF1 printed -0.06640061 for Y0[0, 0] in the notebook with these seeds.
        y0Val.Get<float>(0, 0).Should().Be(-0.06640061f);
    }

    private static double[,] Step(int[,] x, HostTensor wx, double[,]? prev, HostTensor wy)
    {
        var result = new double[4, 5];
        for (var i = 0; i < 4; i++)
            for (var j = 0; j < 5; j++)
            {
                double sum = 0;
                for (var k = 0; k < 3; k++) sum += x[i, k] * (double)wx.Get<float>(k, j);
                if (prev != null)
                    for (var k = 0; k < 5; k++) sum += prev[i, k] * wy.Get<float>(k, j);
                result[i, j] = Math.Tanh(sum);
            }
        return result;
    }
}
