using Graph.Kernels.Cpu;

namespace Graph.Tests;

/// <summary>The cpu device's fork-join team: every part runs once, errors reach the caller, nesting and concurrent callers are safe.</summary>
[TestFixture]
public class CoreTeamTests
{
    [TestCase(0)]
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(7)]
    [TestCase(1000)]
    public void EveryPartRunsExactlyOnce(int parts)
    {
        var runs = new int[parts];
        for (var job = 0; job < 50; job++) CoreTeam.Run(parts, part => Interlocked.Increment(ref runs[part]));
        runs.Where(count => count != 50).Should().BeEmpty();
    }

    [Test]
    public void RunReturnsOnlyAfterEveryPartHasFinished()
    {
        for (var job = 0; job < 200; job++)
        {
            var done = new bool[CoreTeam.Cores * 3];
            CoreTeam.Run(done.Length, part =>
            {
                Thread.SpinWait(200 * (part % 3));
                Volatile.Write(ref done[part], true);
            });
            done.Should().OnlyContain(d => d, $"job {job}");
        }
    }

    [Test]
    public void AnExceptionInAPartReachesTheCallerAndTheTeamStaysUsable()
    {
        var act = () => CoreTeam.Run(8, part =>
        {
            if (part == 5) throw new InvalidOperationException("part five failed");
        });
        act.Should().Throw<InvalidOperationException>().WithMessage("part five failed");
        var sum = 0;
        CoreTeam.Run(8, part => Interlocked.Add(ref sum, part));
        sum.Should().Be(28, "the team runs the next job after a failed one");
    }

    [Test]
    public void APartThatRunsAJobRunsItsPartsItself()
    {
        var inner = new int[4 * 6];
        CoreTeam.Run(4, outer => CoreTeam.Run(6, part => Interlocked.Increment(ref inner[outer * 6 + part])));
        inner.Should().OnlyContain(count => count == 1);
    }

    [Test]
    public void JobsFromSeveralThreadsAtOnceEachRunEveryPart()
    {
        const int threads = 4, jobs = 300, parts = 5;
        var sums = new long[threads];
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            for (var j = 0; j < jobs; j++)
            {
                var seen = new int[parts];
                CoreTeam.Run(parts, part => Interlocked.Increment(ref seen[part]));
                if (seen.Any(count => count != 1)) throw new InvalidOperationException($"thread {t} job {j}: parts ran {string.Join(",", seen)} times");
                sums[t] += seen.Sum();
            }
        });
        sums.Should().OnlyContain(s => s == jobs * parts);
    }

    [Test]
    public void WorkersThatFellAsleepWakeForTheNextJob()
    {
        CoreTeam.Run(4, _ => { });
        Thread.Sleep(CoreTeam.SpinMicroseconds / 1000 * 5 + 20);
        var threadsSeen = new System.Collections.Concurrent.ConcurrentDictionary<int, bool>();
        var runs = 0;
        CoreTeam.Run(CoreTeam.Cores * 4, _ =>
        {
            threadsSeen[Environment.CurrentManagedThreadId] = true;
            Interlocked.Increment(ref runs);
            Thread.Sleep(2);
        });
        runs.Should().Be(CoreTeam.Cores * 4);
        if (CoreTeam.Cores > 1) threadsSeen.Count.Should().BeGreaterThan(1, "a sleeping worker is woken for a job with parts to spare");
    }
}
