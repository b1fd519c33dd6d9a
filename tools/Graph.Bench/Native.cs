using System.Runtime.InteropServices;

namespace Graph.Bench;

/// <summary>libc, OpenBLAS and /proc helpers.</summary>
internal static unsafe partial class Native
{
    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);

    [LibraryImport("libc", EntryPoint = "getenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr GetEnv(string name);

    /// <summary>
    /// Sets a variable in the native environment (what libgomp reads with getenv); .NET's
    /// Environment.SetEnvironmentVariable only changes the managed copy on Unix. Also sets the managed copy.
    /// </summary>
    public static void SetNativeEnvironment(string name, string value)
    {
        if (SetEnv(name, value, 1) != 0) throw new InvalidOperationException($"setenv({name}) failed");
        Environment.SetEnvironmentVariable(name, value);
    }

    /// <summary>The native environment's value of <paramref name="name"/>, or null.</summary>
    public static string? GetNativeEnvironment(string name) => Marshal.PtrToStringUTF8(GetEnv(name));

    /// <summary>Peak resident set size of this process (VmHWM), in kB.</summary>
    public static long PeakRssKb() => ReadStatusKb("VmHWM:");

    /// <summary>The calling thread's OS (kernel) thread id, as the runtime's events report it.</summary>
    [LibraryImport("libc", EntryPoint = "gettid")]
    public static partial int ThreadId();

    /// <summary>Current resident set size of this process (VmRSS), in kB.</summary>
    public static long RssKb() => ReadStatusKb("VmRSS:");

    private static long ReadStatusKb(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field, StringComparison.Ordinal))
                return long.Parse(line[field.Length..].Trim().Split(' ')[0]);
        return -1;
    }
}

/// <summary>OpenBLAS's cblas_sgemm, called directly (the GEMM peer).</summary>
internal static unsafe class OpenBlas
{
    private const int RowMajor = 101, NoTrans = 111, Trans = 112;
    private static readonly delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> Sgemm;
    private static readonly delegate* unmanaged<int> GetThreads;
    private static readonly delegate* unmanaged<sbyte*> GetConfig;

    static OpenBlas()
    {
        if (!NativeLibrary.TryLoad("libopenblas.so.0", out var handle)) return;
        if (!NativeLibrary.TryGetExport(handle, "cblas_sgemm", out var fn)) return;
        Sgemm = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)fn;
        if (NativeLibrary.TryGetExport(handle, "openblas_get_num_threads", out var t)) GetThreads = (delegate* unmanaged<int>)t;
        if (NativeLibrary.TryGetExport(handle, "openblas_get_config", out var c)) GetConfig = (delegate* unmanaged<sbyte*>)c;
        Available = true;
    }

    public static bool Available { get; }

    public static int Threads => GetThreads == null ? -1 : GetThreads();

    public static string Config => GetConfig == null ? "?" : new string(GetConfig());

    /// <summary>C[m×n] = op(A)·op(B), row-major, A [m,k] (or [k,m] transposed), B [k,n] (or [n,k] transposed).</summary>
    public static void Multiply(bool ta, bool tb, int m, int n, int k, float* a, float* b, float* c) =>
        Sgemm(RowMajor, ta ? Trans : NoTrans, tb ? Trans : NoTrans, m, n, k, 1f, a, ta ? m : k, b, tb ? k : n, 0f, c, n);
}
