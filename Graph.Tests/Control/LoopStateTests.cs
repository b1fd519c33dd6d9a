using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

/// <summary>
/// Variables inside while loops (TF1 semantics: a variable is read live in every iteration and each iteration's
/// assignment acts on it), feeds that touch a loop, and a counted loop whose step is fed.
/// </summary>
[TestFixture("cpu")]
[TestFixture("ilgpu-cpu")]
public class LoopStateTests(string device) : GraphFixture(device)
{
    private static Tensor C(int x) => TF.Constant(HostTensor.Scalar(x));

    [Test]
    public void AssignInTheBodyActsOnTheLiveVariableEachIteration()
    {
        var w = TF.Variable(HostTensor.Scalar(1.0), name: "w");
        var r = TF.WhileLoop(v => TF.Less(v[0], C(3)), v =>
        {
            var upd = w.AssignSub(w.Value * 0.5);
            using (TF.ControlDependencies(upd.Op)) return [v[0] + C(1)];
        }, [C(0)]);
        using var sess = NewSession();
        sess.Run(TF.GlobalVariablesInitializer());
        sess.Run(r[0]).Item<int>().Should().Be(3);
        sess.Run(w.Value).Item<double>().Should().Be(0.125);
        // A second run goes on from the variable's value.
        sess.Run(r[0]);
        sess.Run(w.Value).Item<double>().Should().Be(0.125 / 8);
    }

    [Test]
    public void ControlDependencyAssignRunsEveryIteration()
    {
        var cnt = TF.Variable(HostTensor.Scalar(0), name: "cnt");
        var r = TF.WhileLoop(v => TF.Less(v[0], C(5)), v =>
        {
            var upd = cnt.AssignAdd(C(1));
            using (TF.ControlDependencies(upd.Op)) return [v[0] + C(1)];
        }, [C(0)], maximumIterations: 20);
        using var sess = NewSession();
        sess.Run(TF.GlobalVariablesInitializer());
        sess.Run(r[0]).Item<int>().Should().Be(5);
        sess.Run(cnt.Value).Item<int>().Should().Be(5);
    }

    [Test]
    public void AssignAsTheLoopValue()
    {
        var acc = TF.Variable(HostTensor.Scalar(0), name: "acc");
        var r = TF.WhileLoop(v => TF.Less(v[0], C(4)), v => [v[0] + C(1), acc.AssignAdd(C(1))], [C(0), C(0)]);
        using var sess = NewSession();
        sess.Run(TF.GlobalVariablesInitializer());
        var (i, a) = sess.Run(r[0], r[1]);
        i.Item<int>().Should().Be(4);
        a.Item<int>().Should().Be(4);
        sess.Run(acc.Value).Item<int>().Should().Be(4);
    }

    [Test]
    public void UncountedLoopAssignsEveryIteration()
    {
        // The condition reads the variable: the loop stops when the assignments have brought it below the limit.
        var w = TF.Variable(HostTensor.Scalar(10.0), name: "w");
        var r = TF.WhileLoop(v => TF.Greater(w.Value, TF.Constant(1.0)), v =>
        {
            var upd = w.AssignSub(TF.Constant(2.0));
            using (TF.ControlDependencies(upd.Op)) return [v[0] + C(1)];
        }, [C(0)], maximumIterations: 20);
        using var sess = NewSession();
        sess.Run(TF.GlobalVariablesInitializer());
        sess.Run(r[0]).Item<int>().Should().Be(5);
        sess.Run(w.Value).Item<double>().Should().Be(0.0);
    }

    [Test]
    public void GradientThroughALoopReadingAVariable()
    {
        var w = TF.Variable(HostTensor.Scalar(3.0), name: "w");
        var r = TF.WhileLoop(v => TF.Less(v[0], C(3)), v => [v[0] + C(1), v[1] * w.Value], [C(0), TF.Constant(2.0)]);
        var grad = TF.Gradients([r[1]], [w.Value])[0]!;
        using var sess = NewSession();
        sess.Run(TF.GlobalVariablesInitializer());
        // 2·w³: the value 54, the gradient 6·w² = 54.
        var (y, dw) = sess.Run(r[1], grad);
        y.Item<double>().Should().Be(54);
        dw.Item<double>().Should().Be(54);
    }

