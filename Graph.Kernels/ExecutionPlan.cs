using System.Text;
using Graph.Core;

namespace Graph.Kernels;

/// <summary>A compiled kernel: computes one value from the values in its input slots.</summary>
internal delegate HostTensor KernelFunc(HostTensor[] inputs, RunState state);

/// <summary>One kernel of a plan: the primitives it computes, where it reads its inputs and where it writes.</summary>
public sealed class PlanStep
{
    internal PlanStep(Prim prim, int[] inputSlots, int outputSlot, KernelFunc kernel)
    {
        Prim = prim;
        InputSlots = inputSlots;
        OutputSlot = outputSlot;
        Kernel = kernel;
    }

    /// <summary>The primitive this kernel computes.</summary>
    public Prim Prim { get; }

    /// <summary>Buffer slots read.</summary>
    public IReadOnlyList<int> InputSlots { get; }

    /// <summary>Buffer slot written.</summary>
    public int OutputSlot { get; }

    /// <summary>Slots whose last reader is this step (released after it runs).</summary>
    public IReadOnlyList<int> ReleasedSlots { get; internal set; } = Array.Empty<int>();

    internal KernelFunc Kernel { get; }
}

/// <summary>
/// What a Session compiled for one (fetches, targets, fed tensors and their shapes) key: the graph ops it needs,
/// lowered to primitives, as a list of kernels over buffer slots. Reused by every Run with the same key.
/// </summary>
public sealed class ExecutionPlan
{
    internal ExecutionPlan(IReadOnlyList<Operation> ops, IReadOnlyList<PlanStep> steps, int slotCount, int[] fetchSlots)
    {
        Operations = ops;
        Steps = steps;
        SlotCount = slotCount;
        FetchSlots = fetchSlots;
    }

    /// <summary>The graph ops the plan executes, in execution order.</summary>
    public IReadOnlyList<Operation> Operations { get; }

    /// <summary>The kernels in execution order.</summary>
    public IReadOnlyList<PlanStep> Steps { get; }

    /// <summary>Number of buffer slots.</summary>
    public int SlotCount { get; }

    /// <summary>The slot holding each fetched tensor.</summary>
    public IReadOnlyList<int> FetchSlots { get; }

    /// <summary>One line per kernel: slot, primitive, origin op and result type.</summary>
    public string Describe()
    {
        var sb = new StringBuilder();
        foreach (var s in Steps)
            sb.AppendLine($"%{s.OutputSlot} = {s.Prim.Describe()}({string.Join(", ", s.InputSlots.Select(i => "%" + i))}) " +
                          $": {s.Prim.DType.Name()}{Shape.Format(s.Prim.Dims)}  <- {s.Prim.OriginName}");
        sb.Append($"kernels {Steps.Count} ops {Operations.Count}");
        return sb.ToString();
    }
}
