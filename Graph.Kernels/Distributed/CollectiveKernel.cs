using System.Numerics;
using Graph.Core;

namespace Graph.Kernels.Distributed;

/// <summary>
/// The host kernel of <see cref="CollectivePrim"/> on every device (the ILGPU devices copy its input to the host and its
/// result back, as for the other host kernels): runs the collective on <see cref="Communicator.Current"/> into a new array.
/// </summary>
internal static class CollectiveKernel
{
    public static HostTensor Run(CollectivePrim p, HostTensor x)
    {
        var comm = Communicator.Current;
        var result = Array.CreateInstance(x.Data.GetType().GetElementType()!, x.Size);
        try
        {
            switch (p.Kind)
            {
                case CollectiveKind.AllReduceSum:
                    comm.AllReduce(Reducible(x.Data), result, CollectiveOp.Sum);
                    break;
                case CollectiveKind.AllReduceAverage:
                    comm.AllReduce(x.Data, result, CollectiveOp.Sum);
                    if (result is float[] f) Scale(f, 1f / comm.Size);
                    else Scale((double[])result, 1.0 / comm.Size);
                    break;
                case CollectiveKind.Broadcast:
                    comm.CheckRoot(p.Root, p.OriginName);
                    Array.Copy(x.Data, result, x.Size);
                    comm.Broadcast(result, p.Root);
                    break;
                case CollectiveKind.ReduceToRoot:
                    comm.CheckRoot(p.Root, p.OriginName);
                    comm.AllReduce(Reducible(x.Data), result, CollectiveOp.Sum);
                    if (comm.Rank != p.Root) Array.Clear(result);
                    break;
            }
        }
        catch (MpiException e)
        {
            throw new InternalException($"{p.OriginName}: {e.Message}", e);
        }
        return new HostTensor(result, x.Dims);
    }

    // Bool has no sum; the shape rules admit numeric dtypes only.
    private static Array Reducible(Array data) => data is bool[]
        ? throw new InvalidOperationException("A collective reduction of bool values.")
        : data;

    private static void Scale<T>(T[] values, T factor) where T : IFloatingPoint<T>
    {
        // Exact for a power-of-two number of ranks; otherwise one rounding, the same on every rank.
        for (var i = 0; i < values.Length; i++) values[i] *= factor;
    }
}
