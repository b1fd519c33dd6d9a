using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

/// <summary>
/// The notebook's printed arrays (handson-ml chapter 14, the run with TensorFlow 1.15; sections 2 to 5 use
/// tf.nn.rnn_cell.BasicRNNCell), computed from graphs built as the notebook builds them with graph seed 42. The weights
/// are TF1's bit for bit; the outputs agree to a few float32 ulps, the most by which TF1's own runs of the notebook
/// differ (a 2018 run printed -0.06640061 where the TF 1.15 run printed -0.0664006): Eigen's tanh and matrix-product
/// summation order are not reproduced. A wrong op seed moves them by 0.01 to 2.
/// </summary>
[TestFixture("cpu")]
[TestFixture("ilgpu-cpu")]
[TestFixture("cuda", Category = "Cuda")]
public class NotebookPrintoutTests(string device) : DeviceFixture(device)
{
    private const float Ulps = 1e-6f;

    private static readonly int[,] X0Batch = { { 0, 1, 2 }, { 3, 4, 5 }, { 6, 7, 8 }, { 9, 0, 1 } };
    private static readonly int[,] X1Batch = { { 9, 8, 7 }, { 0, 0, 0 }, { 6, 5, 4 }, { 3, 2, 1 } };
    private static readonly float[,,] XBatch =
    {
        { { 0, 1, 2 }, { 9, 8, 7 } },
        { { 3, 4, 5 }, { 0, 0, 0 } },
        { { 6, 7, 8 }, { 6, 5, 4 } },
        { { 9, 0, 1 }, { 3, 2, 1 } },
    };

    [Test]
    public void ManualRnnPrintsTheNotebooksArrays()
    {
        var g = new ComputeGraph { Seed = 42 };
        using var scope = g.AsDefault();
        var x0 = TF.Placeholder(DType.Float32, new Shape(-1, 3));
        var x1 = TF.Placeholder(DType.Float32, new Shape(-1, 3));
        var wx = TF.Variable(TF.RandomNormal([3, 5]));
        var wy = TF.Variable(TF.RandomNormal([5, 5]));
        var b = TF.Variable(TF.Zeros([1, 5]));
        var y0 = TF.Tanh(TF.MatMul(x0, wx) + b);
        var y1 = TF.Tanh(TF.MatMul(y0, wy) + TF.MatMul(x1, wx) + b);
        var (v0, v1) = Run(g, [y0, y1], new FeedDict { { x0, X0Batch }, { x1, X1Batch } });
        AssertPrinted(v0, ManualY0);
        AssertPrinted(v1, ManualY1);
    }

    [Test]
    public void StaticRnnPrintsTheNotebooksArrays()
    {
        var s = NotebookGraphs.StaticRnn();
        var (y0, y1) = Run(s.Graph, s.Outputs, new FeedDict { { s.Placeholders[0], X0Batch }, { s.Placeholders[1], X1Batch } });
        AssertPrinted(y0, StaticY0);
        AssertPrinted(y1, StaticY1);
    }

    [Test]
    public void PackingSequencesPrintsTheNotebooksArrays()
    {
        var s = NotebookGraphs.PackingSequences();
        var (outputs, _) = Run(s.Graph, [s.Outputs[0], s.Outputs[0]], new FeedDict { { s.Placeholders[0], XBatch } });
        AssertPrinted(outputs, PackingOutputs);
    }

    [Test]
    public void DynamicRnnPrintsTheNotebooksArray()
    {
        var s = NotebookGraphs.DynamicRnn();
        var (outputs, _) = Run(s.Graph, [s.Outputs[0], s.Outputs[0]], new FeedDict { { s.Placeholders[0], XBatch } });
        AssertPrinted(outputs, DynamicOutputs);
    }

    [Test]
    public void SequenceLengthPrintsTheNotebooksArrays()
    {
        var s = NotebookGraphs.SequenceLength();
        var (outputs, states) = Run(s.Graph, s.Outputs, new FeedDict { { s.Placeholders[0], XBatch }, { s.Placeholders[1], new[] { 2, 1, 2, 2 } } });
        AssertPrinted(outputs, SequenceLengthOutputs);
        AssertPrinted(states, SequenceLengthStates);
    }

    private (float[], float[]) Run(ComputeGraph g, Tensor[] fetches, FeedDict feeds)
    {
        using var scope = g.AsDefault();
        using var sess = new Session(g, new SessionOptions { Device = Device });
        sess.Run(TF.GlobalVariablesInitializer());
        var r = sess.Run(fetches, feeds);
        return (r[0].ToArray<float>(), r[1].ToArray<float>());
    }

    private static void AssertPrinted(float[] actual, float[] printed)
    {
        actual.Should().HaveCount(printed.Length);
        for (var i = 0; i < printed.Length; i++)
            actual[i].Should().BeApproximately(printed[i], Ulps, $"element {i} as the notebook printed it");
    }

