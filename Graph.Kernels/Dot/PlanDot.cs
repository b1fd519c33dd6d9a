using Graph.Core;

namespace Graph.Kernels.Dot;

/// <summary>
/// DOT export of a compiled plan: the graph drawn by <see cref="DotExporter"/> with the ops of each fused kernel of
/// the plan coloured (and, where they share a cluster, boxed) together.
/// </summary>
public static class PlanDot
{
    /// <summary>
    /// The DOT text of <paramref name="graph"/> with <see cref="DotOptions.KernelGroups"/> taken from
    /// <paramref name="plan"/>'s kernels (<c>plan.Kernels.Select(k =&gt; k.Ops)</c>), in execution order.
    /// </summary>
    public static string ToDot(ExecutionPlan plan, ComputeGraph graph) => ToDot(plan, graph, null);

    /// <summary>
    /// As <see cref="ToDot(ExecutionPlan, ComputeGraph)"/>, with further <paramref name="options"/> (title, rank
    /// direction, …); their <see cref="DotOptions.KernelGroups"/> is replaced by the plan's kernels.
    /// </summary>
    public static string ToDot(ExecutionPlan plan, ComputeGraph graph, DotOptions? options)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(graph);
        var groups = plan.Kernels.Select(k => (IReadOnlyCollection<Operation>)k.Ops).ToList();
        options ??= new DotOptions();
        return DotExporter.ToDot(graph, new DotOptions
        {
            Title = options.Title,
            RankDir = options.RankDir,
            EdgeLabels = options.EdgeLabels,
            ControlEdges = options.ControlEdges,
            KernelGroups = groups,
        });
    }
}
