namespace Graph.Bench;

/// <summary>Prepares the process for TorchSharp: the patched native library, OMP_WAIT_POLICY, 2 threads.</summary>
internal static class TorchEnv
{
    public const string GlibcxxVersion = "GLIBCXX_3.4.32";
    private static bool _ready;

    /// <summary>The copy of libLibTorchSharp.so in the bench's output folder.</summary>
    public static string LibraryPath => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    /// <summary>
    /// Before anything touches <c>torch</c>: sets OMP_WAIT_POLICY=PASSIVE in the native environment (unless already set),
    /// makes sure the output folder's libLibTorchSharp.so is patched, then loads TorchSharp with 2 threads.
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
        TorchSharp.torch.set_num_threads(2);
        TorchSharp.torch.manual_seed(42);
    }
}
