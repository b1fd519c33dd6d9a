using System.Diagnostics.CodeAnalysis;
using System.Numerics;

namespace Graph.Kernels.Distributed;

/// <summary>
/// Several ranks as threads of one process, exchanging through shared memory: the same collectives as MPI, so a
/// data-parallel graph can be tested (and its ranks compared) without <c>mpirun</c>. Reductions add the ranks' values
/// in rank order on every rank, so all ranks receive the same bits, as with MPI.
/// </summary>
public static class InProcessGroup
{
    /// <summary>
    /// Runs <paramref name="rankMain"/> once per rank, each on its own thread with its rank's communicator as
    /// <see cref="Communicator.Current"/>, and waits for all. When a rank throws, the group is aborted (the others'
    /// pending and later collectives throw <see cref="CommunicatorAbortedException"/>, as mpirun would end them) and
    /// the first failure is rethrown.
    /// </summary>
    public static void Run(int size, Action<Communicator> rankMain)
    {
        ArgumentNullException.ThrowIfNull(rankMain);
        var ranks = Create(size);
        var failures = new Exception?[size];
        var threads = ranks.Select(comm => new Thread(() =>
        {
            using var scope = Communicator.Use(comm);
            try
            {
                rankMain(comm);
            }
            catch (Exception e)
            {
                failures[comm.Rank] = e;
                ((Member)comm).Exchange.Fail(comm.Rank, e);
            }
        }, maxStackSize: 16 << 20) { Name = $"rank {comm.Rank} of {size}" }).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        // The rank that failed first, not the ones it took down with it.
        var first = failures.FirstOrDefault(e => e is not null and not CommunicatorAbortedException) ?? failures.FirstOrDefault(e => e != null);
        if (first != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
    }

    /// <summary>The communicators of a new group of <paramref name="size"/> ranks (each must be used by its own thread).</summary>
    public static Communicator[] Create(int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        var exchange = new SharedExchange(size);
        return Enumerable.Range(0, size).Select(r => (Communicator)new Member(exchange, r)).ToArray();
    }

    /// <summary>The slots the ranks post into, and the barrier they meet at.</summary>
    private sealed class SharedExchange(int size)
    {
        private readonly Barrier _barrier = new(size);
        private readonly CancellationTokenSource _aborted = new();
        private string? _why;

        public readonly Array?[] Slots = new Array?[size];
        public int Size => size;

        /// <summary>Meets the other ranks; throws if the group was aborted.</summary>
        public void Meet(int rank)
        {
            try
            {
                _barrier.SignalAndWait(_aborted.Token);
            }
            catch (OperationCanceledException)
            {
                throw new CommunicatorAbortedException($"rank {rank} of {size}: stopped because {_why}.");
            }
        }

        public void Fail(int rank, Exception e) => Cancel($"rank {rank} failed ({e.GetType().Name}: {e.Message})");

        public void Cancel(string why)
        {
            Interlocked.CompareExchange(ref _why, why, null);
            _aborted.Cancel();
        }
    }

    private sealed class Member(SharedExchange exchange, int rank) : Communicator
    {
        public SharedExchange Exchange { get; } = exchange;
        public override int Rank => rank;
        public override int Size => Exchange.Size;
        public override string Transport => $"in-process group of {Size} threads";

        public override void Barrier() => Exchange.Meet(rank);

        [DoesNotReturn]
        public override void Abort(int errorCode)
        {
            Exchange.Cancel($"rank {rank} aborted the group with error code {errorCode}");
            throw new CommunicatorAbortedException($"rank {rank} of {Size}: aborted the group with error code {errorCode}.");
        }

        protected override void AllReduceCore(Array send, Array receive, CollectiveOp op)
        {
            Exchange.Slots[rank] = send;
            Exchange.Meet(rank);
            foreach (var s in Exchange.Slots)
                if (s!.GetType() != send.GetType() || s.Length != send.Length)
                    throw new ArgumentException($"AllReduce: rank {rank} has {send.GetType().Name}[{send.Length}] but another rank has {s.GetType().Name}[{s.Length}].");
            switch (receive)
            {
                case float[] r: Reduce(r, op); break;
                case double[] r: Reduce(r, op); break;
                case int[] r: Reduce(r, op); break;
                case long[] r: Reduce(r, op); break;
            }
            // Nobody posts the next collective's buffer before everyone has read this one's.
            Exchange.Meet(rank);
        }

        private void Reduce<T>(T[] result, CollectiveOp op) where T : INumber<T>
        {
            ((T[])Exchange.Slots[0]!).CopyTo(result, 0);
            for (var s = 1; s < Exchange.Size; s++)
            {
                var other = (T[])Exchange.Slots[s]!;
                for (var i = 0; i < result.Length; i++)
                    result[i] = op switch
                    {
                        CollectiveOp.Sum => result[i] + other[i],
                        CollectiveOp.Max => T.Max(result[i], other[i]),
                        _ => T.Min(result[i], other[i]),
                    };
            }
        }

        protected override void BroadcastCore(Array data, int root)
        {
            Exchange.Slots[rank] = data;
            Exchange.Meet(rank);
            var source = Exchange.Slots[root]!;
            if (Buffer.ByteLength(source) != Buffer.ByteLength(data))
                throw new ArgumentException($"Broadcast: rank {rank} has {Buffer.ByteLength(data)} bytes but root {root} has {Buffer.ByteLength(source)}.");
            if (rank != root) Buffer.BlockCopy(source, 0, data, 0, Buffer.ByteLength(data));
            Exchange.Meet(rank);
        }
    }
}

/// <summary>A collective could not complete because another rank of the group failed or aborted it.</summary>
public sealed class CommunicatorAbortedException(string message) : Exception(message);
