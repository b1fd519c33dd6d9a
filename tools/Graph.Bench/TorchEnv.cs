namespace Graph.Bench;

/// <summary>Prepares the process for TorchSharp: the patched native library, OMP_WAIT_POLICY, 2 threads.</summary>
internal static class TorchEnv
{
    public const string GlibcxxVersion = "GLIBCXX_3.4.32";

    /// <summary>Environment variable with libtorch's thread count (default 2; the fair scenario's children try 1 and 2).</summary>
    public const string ThreadsVariable = "GRAPH_BENCH_TORCH_THREADS";

    /// <summary>libtorch's thread count (<c>torch.get_num_threads()</c>).</summary>
    public static int Threads => TorchSharp.torch.get_num_threads();
    private static bool _ready;

    /// <summary>
    /// The copy of libLibTorchSharp.so in the bench's output folder: under runtimes/linux-x64/native after a build, beside
    /// the program after a publish for linux-x64 (tools/bench.sh publishes ReadyToRun).
    /// </summary>
    public static string LibraryPath
    {
        get
        {
            var built = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
            var published = Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so");
            return File.Exists(built) || !File.Exists(published) ? built : published;
        }
    }

    /// <summary>
    /// Before anything touches <c>torch</c>: sets OMP_WAIT_POLICY=PASSIVE in the native environment (unless already set),
    /// makes sure the output folder's libLibTorchSharp.so is patched, then loads TorchSharp with 2 threads (or <see cref="ThreadsVariable"/>'s).
    /// </summary>
    public static void Ready()
    {
        if (_ready) return;
        if (Native.GetNativeEnvironment("OMP_WAIT_POLICY") is null) Native.SetNativeEnvironment("OMP_WAIT_POLICY", "PASSIVE");
        if (File.Exists(LibraryPath) && ElfVersionPatch.NeedsPatch(LibraryPath, GlibcxxVersion))
            ElfVersionPatch.Ensure(LibraryPath, GlibcxxVersion);
        LoadTorch();
        _ready = true;
    }

    private static void LoadTorch()
    {
        TorchSharp.torch.set_num_threads(int.Parse(Environment.GetEnvironmentVariable(ThreadsVariable) ?? "2", Measure.Inv));
        TorchSharp.torch.manual_seed(42);
    }
}
