using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using Graph.Core;

namespace Graph.Kernels.Distributed;

/// <summary>The element-wise reductions of <see cref="Communicator.AllReduce"/>.</summary>
public enum CollectiveOp
{
    /// <summary>Σ over ranks.</summary>
    Sum,
    /// <summary>max over ranks.</summary>
    Max,
    /// <summary>min over ranks.</summary>
    Min,
}

/// <summary>Counts and times of a communicator's collectives (for the benchmark and <c>graph train --distributed</c>).</summary>
public sealed class CollectiveStats
{
    /// <summary>Allreduce calls so far.</summary>
    public long AllReduceCalls { get; internal set; }
    /// <summary>Bytes this rank contributed to allreduces.</summary>
    public long AllReduceBytes { get; internal set; }
    /// <summary>Wall time spent in allreduces (including waiting for the slowest rank).</summary>
    public TimeSpan AllReduceTime { get; internal set; }
    /// <summary>Broadcast calls so far.</summary>
    public long BroadcastCalls { get; internal set; }
    /// <summary>Bytes broadcast.</summary>
    public long BroadcastBytes { get; internal set; }

    /// <summary>Zeroes every counter.</summary>
    public void Reset() => (AllReduceCalls, AllReduceBytes, AllReduceTime, BroadcastCalls, BroadcastBytes) = (0, 0, TimeSpan.Zero, 0, 0);
}

/// <summary>
/// The processes of a data-parallel job and the collectives between them (Horovod's model on MPI): every rank runs the
/// same graph on its shard of the data; <see cref="AllReduce"/> combines values element-wise over all ranks, and
/// <see cref="Broadcast"/> copies the root's value to all. The graph ops <c>TF.Distributed.AllReduce</c> and
/// <c>TF.Distributed.Broadcast</c> run on <see cref="Current"/>.
/// </summary>
/// <remarks>
/// <see cref="World"/> is MPI's MPI_COMM_WORLD when the process was started by Open MPI's <c>mpirun</c>; otherwise it is
/// a single process of rank 0 and MPI is never loaded. <see cref="InProcessGroup"/> runs several ranks as threads of one
/// process (for tests). Every rank must call the same collectives in the same order, as with MPI.
/// </remarks>
public abstract class Communicator
{
    private static readonly Lazy<Communicator> LazyWorld = new(CreateWorld);
    private static readonly AsyncLocal<Communicator?> Scoped = new();

    /// <summary>This process's (or thread's) rank, 0 … <see cref="Size"/>−1.</summary>
    public abstract int Rank { get; }

    /// <summary>The number of ranks.</summary>
    public abstract int Size { get; }

    /// <summary>What carries the collectives, e.g. <c>MPI: Open MPI v4.1.4, …</c> or <c>no MPI: not started by mpirun</c>.</summary>
    public abstract string Transport { get; }

    /// <summary>Counts and times of this communicator's collectives.</summary>
    public CollectiveStats Stats { get; } = new();

    /// <summary>
    /// The job's communicator: MPI_COMM_WORLD through Open MPI when started by <c>mpirun</c> (MPI is initialised on first
    /// use and finalised at exit), otherwise a single process of rank 0 with no MPI loaded.
    /// </summary>
    public static Communicator World => LazyWorld.Value;

    /// <summary>Whether <see cref="World"/> has been created (so MPI may be loaded).</summary>
    public static bool WorldCreated => LazyWorld.IsValueCreated;

    /// <summary>
    /// Finalises MPI now when <see cref="World"/> is MPI (otherwise nothing): no collective may follow. MPI is also
    /// finalised when the process exits normally; call this where the process may not exit normally (a test host).
    /// </summary>
    public static void ShutdownWorld()
    {
        if (LazyWorld.IsValueCreated && LazyWorld.Value is MpiCommunicator mpi) mpi.Shutdown();
    }

    /// <summary>The communicator collectives run on in this flow of execution: the one set by <see cref="Use"/>, else <see cref="World"/>.</summary>
    public static Communicator Current => Scoped.Value ?? World;

