using Graph.Core;
using Graph.Kernels;
using Graph.Rnn;

namespace Graph.Tests;

/// <summary>
/// Every validation (label ranges, gather indices, integer division, assertions) runs whenever a value that depends on
/// the checked op is computed — its gradient included — and a failing check stops the run before any variable changes.
/// </summary>
[TestFixture("cpu")]
[TestFixture("ilgpu-cpu")]
[TestFixture("cuda", Category = "Cuda")]
public class ChecksAlwaysRunTests(string device) : GraphFixture(device)
{
    /// <summary>A softmax classifier over 3 classes trained by Adam; returns the training op and the weights.</summary>
    private (Tensor X, Tensor Y, Operation Train, Variable W) Classifier(Optimizer optimizer)
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 2), name: "x");
        var y = TF.Placeholder(DType.Int32, new Shape(-1), name: "y");
        var w = TF.Variable(TF.Constant(new[,] { { 0.5f, -0.5f, 0.25f }, { 0.1f, 0.2f, -0.3f } }), name: "w");
        var loss = TF.ReduceMean(TF.Nn.SparseSoftmaxCrossEntropyWithLogits(y, TF.MatMul(x, w), name: "xent"));
        return (x, y, optimizer.Minimize(loss), w);
    }

    private static float[][] AllVariables(Session s) =>
        TF.GlobalVariables().Select(v => s.GetVariableValue(v)!.ToArray<double>().Select(d => (float)d).ToArray()).ToArray();

    [Test]
    public void ALabelOutOfRangeFailsATrainingStepThatFetchesNothing()
    {
        var (x, y, train, _) = Classifier(new AdamOptimizer(0.1));
        using var s = NewSession();
        s.Run(TF.GlobalVariablesInitializer());
        var before = AllVariables(s);
        var feeds = new FeedDict { { x, new[,] { { 1f, 2f }, { 3f, 4f } } }, { y, new[] { 1, 1000 } } };
        var act = () => s.Run(train, feeds);
        act.Should().Throw<InvalidArgumentException>().WithMessage("*xent*label value of 1000*[0, 3)*");
        var after = AllVariables(s);
        for (var i = 0; i < before.Length; i++) after[i].Should().Equal(before[i], $"variable {TF.GlobalVariables()[i].Name} must not change in a failed run");
    }

    [Test]
    public void ALabelOutOfRangeFailsEveryStepThroughACallable()
    {
        var (x, y, train, w) = Classifier(new GradientDescentOptimizer(0.5));
        using var s = NewSession();
        s.Run(TF.GlobalVariablesInitializer());
        var call = s.MakeCallable([], [x, y], [train]);
        var good = HostTensor.From(new[] { 0, 2 }, 2);
        var bad = HostTensor.From(new[] { 0, -1 }, 2);
        var images = HostTensor.From(new[] { 1f, 2f, 3f, 4f }, 2, 2);
        call.Run(images, good);
        var trained = s.GetVariableValue(w)!.ToArray<float>();
        for (var i = 0; i < 3; i++)
        {
            var act = () => call.Run(images, bad);
            act.Should().Throw<InvalidArgumentException>().WithMessage("*label value of -1*");
        }
        s.GetVariableValue(w)!.ToArray<float>().Should().Equal(trained);
    }

    [Test]
    public void AGatherIndexOutOfRangeFailsItsGradient()
    {
        var table = TF.Variable(TF.Constant(new[,] { { 1f, 2f }, { 3f, 4f }, { 5f, 6f } }), name: "table");
        var ids = TF.Placeholder(DType.Int32, new Shape(-1), name: "ids");
        var loss = TF.ReduceSum(TF.Gather(table, ids, name: "lookup")); // its gradient does not read the gathered values
        var train = new GradientDescentOptimizer(0.1).Minimize(loss);
        using var s = NewSession();
        s.Run(TF.GlobalVariablesInitializer());
        var act = () => s.Run(train, new FeedDict { { ids, new[] { 0, 7 } } });
        act.Should().Throw<InvalidArgumentException>().WithMessage("*lookup*7*[0, 3)*");
        s.GetVariableValue(table)!.ToArray<float>().Should().Equal(1f, 2f, 3f, 4f, 5f, 6f);
    }

    [Test]
    public void AnIntegerDivisionByZeroInsideATargetOnlyGroupFails()
    {
        var d = TF.Placeholder(DType.Int32, Shape.Scalar, name: "d");
        var q = TF.TruncateDiv(TF.Constant(new[] { 6, 7 }), d, name: "quotient");
        var group = TF.Group(q);
        using var s = NewSession();
        s.Run(group, new FeedDict { { d, 2 } });
        var act = () => s.Run(group, new FeedDict { { d, 0 } });
        act.Should().Throw<InvalidArgumentException>().WithMessage("*quotient*integer division by zero*");
    }

    [Test]
    public void AnAssertionGuardingAnUpdateStopsItBeforeTheVariableChanges()
    {
        var v = TF.Variable(TF.Constant(new[] { 1f, 2f }), name: "v");
        var step = TF.Placeholder(DType.Float32, new Shape(2), name: "step");
        var positive = TF.Debugging.AssertPositive(step, message: "steps must be positive");
        Tensor update;
        using (TF.ControlDependencies(positive)) update = v.AssignAdd(step);
        using var s = NewSession();
        s.Run(TF.GlobalVariablesInitializer());
        s.Run(update.Op, new FeedDict { { step, new[] { 1f, 1f } } });
        var act = () => s.Run(update.Op, new FeedDict { { step, new[] { 1f, -3f } } });
        act.Should().Throw<InvalidArgumentException>().WithMessage("*steps must be positive*-3*");
        s.GetVariableValue(v)!.ToArray<float>().Should().Equal(2f, 3f);
    }

    [Test]
    public void AFailingCheckRunsBeforeVariableUpdatesThatDoNotDependOnIt()
    {
        // The update neither reads the checked value nor follows the check in the graph: a failed run still changes nothing.
        var v = TF.Variable(TF.Constant(new[] { 1f, 2f }), name: "v");
        var update = v.AssignAdd(TF.Constant(new[] { 10f, 10f }));
        var x = TF.Placeholder(DType.Float32, new Shape(2), name: "x");
        var checkedX = TF.CheckNumerics(x, "x is bad");
        using var s = NewSession();
        s.Run(TF.GlobalVariablesInitializer());
        var act = () => s.Run([checkedX], [update.Op], new FeedDict { { x, new[] { float.NaN, 0f } } });
        act.Should().Throw<InvalidArgumentException>().WithMessage("*x is bad*NaN*");
        s.GetVariableValue(v)!.ToArray<float>().Should().Equal(1f, 2f);
    }

    [Test]
    public void ASequenceLengthOutOfRangeFailsADynamicRnnTrainingStep()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 3, 2), name: "x");
        var lengths = TF.Placeholder(DType.Int32, new Shape(-1), name: "lengths");
        var (outputs, _) = Rnn.Rnn.DynamicRnn(new BasicRNNCell(4), x, sequenceLength: lengths);
        var train = new GradientDescentOptimizer(0.1).Minimize(TF.ReduceSum(TF.Square(outputs)));
        using var s = NewSession();
        s.Run(TF.GlobalVariablesInitializer());
        var before = AllVariables(s);
        var feeds = new FeedDict { { x, new float[2, 3, 2] }, { lengths, new[] { 2, 4 } } };
        var act = () => s.Run(train, feeds);
        act.Should().Throw<InvalidArgumentException>().WithMessage("*sequence_length[1] = 4*");
        var after = AllVariables(s);
        for (var i = 0; i < before.Length; i++) after[i].Should().Equal(before[i]);
    }

    [Test]
    public void TheLossIsStillComputedAndCheckedWhenFetched()
    {
        var (x, y, _, _) = Classifier(new GradientDescentOptimizer(0.1));
        var loss = TestGraph.GetOperation("Mean").Output;
        using var s = NewSession();
        s.Run(TF.GlobalVariablesInitializer());
        var value = s.Run(loss, new FeedDict { { x, new[,] { { 1f, 2f } } }, { y, new[] { 2 } } }).Item<float>();
        float.IsFinite(value).Should().BeTrue();
        var act = () => s.Run(loss, new FeedDict { { x, new[,] { { 1f, 2f } } }, { y, new[] { 3 } } });
        act.Should().Throw<InvalidArgumentException>().WithMessage("*label value of 3*");
    }
}
