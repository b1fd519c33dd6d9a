using Graph.Core;
using Graph.Kernels;
using Graph.Kernels.Distributed;

namespace Graph.Tests;

/// <summary>
/// The collective ops (TF.Distributed.AllReduce, Broadcast, Reduce) on every device: shape rules and their errors, values
/// over an in-process group of ranks against references computed here, the single-process (no mpirun) identity, and
/// gradients by finite differences of the job's total loss Σ_r L_r. mpirun runs the same ops in MpiTests.
/// </summary>
[TestFixture("cpu")]
[TestFixture("ilgpu-cpu")]
[TestFixture("cuda", Category = "Cuda")]
public class CollectiveOpTests(string device) : GraphFixture(device)
{
    /// <summary>Rank r's input: distinct values per rank and element.</summary>
    private static double[] RankInput(int rank, int n) => Enumerable.Range(0, n).Select(i => (rank + 1) * 1.5 - i * 0.25 + rank * i * 0.125).ToArray();

    /// <summary>Runs <paramref name="build"/>'s tensor on each rank of an in-process group; returns each rank's value.</summary>
    private HostTensor[] OnRanks(int size, Func<int, Tensor> build)
    {
        var results = new HostTensor[size];
        InProcessGroup.Run(size, comm =>
        {
            var g = new ComputeGraph();
            using var scope = g.AsDefault();
            var y = build(comm.Rank);
            using var session = new Session(g, new SessionOptions { Device = Device });
            results[comm.Rank] = session.Run(y);
        });
        return results;
    }

