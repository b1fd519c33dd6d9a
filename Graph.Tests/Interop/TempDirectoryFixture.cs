namespace Graph.Tests;

/// <summary>A fixture whose every test gets its own empty temporary directory, deleted afterwards.</summary>
public abstract class TempDirectoryFixture
{
    private DirectoryInfo _dir = null!;

    [SetUp]
    public void CreateTempDirectory() => _dir = Directory.CreateTempSubdirectory("graph-interop-");

    [TearDown]
    public void DeleteTempDirectory() => _dir.Delete(recursive: true);

    /// <summary>A path inside this test's directory.</summary>
    protected string PathOf(string name) => Path.Combine(_dir.FullName, name);
}