    private static readonly float[] ManualY0 =
    [
        -0.0664006f, 0.9625767f, 0.68105793f, 0.7091854f, -0.898216f,
        0.9977755f, -0.719789f, -0.9965761f, 0.9673924f, -0.9998972f,
        0.99999774f, -0.99898803f, -0.9999989f, 0.9967762f, -0.9999999f,
        1f, -1f, -1f, -0.99818915f, 0.9995087f,
    ];

    private static readonly float[] ManualY1 =
    [
        1f, -1f, -1f, 0.4020025f, -0.9999998f,
        -0.12210419f, 0.62805265f, 0.9671843f, -0.9937122f, -0.2583937f,
        0.9999983f, -0.9999994f, -0.9999975f, -0.85943305f, -0.9999881f,
        0.99928284f, -0.99999815f, -0.9999058f, 0.9857963f, -0.92205757f,
    ];

    private static readonly float[] StaticY0 =
    [
        0.30741334f, -0.32884315f, -0.6542847f, -0.9385059f, 0.52089024f,
        0.99122757f, -0.9542541f, -0.7518079f, -0.9995208f, 0.9820235f,
        0.9999268f, -0.99783254f, -0.8247353f, -0.9999963f, 0.99947774f,
        0.996771f, -0.68750614f, 0.8419969f, 0.9303911f, 0.8120684f,
    ];

    private static readonly float[] StaticY1 =
    [
        0.99998885f, -0.99976057f, -0.0667929f, -0.9999803f, 0.99982214f,
        -0.6524943f, -0.51520866f, -0.37968948f, -0.5922594f, -0.08968379f,
        0.99862397f, -0.99715203f, -0.03308626f, -0.9991566f, 0.9932902f,
        0.99681675f, -0.9598194f, 0.39660627f, -0.8307606f, 0.79671973f,
    ];

    private static readonly float[] PackingOutputs =
    [
        -0.45652324f, -0.68064123f, 0.40938237f, 0.63104504f, -0.45732826f,
        -0.9428799f, -0.9998869f, 0.94055814f, 0.9999985f, -0.9999997f,
        -0.8001535f, -0.9921827f, 0.7817797f, 0.9971032f, -0.9964609f,
        -0.637116f, 0.11300927f, 0.5798437f, 0.4310559f, -0.6371699f,
        -0.93605185f, -0.9998379f, 0.9308867f, 0.9999815f, -0.99998295f,
        -0.9165386f, -0.9945604f, 0.896054f, 0.99987197f, -0.9999751f,
        0.9927369f, -0.9981933f, -0.55543643f, 0.9989031f, -0.9953323f,
        -0.02746338f, -0.73191994f, 0.7827872f, 0.9525682f, -0.9781773f,
    ];

    private static readonly float[] DynamicOutputs =
    [
        -0.85115266f, 0.87358344f, 0.5802911f, 0.8954789f, -0.0557505f,
        -0.999996f, 0.99999577f, 0.9981815f, 1f, 0.37679607f,
        -0.9983293f, 0.9992038f, 0.98071456f, 0.999985f, 0.25192663f,
        -0.7081804f, -0.0772338f, -0.85227895f, 0.5845349f, -0.78780943f,
        -0.9999827f, 0.99999535f, 0.9992863f, 1f, 0.5159072f,
        -0.9993956f, 0.9984095f, 0.83422637f, 0.99999976f, -0.47325212f,
        0.87888587f, 0.07356028f, 0.97216916f, 0.9998546f, -0.7351168f,
        -0.9134514f, 0.3600957f, 0.7624866f, 0.99817705f, 0.80142f,
    ];

    private static readonly float[] SequenceLengthOutputs =
    [
        -0.9123188f, 0.16516446f, 0.5548655f, -0.39159346f, 0.20846416f,
        -1f, 0.956726f, 0.99831694f, 0.99970174f, 0.96518576f,
        -0.9998612f, 0.6702289f, 0.9723653f, 0.6631046f, 0.74457586f,
        0f, 0f, 0f, 0f, 0f,
        -0.99999976f, 0.8967997f, 0.9986295f, 0.9647514f, 0.93662f,
        -0.9999526f, 0.9681953f, 0.96002865f, 0.98706263f, 0.85459226f,
        -0.96435434f, 0.99501586f, -0.36150697f, 0.9983378f, 0.999497f,
        -0.9613586f, 0.9568762f, 0.7132288f, 0.97729224f, -0.0958299f,
    ];

    private static readonly float[] SequenceLengthStates =
    [
        -1f, 0.956726f, 0.99831694f, 0.99970174f, 0.96518576f,
        -0.9998612f, 0.6702289f, 0.9723653f, 0.6631046f, 0.74457586f,
        -0.9999526f, 0.9681953f, 0.96002865f, 0.98706263f, 0.85459226f,
        -0.9613586f, 0.9568762f, 0.7132288f, 0.97729224f, -0.0958299f,
    ];
}
