using System.Globalization;
using Graph.Core;
using Graph.Core.Data;
using Graph.Kernels;
using Graph.Kernels.Distributed;
using Graph.Rnn;

namespace Graph.Cli;

/// <summary>
/// What <c>graph train --distributed</c> adds to training (Horovod's recipe, docs/distributed.md): the model's gradients
/// averaged over the ranks by a <see cref="DistributedOptimizer"/>, the initial (or restored) variables broadcast from
/// rank 0, each rank's shard of every global batch and of the test set, metrics summed over ranks, and rank 0 alone
/// printing, plotting and saving. A rank that fails prints why and aborts the job, so no rank waits for it.
/// </summary>
public sealed class DistributedTraining
{
    private Operation? _broadcast;
    private long _steps;
    private (long Calls, long Bytes, TimeSpan Time) _metrics;

    private DistributedTraining(Communicator communicator) => Communicator = communicator;

    /// <summary>The job's ranks (MPI_COMM_WORLD under mpirun, else one process).</summary>
    public Communicator Communicator { get; }

    /// <summary>Whether this rank prints, plots and saves (rank 0).</summary>
    public bool IsRoot => Communicator.Rank == 0;

    /// <summary>The first line rank 0 prints: <c>distributed: 2 workers (MPI: Open MPI v4.1.4, …)</c>.</summary>
    public string Banner => $"distributed: {Communicator.Size} worker{(Communicator.Size == 1 ? "" : "s")} ({Communicator.Transport})";

    /// <summary>
    /// Runs <paramref name="train"/> with a <see cref="DistributedTraining"/> on <see cref="Communicator.World"/> when
    /// <paramref name="distributed"/> (null otherwise). Rank 0 prints the banner first. When this rank fails in a job of
    /// several, it prints <c>rank r of N: message</c> and aborts the job (mpirun then ends the others).
    /// </summary>
    public static int Run(bool distributed, Func<DistributedTraining?, int> train)
    {
        if (!distributed) return train(null);
        var job = new DistributedTraining(Communicator.World);
        if (job.IsRoot) Console.WriteLine(job.Banner);
        if (job.Communicator.Size == 1) return train(job);
        try
        {
            return train(job);
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"rank {job.Communicator.Rank} of {job.Communicator.Size}: {e.GetType().Name}: {e.Message}");
            job.Communicator.Abort(1);
            return 1; // not reached: the abort ends the job
        }
    }

    /// <summary>
    /// The notebook's MNIST RNN (<see cref="NotebookModels.MnistRnn"/>: the same ops, names and seeds, so the same
    /// initial weights and checkpoints) in <paramref name="dtype"/>, whose Adam step applies gradients averaged over the
    /// ranks, weighted by each rank's number of examples (exact for unequal shards too).
    /// </summary>
    public static MnistRnnModel MnistRnn(int seed = 42, bool swapMemory = false, double learningRate = 0.001, DType dtype = DType.Float32, bool distributed = true,
        string? device = null) =>
        NotebookModels.MnistRnn(seed, swapMemory, learningRate, dtype, distributed
            ? (adam, loss, labels) => new DistributedOptimizer(adam, exampleCount: TF.Size(labels)).Minimize(loss)
            : null, device);

    /// <summary>Sets every global variable to rank 0's (after initialising or restoring), so all ranks start alike.</summary>
    public void Synchronize(Session session, ComputeGraph graph)
    {
        if (_broadcast == null)
            using (graph.AsDefault())
                _broadcast = TF.Distributed.BroadcastGlobalVariables(rootRank: 0);
        session.Run(_broadcast);
    }

    /// <summary>This rank's shard of each global batch (the batches are the same on every rank: same seed).</summary>
    public IEnumerable<(HostTensor X, HostTensor y)> Shard(IEnumerable<(HostTensor X, HostTensor y)> globalBatches) =>
        Sharding.Shard(globalBatches, Communicator.Rank, Communicator.Size).Select(b =>
        {
            _steps++;
            return b;
        });

    /// <summary>
    /// The means of <paramref name="metrics"/> over the union of the ranks' feeds: each rank evaluates its own
    /// <paramref name="rows"/> rows and the means are weighted by rows (a collective: every rank calls it).
    /// </summary>
    public float[] Mean(Session session, FeedDict feeds, int rows, params Tensor[] metrics)
    {
        var local = session.Run(metrics, feeds);
        var before = (Communicator.Stats.AllReduceCalls, Communicator.Stats.AllReduceBytes, Communicator.Stats.AllReduceTime);
        var sums = Communicator.Sum(local.Select(m => (double)m.Item<float>() * rows).Append(rows).ToArray());
        // Not part of a training step's cost.
        _metrics = (_metrics.Calls + Communicator.Stats.AllReduceCalls - before.AllReduceCalls, _metrics.Bytes + Communicator.Stats.AllReduceBytes - before.AllReduceBytes,
            _metrics.Time + Communicator.Stats.AllReduceTime - before.AllReduceTime);
        return sums[..^1].Select(s => (float)(s / sums[^1])).ToArray();
    }

    /// <summary>The allreduce cost line rank 0 prints at the end: calls, bytes and time per training step.</summary>
    public string CostLine()
    {
        var s = Communicator.Stats;
        var steps = Math.Max(1, _steps);
        var (calls, bytes, time) = (s.AllReduceCalls - _metrics.Calls, s.AllReduceBytes - _metrics.Bytes, s.AllReduceTime - _metrics.Time);
        return string.Create(CultureInfo.InvariantCulture,
            $"distributed: allreduce {time.TotalMilliseconds / steps:F3} ms per step ({(double)calls / steps:F2} calls, {bytes / (double)steps / 1024:F1} KiB per step, {steps} steps)");
    }
}
