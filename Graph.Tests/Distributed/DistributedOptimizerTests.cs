using Graph.Core;
using Graph.Core.Data;
using Graph.Kernels;
using Graph.Kernels.Distributed;

namespace Graph.Tests;

/// <summary>
/// DistributedOptimizer, tensor fusion, BroadcastGlobalVariables and sharding, on ranks of an in-process group (the same
/// collectives as MPI): data-parallel steps equal single-process steps on the global batch, with identical bits on every
/// rank. MpiTests repeat the equivalence under mpirun.
/// </summary>
[TestFixture]
public class DistributedOptimizerTests
{
    private static int Count(ComputeGraph g, string type) => g.Operations.Count(o => o.Type == type);

    [Test]
    public void GradientsOfOneDTypeShareOneAllReducePerStep()
    {
        var model = Cli.DistributedTraining.MnistRnn();
        // kernel, recurrent kernel, bias, dense kernel and bias: one fused float32 buffer.
        Count(model.Graph, "AllReduce").Should().Be(1);
        model.Graph.Operations.Single(o => o.Type == "AllReduce").Inputs[0].Shape.ToString()
            .Should().Be(new Shape(28 * 150 + 150 * 150 + 150 + 150 * 10 + 10 + 1).ToString(), "the gradients and the example count");

        var g = new ComputeGraph { Seed = 1 };
        using var scope = g.AsDefault();
        var x = TF.Placeholder(DType.Float64, new Shape(-1, 4), "x");
        var w = TF.Variable(TF.RandomNormal([4, 3], dtype: DType.Float64), name: "w");
        var b = TF.Variable(TF.Zeros([3], DType.Float64), name: "b");
        var loss = TF.ReduceMean(TF.Square(TF.MatMul(x, w) + b));
        new DistributedOptimizer(new GradientDescentOptimizer(0.1)).Minimize(loss);
        Count(g, "AllReduce").Should().Be(1);
        new DistributedOptimizer(new GradientDescentOptimizer(0.1, name: "unfused"), fusionThresholdBytes: 0).Minimize(loss);
        Count(g, "AllReduce").Should().Be(3, "with no fusion each of the two gradients has its own allreduce");
    }

