using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

/// <summary>
/// Sessions and callables under threads: a session refuses a second concurrent Run (callables and variable access
/// included) with a clear error and never answers with another call's feeds; plans compile once; separate sessions
/// training one graph on four threads give bit-identical weights to one thread.
/// </summary>
[TestFixture]
[NonParallelizable]
public class ConcurrencyTests : GraphFixture
{
    private const string Refusal = "*another is in progress on another thread*one session per thread*";

    /// <summary>Runs <paramref name="body"/> on <paramref name="threads"/> threads started together; rethrows the first failure.</summary>
    private static void OnThreads(int threads, Action<int> body)
    {
        using var start = new Barrier(threads);
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            try
            {
                start.SignalAndWait();
                body(t);
            }
            catch (Exception e)
            {
                failures.Enqueue(e);
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        if (failures.TryPeek(out var first)) throw new AggregateException(first);
    }

    [Test]
    public void ACallableSharedByTwoThreadsNeverAnswersWithTheOtherThreadsFeeds()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(4), name: "x");
        var y = TF.Tanh(x) * 0f + x * 2f;
        using var s = new Session(TestGraph);
        var call = s.MakeCallable([y], [x]);
        int answered = 0, refused = 0;
        OnThreads(2, t =>
        {
            var mine = HostTensor.From(Enumerable.Repeat(t + 1f, 4).ToArray(), 4);
            var output = HostTensor.Zeros(DType.Float32, [4]);
            for (var i = 0; i < 3000; i++)
            {
                try
                {
                    var r = (i % 2 == 0 ? call.Run(mine)[0] : RunInto(call, mine, output)).ToArray<float>();
                    r.Should().OnlyContain(v => v == 2f * (t + 1), "a call answers with its own feeds");
                    Interlocked.Increment(ref answered);
                }
                catch (InvalidOperationException e)
                {
                    e.Message.Should().Match(Refusal);
                    Interlocked.Increment(ref refused);
                }
            }
        });
        (answered + refused).Should().Be(6000);
        answered.Should().BeGreaterThan(0);
        s.PlansCompiled.Should().Be(1);
        s.IsRunning.Should().BeFalse();
    }

    private static HostTensor RunInto(SessionCallable call, HostTensor feed, HostTensor output)
    {
        call.RunInto([feed], [output]);
        return output;
    }

    [Test]
    public void ConcurrentFirstRunsCompileEachPlanOnce()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1), name: "x");
        var ys = Enumerable.Range(0, 40).Select(k => x * (float)k + TF.ReduceSum(x)).ToArray();
        using var s = new Session(TestGraph, new SessionOptions { PlanCacheCapacity = 100 });
        var refused = 0;
        foreach (var y in ys)
            OnThreads(2, t =>
            {
                try
                {
                    s.Run(y, new FeedDict { { x, new[] { 1f, 2f } } }).ToArray<float>().Length.Should().Be(2);
                }
                catch (InvalidOperationException e)
                {
                    e.Message.Should().Match(Refusal);
                    Interlocked.Increment(ref refused);
                }
            });
        s.PlansCompiled.Should().Be(ys.Length, "a second thread is refused or finds the first thread's plan; it never compiles its own");
        s.PlansCached.Should().Be(ys.Length);
    }

    [Test]
    public void VariableAccessDuringARunOnAnotherThreadIsRefusedOrCorrect()
    {
        var v = TF.Variable(TF.Zeros([64, 64]), name: "v");
        var step = v.AssignAdd(TF.Ones([64, 64]));
        using var s = new Session(TestGraph);
        s.Run(TF.GlobalVariablesInitializer());
        OnThreads(2, t =>
        {
            for (var i = 0; i < 500; i++)
            {
                try
                {
                    if (t == 0) s.Run(step.Op);
                    else
                    {
                        var value = s.GetVariableValue(v)!.ToArray<float>();
                        value.Distinct().Should().HaveCount(1, "a value read between runs is never half updated");
                    }
                }
                catch (InvalidOperationException e)
                {
                    e.Message.Should().Match(Refusal);
                }
            }
        });
    }

    /// <summary>Four sessions on four threads train one graph to the same bits as one session alone.</summary>
    [Test]
    public void FourSessionsOnFourThreadsTrainBitIdenticallyToOne()
    {
        var model = SmallClassifier.Build(inputs: 8, hidden: 16, classes: 4, learningRate: 0.01);
        var (x, y, train) = (model.X, model.Y, model.Train);
        var init = TF.GlobalVariablesInitializer();
        var rng = new Random(5);
        var batches = Enumerable.Range(0, 20).Select(_ => model.Batch(rng, 32)).ToArray();
        float[][] Train()
        {
            using var s = new Session(TestGraph);
            s.Run(init);
            for (var epoch = 0; epoch < 5; epoch++)
                foreach (var (bx, by) in batches) s.Run(train, new FeedDict { { x, bx }, { y, by } });
            return TestGraph.GetCollection<Variable>(GraphKeys.GlobalVariables).Select(v => s.GetVariableValue(v)!.ToArray<double>().Select(d => (float)d).ToArray()).ToArray();
        }
        var alone = Train();
        var results = new float[4][][];
        OnThreads(4, t => results[t] = Train());
        for (var t = 0; t < 4; t++)
            for (var i = 0; i < alone.Length; i++)
                results[t][i].Should().Equal(alone[i], $"thread {t}, variable {i}");
    }
}
