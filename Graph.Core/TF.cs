namespace Graph.Core;

/// <summary>
/// The TF1-style API: <c>TF.Placeholder</c>, <c>TF.Variable</c>, <c>TF.MatMul</c>, … add ops to the default graph
/// (<see cref="ComputeGraph.Default"/>). Neural-network ops are also under <see cref="Nn"/> as in <c>tf.nn</c>.
/// See docs/tf1-mapping.md for the full mapping.
/// </summary>
public static partial class TF
{
    private static ComputeGraph G => ComputeGraph.Default;

    /// <summary>The default graph (tf.get_default_graph).</summary>
    public static ComputeGraph GetDefaultGraph() => ComputeGraph.Default;

    /// <summary>Replaces the default graph with a new one (tf.reset_default_graph), optionally with a graph-level seed.</summary>
    public static ComputeGraph ResetDefaultGraph(int? seed = null) => ComputeGraph.ResetDefault(seed);

    /// <summary>Sets the default graph's graph-level random seed (tf.set_random_seed).</summary>
    public static void SetRandomSeed(int seed) => G.Seed = seed;

    /// <summary>Opens a name scope in the default graph (tf.name_scope).</summary>
    public static IDisposable NameScope(string name) => G.NameScope(name);

    /// <summary>Makes ops created in the scope depend on <paramref name="ops"/> (tf.control_dependencies).</summary>
    public static IDisposable ControlDependencies(params Operation[] ops) => G.ControlDependencies(ops);

    /// <summary>Makes ops created in the scope depend on the producers of <paramref name="tensors"/>.</summary>
    public static IDisposable ControlDependencies(params Tensor[] tensors) => G.ControlDependencies(tensors.Select(t => t.Op));
}
