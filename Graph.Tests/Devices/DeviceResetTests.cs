using FluentAssertions;
using Graph.Core;
using Graph.Kernels;
using Graph.Kernels.Ilgpu;

namespace Graph.Tests;

/// <summary>
/// After a kernel fails to compile, ILGPU's context is unusable and the device recreates it (<see cref="IlgpuDevice.Generation"/>).
/// Sessions and their compiled plans outlive the reset: whatever a plan took from the old context (kernels, device
/// copies of variables, cuda's cuBLAS handle) must be taken again from the new one. On cuda the matmuls below run
/// through cuBLAS, whose handle the reset disposes.
/// </summary>
[TestFixture("ilgpu-cpu")]
[TestFixture("cuda", Category = "Cuda")]
public class DeviceResetTests(string device) : GraphFixture(device)
{
    /// <summary>Not a valid kernel: ILGPU rejects parameters of class types.</summary>
    public static void UncompilableKernel(ILGPU.Index1D i, ILGPU.ArrayView<float> x, string text) => x[i] = text.Length;

    /// <summary>Makes the device fail a compile, reporting <paramref name="origin"/>, and checks that it recreated its context.</summary>
    internal static void FailACompile(IlgpuDevice device, Prim origin, string expectedMessage = "*")
    {
        var generation = device.Generation;
        var bad = typeof(DeviceResetTests).GetMethod(nameof(UncompilableKernel))!;
        var act = () => device.Load($"test: uncompilable ({Guid.NewGuid()})", () => bad, origin);
        act.Should().Throw<InternalException>().WithMessage(expectedMessage);
        device.Generation.Should().Be(generation + 1);
    }

    [Test]
    public void ACompileFailureRecreatesTheContextAndNamesTheOp()
    {
        var v = TF.Variable(TF.Constant(new[] { 1f, 2f, 3f }), name: "v");
        var y = TF.Exp(v.Value) * 2f;
        var init = TF.GlobalVariablesInitializer();
        using var s = NewSession();
        s.Run(init);
        var before = s.Run(y).ToArray<float>();

        FailACompile(IlgpuDevice.Get(Device), s.LastPlan!.Kernels[0].Group.Members[0], $"Exp 'Exp': the {Device} device failed to compile*recreated*");

        s.Run(y).ToArray<float>().Should().Equal(before, "kernels and device copies are rebuilt in the new context");
    }

    /// <summary>
    /// Matmuls in plans compiled before the reset, at the top level and in a loop's body and gradient, give the same
    /// values after it (on cuda: through the new context's cuBLAS, not the disposed one's handle).
    /// </summary>
    [Test]
    public void MatmulsInPlansCompiledBeforeAResetStillRun()
    {
        var x = TF.Placeholder(DType.Float32, new Shape(3, 4), "x");
        var w = TF.Variable(TF.Constant(HostTensor.From(Enumerable.Range(0, 16).Select(i => MathF.Sin(i) * 0.5f).ToArray(), 4, 4)), name: "w");
        var product = TF.MatMul(x, w.Value);
        var looped = TF.WhileLoop(v => TF.Less(v[0], TF.Constant(3)), v => [v[0] + 1, TF.Tanh(TF.MatMul(v[1], w.Value))], [TF.Constant(0), x])[1];
        var gradient = TF.Gradients(TF.ReduceSum(looped * looped), w.Value)[0]!;
        var feeds = new FeedDict { { x, HostTensor.From(Enumerable.Range(0, 12).Select(i => MathF.Cos(i)).ToArray(), 3, 4) } };
        using var s = NewSession();
        s.Run(TF.GlobalVariablesInitializer());
        float[][] Values() => s.Run([product, looped, gradient], feeds).Select(v => v.ToArray<float>()).ToArray();
        var before = Values();

        FailACompile(IlgpuDevice.Get(Device), s.LastPlan!.Kernels[0].Group.Members[0]);

        var after = Values();
        for (var i = 0; i < before.Length; i++) after[i].Should().Equal(before[i], $"fetch {i}");
    }

    private sealed class UnreachableValues : IDeviceResetListener
    {
        public void BeforeDeviceReset() => throw new InvalidOperationException("the context faulted");
    }

    /// <summary>
    /// When device-only values cannot be copied back before the reset (a context that faulted refuses the copies), the
    /// reset still happens and the error says what was lost, instead of the copy's exception leaving the old context.
    /// </summary>
    [Test]
    public void AResetGoesOnWhenValuesCannotBeCopiedBack()
    {
        var device = IlgpuDevice.Get(Device);
        var listener = new UnreachableValues();
        device.WatchReset(listener);
        try
        {
            FailACompile(device, new ConstantPrim(HostTensor.From(new[] { 1f }, 1)), "*recreated*could not be copied back and are lost*the context faulted*");
        }
        finally
        {
            device.UnwatchReset(listener);
        }
        Eval(TF.Exp(TF.Constant(new[] { 0f, 1f }))).ToArray<float>().Should().Equal(1f, MathF.Exp(1f));
    }
}
