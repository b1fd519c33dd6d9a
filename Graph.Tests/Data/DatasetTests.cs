using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Graph.Core;
using Graph.Core.Data;

namespace Graph.Tests;

[TestFixture]
public class DatasetTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "graph-dataset-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private string PathOf(string name) => Path.Combine(_dir, name);

    private static byte[] Gzip(byte[] data)
    {
        var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true)) gz.Write(data);
        return output.ToArray();
    }

    private static byte[] IdxBytes(HostTensor t, IdxElementType type = IdxElementType.UnsignedByte)
    {
        var stream = new MemoryStream();
        Idx.Write(stream, t, type);
        return stream.ToArray();
    }

    private static HostTensor SampleBytes(params int[] dims)
    {
        var data = new int[(int)Shape.Product(dims)];
        for (var i = 0; i < data.Length; i++) data[i] = (i * 37 + 11) % 256;
        return HostTensor.From(data, dims);
    }

    // ---------------------------------------------------------------- IDX

    [TestCase("images-idx3-ubyte")]
    [TestCase("images-idx3-ubyte.gz")]
    public void IdxUbyteRoundTripsAsInt32AndFloat32(string name)
    {
        var t = SampleBytes(3, 4, 5);
        var path = PathOf(name);
        Idx.Write(path, t);

        var isGzip = File.ReadAllBytes(path) is [0x1F, 0x8B, ..];
        isGzip.Should().Be(name.EndsWith(".gz"));
        var asInt = Idx.Read(path, DType.Int32);
        asInt.ContentEquals(t).Should().BeTrue();
        var asFloat = Idx.Read(path, DType.Float32, expectedRank: 3);
        asFloat.DType.Should().Be(DType.Float32);
        asFloat.Dims.Should().Equal(3, 4, 5);
        asFloat.ToArray<float>().Should().Equal(t.ToArray<int>().Select(v => (float)v));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void IdxInt32RoundTrips(bool gzip)
    {
        var t = HostTensor.From(new[] { int.MinValue, -1, 0, 1, 300, 65536, int.MaxValue, 7 }, 2, 4);
        var path = PathOf("ints.idx");
        Idx.Write(path, t, IdxElementType.Int32, gzip);

        var bytes = File.ReadAllBytes(path);
        var raw = gzip ? new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress) : (Stream)new MemoryStream(bytes);
        var header = new byte[12];
        raw.ReadExactly(header);
        header.Should().Equal(0, 0, 0x0C, 2, 0, 0, 0, 2, 0, 0, 0, 4);
        Idx.Read(path, DType.Int32).ContentEquals(t).Should().BeTrue();
        Idx.Read(path, DType.Int64).ToArray<long>().Should().Equal(t.ToArray<int>().Select(v => (long)v));
    }

    [Test]
    public void IdxCompressionIsDetectedByContentNotName()
    {
        var t = SampleBytes(6);
        var gzNoSuffix = PathOf("compressed-without-suffix");
        var rawWithSuffix = PathOf("raw-with-suffix.gz");
        Idx.Write(gzNoSuffix, t, gzip: true);
        Idx.Write(rawWithSuffix, t, gzip: false);
        File.ReadAllBytes(gzNoSuffix)[0].Should().Be(0x1F);
        File.ReadAllBytes(rawWithSuffix)[0].Should().Be(0x00);
        Idx.Read(gzNoSuffix, DType.Int32).ContentEquals(t).Should().BeTrue();
        Idx.Read(rawWithSuffix, DType.Int32).ContentEquals(t).Should().BeTrue();
    }

    [Test]
    public void IdxReadsMultiMemberGzip()
    {
        // `cat a.gz b.gz` is a valid gzip file whose data is the concatenation; the trailer check must allow it.
        var t = SampleBytes(10, 7);
        var bytes = IdxBytes(t);
        var path = PathOf("two-members.gz");
        File.WriteAllBytes(path, [.. Gzip(bytes[..30]), .. Gzip(bytes[30..])]);
        Idx.Read(path, DType.Int32).ContentEquals(t).Should().BeTrue();
    }

    [Test]
    public void IdxFloatDataRoundTripsAndRefusesIntegerReads()
    {
        var t = HostTensor.From(new[] { 0.5f, -2.25f, 1e-3f }, 3);
        var path = PathOf("floats.idx");
        Idx.Write(path, t, IdxElementType.Float32);
        Idx.Read(path, DType.Float32).ContentEquals(t).Should().BeTrue();
        var act = () => Idx.Read(path, DType.Int32);
        act.Should().Throw<ArgumentException>().WithMessage("*float32*");
    }

    [Test]
    public void IdxWriteRejectsValuesOutsideTheElementType()
    {
        var path = PathOf("bad.idx");
        var tooBig = () => Idx.Write(path, HostTensor.From(new[] { 0, 256 }, 2));
        tooBig.Should().Throw<ArgumentException>().WithMessage("*256*ubyte*");
        var fractional = () => Idx.Write(path, HostTensor.From(new[] { 0.5f }, 1));
        fractional.Should().Throw<ArgumentException>();
        File.Exists(path).Should().BeFalse("nothing is written when the values do not fit");
    }

    private static IEnumerable<TestCaseData> CorruptFiles()
    {
        var good = IdxBytes(SampleBytes(4, 3, 3)); // 16-byte header + 36 bytes
        TestCaseData Case(string name, byte[] bytes, string problem) => new TestCaseData(bytes, problem).SetArgDisplayNames(name);
        yield return Case("empty", [], "*empty*");
        yield return Case("bad magic", [0x12, 0x34, .. good[2..]], "*bad magic number*");
        yield return Case("unknown type", [0, 0, 0x42, .. good[3..]], "*unknown element type 0x42*");
        yield return Case("zero dimensions", [0, 0, 8, 0, .. good[4..]], "*dimension count 0*");
        yield return Case("truncated magic", good[..3], "*too short*");
        yield return Case("truncated header", good[..10], "*truncated in its header*");
        yield return Case("truncated body", good[..^5], "*truncated*promises*36 bytes*found only 31*");
        yield return Case("trailing bytes", [.. good, 1, 2], "*2 unexpected bytes*");
        yield return Case("gzip of truncated body", Gzip(good[..^5]), "*truncated*found only 31*");
        var gz = Gzip(IdxBytes(SampleBytes(50, 28, 28)));
        yield return Case("truncated gzip stream", gz[..(gz.Length / 2)], "*gzip*");
        yield return Case("gzip without its trailer", gz[..^8], "*gzip*trailer*");
        yield return Case("gzip cut inside the trailer", gz[..^3], "*gzip*trailer*");
        yield return Case("gzip header only", gz[..10], "*gzip*");
        var flipped = (byte[])gz.Clone();
        for (var i = gz.Length / 3; i < gz.Length / 3 + 16; i++) flipped[i] ^= 0x5A;
        yield return Case("corrupt gzip data", flipped, "*gzip*");
        var badCrc = (byte[])gz.Clone();
        badCrc[^8] ^= 0xFF;
        yield return Case("gzip with a wrong CRC", badCrc, "*gzip*");
    }

    [TestCaseSource(nameof(CorruptFiles))]
    public void CorruptIdxFilesThrowInvalidDataNamingTheFile(byte[] bytes, string problem)
    {
        var path = PathOf("corrupt-idx3-ubyte");
        File.WriteAllBytes(path, bytes);
        var act = () => Idx.Read(path, DType.Float32);
        act.Should().Throw<InvalidDataException>().WithMessage($"*'{path}'*").WithMessage(problem);
    }

    [Test]
    public void IdxExpectedRankIsChecked()
    {
        var path = PathOf("labels-idx1-ubyte");
        Idx.Write(path, SampleBytes(2, 2));
        var act = () => Idx.Read(path, DType.Int32, expectedRank: 1);
        act.Should().Throw<InvalidDataException>().WithMessage($"*'{path}' has 2 dimensions, expected 1*");
    }

    [Test]
    public void MissingIdxFileThrowsFileNotFound()
    {
        var path = PathOf("nope");
        var act = () => Idx.Read(path);
        act.Should().Throw<FileNotFoundException>().Which.FileName.Should().Be(path);
    }

    // ---------------------------------------------------------------- Mnist.Load

    private void WriteSyntheticMnist(string dir, int nTrain, int nTest, bool gzip)
    {
        var suffix = gzip ? ".gz" : "";
        var images = (int n, int offset) =>
        {
            var px = new int[n * 28 * 28];
            for (var i = 0; i < px.Length; i++) px[i] = (i + offset) % 256;
            return HostTensor.From(px, n, 28, 28);
        };
        var labels = (int n, int offset) => HostTensor.From(Enumerable.Range(0, n).Select(i => (i + offset) % 10).ToArray(), n);
        Idx.Write(Path.Combine(dir, Mnist.TrainImagesFile + suffix), images(nTrain, 0));
        Idx.Write(Path.Combine(dir, Mnist.TrainLabelsFile + suffix), labels(nTrain, 0));
        Idx.Write(Path.Combine(dir, Mnist.TestImagesFile + suffix), images(nTest, 100));
        Idx.Write(Path.Combine(dir, Mnist.TestLabelsFile + suffix), labels(nTest, 3));
    }

    [TestCase(true)]
    [TestCase(false)]
    public void MnistLoadReadsASyntheticSet(bool gzip)
    {
        WriteSyntheticMnist(_dir, nTrain: 5, nTest: 3, gzip);
        var data = Mnist.Load(_dir);

        data.TrainImages.DType.Should().Be(DType.Float32);
        data.TrainImages.Dims.Should().Equal(5, 28, 28);
        data.TrainLabels.DType.Should().Be(DType.Int32);
        data.TrainLabels.Dims.Should().Equal(5);
        data.TestImages.Dims.Should().Equal(3, 28, 28);
        data.TestLabels.Dims.Should().Equal(3);
        var train = data.TrainImages.ToArray<float>();
        train[0].Should().Be(0f);
        train[51].Should().Be(51 / 255f);
        train[255].Should().Be(1f);
        train.Should().OnlyContain(v => v >= 0f && v <= 1f);
        data.TestImages.ToArray<float>()[0].Should().Be(100 / 255f);
        data.TrainLabels.ToArray<int>().Should().Equal(0, 1, 2, 3, 4);
        data.TestLabels.ToArray<int>().Should().Equal(3, 4, 5);
    }

    [Test]
    public void MnistLoadNamesAMissingFile()
    {
        WriteSyntheticMnist(_dir, 2, 2, gzip: true);
        File.Delete(Path.Combine(_dir, Mnist.TestLabelsFile + ".gz"));
        var act = () => Mnist.Load(_dir);
        act.Should().Throw<FileNotFoundException>()
            .WithMessage($"*{Mnist.TestLabelsFile}*")
            .Which.FileName.Should().Be(Path.Combine(_dir, Mnist.TestLabelsFile + ".gz"));
    }

    [Test]
    public void MnistLoadRejectsMismatchedCountsAndRanks()
    {
        WriteSyntheticMnist(_dir, 4, 2, gzip: true);
        var labelsPath = Path.Combine(_dir, Mnist.TrainLabelsFile + ".gz");
        Idx.Write(labelsPath, HostTensor.From(new[] { 1, 2, 3 }, 3));
        var act = () => Mnist.Load(_dir);
        act.Should().Throw<InvalidDataException>().WithMessage($"*4 images*'{labelsPath}' holds 3 labels*");

        Idx.Write(labelsPath, HostTensor.From(new[] { 1, 2, 3, 4 }, 2, 2));
        act.Should().Throw<InvalidDataException>().WithMessage($"*'{labelsPath}' has 2 dimensions, expected 1*");
    }

    [Test]
    public void MnistLoadRejectsATruncatedFile()
    {
        WriteSyntheticMnist(_dir, 4, 2, gzip: false);
        var path = Path.Combine(_dir, Mnist.TestImagesFile);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^100]);
        var act = () => Mnist.Load(_dir);
        act.Should().Throw<InvalidDataException>().WithMessage($"*'{path}' is truncated*");
    }

    // ---------------------------------------------------------------- embedded digits

    [Test]
    public void LoadDigitsGivesTheEmbeddedSplit()
    {
        var data = Mnist.LoadDigits();
        data.TrainImages.Dims.Should().Equal(8000, 28, 28);
        data.TrainLabels.Dims.Should().Equal(8000);
        data.TestImages.Dims.Should().Equal(2000, 28, 28);
        data.TestLabels.Dims.Should().Equal(2000);
        data.TrainImages.DType.Should().Be(DType.Float32);
        data.TrainLabels.DType.Should().Be(DType.Int32);

        foreach (var images in new[] { data.TrainImages, data.TestImages })
        {
            var px = images.ToArray<float>();
            px.Min().Should().Be(0f);
            px.Max().Should().Be(1f);
            px.Should().OnlyContain(v => v == MathF.Round(v * 255f) / 255f, "pixels are bytes / 255");
        }

        // The package's per-digit counts, all present exactly once across the split.
        int[] packageCounts = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];
        var trainCounts = new int[10];
        var testCounts = new int[10];
        foreach (var l in data.TrainLabels.ToArray<int>()) trainCounts[l]++;
        foreach (var l in data.TestLabels.ToArray<int>()) testCounts[l]++;
        for (var d = 0; d < 10; d++)
        {
            (trainCounts[d] + testCounts[d]).Should().Be(packageCounts[d]);
            trainCounts[d].Should().BeInRange(650, 950, "the shuffle spreads each digit ≈ 80/20 (about 800 per class in train)");
            ((double)trainCounts[d] / packageCounts[d]).Should().BeApproximately(0.8, 0.05);
        }
        trainCounts.Should().Equal([788, 869, 802, 836, 786, 702, 808, 872, 753, 784], "the split documented in docs/data.md");
        data.TrainLabels.ToArray<int>()[..10].Should().Equal(0, 5, 0, 8, 6, 0, 6, 2, 1, 2);
    }

    [Test]
    public void LoadDigitsIsDeterministicAndShuffled()
    {
        var a = Mnist.LoadDigits();
        var b = Mnist.LoadDigits();
        a.TrainImages.ContentEquals(b.TrainImages).Should().BeTrue();
        a.TrainLabels.ContentEquals(b.TrainLabels).Should().BeTrue();
        a.TestImages.ContentEquals(b.TestImages).Should().BeTrue();
        a.TestLabels.ContentEquals(b.TestLabels).Should().BeTrue();
        a.TrainImages.Should().NotBeSameAs(b.TrainImages);
        a.TrainImages.Data.Should().NotBeSameAs(b.TrainImages.Data, "each call returns fresh tensors");

        // Documented procedure: the first 8,000 of Permutation(10000, 42) over the package order (sorted by digit).
        int[] packageCounts = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];
        var labelOf = packageCounts.SelectMany((count, digit) => Enumerable.Repeat(digit, count)).ToArray();
        var perm = Batches.Permutation(10000, Mnist.DigitsSplitSeed);
        a.TrainLabels.ToArray<int>().Should().Equal(perm[..8000].Select(i => labelOf[i]));
        a.TestLabels.ToArray<int>().Should().Equal(perm[8000..].Select(i => labelOf[i]));
    }

    [Test]
    public void LoadFashionReadsTheDebianPackage()
    {
        if (!Directory.Exists(Mnist.FashionMnistDirectory))
            Assert.Ignore($"{Mnist.FashionMnistDirectory} is absent (apt-get install dataset-fashion-mnist to run this test).");
        var data = Mnist.LoadFashion();
        data.TrainImages.Dims.Should().Equal(60000, 28, 28);
        data.TrainLabels.Dims.Should().Equal(60000);
        data.TestImages.Dims.Should().Equal(10000, 28, 28);
        data.TestLabels.Dims.Should().Equal(10000);
        data.TrainLabels.ToArray<int>().GroupBy(l => l).Should().HaveCount(10).And.OnlyContain(g => g.Count() == 6000);
        data.TestLabels.ToArray<int>().GroupBy(l => l).Should().HaveCount(10).And.OnlyContain(g => g.Count() == 1000);
        var px = data.TestImages.ToArray<float>();
        px.Min().Should().Be(0f);
        px.Max().Should().Be(1f);
        var bytes = Mnist.LoadFashionBytes();
        bytes.TrainImages.Data.Length.Should().Be(60000 * 28 * 28, "one byte a pixel: 47 MB instead of 188 MB");
        bytes.TestImages.ToFloat32().ContentEquals(data.TestImages).Should().BeTrue();
        bytes.TrainLabels.ContentEquals(data.TrainLabels).Should().BeTrue();
    }

    // ---------------------------------------------------------------- ShuffleBatch

    private static (HostTensor X, HostTensor y) Indexed(int n)
    {
        var x = new float[n * 2];
        for (var i = 0; i < n; i++) (x[2 * i], x[2 * i + 1]) = (i, i + 0.5f);
        return (HostTensor.From(x, n, 2), HostTensor.From(Enumerable.Range(0, n).ToArray(), n));
    }

    [TestCase(10, 3, BatchSplit.Sequential, new[] { 3, 3, 3, 1 })]
    [TestCase(12, 4, BatchSplit.Sequential, new[] { 4, 4, 4 })]
    [TestCase(2, 5, BatchSplit.Sequential, new[] { 2 })]
    [TestCase(10, 3, BatchSplit.ArraySplit, new[] { 4, 3, 3 })]
    [TestCase(12, 4, BatchSplit.ArraySplit, new[] { 4, 4, 4 })]
    [TestCase(2, 5, BatchSplit.ArraySplit, new[] { 2 })]
    [TestCase(0, 5, BatchSplit.Sequential, new int[0])]
    public void ShuffleBatchCoversEveryRowOncePerEpoch(int n, int batchSize, BatchSplit split, int[] sizes)
    {
        var (X, y) = Indexed(n);
        var batches = Batches.ShuffleBatch(X, y, batchSize, seed: 7, split).ToList();
        batches.Select(b => b.y.Dims[0]).Should().Equal(sizes);
        var seen = new List<int>();
        foreach (var (xb, yb) in batches)
        {
            xb.Dims.Should().Equal(yb.Dims[0], 2);
            var xs = xb.ToArray<float>();
            var ys = yb.ToArray<int>();
            for (var k = 0; k < ys.Length; k++)
            {
                xs[2 * k].Should().Be(ys[k], "X and y rows stay paired");
                xs[2 * k + 1].Should().Be(ys[k] + 0.5f);
            }
            seen.AddRange(ys);
        }
        seen.Should().BeEquivalentTo(Enumerable.Range(0, n));
        if (n >= 10) seen.Should().NotBeInAscendingOrder("the rows are shuffled");
    }

    [Test]
    public void ShuffleBatchIsDeterministicForASeed()
    {
        var (X, y) = Indexed(100);
        int[] Order(int seed) => Batches.ShuffleBatch(X, y, 16, seed).SelectMany(b => b.y.ToArray<int>()).ToArray();
        Order(3).Should().Equal(Order(3));
        Order(3).Should().NotEqual(Order(4));
        Order(3).Should().Equal(Batches.Permutation(100, 3));
    }

    [Test]
    public void ShuffleBatchCopiesRowsOfAnyRankAndDType()
    {
        var images = HostTensor.From(Enumerable.Range(0, 5 * 2 * 3).Select(i => (double)i).ToArray(), 5, 2, 3);
        var flags = HostTensor.From(new[] { true, false, true, false, true }, 5);
        var batches = Batches.ShuffleBatch(images, flags, 2, seed: 1).ToList();
        batches.Select(b => b.X.Dims).Should().AllSatisfy(d => d[1..].Should().Equal(2, 3));
        var rows = batches.SelectMany(b => Enumerable.Range(0, b.X.Dims[0]).Select(k => b.X[k])).ToList();
        var firsts = rows.Select(r => (int)r.ToArray<double>()[0] / 6).ToList();
        firsts.Should().BeEquivalentTo(Enumerable.Range(0, 5));
        foreach (var row in rows)
        {
            var v = row.ToArray<double>();
            v.Should().Equal(Enumerable.Range((int)v[0], 6).Select(i => (double)i));
        }
        batches.SelectMany(b => b.y.ToArray<bool>()).Count(f => f).Should().Be(3);
        batches[0].X.Data.Should().NotBeSameAs(images.Data);
    }

    [Test]
    public void ShuffleBatchChecksItsArgumentsEagerly()
    {
        var (X, _) = Indexed(4);
        var y3 = HostTensor.From(new[] { 1, 2, 3 }, 3);
        var mismatched = () => Batches.ShuffleBatch(X, y3, 2, 0);
        mismatched.Should().Throw<ArgumentException>().WithMessage("*same number of rows*");
        var zero = () => Batches.ShuffleBatch(X, HostTensor.From(new[] { 1, 2, 3, 4 }, 4), 0, 0);
        zero.Should().Throw<ArgumentOutOfRangeException>();
    }

    // ---------------------------------------------------------------- images kept as bytes

    [Test]
    public void MnistLoadBytesKeepsThePixelsAndEqualsTheFloatLoadScaled()
    {
        WriteSyntheticMnist(_dir, nTrain: 5, nTest: 3, gzip: true);
        var bytes = Mnist.LoadBytes(_dir);
        bytes.TrainImages.Dims.Should().Equal(5, 28, 28);
        bytes.TestImages.Dims.Should().Equal(3, 28, 28);
        bytes.TrainImages.Data.Span[51].Should().Be(51);
        bytes.TestImages.Data.Span[0].Should().Be(100);
        bytes.TrainLabels.ToArray<int>().Should().Equal(0, 1, 2, 3, 4);
        var floats = Mnist.Load(_dir);
        bytes.ToFloat32().TrainImages.ContentEquals(floats.TrainImages).Should().BeTrue();
        bytes.TrainImages.ToFloat32().ToArray<float>().Should().Equal(bytes.TrainImages.Data.ToArray().Select(b => b / 255f), "b / 255f, bit for bit");
        var bad = () => Mnist.LoadBytes(_dir, classes: 3);
        bad.Should().Throw<InvalidDataException>().WithMessage("*label 3*", "LoadBytes checks what Load checks");
    }

    [Test]
    public void LoadDigitsBytesIsTheSameSplitAsLoadDigits()
    {
        var bytes = Mnist.LoadDigitsBytes();
        var floats = Mnist.LoadDigits();
        bytes.TrainImages.Dims.Should().Equal(8000, 28, 28);
        bytes.TestImages.Dims.Should().Equal(2000, 28, 28);
        bytes.TrainImages.Data.Length.Should().Be(8000 * 784, "one byte a pixel: a quarter of the float32 set");
        bytes.TrainImages.ToFloat32().ContentEquals(floats.TrainImages).Should().BeTrue();
        bytes.TestImages.ToFloat32().ContentEquals(floats.TestImages).Should().BeTrue();
        bytes.TrainLabels.ContentEquals(floats.TrainLabels).Should().BeTrue();
        bytes.TestLabels.ContentEquals(floats.TestLabels).Should().BeTrue();
    }

    [TestCase(BatchSplit.Sequential)]
    [TestCase(BatchSplit.ArraySplit)]
    public void ShuffleBatchOverBytesGivesTheFloatBatchesBitForBit(BatchSplit split)
    {
        // 37 rows of 33 bytes: every byte value, rows whose length is no multiple of the vector width.
        var pixels = Enumerable.Range(0, 37 * 33).Select(i => (byte)(i * 7 % 256)).ToArray();
        var bytes = new ByteTensor(pixels, 37, 3, 11);
        var labels = HostTensor.From(Enumerable.Range(0, 37).ToArray(), 37);
        var fromBytes = Batches.ShuffleBatch(bytes, labels, 8, seed: 5, split).ToList();
        var fromFloats = Batches.ShuffleBatch(bytes.ToFloat32(), labels, 8, seed: 5, split).ToList();
        fromBytes.Should().HaveSameCount(fromFloats);
        for (var b = 0; b < fromBytes.Count; b++)
        {
            fromBytes[b].X.Dims.Should().Equal(fromFloats[b].X.Dims);
            fromBytes[b].X.ToArray<float>().Should().Equal(fromFloats[b].X.ToArray<float>());
            fromBytes[b].y.ToArray<int>().Should().Equal(fromFloats[b].y.ToArray<int>());
        }
        var halves = Batches.ShuffleBatch(bytes, labels, 37, seed: 5, divisor: 2f).Single().X.ToArray<float>();
        halves.Should().BeEquivalentTo(pixels.Select(p => p / 2f), "another divisor");
    }

    [TestCase(BatchSplit.Sequential)]
    [TestCase(BatchSplit.ArraySplit)]
    public void ShuffleBatchReusingBuffersGivesTheSameBatchesInOneArrayPairPerSize(BatchSplit split)
    {
        var pixels = Enumerable.Range(0, 23 * 4).Select(i => (byte)i).ToArray();
        var bytes = new ByteTensor(pixels, 23, 4);
        var floats = bytes.ToFloat32(1f);
        var labels = HostTensor.From(Enumerable.Range(0, 23).ToArray(), 23);
        var expected = Batches.ShuffleBatch(bytes, labels, 5, seed: 2, split).Select(b => (X: b.X.ToArray<float>(), y: b.y.ToArray<int>())).ToList();
        foreach (var source in new[] { "bytes", "floats" })
        {
            var arrays = new Dictionary<int, (Array X, Array y)>();
            var i = 0;
            var batches = source == "bytes"
                ? Batches.ShuffleBatch(bytes, labels, 5, seed: 2, split, divisor: 255f, reuseBuffers: true)
                : Batches.ShuffleBatch(floats, labels, 5, seed: 2, split, reuseBuffers: true);
            foreach (var (x, y) in batches)
            {
                // Read each batch before moving on: the next batch of its size overwrites it.
                var xs = source == "bytes" ? x.ToArray<float>() : x.ToArray<float>().Select(v => v / 255f).ToArray();
                xs.Should().Equal(expected[i].X, $"{source} batch {i}");
                y.ToArray<int>().Should().Equal(expected[i].y, $"{source} batch {i}");
                if (arrays.TryGetValue(y.DimsSpan[0], out var seen))
                {
                    x.Data.Should().BeSameAs(seen.X, "a batch of a size seen before is written into that size's arrays");
                    y.Data.Should().BeSameAs(seen.y);
                }
                else arrays[y.DimsSpan[0]] = (x.Data, y.Data);
                i++;
            }
            i.Should().Be(expected.Count);
            arrays.Count.Should().Be(2, "23 rows in batches of 5: sizes 5 and 3 (sequential) or 6 and 5 (array split)");
        }
    }

    [Test]
    public void ByteTensorChecksItsShapeRowsAndDivisor()
    {
        var wrongSize = () => new ByteTensor(new byte[5], 2, 3);
        wrongSize.Should().Throw<ArgumentException>().WithMessage("*5 bytes cannot have shape [2, 3]*");
        var negative = () => new ByteTensor(Array.Empty<byte>(), -1);
        negative.Should().Throw<ArgumentException>().WithMessage("*concrete dimensions*");
        var t = new ByteTensor(new byte[] { 1, 2, 3, 4, 5, 6 }, 3, 2);
        t.TakeRows([2, 0]).ToArray<float>().Should().Equal(5 / 255f, 6 / 255f, 1 / 255f, 2 / 255f);
        var outside = () => t.TakeRows([3]);
        outside.Should().Throw<IndexOutOfRangeException>().WithMessage("*Row index 3*size 3*");
        var zero = () => t.ToFloat32(0f);
        zero.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*divisor*");
        var labels = HostTensor.From(new[] { 0, 1, 2 }, 3);
        var eagerZero = () => Batches.ShuffleBatch(t, labels, 2, 0, divisor: float.NaN);
        eagerZero.Should().Throw<ArgumentOutOfRangeException>("arguments are checked when ShuffleBatch is called");
        var rows = () => Batches.ShuffleBatch(t, HostTensor.From(new[] { 0, 1 }, 2), 2, 0);
        rows.Should().Throw<ArgumentException>().WithMessage("*same number of rows*");
    }

    // ---------------------------------------------------------------- Download (loopback only)

    private static readonly string[] StandardFiles =
        [Mnist.TrainImagesFile + ".gz", Mnist.TrainLabelsFile + ".gz", Mnist.TestImagesFile + ".gz", Mnist.TestLabelsFile + ".gz"];

    private static Dictionary<string, byte[]> SyntheticDownloads()
    {
        var images = (int n) => Gzip(IdxBytes(SampleBytes(n, 28, 28)));
        var labels = (int n) => Gzip(IdxBytes(HostTensor.From(Enumerable.Range(0, n).Select(i => i % 10).ToArray(), n)));
        return new Dictionary<string, byte[]>
        {
            [StandardFiles[0]] = images(6),
            [StandardFiles[1]] = labels(6),
            [StandardFiles[2]] = images(2),
            [StandardFiles[3]] = labels(2),
        };
    }

    private static Dictionary<string, string> HashesOf(Dictionary<string, byte[]> files) =>
        files.ToDictionary(kv => kv.Key, kv => Convert.ToHexStringLower(SHA256.HashData(kv.Value)));

    private static HttpClient LoopbackClient() =>
        new(new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(5) }) { Timeout = TimeSpan.FromSeconds(20) };

    [Test]
    public void DownloadFetchesVerifiesAndReusesTheCache()
    {
        var files = SyntheticDownloads();
        using var server = new LoopbackHttpServer(files.ToDictionary(kv => "/mnist/" + kv.Key, kv => kv.Value));
        using var client = LoopbackClient();
        var cache = PathOf("cache");

        var baseUri = new Uri($"http://127.0.0.1:{server.Port}/mnist"); // no trailing slash: still the directory
        Mnist.Download(cache, baseUri, client, HashesOf(files)).Should().Be(cache);
        server.Requests.Should().BeEquivalentTo(files.Keys.Select(k => "/mnist/" + k));
        foreach (var (name, bytes) in files) File.ReadAllBytes(Path.Combine(cache, name)).Should().Equal(bytes);
        Directory.GetFiles(cache).Should().HaveCount(4, "no temporary files are left");

        var data = Mnist.Load(cache);
        data.TrainImages.Dims.Should().Equal(6, 28, 28);
        data.TestLabels.ToArray<int>().Should().Equal(0, 1);

        Mnist.Download(cache, baseUri, client, HashesOf(files));
        server.Requests.Should().HaveCount(4, "verified cached files are reused without a request");

        // A cached file that no longer matches is fetched again; the others are still reused.
        File.WriteAllBytes(Path.Combine(cache, StandardFiles[1]), [1, 2, 3]);
        Mnist.Download(cache, baseUri, client, HashesOf(files));
        server.Requests.Should().HaveCount(5);
        server.Requests[^1].Should().Be("/mnist/" + StandardFiles[1]);
        File.ReadAllBytes(Path.Combine(cache, StandardFiles[1])).Should().Equal(files[StandardFiles[1]]);
    }

    [Test]
    public void DownloadRejectsAChecksumMismatchAndLeavesNoFile()
    {
        var files = SyntheticDownloads();
        var hashes = HashesOf(files);
        hashes[StandardFiles[2]] = new string('0', 64);
        using var server = new LoopbackHttpServer(files.ToDictionary(kv => "/" + kv.Key, kv => kv.Value));
        using var client = LoopbackClient();
        var cache = PathOf("cache");

        var act = () => Mnist.Download(cache, new Uri($"http://127.0.0.1:{server.Port}/"), client, hashes);
        act.Should().Throw<InvalidDataException>().WithMessage($"*Checksum mismatch*'{StandardFiles[2]}'*expected SHA-256 {new string('0', 64)}*");
        File.Exists(Path.Combine(cache, StandardFiles[2])).Should().BeFalse();
        Directory.GetFiles(cache).Select(Path.GetFileName).Should().BeEquivalentTo(StandardFiles[..2], "only verified files are kept, no temporary ones");
    }

    [Test]
    public void DownloadReportsHttpErrorsNamingTheFile()
    {
        var files = SyntheticDownloads();
        files.Remove(StandardFiles[0]);
        using var server = new LoopbackHttpServer(files.ToDictionary(kv => "/" + kv.Key, kv => kv.Value));
        using var client = LoopbackClient();
        var cache = PathOf("cache");
        var hashes = HashesOf(SyntheticDownloads());

        var act = () => Mnist.Download(cache, new Uri($"http://127.0.0.1:{server.Port}/"), client, hashes);
        act.Should().Throw<HttpRequestException>().WithMessage($"*'{StandardFiles[0]}'*404*");
        Directory.GetFiles(cache).Should().BeEmpty();
    }

    [Test]
    public void DownloadChecksTheExpectedHashes()
    {
        var act = () => Mnist.Download(PathOf("cache"), new Uri("http://127.0.0.1:1/"), expectedSha256: new Dictionary<string, string> { ["x"] = "y" });
        act.Should().Throw<ArgumentException>().WithMessage($"*{StandardFiles[0]}*");
        Mnist.StandardSha256.Keys.Should().BeEquivalentTo(StandardFiles);
    }

    /// <summary>
    /// A minimal HTTP/1.1 server on 127.0.0.1 (a free port chosen by the OS) serving fixed bodies by path, one
    /// request per connection; records the request paths. Every socket operation is bounded by a timeout.
    /// </summary>
    private sealed class LoopbackHttpServer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly Dictionary<string, byte[]> _files;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private readonly List<string> _requests = [];

        public LoopbackHttpServer(Dictionary<string, byte[]> files)
        {
            _files = files;
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _loop = Task.Run(AcceptLoop);
        }

        public int Port { get; }

        public IReadOnlyList<string> Requests
        {
            get { lock (_requests) return _requests.ToList(); }
        }

        private async Task AcceptLoop()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient connection;
                try
                {
                    connection = await _listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
                {
                    return;
                }
                using (connection)
                {
                    try
                    {
                        await Serve(connection);
                    }
                    catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
                    {
                        // A client that went away; keep serving.
                    }
                }
            }
        }

        private async Task Serve(TcpClient connection)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            var stream = connection.GetStream();
            var request = new StringBuilder();
            var buffer = new byte[1024];
            while (!request.ToString().Contains("\r\n\r\n"))
            {
                var n = await stream.ReadAsync(buffer, timeout.Token);
                if (n == 0 || request.Length > 16384) return;
                request.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
            var path = request.ToString().Split(' ')[1];
            lock (_requests) _requests.Add(path);
            var found = _files.TryGetValue(path, out var body);
            body ??= Encoding.ASCII.GetBytes("not found");
            var head = $"HTTP/1.1 {(found ? "200 OK" : "404 Not Found")}\r\nContent-Type: application/octet-stream\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head), timeout.Token);
            await stream.WriteAsync(body, timeout.Token);
            await stream.FlushAsync(timeout.Token);
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            _loop.Wait(TimeSpan.FromSeconds(10)).Should().BeTrue("the loopback server stops");
            _stop.Dispose();
        }
    }
}