    [Test]
    public void FedStepOfACountedLoopIsHonoured()
    {
        var step = TF.Constant(HostTensor.Scalar(1), name: "step");
        var r = TF.WhileLoop(v => TF.Less(v[0], C(5)), v => [v[0] + step, v[1] + C(1)], [C(0), C(0)]);
        using var sess = NewSession();
        var values = sess.Run([r[0], r[1]], new FeedDict { { step, 2 } });
        values[0].Item<int>().Should().Be(6);
        values[1].Item<int>().Should().Be(3);
        values = sess.Run([r[0], r[1]]);
        values[0].Item<int>().Should().Be(5);
        values[1].Item<int>().Should().Be(5);
    }

    [Test]
    public void FeedingATensorInsideALoopIsRefused()
    {
        Tensor inner = null!, bodyConst = null!, condConst = null!, loopVar = null!;
        var r = TF.WhileLoop(v =>
        {
            condConst = C(3);
            return TF.Less(v[0], condConst);
        }, v =>
        {
            loopVar = v[1];
            inner = v[1] * 2;
            bodyConst = C(1);
            return [v[0] + bodyConst, inner];
        }, [C(0), C(1)], name: "loop");
        using var sess = NewSession();
        foreach (var t in new[] { inner, bodyConst, condConst, loopVar })
        {
            var act = () => sess.Run(r[1], new FeedDict { { t, 5 } });
            act.Should().Throw<InvalidArgumentException>().WithMessage($"*{t.Name}*loop*");
            var callable = () => sess.MakeCallable([r[1]], [t]);
            callable.Should().Throw<InvalidArgumentException>().WithMessage($"*{t.Name}*loop*");
        }
        sess.Run(r[1]).Item<int>().Should().Be(8);
    }

    [Test]
    public void GradientThroughALoopAssigningTheVariableItReadsIsRefused()
    {
        var w = TF.Variable(HostTensor.Scalar(3.0), name: "w");
        var r = TF.WhileLoop(v => TF.Less(v[0], C(3)), v =>
        {
            var upd = w.AssignAdd(TF.Constant(1.0));
            using (TF.ControlDependencies(upd.Op)) return [v[0] + C(1), v[1] * w.Value];
        }, [C(0), TF.Constant(2.0)]);
        var act = () => TF.Gradients([r[1]], [w.Value]);
        act.Should().Throw<InvalidArgumentException>().WithMessage("*'w'*assigns*");
    }

    [Test]
    public void DisposeWaitsForARunInProgress()
    {
        // A loop long enough (a few hundred ms) that Dispose meets it running; it reads a variable, whose device copy
        // Dispose frees on ILGPU devices.
        var size = Device == "cpu" ? 100 : 40;
        var w = TF.Variable(TF.Fill([size, size], TF.Constant(0.01)), name: "w");
        var r = TF.WhileLoop(v => TF.Less(v[0], C(200)), v => [v[0] + C(1), TF.Tanh(TF.MatMul(v[1], w.Value) + 0.5)],
            [C(0), TF.Fill([size, size], TF.Constant(1.0))]);
        var sess = NewSession();
        sess.Run(TF.GlobalVariablesInitializer());
        var expected = sess.Run(r[1]).ToArray<double>();
        HostTensor? result = null;
        Exception? error = null;
        var runner = new Thread(() =>
        {
            try
            {
                result = sess.Run(r[1]);
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        runner.Start();
        SpinWait.SpinUntil(() => sess.IsRunning, 5000).Should().BeTrue("the test needs Dispose to meet a Run in progress");
        sess.Dispose();
        runner.Join();
        // The Run finished with the right numbers (before, on ILGPU devices it read the freed device copy of w).
        error.Should().BeNull();
        result!.ToArray<double>().Should().Equal(expected);
        var after = () => sess.Run(r[1]);
        after.Should().Throw<ObjectDisposedException>();
    }
}
