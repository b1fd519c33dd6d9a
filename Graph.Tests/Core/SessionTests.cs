using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

[TestFixture("cpu")]
[TestFixture("ilgpu-cpu")]
[TestFixture("cuda", Category = "Cuda")]
public class SessionTests(string device) : GraphFixture(device)
{

    [Test]
    public void SecondRunReusesThePlan()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 2));
        var y = TF.Tanh(x * 2.0);
        using var sess = NewSession();
        sess.Run(y, new FeedDict { { x, new float[,] { { 1, 2 } } } });
        var plan = sess.LastPlan;
        sess.Run(y, new FeedDict { { x, new float[,] { { 3, 4 } } } });
        sess.PlansCompiled.Should().Be(1);
        sess.LastPlan.Should().BeSameAs(plan);
        sess.Run(y, new FeedDict { { x, new float[,] { { 3, 4 }, { 5, 6 } } } });
        sess.PlansCompiled.Should().Be(2, "a new feed shape is a new plan key");
    }

    [Test]
    public void AddingUnrelatedOpsKeepsCompiledPlans()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(2));
        var y = TF.Exp(x);
        using var sess = NewSession();
        var feeds = new FeedDict { { x, new float[] { 0, 1 } } };
        sess.Run(y, feeds);
        _ = TF.Tanh(x) * 3.0;
        sess.Run(y, feeds);
        sess.PlansCompiled.Should().Be(1);
    }

    [Test]
    public void PlanIsAListOfKernelsOverSlots()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(2));
        var y = TF.Exp(x) + x;
        using var sess = NewSession();
        sess.Run(y, new FeedDict { { x, new float[] { 0, 1 } } });
        var plan = sess.LastPlan!;
        plan.Kernels.Should().ContainSingle("exp and add fuse into one kernel");
        plan.Kernels[0].Group.Members.Select(m => m.Describe()).Should().Equal("exp", "add");
        plan.Describe().Should().EndWith($"kernels 1 ops {plan.Operations.Count}");
    }

    [Test]
    public void VariablesKeepStateAcrossRuns()
    {
        var counter = TF.Variable(TF.Constant(0), name: "counter");
        var increment = counter.AssignAdd(TF.Constant(1));
        using var sess = NewSession();
        sess.Run(TF.GlobalVariablesInitializer());
        for (var i = 0; i < 3; i++) sess.Run(increment);
        sess.Run(counter.Value).Item<int>().Should().Be(3);
        sess.Run(counter.AssignSub(TF.Constant(5))).Item<int>().Should().Be(-2);
        sess.Run(counter.Assign(TF.Constant(9))).Item<int>().Should().Be(9);
    }

    [Test]
    public void FetchedVariableValueIsACopy()
    {
        var v = TF.Variable(TF.Constant(new float[] { 1, 2 }));
        using var sess = NewSession();
        sess.Run(v.Initializer);
        var value = sess.Run(v.Value);
        value.Span<float>()[0] = 100;
        sess.Run(v.Value).ToArray<float>().Should().Equal(1f, 2f);
    }

    [Test]
    public void AnyTensorMayBeFed()
    {
        var a = TF.Constant(new float[] { 1, 2 });
        var b = TF.Square(a);
        var c = b + 1.0;
        using var sess = NewSession();
        sess.Run(c).ToArray<float>().Should().Equal(2f, 5f);
        sess.Run(c, new FeedDict { { b, new float[] { 10, 20 } } }).ToArray<float>().Should().Equal(11f, 21f);
        sess.Run(b, new FeedDict { { b, new float[] { 7, 8 } } }).ToArray<float>().Should().Equal(7f, 8f);
    }

    [Test]
    public void IntArrayFedToFloatPlaceholderIsConverted()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 2));
        using var sess = NewSession();
        var r = sess.Run(x * 0.5, new FeedDict { { x, new[,] { { 1, 2 }, { 3, 4 } } } });
        r.DType.Should().Be(DType.Float32);
        r.ToArray<float>().Should().Equal(0.5f, 1f, 1.5f, 2f);
    }

    [Test]
    public void FeedOfWrongShapeNamesTensorAndBothShapes()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 3), "X");
        using var sess = NewSession();
        var act = () => sess.Run(x, new FeedDict { { x, new float[,] { { 1, 2 } } } });
        act.Should().Throw<InvalidArgumentException>().WithMessage("*shape (1, 2)*'X:0'*(?, 3)*");
    }

    [Test]
    public void FeedOfWrongDtypeNamesBothTypes()
    {
        var labels = TF.Placeholder(DType.Int32, new Shape(-1), "y");
        using var sess = NewSession();
        var act = () => sess.Run(labels, new FeedDict { { labels, new float[] { 1.5f } } });
        act.Should().Throw<InvalidArgumentException>().WithMessage("*float32*'y:0'*int32*");
    }

    [Test]
    public void MissingFeedNamesThePlaceholder()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 3), "X0");
        var y = TF.Tanh(x);
        using var sess = NewSession();
        var act = () => sess.Run(y);
        act.Should().Throw<InvalidArgumentException>().WithMessage("*must feed*'X0'*float32*(?, 3)*");
    }

    [Test]
    public void UninitialisedVariableIsNamed()
    {
        var w = TF.Variable(TF.Zeros([2]), name: "weights");
        using var sess = NewSession();
        var act = () => sess.Run(w.Value * 2.0);
        act.Should().Throw<FailedPreconditionException>().WithMessage("*uninitialized*weights*");
    }

    [Test]
    public void FetchFromAnotherGraphIsRejected()
    {
        var other = new ComputeGraph();
        Tensor t;
        using (other.AsDefault()) t = TF.Constant(1f);
        using var sess = NewSession();
        var act = () => sess.Run(t);
        act.Should().Throw<InvalidArgumentException>().WithMessage("*Const:0*not an element*");
    }

    [Test]
    public void RuntimeShapeMismatchNamesTheOp()
    {
        var a = TF.Placeholder(DType.Float32, new Shape(-1, -1), "a");
        var b = TF.Placeholder(DType.Float32, new Shape(-1, -1), "b");
        var c = TF.MatMul(a, b);
        using var sess = NewSession();
        var act = () => sess.Run(c, new FeedDict { { a, new float[2, 3] }, { b, new float[2, 3] } });
        act.Should().Throw<InvalidArgumentException>().WithMessage("*MatMul*(2, 3)*(2, 3)*");
    }

    [Test]
    public void SparseLabelOutOfRangeFailsTheRun()
    {
        var logits = TF.Placeholder(DType.Float32, new Shape(-1, 3));
        var labels = TF.Placeholder(DType.Int32, new Shape(-1));
        var loss = TF.Nn.SparseSoftmaxCrossEntropyWithLogits(labels, logits, name: "xent");
        using var sess = NewSession();
        var act = () => sess.Run(loss, new FeedDict { { logits, new float[2, 3] }, { labels, new[] { 0, 3 } } });
        act.Should().Throw<InvalidArgumentException>().WithMessage("*xent*label value of 3*[0, 3)*");
    }

    [Test]
    public void DisposedSessionRefusesToRun()
    {
        var sess = NewSession();
        sess.Dispose();
        var act = () => sess.Run(TF.Constant(1f));
        act.Should().Throw<ObjectDisposedException>();
    }

    [Test]
    public void UnknownDeviceListsTheAvailableOnes()
    {
        var act = () => new Session(TestGraph, new SessionOptions { Device = "tpu" });
        act.Should().Throw<ArgumentException>().WithMessage("*tpu*cpu*");
    }

    [Test]
    public void GroupAndNoOpRunTheirDependencies()
    {
        var a = TF.Variable(TF.Constant(1f));
        var b = TF.Variable(TF.Constant(2f));
        var both = TF.Group(a.Assign(TF.Constant(5f)).Op, b.Assign(TF.Constant(6f)).Op);
        using var sess = NewSession();
        sess.Run(TF.GlobalVariablesInitializer());
        sess.Run(both);
        sess.Run(a.Value).Item<float>().Should().Be(5f);
        sess.Run(b.Value).Item<float>().Should().Be(6f);
        sess.Run(TF.NoOp());
    }

    [Test]
    public void EvalAndRunExtensionsWork()
    {
        var v = TF.Variable(TF.Constant(3f));
        using var sess = NewSession();
        TF.GlobalVariablesInitializer().Run(sess);
        v.Eval(sess).Item<float>().Should().Be(3f);
        (v.Value * 2.0).Eval(sess).Item<float>().Should().Be(6f);
    }

    /// <summary>Reading or setting a variable of another graph is an error naming it (reading it gave null, "not initialised").</summary>
    [Test]
    public void VariablesOfAnotherGraphAreRefused()
    {
        var other = new ComputeGraph();
        Variable foreign;
        using (other.AsDefault()) foreign = TF.Variable(TF.Constant(new[] { 1f }), name: "foreign");
        TF.Variable(TF.Constant(new[] { 2f }), name: "mine");
        using var sess = NewSession();
        sess.Run(TF.GlobalVariablesInitializer());
        ((Action)(() => sess.GetVariableValue(foreign))).Should().Throw<InvalidArgumentException>().WithMessage("Variable foreign is not an element of this session's graph.");
        ((Action)(() => sess.SetVariableValue(foreign, HostTensor.From(new[] { 3f }, 1)))).Should().Throw<InvalidArgumentException>().WithMessage("*foreign*not an element*");
    }
}
