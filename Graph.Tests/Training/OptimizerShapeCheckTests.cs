using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

/// <summary>
/// ApplyGradients with a gradient whose shape is known only when the step runs: a fed shape other than the variable's
/// fails the run naming the variable and both shapes (TF1's "var and grad do not have the same shape") and changes no
/// variable; a statically shaped gradient adds no op for the check.
/// </summary>
[TestFixture("cpu")]
[TestFixture("ilgpu-cpu")]
[TestFixture("cuda", Category = "Cuda")]
public class OptimizerShapeCheckTests(string device) : GraphFixture(device)
{
    private static Optimizer Create(string name) => name switch
    {
        "GradientDescent" => new GradientDescentOptimizer(0.1),
        "Momentum" => new MomentumOptimizer(0.1, 0.9),
        "Adam" => new AdamOptimizer(0.1),
        "RMSProp" => new RMSPropOptimizer(0.1),
        _ => throw new ArgumentException(name),
    };

    [TestCase("GradientDescent")]
    [TestCase("Momentum")]
    [TestCase("Adam")]
    [TestCase("RMSProp")]
    public void GradientOfAnotherRunTimeShapeFailsTheStep(string optimizer)
    {
        var v = TF.Variable(new double[] { 1, 2, 3 }, name: "v");
        var g = TF.Placeholder(DType.Float64, new Shape(-1));
        var op = Create(optimizer).ApplyGradients([(g, v)]);
        using var sess = NewSession();
        sess.Run(TF.GlobalVariablesInitializer());
        foreach (var bad in new[] { new double[] { 1 }, new double[] { 1, 2, 3, 4 } })
        {
            var act = () => sess.Run(op, new FeedDict { { g, bad } });
            act.Should().Throw<InvalidArgumentException>().WithMessage($"*{optimizer}*variable v*[3]*[{bad.Length}]*");
            sess.Run(v.Value).ToArray<double>().Should().Equal(1, 2, 3);
        }
        sess.Run(op, new FeedDict { { g, new double[] { 1, 1, 1 } } });
        sess.Run(v.Value).ToArray<double>().Should().NotEqual(new double[] { 1, 2, 3 });
    }

    [Test]
    public void GradientOfUnknownRankIsCheckedToo()
    {
        var v = TF.Variable(new double[] { 1, 2, 3 }, name: "v");
        var g = TF.Placeholder(DType.Float64, Shape.Unknown);
        var op = new AdamOptimizer(0.1).ApplyGradients([(g, v)]);
        using var sess = NewSession();
        sess.Run(TF.GlobalVariablesInitializer());
        var act = () => sess.Run(op, new FeedDict { { g, new double[,] { { 1, 2, 3 } } } });
        act.Should().Throw<InvalidArgumentException>().WithMessage("*variable v*[3]*[1, 3]*");
    }

    [Test]
    public void StaticGradientsAddNoCheck()
    {
        var v = TF.Variable(new double[] { 1, 2, 3 }, name: "v");
        var loss = TF.ReduceSum(v.Value * v.Value);
        new AdamOptimizer(0.1).Minimize(loss);
        TestGraph.Operations.Should().NotContain(o => o.Type == "EnsureShape");
        // The benchmarked training step (the MNIST RNN's, with Adam) neither.
        var model = Graph.Rnn.NotebookModels.MnistRnn(device: Device);
        model.Graph.Operations.Should().NotContain(o => o.Type == "EnsureShape");
    }
}