    [Test]
    public void ShapeRulesKeepDTypeAndShapeAndRejectBadInputs()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 3));
        foreach (var y in new[] { TF.Distributed.AllReduce(x), TF.Distributed.AllReduce(x, AllReduceOp.Sum), TF.Distributed.Broadcast(x, 1), TF.Distributed.Reduce(x, 2) })
        {
            y.DType.Should().Be(DType.Float32);
            y.Shape.ToString().Should().Be(x.Shape.ToString());
        }
        TF.Distributed.AllReduce(TF.Placeholder(DType.Int64, new Shape(2)), AllReduceOp.Sum).DType.Should().Be(DType.Int64);
        TF.Distributed.Broadcast(TF.Placeholder(DType.Bool, Shape.Unknown)).Shape.ToString().Should().Be(Shape.Unknown.ToString());

        var ints = TF.Placeholder(DType.Int32, new Shape(2), "counts");
        FluentActions.Invoking(() => TF.Distributed.AllReduce(ints, AllReduceOp.Average, name: "avg"))
            .Should().Throw<InvalidArgumentException>().WithMessage("AllReduce 'avg': expected float32 or float64 (Average divides) for counts*, got int32.");
        var flags = TF.Placeholder(DType.Bool, new Shape(2), "flags");
        FluentActions.Invoking(() => TF.Distributed.AllReduce(flags, AllReduceOp.Sum)).Should().Throw<InvalidArgumentException>().WithMessage("*AllReduce*numeric*bool*");
        FluentActions.Invoking(() => TF.Distributed.Reduce(flags)).Should().Throw<InvalidArgumentException>().WithMessage("*Reduce*numeric*bool*");
        FluentActions.Invoking(() => TF.Distributed.Broadcast(x, -1, name: "b")).Should().Throw<InvalidArgumentException>().WithMessage("Broadcast 'b': root_rank must be >= 0, got -1.");
    }

    [TestCase(DType.Float32)]
    [TestCase(DType.Float64)]
    public void AllReduceSumsAndAveragesOverRanks(DType dtype)
    {
        const int size = 3, n = 5;
        var sums = OnRanks(size, r => TF.Distributed.AllReduce(TF.Constant(HostTensor.From(RankInput(r, n), n).AsType(dtype)), AllReduceOp.Sum));
        var means = OnRanks(size, r => TF.Distributed.AllReduce(TF.Constant(HostTensor.From(RankInput(r, n), n).AsType(dtype))));
        var expected = Enumerable.Range(0, n).Select(i => Enumerable.Range(0, size).Sum(r => RankInput(r, n)[i])).ToArray();
        for (var r = 0; r < size; r++)
        {
            sums[r].DType.Should().Be(dtype);
            // The inputs are multiples of 1/8: their sums are exact in float32 too.
            sums[r].ToArray<double>().Should().Equal(expected);
            var mean = means[r].ToArray<double>();
            for (var i = 0; i < n; i++) mean[i].Should().BeApproximately(expected[i] / size, 1e-6 * Math.Abs(expected[i]));
            // Every rank receives the same bits.
            sums[r].ContentEquals(sums[0]).Should().BeTrue();
            means[r].ContentEquals(means[0]).Should().BeTrue();
        }
    }

    [Test]
    public void AllReduceSumsIntegersExactly()
    {
        var sums = OnRanks(2, r => TF.Distributed.AllReduce(TF.Constant(new[,] { { r + 1, 10 * r }, { -r, int.MaxValue / 4 } }), AllReduceOp.Sum));
        foreach (var s in sums) s.ToArray<int>().Should().Equal(3, 10, -1, int.MaxValue / 4 * 2);
    }

    [Test]
    public void BroadcastGivesEveryRankTheRootsValueAndReduceSumsAtTheRoot()
    {
        const int size = 3, n = 4;
        var broadcast = OnRanks(size, r => TF.Distributed.Broadcast(TF.Constant(HostTensor.From(RankInput(r, n), 2, 2)), rootRank: 1));
        var reduced = OnRanks(size, r => TF.Distributed.Reduce(TF.Constant(HostTensor.From(RankInput(r, n), 2, 2)), rootRank: 2));
        var flags = OnRanks(size, r => TF.Distributed.Broadcast(TF.Constant(new[] { r == 0, r != 0 }), rootRank: 0));
        for (var r = 0; r < size; r++)
        {
            broadcast[r].Dims.Should().Equal(2, 2);
            broadcast[r].ToArray<double>().Should().Equal(RankInput(1, n));
            reduced[r].ToArray<double>().Should().Equal(r == 2
                ? Enumerable.Range(0, n).Select(i => RankInput(0, n)[i] + RankInput(1, n)[i] + RankInput(2, n)[i])
                : new double[n]);
            flags[r].ToArray<bool>().Should().Equal(true, false);
        }
    }

    [Test]
    public void WithoutMpirunTheCollectivesAreTheIdentityOfRankZero()
    {
        Communicator.StartedByMpirun.Should().BeFalse("the unit tests run outside mpirun; MpiTests run under it");
        var x = TF.Constant(new[] { 1.5f, -2f, 3f });
        var values = new[] { TF.Distributed.AllReduce(x), TF.Distributed.AllReduce(x, AllReduceOp.Sum), TF.Distributed.Broadcast(x, 0), TF.Distributed.Reduce(x, 0) };
        using var session = NewSession();
        foreach (var v in session.Run(values)) v.ToArray<float>().Should().Equal(1.5f, -2f, 3f);
        Communicator.World.Should().Match<Communicator>(c => c.Rank == 0 && c.Size == 1 && c.Transport == "no MPI: not started by mpirun");
    }

    [Test]
    public void ARootThatIsNotARankFailsTheRunNamingTheOp()
    {
        var y = TF.Distributed.Broadcast(TF.Constant(new[] { 1f }), rootRank: 1, name: "weights");
        using var session = NewSession();
        FluentActions.Invoking(() => session.Run(y)).Should().Throw<InvalidArgumentException>()
            .WithMessage("Broadcast 'weights': root rank 1 is not a rank of this job of 1 process.");
    }

    /// <summary>
    /// Gradient check across ranks: rank r's loss is Σ w_r·f(x_r) (w_r fixed random weights) and the job's loss is
    /// Σ_r of them; rank s's symbolic gradient must match central differences of the job's loss in x_s.
    /// </summary>
    private void CheckGradientAcrossRanks(int size, Func<Tensor, Tensor> f, double tolerance = 1e-6)
    {
        const int n = 3;
        const double step = 1e-6;
        InProcessGroup.Run(size, comm =>
        {
            var g = new ComputeGraph();
            using var scope = g.AsDefault();
            var x = TF.Placeholder(DType.Float64, new Shape(n), "x");
            var rng = new Random(17 + comm.Rank);
            var w = TF.Constant(Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 2 - 1).ToArray());
            var loss = TF.ReduceSum(f(x) * w);
            var grad = TF.Gradients(loss, x)[0]!;
            using var session = new Session(g, new SessionOptions { Device = Device });
            var input = RankInput(comm.Rank, n);
            var symbolic = session.Run(grad, new FeedDict { { x, input } }).ToArray<double>();
            for (var s = 0; s < size; s++)
                for (var e = 0; e < n; e++)
                {
                    double JobLoss(double delta)
                    {
                        var mine = (double[])input.Clone();
                        if (comm.Rank == s) mine[e] += delta;
                        return comm.Sum(session.Run(loss, new FeedDict { { x, mine } }).Item<double>())[0];
                    }
                    var numeric = (JobLoss(step) - JobLoss(-step)) / (2 * step);
                    if (comm.Rank == s)
                        symbolic[e].Should().BeApproximately(numeric, tolerance * Math.Max(1, Math.Abs(numeric)), $"d(job loss)/d x[{e}] on rank {s}");
                }
        });
    }

    [Test]
    public void AllReduceGradientIsTheAllReduceOfTheIncomingGradient()
    {
        CheckGradientAcrossRanks(2, x => TF.Distributed.AllReduce(x * x));
        CheckGradientAcrossRanks(3, x => TF.Tanh(TF.Distributed.AllReduce(x, AllReduceOp.Sum)));
    }

    [Test]
    public void BroadcastGradientSumsAtTheRootAndReduceGradientBroadcasts()
    {
        CheckGradientAcrossRanks(3, x => TF.Distributed.Broadcast(x * x, rootRank: 1));
        CheckGradientAcrossRanks(2, x => TF.Sigmoid(TF.Distributed.Reduce(x, rootRank: 0)));
    }

    [Test]
    public void SingleProcessGradientsMatchFiniteDifferences()
    {
        GradientCheck.Check(x => TF.Distributed.AllReduce(x[0] * x[0]), GradientCheck.Random(3, -1, 1, 2, 3));
        GradientCheck.Check(x => TF.Distributed.AllReduce(x[0], AllReduceOp.Sum) * x[0], GradientCheck.Random(4, -1, 1, 4));
        GradientCheck.Check(x => TF.Distributed.Broadcast(x[0]) + TF.Distributed.Reduce(x[0] * x[0]), GradientCheck.Random(5, -1, 1, 3));
    }

    [Test]
    public void AFailingRankStopsTheOthersInsteadOfLeavingThemWaiting()
    {
        var action = () => InProcessGroup.Run(3, comm =>
        {
            var g = new ComputeGraph();
            using var scope = g.AsDefault();
            // Rank 2 feeds a label out of range; the others wait in the allreduce that rank 2 never reaches.
            var labels = TF.Placeholder(DType.Int32, new Shape(2), "labels");
            var logits = TF.Constant(new float[,] { { 1, 2, 3 }, { 3, 2, 1 } });
            var loss = TF.ReduceMean(TF.Nn.SparseSoftmaxCrossEntropyWithLogits(labels, logits));
            var total = TF.Distributed.AllReduce(loss);
            using var session = new Session(g, new SessionOptions { Device = Device });
            session.Run(total, new FeedDict { { labels, comm.Rank == 2 ? new[] { 0, 7 } : new[] { 0, 1 } } });
        });
        action.Should().Throw<InvalidArgumentException>().WithMessage("*label*7*");
    }
}