    [Test]
    public void MinimizingALossThatReachesNoVariableNamesTheOptimizerAndTheVariables()
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var w = TF.Variable(TF.Zeros([2], DType.Float64), name: "w");
        var loss = TF.ReduceSum(TF.Constant(new double[] { 1, 2 }), name: "loss");
        var plain = () => new GradientDescentOptimizer(0.1).Minimize(loss);
        plain.Should().Throw<InvalidArgumentException>().WithMessage("GradientDescent: no gradients provided for any variable: none of [w] is in reach of the loss loss:0.");
        var distributed = () => new DistributedOptimizer(new GradientDescentOptimizer(0.1)).Minimize(loss);
        distributed.Should().Throw<InvalidArgumentException>().WithMessage("GradientDescent: no gradients provided for any variable: none of [w] is in reach of the loss loss:0.");
    }

    [Test]
    public void FusionBucketsFollowDTypeAndThreshold()
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var tensors = new[]
        {
            TF.Placeholder(DType.Float32, new Shape(10)), TF.Placeholder(DType.Float64, new Shape(2, 2)),
            TF.Placeholder(DType.Float32, new Shape(5)), TF.Placeholder(DType.Float32, new Shape(-1)),
            TF.Placeholder(DType.Float32, new Shape(20)),
        };
        TensorFusion.Buckets(tensors, 1 << 20).Select(b => string.Join(",", b)).Should().Equal("0,2,4", "1", "3");
        // 60 bytes hold the first two float32 tensors (40 + 20); the 80-byte one gets a buffer of its own.
        TensorFusion.Buckets(tensors, 60).Select(b => string.Join(",", b)).Should().Equal("0,2", "1", "3", "4");
        TensorFusion.Buckets(tensors, 0).Should().HaveCount(5);
    }

    [Test]
    public void FusedCollectivesReturnEachTensorWithItsShapeAndValue()
    {
        InProcessGroup.Run(2, comm =>
        {
            var g = new ComputeGraph();
            using var scope = g.AsDefault();
            var r = comm.Rank + 1.0;
            var tensors = new[] { TF.Constant(new[,] { { r, 2 * r }, { 3 * r, 4 * r } }), TF.Constant(new[] { (float)r }), TF.Constant(new[] { 5 * r }) };
            var fused = TensorFusion.Apply(tensors, t => TF.Distributed.AllReduce(t, AllReduceOp.Sum));
            Count(g, "AllReduce").Should().Be(2, "one float64 and one float32 buffer");
            using var session = new Session(g);
            var values = session.Run(fused.ToList());
            values[0].Dims.Should().Equal(2, 2);
            values[0].ToArray<double>().Should().Equal(3, 6, 9, 12);
            values[1].ToArray<float>().Should().Equal(3f);
            values[2].ToArray<double>().Should().Equal(15);
        });
    }

    [TestCase(DType.Float64, 1e-12)]
    [TestCase(DType.Float32, 1e-5)]
    public void TwoRanksOfSeventyFiveStepLikeOneProcessOfOneHundredFifty(DType dtype, double tolerance)
    {
        var worst = new double[2];
        InProcessGroup.Run(2, comm => worst[comm.Rank] = DataParallelCheck.MaxRelativeDifference(comm, dtype, steps: 10, globalBatch: 150));
        TestContext.Out.WriteLine($"{dtype}: largest relative difference {worst[0]:E2}");
        worst[0].Should().BeLessThanOrEqualTo(tolerance);
    }

    [Test]
    public void UnequalShardsWeightedByExampleCountGiveTheGlobalGradient()
    {
        // A global batch of 7 rows on 2 ranks: 4 + 3. Weighted by the counts, the averaged gradient is the global one.
        var xs = GradientCheck.Random(3, -1, 1, 7, 4);
        var ys = GradientCheck.Random(4, -1, 1, 7, 2);
        (Tensor Loss, Variable W, Tensor X, Tensor Y) Build()
        {
            var x = TF.Placeholder(DType.Float64, new Shape(-1, 4), "x");
            var y = TF.Placeholder(DType.Float64, new Shape(-1, 2), "y");
            var w = TF.Variable(TF.Constant(HostTensor.From(Enumerable.Range(0, 8).Select(i => 0.1 * i - 0.3).ToArray(), 4, 2)), name: "w");
            return (TF.ReduceMean(TF.Square(TF.Tanh(TF.MatMul(x, w)) - y)), w, x, y);
        }
        double[] reference;
        {
            var g = new ComputeGraph();
            using var scope = g.AsDefault();
            var (loss, w, x, y) = Build();
            var grad = new GradientDescentOptimizer(1).ComputeGradients(loss)[0].Gradient!;
            using var session = new Session(g);
            session.Run(TF.GlobalVariablesInitializer());
            reference = session.Run(grad, new FeedDict { { x, xs }, { y, ys } }).ToArray<double>();
        }
        var results = new double[2][];
        var evenResults = new double[2][];
        InProcessGroup.Run(2, comm =>
        {
            var g = new ComputeGraph();
            using var scope = g.AsDefault();
            var (loss, w, x, y) = Build();
            var weighted = new DistributedOptimizer(new GradientDescentOptimizer(1), exampleCount: TF.Size(y) / 2).ComputeGradients(loss)[0].Gradient!;
            var even = new DistributedOptimizer(new GradientDescentOptimizer(1, name: "even")).ComputeGradients(loss)[0].Gradient!;
            using var session = new Session(g);
            session.Run(TF.GlobalVariablesInitializer());
            var feeds = new FeedDict { { x, Sharding.Shard(xs, comm.Rank, 2) }, { y, Sharding.Shard(ys, comm.Rank, 2) } };
            results[comm.Rank] = session.Run(weighted, feeds).ToArray<double>();
            evenResults[comm.Rank] = session.Run(even, feeds).ToArray<double>();
        });
        for (var i = 0; i < reference.Length; i++)
        {
            results[0][i].Should().BeApproximately(reference[i], 1e-14);
            results[1][i].Should().Be(results[0][i]);
        }
        // Averaging evenly (Horovod's rule) weighs the 3-row shard like the 4-row one: not the global gradient.
        evenResults[0].Zip(reference, (a, b) => Math.Abs(a - b)).Max().Should().BeGreaterThan(1e-6);
    }

    [Test]
    public void SparseGatherGradientsAreAveragedDensely()
    {
        // An embedding lookup: each rank gathers different rows; the dense (scatter-add) gradients are averaged.
        var ids = new[] { 0, 3, 3, 1, 4, 0 };
        var targets = GradientCheck.Random(8, -1, 1, 6, 2);
        HostTensor Train(Communicator? comm)
        {
            var g = new ComputeGraph();
            using var scope = g.AsDefault();
            var embedding = TF.Variable(TF.Constant(HostTensor.From(Enumerable.Range(0, 10).Select(i => 0.05 * i).ToArray(), 5, 2)), name: "embedding");
            var index = TF.Placeholder(DType.Int32, new Shape(-1), "ids");
            var y = TF.Placeholder(DType.Float64, new Shape(-1, 2), "y");
            var loss = TF.ReduceMean(TF.Square(TF.Gather(embedding, index) - y));
            var adam = new AdamOptimizer(0.1);
            var train = comm == null ? adam.Minimize(loss) : new DistributedOptimizer(adam).Minimize(loss);
            using var session = new Session(g);
            session.Run(TF.GlobalVariablesInitializer());
            var (rank, size) = comm == null ? (0, 1) : (comm.Rank, comm.Size);
            for (var step = 0; step < 3; step++)
                session.Run(train, new FeedDict { { index, Sharding.Shard(HostTensor.From(ids, 6), rank, size) }, { y, Sharding.Shard(targets, rank, size) } });
            return session.Run(embedding.Value);
        }
        var reference = Train(null).ToArray<double>();
        var distributed = new HostTensor[2];
        InProcessGroup.Run(2, comm => distributed[comm.Rank] = Train(comm));
        distributed[1].ContentEquals(distributed[0]).Should().BeTrue();
        var values = distributed[0].ToArray<double>();
        for (var i = 0; i < reference.Length; i++) values[i].Should().BeApproximately(reference[i], 1e-12);
    }

    [Test]
    public void BroadcastGlobalVariablesGivesEveryRankRankZerosValuesWithOneBroadcastPerDType()
    {
        var values = new HostTensor[3][];
        InProcessGroup.Run(3, comm =>
        {
            // A different seed per rank: different initial weights until the broadcast.
            var g = new ComputeGraph { Seed = 10 + comm.Rank };
            using var scope = g.AsDefault();
            var w = TF.Variable(TF.RandomNormal([3, 2]), name: "w");
            var b = TF.Variable(TF.Zeros([2]) + comm.Rank, name: "b");
            var step = TF.Variable(TF.Constant(7 * comm.Rank), name: "step", trainable: false);
            var sync = TF.Distributed.BroadcastGlobalVariables();
            Count(g, "Broadcast").Should().Be(2, "one float32 and one int32 buffer");
            using var session = new Session(g);
            session.Run(TF.GlobalVariablesInitializer());
            session.Run(sync);
            values[comm.Rank] = session.Run([w.Value, b.Value, step.Value]);
        });
        values[0][1].ToArray<float>().Should().Equal(0f, 0f);
        values[0][2].Item<int>().Should().Be(0);
        for (var r = 1; r < 3; r++)
            for (var v = 0; v < 3; v++)
                values[r][v].ContentEquals(values[0][v]).Should().BeTrue($"variable {v} of rank {r}");
    }

    [Test]
    public void TheWrappedOptimizersSlotsKeepTheirNamesSoCheckpointsAreInterchangeable()
    {
        var single = Rnn.NotebookModels.MnistRnn();
        var distributed = Cli.DistributedTraining.MnistRnn();
        string[] Names(ComputeGraph g) => g.GetCollection<Variable>(GraphKeys.GlobalVariables).Select(v => v.Name + v.Shape).Order(StringComparer.Ordinal).ToArray();
        Names(distributed.Graph).Should().Equal(Names(single.Graph));
        using var a = new Session(single.Graph);
        using var b = new Session(distributed.Graph);
        using (single.Graph.AsDefault()) a.Run(TF.GlobalVariablesInitializer());
        using (distributed.Graph.AsDefault()) b.Run(TF.GlobalVariablesInitializer());
        var trainable = single.Graph.GetCollection<Variable>(GraphKeys.TrainableVariables);
        var twins = distributed.Graph.GetCollection<Variable>(GraphKeys.TrainableVariables);
        for (var i = 0; i < trainable.Count; i++)
            b.Run(twins[i].Value).ContentEquals(a.Run(trainable[i].Value)).Should().BeTrue($"{trainable[i].Name} starts from the notebook's weights");
    }

    [Test]
    public void RejectsANonScalarExampleCount()
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var counts = TF.Placeholder(DType.Int32, new Shape(2), "counts");
        FluentActions.Invoking(() => new DistributedOptimizer(new AdamOptimizer(), counts)).Should().Throw<InvalidArgumentException>()
            .WithMessage("DistributedOptimizer: the example count counts:0 must be a numeric scalar, got int32 (2,).");
    }
}

