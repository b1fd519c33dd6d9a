using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

/// <summary>
/// Sizes and memory: the memory limit covers variables as runs create and assign them (and checkpoint restores); a
/// tensor whose element count no array can hold, or a run larger than the machine, fails with a
/// ResourceExhaustedException naming the op and shape before anything runs.
/// </summary>
[TestFixture("cpu")]
[TestFixture("ilgpu-cpu")]
[TestFixture("cuda", Category = "Cuda")]
[NonParallelizable]
public class MemoryLimitTests(string device) : GraphFixture(device)
{
    private Session Limited(long bytes) => new(TestGraph, new SessionOptions { Device = Device, MemoryLimitBytes = bytes });

    [Test]
    public void AVariableLargerThanTheLimitIsRefusedWhenInitialisedAndTheSessionStaysUsable()
    {
        var big = TF.Variable(TF.Zeros([1024, 1024]), name: "big"); // 4 MiB
        var small = TF.Variable(TF.Ones([4]), name: "small");
        using var s = Limited(2 << 20);
        var act = () => s.Run(TF.GlobalVariablesInitializer());
        act.Should().Throw<ResourceExhaustedException>().Which.Message.Should()
            .Contain("variable 'big'").And.Contain("(1024, 1024)").And.Contain("2097152");
        s.GetVariableValue(big).Should().BeNull("a refused run changes nothing");
        s.Run(small.Initializer);
        s.Run(small.Value * 2f).ToArray<float>().Should().Equal(2f, 2f, 2f, 2f);
    }

    [Test]
    public void TheSecondArrayOfADoubleBufferedUpdateCountsAgainstTheLimit()
    {
        var v = TF.Variable(TF.Zeros([512, 512]), name: "weights"); // 1 MiB
        var update = v.AssignAdd(TF.Ones([512, 512]));
        using var s = Limited(1536 << 10);
        s.Run(v.Initializer);
        var act = () => s.Run(update.Op);
        act.Should().Throw<ResourceExhaustedException>().WithMessage("*variable 'weights'*two arrays*");
        s.GetVariableValue(v)!.ToArray<float>().Should().OnlyContain(x => x == 0f);
    }

    [Test]
    public void SettingOrRestoringVariablesIsHeldToTheLimit()
    {
        var a = TF.Variable(TF.Zeros([256, 256]), name: "a"); // 256 KiB
        var b = TF.Variable(TF.Zeros([256, 256]), name: "b");
        var dir = Path.Combine(Path.GetTempPath(), "graph-limit-" + Guid.NewGuid().ToString("N"));
        try
        {
            string path;
            using (var free = new Session(TestGraph, new SessionOptions { Device = Device }))
            {
                free.Run(TF.GlobalVariablesInitializer());
                free.SetVariableValue(a, HostTensor.Zeros(DType.Float32, [256, 256]));
                path = new Saver([a, b]).Save(free, Path.Combine(dir, "m"));
            }
            using var s = Limited(300 << 10);
            s.SetVariableValue(a, HostTensor.Zeros(DType.Float32, [256, 256]));
            var set = () => s.SetVariableValue(b, HostTensor.Zeros(DType.Float32, [256, 256]));
            set.Should().Throw<ResourceExhaustedException>().WithMessage("*variable 'b'*307200*");
            s.GetVariableValue(b).Should().BeNull();
            using var t = Limited(300 << 10);
            var restore = () => new Saver([a, b]).Restore(t, path);
            restore.Should().Throw<ResourceExhaustedException>();
            t.GetVariableValue(a).Should().BeNull("a refused restore sets no variable");
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void ATensorNoArrayCanHoldFailsNamingTheOpAndShape()
    {
        using var s = new Session(TestGraph, new SessionOptions { Device = Device });
        var zeros = TF.Zeros([50000, 50000], name: "huge");
        var act = () => s.Run(zeros);
        act.Should().Throw<ResourceExhaustedException>().Which.Message.Should()
            .Contain("'huge'").And.Contain("[50000, 50000]").And.Contain("float32");
        var a = TF.Placeholder(DType.Float32, new Shape(-1, 1), name: "a");
        var product = TF.MatMul(a, TF.Transpose(a), name: "outer");
        var outer = () => s.Run(product, new FeedDict { { a, new float[100000, 1] } });
        outer.Should().Throw<ResourceExhaustedException>().WithMessage("*[100000, 100000]*MatMul 'outer'*");
        var cube = TF.Fill([1 << 21, 1 << 21, 1 << 21], TF.Constant(1f), name: "cube");
        var overflow = () => s.Run(cube);
        overflow.Should().Throw<ResourceExhaustedException>().WithMessage("*[2097152, 2097152, 2097152]*'cube'*more than 2^63*");
    }

    [Test]
    public void ARunLargerThanTheMachineFailsBeforeItStarts()
    {
        if (Device != "cpu") Assert.Ignore("The default limit is the host's memory on the cpu device.");
        var available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        // Each fetch is a separate 8 GB float64 array: enough of them exceed the machine.
        var count = (int)(available / (8L << 30)) + 1;
        var x = TF.Placeholder(DType.Float64, Shape.Scalar, name: "x");
        var fetches = Enumerable.Range(0, count).Select(k => TF.Fill([1 << 30], x, name: "block") + (double)k).ToList();
        using var s = new Session(TestGraph, new SessionOptions { Device = Device });
        var act = () => s.Run(fetches, new FeedDict { { x, 1.0 } });
        act.Should().Throw<ResourceExhaustedException>().WithMessage("*the memory this process may use*");
    }
}
