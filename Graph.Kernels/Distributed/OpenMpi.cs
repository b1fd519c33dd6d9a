using System.Runtime.InteropServices;
using System.Text;

namespace Graph.Kernels.Distributed;

/// <summary>
/// A small P/Invoke binding of the MPI calls Graph needs, for Open MPI 4.x (<c>libmpi.so.40</c>, Debian's
/// <c>libopenmpi3</c>, which <c>openmpi-bin</c> pulls in): init and finalize, rank and size, allreduce, broadcast,
/// barrier, abort, the library version and error strings.
/// </summary>
/// <remarks>
/// Why not MPI.NET (1.4.0 on NuGet): its P/Invoke declarations name <c>msmpi.dll</c> and use MS-MPI's integer
/// handles (<c>MPI_COMM_WORLD</c> = 0x44000000). Open MPI's handles are pointers to predefined objects, so even with
/// the library name mapped to <c>libmpi.so.40</c> its first call crashes (tried: SIGSEGV under <c>mpirun -np 2</c>).
/// Here the handles are what Open MPI's <c>mpi.h</c> makes of them: the addresses of its exported objects
/// (<c>MPI_COMM_WORLD</c> is <c>&amp;ompi_mpi_comm_world</c>, <c>MPI_DOUBLE</c> is <c>&amp;ompi_mpi_double</c>, …),
/// looked up with <see cref="NativeLibrary.GetExport"/>. The library is opened with <c>RTLD_GLOBAL</c> first, as
/// Open MPI's plugins (loaded with dlopen) resolve libmpi's symbols from the global scope.
/// The binding is loaded only when a process is started by <c>mpirun</c> (see <see cref="Communicator.World"/>).
/// </remarks>
internal sealed unsafe class OpenMpi
{
    /// <summary>The soname of Open MPI 4.x's C library.</summary>
    public const string LibraryName = "libmpi.so.40";

    private const int ThreadSerialized = 2;     // MPI_THREAD_SERIALIZED: any thread may call, one at a time
    private const int MaxString = 256;          // MPI_MAX_LIBRARY_VERSION_STRING, MPI_MAX_ERROR_STRING

    private readonly delegate* unmanaged<int*, byte***, int, int*, int> _initThread;
    private readonly delegate* unmanaged<int> _finalize;
    private readonly delegate* unmanaged<int*, int> _finalized;
    private readonly delegate* unmanaged<nint, int*, int> _commRank;
    private readonly delegate* unmanaged<nint, int*, int> _commSize;
    private readonly delegate* unmanaged<void*, void*, int, nint, nint, nint, int> _allreduce;
    private readonly delegate* unmanaged<void*, int, nint, int, nint, int> _bcast;
    private readonly delegate* unmanaged<nint, int> _barrier;
    private readonly delegate* unmanaged<nint, int, int> _abort;
    private readonly delegate* unmanaged<byte*, int*, int> _libraryVersion;
    private readonly delegate* unmanaged<int, byte*, int*, int> _errorString;
    private readonly delegate* unmanaged<nint, nint, int> _setErrhandler;

    /// <summary>MPI_COMM_WORLD.</summary>
    public nint CommWorld { get; }

    private readonly nint _float, _double, _int, _int64, _byte, _sum, _max, _min;

    private OpenMpi(nint lib)
    {
        nint Obj(string name) => NativeLibrary.GetExport(lib, name);
        _initThread = (delegate* unmanaged<int*, byte***, int, int*, int>)Obj("MPI_Init_thread");
        _finalize = (delegate* unmanaged<int>)Obj("MPI_Finalize");
        _finalized = (delegate* unmanaged<int*, int>)Obj("MPI_Finalized");
        _commRank = (delegate* unmanaged<nint, int*, int>)Obj("MPI_Comm_rank");
        _commSize = (delegate* unmanaged<nint, int*, int>)Obj("MPI_Comm_size");
        _allreduce = (delegate* unmanaged<void*, void*, int, nint, nint, nint, int>)Obj("MPI_Allreduce");
        _bcast = (delegate* unmanaged<void*, int, nint, int, nint, int>)Obj("MPI_Bcast");
        _barrier = (delegate* unmanaged<nint, int>)Obj("MPI_Barrier");
        _abort = (delegate* unmanaged<nint, int, int>)Obj("MPI_Abort");
        _libraryVersion = (delegate* unmanaged<byte*, int*, int>)Obj("MPI_Get_library_version");
        _errorString = (delegate* unmanaged<int, byte*, int*, int>)Obj("MPI_Error_string");
        _setErrhandler = (delegate* unmanaged<nint, nint, int>)Obj("MPI_Comm_set_errhandler");
        CommWorld = Obj("ompi_mpi_comm_world");
        _float = Obj("ompi_mpi_float");
        _double = Obj("ompi_mpi_double");
        _int = Obj("ompi_mpi_int");
        _int64 = Obj("ompi_mpi_int64_t");
        _byte = Obj("ompi_mpi_byte");
        _sum = Obj("ompi_mpi_op_sum");
        _max = Obj("ompi_mpi_op_max");
        _min = Obj("ompi_mpi_op_min");
        ErrorsReturn = Obj("ompi_mpi_errors_return");
    }