    /// <summary>Makes <paramref name="communicator"/> <see cref="Current"/> in this flow of execution until disposed.</summary>
    public static IDisposable Use(Communicator communicator)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        var previous = Scoped.Value;
        Scoped.Value = communicator;
        return new Restore(() => Scoped.Value = previous);
    }

    /// <summary>
    /// Whether this process was started by Open MPI's <c>mpirun</c> (it sets <c>OMPI_COMM_WORLD_SIZE</c> in each
    /// process's environment).
    /// </summary>
    public static bool StartedByMpirun => Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is { Length: > 0 };

    /// <summary>
    /// Combines <paramref name="send"/> element-wise over all ranks into <paramref name="receive"/> (same length and
    /// element type: float, double, int or long); every rank receives the same bits.
    /// </summary>
    public void AllReduce(Array send, Array receive, CollectiveOp op)
    {
        ArgumentNullException.ThrowIfNull(send);
        ArgumentNullException.ThrowIfNull(receive);
        if (send.GetType() != receive.GetType() || send.Length != receive.Length)
            throw new ArgumentException($"AllReduce: send ({send.GetType().Name}, {send.Length}) and receive ({receive.GetType().Name}, {receive.Length}) differ.");
        if (send is not (float[] or double[] or int[] or long[]))
            throw new ArgumentException($"AllReduce: {send.GetType().Name} is not an array of float, double, int or long.");
        var clock = Stopwatch.StartNew();
        AllReduceCore(send, receive, op);
        Stats.AllReduceCalls++;
        Stats.AllReduceBytes += Buffer.ByteLength(send);
        Stats.AllReduceTime += clock.Elapsed;
    }

    /// <summary>Sums <paramref name="values"/> over all ranks (a convenience for host-side totals such as example counts).</summary>
    public double[] Sum(params double[] values)
    {
        var total = new double[values.Length];
        AllReduce(values, total, CollectiveOp.Sum);
        return total;
    }

    /// <summary>Overwrites <paramref name="data"/> (an array of any primitive type) on every rank with rank <paramref name="root"/>'s.</summary>
    public void Broadcast(Array data, int root)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckRoot(root, "Broadcast");
        BroadcastCore(data, root);
        Stats.BroadcastCalls++;
        Stats.BroadcastBytes += Buffer.ByteLength(data);
    }

    /// <summary>Waits until every rank has reached the barrier.</summary>
    public abstract void Barrier();

    /// <summary>
    /// Stops the whole job with <paramref name="errorCode"/> (MPI_Abort: mpirun ends every rank). Call it after printing
    /// why, when this rank cannot go on: the others would otherwise wait for it in their next collective.
    /// </summary>
    [DoesNotReturn]
    public abstract void Abort(int errorCode);

    /// <summary>Throws naming <paramref name="what"/> unless <paramref name="root"/> is a rank of this communicator.</summary>
    public void CheckRoot(int root, string what)
    {
        if (root < 0 || root >= Size)
            throw new InvalidArgumentException($"{what}: root rank {root} is not a rank of this job of {Size} process{(Size == 1 ? "" : "es")}.");
    }

    /// <summary>The reduction itself (arguments checked).</summary>
    protected abstract void AllReduceCore(Array send, Array receive, CollectiveOp op);

    /// <summary>The broadcast itself (arguments checked).</summary>
    protected abstract void BroadcastCore(Array data, int root);

    /// <summary>Describes the communicator.</summary>
    public override string ToString() => $"rank {Rank} of {Size} ({Transport})";

    private static Communicator CreateWorld() => StartedByMpirun ? MpiCommunicator.Start() : new SingleProcess();

    private sealed class Restore(Action undo) : IDisposable
    {
        private Action? _undo = undo;
        public void Dispose() => Interlocked.Exchange(ref _undo, null)?.Invoke();
    }

    /// <summary>Rank 0 of 1, without MPI: collectives copy, abort exits.</summary>
    private sealed class SingleProcess : Communicator
    {
        public override int Rank => 0;
        public override int Size => 1;
        public override string Transport => "no MPI: not started by mpirun";
        public override void Barrier() { }

        [DoesNotReturn]
        public override void Abort(int errorCode)
        {
            Environment.Exit(errorCode);
            throw new UnreachableException();
        }

        protected override void AllReduceCore(Array send, Array receive, CollectiveOp op) => Array.Copy(send, receive, send.Length);
        protected override void BroadcastCore(Array data, int root) { }
    }
}