/// <summary>Data sharding: disjoint, covering, near-equal parts of every global batch; the same batches on every rank.</summary>
[TestFixture]
public class ShardingTests
{
    [TestCase(150, 2)]
    [TestCase(151, 2)]
    [TestCase(152, 3)]
    [TestCase(5, 5)]
    public void TheRanksShardsAreDisjointAndTogetherTheBatch(int rows, int size)
    {
        var covered = new List<int>();
        for (var r = 0; r < size; r++)
        {
            var (start, count) = Sharding.Bounds(rows, r, size);
            count.Should().BeInRange(rows / size, rows / size + 1);
            covered.AddRange(Enumerable.Range(start, count));
        }
        covered.Should().Equal(Enumerable.Range(0, rows));
        Sharding.Bounds(150, 1, 2).Should().Be((75, 75));
        Sharding.Bounds(151, 0, 2).Should().Be((0, 76));
    }

    [Test]
    public void EveryRankDrawsTheSameGlobalBatchesAndTakesItsRows()
    {
        var data = Mnist.LoadDigits();
        var epoch = Rnn.NotebookModels.EpochBatches(data, 150, seed: 42, epoch: 3).Take(2).ToList();
        var again = Rnn.NotebookModels.EpochBatches(data, 150, seed: 42, epoch: 3).Take(2).ToList();
        var shards = Enumerable.Range(0, 2).Select(r => Sharding.Shard(again, r, 2).ToList()).ToArray();
        for (var b = 0; b < 2; b++)
        {
            var rows = epoch[b].y.DimsSpan[0];
            shards[0][b].X.Dims.Should().Equal(rows - rows / 2, 28, 28);
            shards[1][b].y.Dims.Should().Equal(rows / 2);
            shards[0][b].y.ToArray<int>().Concat(shards[1][b].y.ToArray<int>()).Should().Equal(epoch[b].y.ToArray<int>());
            shards[0][b].X.ToArray<float>().Concat(shards[1][b].X.ToArray<float>()).Should().Equal(epoch[b].X.ToArray<float>());
        }
    }

    [Test]
    public void RejectsBatchesSmallerThanTheJobAndRanksOutside()
    {
        FluentActions.Invoking(() => Sharding.Bounds(1, 0, 2)).Should().Throw<ArgumentException>()
            .WithMessage("A batch of 1 row cannot be sharded over 2 ranks: every rank needs at least one row (use a global batch of at least 2).");
        FluentActions.Invoking(() => Sharding.Bounds(10, 2, 2)).Should().Throw<ArgumentOutOfRangeException>().WithMessage("Rank 2 is not in [0, 2)*");
        FluentActions.Invoking(() => Sharding.Shard(HostTensor.Scalar(1f), 0, 2)).Should().Throw<ArgumentException>().WithMessage("A scalar has no rows to shard*");
        Sharding.Shard(HostTensor.From(new[] { 1, 2, 3 }, 3), 0, 1).ToArray<int>().Should().Equal(1, 2, 3);
    }
}