    private nint ErrorsReturn { get; }

    [DllImport("libdl.so.2", EntryPoint = "dlopen")]
    private static extern nint DlOpen(string file, int mode);

    [DllImport("libdl.so.2", EntryPoint = "dlerror")]
    private static extern nint DlError();

    /// <summary>
    /// Loads <c>libmpi.so.40</c> and initialises MPI (MPI_Init_thread, serialized), with errors returned as codes
    /// (MPI_ERRORS_RETURN on MPI_COMM_WORLD) so a failed call becomes an exception naming it.
    /// </summary>
    public static OpenMpi Initialize()
    {
        const int RtldNow = 2, RtldGlobal = 0x100;
        if (DlOpen(LibraryName, RtldNow | RtldGlobal) == 0)
        {
            var error = Marshal.PtrToStringUTF8(DlError()) ?? "unknown error";
            throw new DllNotFoundException(
                $"This process was started by mpirun, but Open MPI's library {LibraryName} cannot be loaded ({error}). " +
                "Install Open MPI 4 (Debian: apt-get install openmpi-bin libopenmpi-dev).");
        }
        var mpi = new OpenMpi(NativeLibrary.Load(LibraryName));
        int provided;
        mpi.Check(mpi._initThread(null, null, ThreadSerialized, &provided), "MPI_Init_thread");
        mpi.Check(mpi._setErrhandler(mpi.CommWorld, mpi.ErrorsReturn), "MPI_Comm_set_errhandler");
        return mpi;
    }

    /// <summary>This process's rank in MPI_COMM_WORLD.</summary>
    public int Rank()
    {
        int rank;
        Check(_commRank(CommWorld, &rank), "MPI_Comm_rank");
        return rank;
    }

    /// <summary>The number of processes in MPI_COMM_WORLD.</summary>
    public int Size()
    {
        int size;
        Check(_commSize(CommWorld, &size), "MPI_Comm_size");
        return size;
    }

    /// <summary>MPI_Get_library_version's first line, e.g. <c>Open MPI v4.1.4, package: Debian OpenMPI, …</c>.</summary>
    public string LibraryVersion()
    {
        var buffer = stackalloc byte[MaxString];
        int length;
        Check(_libraryVersion(buffer, &length), "MPI_Get_library_version");
        var text = Encoding.UTF8.GetString(buffer, Math.Max(0, Math.Min(length, MaxString))).TrimEnd('\0');
        return text.Split('\n')[0].Trim();
    }

    /// <summary>MPI_Allreduce of <paramref name="count"/> elements of <paramref name="type"/> (send and receive distinct).</summary>
    public void AllReduce(void* send, void* receive, int count, ElementType type, CollectiveOp op) =>
        Check(_allreduce(send, receive, count, Datatype(type), Op(op), CommWorld), "MPI_Allreduce");

    /// <summary>MPI_Bcast of <paramref name="bytes"/> bytes from <paramref name="root"/>.</summary>
    public void Broadcast(void* buffer, int bytes, int root) => Check(_bcast(buffer, bytes, _byte, root, CommWorld), "MPI_Bcast");

    /// <summary>MPI_Barrier.</summary>
    public void Barrier() => Check(_barrier(CommWorld), "MPI_Barrier");

    /// <summary>MPI_Abort on MPI_COMM_WORLD: mpirun stops every process of the job.</summary>
    public void Abort(int errorCode) => _abort(CommWorld, errorCode);

    /// <summary>MPI_Finalize, unless already finalized.</summary>
    public void FinalizeMpi()
    {
        int done;
        if (_finalized(&done) == 0 && done == 0) Check(_finalize(), "MPI_Finalize");
    }

    private nint Datatype(ElementType type) => type switch
    {
        ElementType.Float32 => _float,
        ElementType.Float64 => _double,
        ElementType.Int32 => _int,
        ElementType.Int64 => _int64,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    private nint Op(CollectiveOp op) => op switch
    {
        CollectiveOp.Sum => _sum,
        CollectiveOp.Max => _max,
        CollectiveOp.Min => _min,
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    private void Check(int code, string call)
    {
        if (code == 0) return;
        var buffer = stackalloc byte[MaxString];
        int length;
        var text = _errorString(code, buffer, &length) == 0 ? Encoding.UTF8.GetString(buffer, Math.Max(0, Math.Min(length, MaxString))) : "unknown error";
        throw new MpiException($"{call} failed with error {code}: {text}");
    }

    /// <summary>The element types the reductions take.</summary>
    public enum ElementType
    {
        /// <summary>MPI_FLOAT.</summary>
        Float32,
        /// <summary>MPI_DOUBLE.</summary>
        Float64,
        /// <summary>MPI_INT.</summary>
        Int32,
        /// <summary>MPI_INT64_T.</summary>
        Int64,
    }
}

/// <summary>An MPI call failed; the message names the call and MPI's error string.</summary>
public sealed class MpiException(string message) : Exception(message);
