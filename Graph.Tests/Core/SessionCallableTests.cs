using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

/// <summary><see cref="Session.MakeCallable"/> (TF1's make_callable) and <see cref="SessionCallable.RunInto"/>.</summary>
[TestFixture("cpu")]
[TestFixture("ilgpu-cpu")]
[TestFixture("cuda", Category = "Cuda")]
public class SessionCallableTests(string device) : GraphFixture(device)
{
    private static HostTensor Matrix(int rows, int cols, float start) =>
        HostTensor.From(Enumerable.Range(0, rows * cols).Select(i => start + i * 0.25f).ToArray(), rows, cols);

    [Test]
    public void CallsMatchSessionRunAndReuseThePlanUntilAShapeChanges()
    {
        var a = TF.Placeholder(DType.Float32, new Shape(-1, 3));
        var b = TF.Placeholder(DType.Float32, new Shape(3, 2));
        var y = TF.Tanh(TF.MatMul(a, b) * 0.1f);
        using var sess = NewSession();
        var call = sess.MakeCallable([y], [a, b]);
        var (av, bv) = (Matrix(4, 3, -1), Matrix(3, 2, 0.5f));
        var expected = sess.Run(y, new FeedDict { { a, av }, { b, bv } }).Span<float>();
        var compiled = sess.PlansCompiled;
        call.Run(av, bv)[0].Span<float>().Should().Equal(expected);
        call.Run(av, bv)[0].Span<float>().Should().Equal(expected);
        sess.PlansCompiled.Should().Be(compiled, "the callable finds Session.Run's plan for the same shapes");
        var longer = call.Run(Matrix(6, 3, 0), bv)[0];
        longer.Dims.Should().Equal(6, 2);
        sess.PlansCompiled.Should().Be(compiled + 1);
        call.Fetches.Should().Equal(y);
        call.FeedList.Should().Equal(a, b);
    }

    [Test]
    public void RunIntoWritesTheCallersArrays()
    {
        var a = TF.Placeholder(DType.Float32, new Shape(5, 4));
        var b = TF.Placeholder(DType.Float32, new Shape(4, 3));
        var product = TF.MatMul(a, b);
        var v = TF.Variable(TF.Constant(new[] { 1f, 2f, 3f }), name: "v");
        using var sess = NewSession();
        sess.Run(TF.GlobalVariablesInitializer());
        // A computed value, the same value twice, a fed tensor passed through and a variable's value.
        var call = sess.MakeCallable([product, product, a, v.Value], [a, b]);
        var (av, bv) = (Matrix(5, 4, -2), Matrix(4, 3, 1));
        var expected = sess.Run(product, new FeedDict { { a, av }, { b, bv } }).Span<float>();
        var outputs = new[] { HostTensor.Zeros(DType.Float32, 5, 3), HostTensor.Zeros(DType.Float32, 5, 3), HostTensor.Zeros(DType.Float32, 5, 4), HostTensor.Zeros(DType.Float32, 3) };
        var arrays = outputs.Select(o => o.Data).ToArray();
        for (var repeat = 0; repeat < 2; repeat++)
        {
            call.RunInto([av, bv], outputs);
            outputs.Select(o => o.Data).Should().Equal(arrays, ReferenceEquals, "the callable writes into the given arrays");
            outputs[0].Span<float>().Should().Equal(expected);
            outputs[1].Span<float>().Should().Equal(expected);
            outputs[2].Span<float>().Should().Equal(av.Span<float>());
            outputs[3].Span<float>().Should().Equal(1f, 2f, 3f);
        }
    }

