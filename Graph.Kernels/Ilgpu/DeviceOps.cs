using Graph.Core;
using ILGPU.Runtime;

namespace Graph.Kernels.Ilgpu;

/// <summary>
/// Launch helpers every ILGPU runner uses (the arithmetic struct of a dtype, hand-written kernels from the device's
/// cache, grid-stride launches) and the device-side sums of loop gradients (accumulate, scatter-add).
/// </summary>
internal static class DeviceOps
{
    /// <summary>The arithmetic struct closing a generic kernel for <paramref name="dtype"/>.</summary>
    public static Type ArithOf(DType dtype) => dtype switch
    {
        DType.Float32 => typeof(Float32Arith),
        DType.Float64 => typeof(Float64Arith),
        DType.Int32 => typeof(Int32Arith),
        DType.Int64 => typeof(Int64Arith),
        _ => throw new InvalidArgumentException($"No device arithmetic for dtype {dtype.Name()}."),
    };

    /// <summary>The hand-written kernel <paramref name="name"/> of <see cref="DeviceKernels"/> closed over <paramref name="types"/>, from the device's cache.</summary>
    public static Kernel Hand(IlgpuDevice device, string name, Prim origin, params Type[] types) =>
        device.Load($"{name}<{string.Join(",", types.Select(t => t.Name))}>",
            () => typeof(DeviceKernels).GetMethod(name)!.MakeGenericMethod(types), origin);

    /// <summary>Launches a grid-stride kernel over <paramref name="work"/> items on the default stream.</summary>
    public static void Launch(IlgpuDevice device, Kernel kernel, long work, params object[] args)
    {
        device.Launches++;
        kernel.Launch(device.Accelerator.DefaultStream, device.ThreadsFor(work), args);
    }

    /// <summary>y += x.</summary>
    public static void Accumulate(IlgpuDevice device, DeviceBuffer x, DeviceBuffer y, Prim origin)
    {
        if (x.Length == 0) return;
        var kernel = Hand(device, nameof(DeviceKernels.Accumulate), origin, DeviceBuffer.ElementType(x.DType), ArithOf(x.DType));
        Launch(device, kernel, x.Length, x.View, y.View, new SliceShape { Inner = x.Length, Threads = device.ThreadsFor(x.Length) });
    }

    /// <summary>Adds the slices <paramref name="updates"/> into <paramref name="y"/> (dims <paramref name="dims"/>) at <paramref name="indices"/> along <paramref name="axis"/>.</summary>
    public static void ScatterAddInto(IlgpuDevice device, DeviceBuffer updates, DeviceBuffer indices, DeviceBuffer y, int[] dims, int axis, int[] indexDims, Prim origin,
        object site, RunContext context)
    {
        var shape = new SliceShape
        {
            Outer = Shape.Product(dims.AsSpan(0, axis)), Inner = Shape.Product(dims.AsSpan(axis + 1)), TargetAxis = dims[axis], Count = Shape.Product(indexDims),
        };
        var columns = shape.Outer * shape.Inner;
        if (columns == 0 || shape.Count == 0) return;
        shape.Threads = device.ThreadsFor(columns);
        var kernel = Hand(device, nameof(DeviceKernels.ScatterAddInto), origin,
            DeviceBuffer.ElementType(updates.DType), ArithOf(updates.DType), DeviceBuffer.ElementType(indices.DType), ArithOf(indices.DType));
        var flag = context.DeviceErrors()!.Flag(site, origin, () => $"{origin.OriginName}: an index of a sparse gradient is outside [0, {dims[axis]}).");
        Launch(device, kernel, columns, updates.View, indices.View, y.View, flag, shape);
    }
}
