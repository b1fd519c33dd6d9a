using System.Text.RegularExpressions;
using FluentAssertions;
using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

/// <summary>The backend boundary: devices are found and opened through factories, and nothing above it asks which device it is on.</summary>
public class BackendTests
{
    [Test]
    public void EveryListedDeviceOpensABackendOfItsName()
    {
        foreach (var device in Devices.List())
        {
            var backend = Backends.Open(device.Name);
            backend.Name.Should().Be(device.Name);
            Backends.Open(device.Name).Should().BeSameAs(backend, "a device is opened once per process");
        }
    }

    [Test]
    public void CpuKeepsVariablesOnTheHostAndThrowsFromItsKernels()
    {
        var cpu = Backends.Open("cpu");
        cpu.UsesHostMemory.Should().BeTrue();
        cpu.CreateResidency().Should().BeNull();
        cpu.CreateErrorLog().Should().BeNull();
        cpu.LaunchCount.Should().Be(0);
    }

    [Test]
    public void IlgpuDevicesKeepDeviceCopiesAndAnErrorLog()
    {
        var backend = Backends.Open("ilgpu-cpu");
        backend.UsesHostMemory.Should().BeFalse("its values live in device memory, held to SessionOptions.MemoryLimitBytes only");
        using var residency = backend.CreateResidency();
        residency.Should().NotBeNull();
        using var log = backend.CreateErrorLog();
        log.Should().NotBeNull();
        log!.Pending.Should().BeFalse();
    }

    [Test]
    public void AnUnknownDeviceIsRefusedListingThePresentOnes()
    {
        var act = () => new Session(new ComputeGraph(), new SessionOptions { Device = "tpu" });
        act.Should().Throw<ArgumentException>().WithMessage("Device 'tpu' is not available; available devices: cpu, ilgpu-cpu*");
    }

    [TestCase("cpu")]
    [TestCase("ilgpu-cpu")]
    public void SessionsOfEveryBackendComputeTheSamePlan(string device)
    {
        var g = new ComputeGraph();
        using var _ = g.AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 3));
        var w = TF.Variable(TF.Constant(new float[,] { { 1, 2 }, { 3, 4 }, { 5, 6 } }));
        var y = TF.ReduceSum(TF.Tanh(TF.MatMul(x, w) * 0.1f), [0]);
        using var session = new Session(g, new SessionOptions { Device = device });
        session.Run(TF.GlobalVariablesInitializer());
        var value = session.Run(y, new FeedDict { { x, new float[,] { { 1, 0, -1 }, { 0.5f, 0.5f, 0.5f } } } });
        var expected = new[] { MathF.Tanh(-0.4f) + MathF.Tanh(0.45f), MathF.Tanh(-0.4f) + MathF.Tanh(0.6f) };
        value.ToArray<float>().Should().BeEquivalentTo(expected, o => o.Using<float>(c => c.Subject.Should().BeApproximately(c.Expectation, 1e-6f)).WhenTypeIs<float>());
    }

    /// <summary>
    /// Session, plans, planner, fusion, loops and run state are written once for every device: only the backends'
    /// folders (Cpu/, Ilgpu/) and the factory list in Backend.cs may name a device or ILGPU.
    /// </summary>
    [Test]
    public void NothingAboveTheBackendsNamesADevice()
    {
        var root = Path.Combine(Repository.Root, "Graph.Kernels");
        var backendFolders = new[] { "Cpu", "Ilgpu" }.Select(f => Path.Combine(root, f) + Path.DirectorySeparatorChar).ToArray();
        var deviceTalk = new Regex(@"\bIlgpu\.|IsIlgpu|""(cuda|opencl|ilgpu-cpu)""|\bILGPU\b|DevicePlanRunner|DeviceBuffer\b");
        var offenders = new List<string>();
        foreach (var file in Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories))
        {
            if (backendFolders.Any(file.StartsWith) || file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}")) continue;
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
            {
                var code = lines[i].TrimStart();
                if (code.StartsWith("//")) continue;
                if (Path.GetFileName(file) == "Backend.cs" && code.Contains("IBackendFactory[] Factories")) continue;
                if (deviceTalk.IsMatch(code)) offenders.Add($"{Path.GetRelativePath(root, file)}:{i + 1}: {code}");
            }
        }
        offenders.Should().BeEmpty();
    }
}
