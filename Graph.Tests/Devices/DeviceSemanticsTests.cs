using Graph.Core;
using Graph.Kernels;
using Graph.Kernels.Ilgpu;

namespace Graph.Tests;

/// <summary>
/// What a Run on an ILGPU device must do exactly as the cpu device does, found by review: values read before two
/// updates of a variable in one run, failures that stop the run before later effects, the op a failure names, and the
/// lifetime of process-wide device state.
/// </summary>
[TestFixture]
public class DeviceSemanticsTests : GraphFixture
{
    [Test]
    public void AValueReadBeforeTwoUpdatesInOneRunKeepsItsValue()
    {
        var v = TF.Variable(TF.Constant(new[] { 1f, 2f, 3f }), name: "v");
        var init = TF.GlobalVariablesInitializer();
        var old = TF.Identity(v.Value);
        var a1 = v.AssignAdd(TF.Constant(new[] { 10f, 10f, 10f }));
        Tensor a2, late;
        using (TF.ControlDependencies(a1)) a2 = v.AssignAdd(TF.Constant(new[] { 100f, 100f, 100f }));
        using (TF.ControlDependencies(a2)) late = old * 2f;
        float[][] Go(string device)
        {
            using var s = new Session(TestGraph, new SessionOptions { Device = device });
            s.Run(init);
            s.Run([old, late, a2], []);
            var r = s.Run([old, late, a2], []);
            return r.Select(t => t.ToArray<float>()).Append(s.GetVariableValue(v)!.ToArray<float>()).ToArray();
        }
        var cpu = Go("cpu");
        var device = Go("ilgpu-cpu");
        for (var i = 0; i < cpu.Length; i++) device[i].Should().Equal(cpu[i], $"fetch {i}");
    }

    [Test]
    public void AFailedKernelLeavesTheVariableItWouldHaveUpdatedUnchanged()
    {
        var v = TF.Variable(TF.Constant(new[] { 1, 2, 3 }), name: "vi");
        var d = TF.Placeholder(DType.Int32, new Shape(3));
        var update = v.AssignAdd(TF.TruncateDiv(TF.Constant(new[] { 6, 6, 6 }), d));
        var init = TF.GlobalVariablesInitializer();
        int[] Go(string device)
        {
            using var s = new Session(TestGraph, new SessionOptions { Device = device });
            s.Run(init);
            var act = () => s.Run([update], new FeedDict { { d, new[] { 1, 0, 2 } } });
            act.Should().Throw<InvalidArgumentException>().WithMessage("*integer division by zero*");
            return s.GetVariableValue(v)!.ToArray<int>();
        }
        Go("ilgpu-cpu").Should().Equal(Go("cpu")).And.Equal(1, 2, 3);
    }

    [Test]
    public void ADivisionByZeroStopsALoopAtOnce()
    {
        var d = TF.Placeholder(DType.Int32, Shape.Scalar);
        var r = TF.WhileLoop(v => TF.LogicalAnd(TF.Less(v[0], TF.Constant(3)), TF.Less(v[1], TF.Constant(5000))),
            v => [v[0] + TF.TruncateDiv(TF.Constant(1), d), v[1] + 1], [TF.Constant(0), TF.Constant(0)]);
        var device = IlgpuDevice.Get("ilgpu-cpu");
        using var s = new Session(TestGraph, new SessionOptions { Device = "ilgpu-cpu" });
        var before = device.DownloadedBytes;
        var act = () => s.Run(r[1], new FeedDict { { d, 0 } });
        act.Should().Throw<InvalidArgumentException>().WithMessage("*integer division by zero*");
        (device.DownloadedBytes - before).Should().BeLessThan(100, "the loop stops at the first failing iteration");
    }

    [Test]
    public void TheFirstFailingOpIsTheOneReported()
    {
        var p = TF.Constant(new[] { 1f, 2f, 3f });
        var d = TF.Placeholder(DType.Int32, Shape.Scalar);
        var y = TF.Gather(p, TF.TruncateDiv(TF.Constant(5), d, name: "ratio") - 1);
        string Message(string device)
        {
            using var s = new Session(TestGraph, new SessionOptions { Device = device });
            var act = () => s.Run(y, new FeedDict { { d, 0 } });
            return act.Should().Throw<InvalidArgumentException>().Which.Message;
        }
        Message("ilgpu-cpu").Should().Be(Message("cpu")).And.Contain("'ratio'");
    }

    [Test]
    public void AnUndisposedDeviceSessionCanBeCollected()
    {
        var v = TF.Variable(TF.Constant(new[] { 1f, 2f, 3f }), name: "v");
        var init = TF.GlobalVariablesInitializer();
        WeakReference Make()
        {
            var s = new Session(TestGraph, new SessionOptions { Device = "ilgpu-cpu" });
            s.Run(init);
            return new WeakReference(typeof(Session).GetField("_state", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(s)!);
        }
        var state = Make();
        for (var i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        state.IsAlive.Should().BeFalse("the process-wide device holds sessions only weakly");
    }

    private sealed record PooledThing(int Id);

    /// <summary>
    /// The device's cache of freed buffers hands a buffer freed since the last wait on the default stream only to more
    /// work on that stream (kernels queued there may still read it). A wait makes free for any stream (the swap copies'
    /// stream) only what was freed before the wait began: another thread may free a buffer its new kernels read while
    /// this one waits.
    /// </summary>
    [Test]
    public void AWaitFreesForOtherStreamsOnlyWhatWasFreedBeforeItBegan()
    {
        var device = IlgpuDevice.Get("ilgpu-cpu");
        const long length = 987_654_321;
        PooledThing? taken;
        device.Free(new PooledThing(1), length, 8).Should().BeTrue();
        var ticket = device.WaitTicket();
        device.Free(new PooledThing(2), length, 8).Should().BeTrue(); // by another thread, during the wait
        device.TryTakeFreed(length, out taken, defaultStream: false).Should().BeFalse("no wait has finished since either was freed");
        device.DefaultStreamSynchronized(ticket);
        device.TryTakeFreed(length, out taken, defaultStream: false).Should().BeTrue();
        taken!.Id.Should().Be(1);
        device.TryTakeFreed(length, out taken, defaultStream: false).Should().BeFalse("the second was freed after the wait began");
        device.TryTakeFreed(length, out taken).Should().BeTrue("work on the default stream may reuse it at once");
        taken!.Id.Should().Be(2);
    }

    [Test]
    public void PinnedCopiesFromBeforeAContextResetAreNotReused()
    {
        var device = IlgpuDevice.Get("ilgpu-cpu");
        var pinned = new PinnedHostCopy.Typed<float>(device, DType.Float32, 12345);
        DeviceResetTests.FailACompile(device, new ConstantPrim(HostTensor.From(new[] { 1f }, 1)));
        pinned.Dispose(); // after the reset, as a failed run's loop records are
        using var again = new PinnedHostCopy.Typed<float>(device, DType.Float32, 12345);
        again.Scope.Accelerator.Should().BeSameAs(device.Accelerator);
    }
}
