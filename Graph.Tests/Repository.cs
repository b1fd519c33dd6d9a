namespace Graph.Tests;

/// <summary>Where the repository's files are, for tests that read docs or sources.</summary>
internal static class Repository
{
    /// <summary>
    /// The folder holding graph.sln, found by walking up from the test assembly's folder. Compile-time paths
    /// ([CallerFilePath]) would not do: CI builds map the clone's path to /_/ (ContinuousIntegrationBuild).
    /// </summary>
    public static string Root
    {
        get
        {
            var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
            while (dir != null && !File.Exists(Path.Combine(dir.FullName, "graph.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new DirectoryNotFoundException("graph.sln not found above the test directory.");
        }
    }
}