    [Test]
    public void BadCallsNameTheTensorAndTheMismatch()
    {
        var a = TF.Placeholder(DType.Float32, new Shape(2, 2), "a");
        var y = TF.Add(a, a, name: "y");
        using var sess = NewSession();
        var call = sess.MakeCallable([y], [a]);
        var av = Matrix(2, 2, 0);
        FluentActions.Invoking(() => call.Run()).Should().Throw<InvalidArgumentException>().WithMessage("*feeds 1 tensor(s) (a*got 0*");
        FluentActions.Invoking(() => call.Run(Matrix(3, 2, 0))).Should().Throw<InvalidArgumentException>().WithMessage("*shape (3, 2)*Tensor 'a*");
        FluentActions.Invoking(() => call.RunInto([av], [HostTensor.Zeros(DType.Float32, 4)])).Should().Throw<InvalidArgumentException>()
            .WithMessage("*output 0 for Tensor 'y*float32 [4]*computes float32 [2, 2]*");
        FluentActions.Invoking(() => call.RunInto([av], [HostTensor.Zeros(DType.Float64, 2, 2)])).Should().Throw<InvalidArgumentException>()
            .WithMessage("*float64 [2, 2]*computes float32 [2, 2]*");
        FluentActions.Invoking(() => call.RunInto([av], [av])).Should().Throw<InvalidArgumentException>().WithMessage("*also a fed array*");
        FluentActions.Invoking(() => call.RunInto([av], [])).Should().Throw<InvalidArgumentException>().WithMessage("*1 fetch(es) but 0 output*");
        FluentActions.Invoking(() => sess.MakeCallable([y], [a, a])).Should().Throw<InvalidArgumentException>().WithMessage("*appears twice*");
        var other = new ComputeGraph();
        using (other.AsDefault())
        {
            var z = TF.Placeholder(DType.Float32, new Shape(1), "z");
            FluentActions.Invoking(() => sess.MakeCallable([z])).Should().Throw<InvalidArgumentException>().WithMessage("*not an element of this session's graph*");
        }
        var twice = sess.MakeCallable([y, y], [a]);
        var shared = HostTensor.Zeros(DType.Float32, 2, 2);
        FluentActions.Invoking(() => twice.RunInto([av], [shared, shared])).Should().Throw<InvalidArgumentException>().WithMessage("*same array*");
    }

    [Test]
    public void TargetsRunWithTheFetches()
    {
        var v = TF.Variable(TF.Constant(0f), name: "counter");
        var step = TF.Placeholder(DType.Float32, Shape.Scalar, "step");
        var update = TF.AssignAdd(v, step);
        using var sess = NewSession();
        sess.Run(TF.GlobalVariablesInitializer());
        var call = sess.MakeCallable([], [step], [update.Op]);
        for (var i = 0; i < 3; i++) call.Run(HostTensor.Scalar(2f));
        sess.Run(v.Value).Item<float>().Should().Be(6f);
    }

    [Test]
    public void AFailedCallLeavesTheCallableAsItWas()
    {
        var a = TF.Placeholder(DType.Float32, new Shape(-1, 3), "a");
        var b = TF.Placeholder(DType.Float32, new Shape(3, 2), "b");
        var y = TF.MatMul(a, b);
        var c = TF.Placeholder(DType.Float32, new Shape(-1), "c");
        var r = TF.Reshape(c, [2, -1]) * 2f;
        using var sess = NewSession();
        var call = sess.MakeCallable([y], [a, b]);
        call.Run(Matrix(4, 3, 0), Matrix(3, 2, 1))[0].Dims.Should().Equal(4, 2);
        FluentActions.Invoking(() => call.Run(Matrix(6, 3, 0), Matrix(4, 2, 1))).Should().Throw<InvalidArgumentException>();
        call.Run(Matrix(6, 3, 0), Matrix(3, 2, 1))[0].Dims.Should().Equal([6, 2], "the new shape of a gets its own plan");
        var reshape = sess.MakeCallable([r], [c]);
        reshape.Run(HostTensor.From(new float[6], 6))[0].Dims.Should().Equal(2, 3);
        var odd = HostTensor.From(new float[7], 7);
        FluentActions.Invoking(() => reshape.Run(odd)).Should().Throw<InvalidArgumentException>();
        FluentActions.Invoking(() => reshape.Run(odd)).Should().Throw<InvalidArgumentException>("a shape that failed fails again");
    }

    [Test]
    public void ASecondRunWhileOneIsInProgressIsRefused()
    {
        if (Device != "cpu") Assert.Ignore("the guard is the same on every device; one long loop is enough");
        var x = TF.Placeholder(DType.Float32, new Shape(64), "x");
        var loop = TF.WhileLoop(v => TF.Less(v[0], TF.Constant(200_000)), v => [v[0] + 1, v[1] * 0.5f], [TF.Constant(0), x]);
        using var sess = NewSession();
        var feed = new FeedDict { { x, new float[64] } };
        var first = Task.Run(() => sess.Run(loop[1], feed));
        SpinWait.SpinUntil(() => sess.IsRunning || first.IsCompleted);
        FluentActions.Invoking(() => sess.Run(loop[1], feed)).Should().Throw<InvalidOperationException>().WithMessage("*one Run at a time*");
        first.Wait();
        sess.Run(loop[1], feed).Dims.Should().Equal(64);
    }
}