/// <summary>MPI_COMM_WORLD through <see cref="OpenMpi"/>. One collective at a time (MPI_THREAD_SERIALIZED).</summary>
internal sealed unsafe class MpiCommunicator : Communicator
{
    private readonly OpenMpi _mpi;
    private readonly Lock _gate = new();
    private volatile bool _terminating;
    // Kept alive for the life of the process: the registration ends when collected.
    private PosixSignalRegistration? _sigterm;

    private MpiCommunicator(OpenMpi mpi)
    {
        _mpi = mpi;
        Rank = mpi.Rank();
        Size = mpi.Size();
        Transport = "MPI: " + mpi.LibraryVersion();
    }

    public override int Rank { get; }
    public override int Size { get; }
    public override string Transport { get; }

    public static MpiCommunicator Start()
    {
        var world = new MpiCommunicator(OpenMpi.Initialize());
        // mpirun ends the other ranks with SIGTERM when one fails (killed, crashed or aborted): say so, and skip
        // MPI_Finalize on the way out (it would wait for the rank that is gone).
        world._sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ =>
        {
            world._terminating = true;
            Console.Error.WriteLine($"rank {world.Rank} of {world.Size}: stopped by mpirun (SIGTERM): another rank of the job failed or the job was interrupted; mpirun's message says which.");
        });
        AppDomain.CurrentDomain.ProcessExit += (_, _) => world.Shutdown();
        return world;
    }

    /// <summary>MPI_Finalize, once, at a normal exit.</summary>
    public void Shutdown()
    {
        if (_terminating) return;
        lock (_gate)
        {
            _terminating = true;
            _mpi.FinalizeMpi();
        }
    }

    public override void Barrier()
    {
        lock (_gate) _mpi.Barrier();
    }

    [DoesNotReturn]
    public override void Abort(int errorCode)
    {
        _terminating = true;
        Console.Out.Flush();
        Console.Error.Flush();
        _mpi.Abort(errorCode);
        // MPI_Abort does not return; if it did, leave anyway.
        Environment.Exit(errorCode);
        throw new UnreachableException();
    }

    protected override void AllReduceCore(Array send, Array receive, CollectiveOp op)
    {
        var type = send switch
        {
            float[] => OpenMpi.ElementType.Float32,
            double[] => OpenMpi.ElementType.Float64,
            int[] => OpenMpi.ElementType.Int32,
            _ => OpenMpi.ElementType.Int64,
        };
        var elementSize = Buffer.ByteLength(send) / Math.Max(1, send.Length);
        lock (_gate)
            fixed (byte* s = &MemoryMarshal.GetArrayDataReference(send), r = &MemoryMarshal.GetArrayDataReference(receive))
                // MPI counts are ints: reduce in chunks of at most 2^30 elements.
                for (long at = 0; at < send.Length; at += 1 << 30)
                {
                    var count = (int)Math.Min(1 << 30, send.Length - at);
                    _mpi.AllReduce(s + at * elementSize, r + at * elementSize, count, type, op);
                }
    }

    protected override void BroadcastCore(Array data, int root)
    {
        var bytes = Buffer.ByteLength(data);
        lock (_gate)
            fixed (byte* p = &MemoryMarshal.GetArrayDataReference(data))
                for (long at = 0; at < bytes; at += 1 << 30)
                    _mpi.Broadcast(p + at, (int)Math.Min(1 << 30, bytes - at), root);
    }
}
