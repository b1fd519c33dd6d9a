using System.Globalization;
using System.Text;

namespace Graph.Core;

/// <summary>Options of <see cref="DotExporter.ToDot"/>.</summary>
public sealed class DotOptions
{
    /// <summary>A title drawn above the graph and used as the digraph's name; null: no title.</summary>
    public string? Title { get; init; }

    /// <summary>
    /// Groups of ops compiled into one fused kernel (for instance <c>plan.Kernels.Select(k =&gt; k.Ops)</c>), in kernel
    /// order. When given, the ops of group <c>i</c> are filled with colour <c>i</c> of a fixed palette and their labels
    /// get a <c>kernel i</c> line; a group of two or more ops that all sit in the same cluster (name scope or loop
    /// frame) and in no other group is also drawn as a dashed cluster. Null: no kernel information.
    /// </summary>
    public IReadOnlyList<IReadOnlyCollection<Operation>>? KernelGroups { get; init; }

    /// <summary>Graphviz <c>rankdir</c>: <c>TB</c> (top to bottom, the default), <c>LR</c>, <c>BT</c> or <c>RL</c>.</summary>
    public string RankDir { get; init; } = "TB";

    /// <summary>Whether data edges are labelled with the tensor's static shape and dtype (default true).</summary>
    public bool EdgeLabels { get; init; } = true;

    /// <summary>Whether control dependencies are drawn, as dashed edges (default true).</summary>
    public bool ControlEdges { get; init; } = true;
}

/// <summary>
/// Writes a <see cref="ComputeGraph"/> in Graphviz DOT (the notebook's <c>show_graph</c>): render it with
/// <c>dot -Tsvg graph.dot -o graph.svg</c>.
/// </summary>
/// <remarks>
/// <para>
/// Layout: every op is a node whose identifier is its (unique) name and whose label is its type and name.
/// Placeholders are drawn as <c>invhouse</c>, variables (<c>VariableV2</c>) as <c>cylinder</c>, constants as
/// <c>note</c>, all other ops as rounded boxes. Name scopes become nested clusters (<c>rnn/cell/MatMul</c> sits in
/// cluster <c>rnn</c> inside which is cluster <c>rnn/cell</c>); an op whose own name is also a scope (a variable
/// <c>w</c> next to <c>w/read</c>, <c>w/Assign</c>) is drawn inside that scope, as TensorBoard does. Ops of a
/// while-loop body or condition (<see cref="Operation.Frame"/>) are drawn inside a bold cluster for their frame
/// (labelled <c>while loop {name}</c>), itself inside the cluster of its enclosing frame and of the frame's name
/// scope: the loop's ops outside the frame (the While op, named as the scope, among them) sit in that scope's
/// cluster next to the frame's.
/// </para>
/// <para>
/// Data edges go from producer to consumer and are labelled with the tensor's static shape and dtype
/// (<c>(?, 5) float32</c>; prefixed with <c>#i</c> when the producer has several outputs); control dependencies
/// are dashed grey edges. Every identifier and label is quoted and escaped, so any op name is valid DOT, and the
/// output depends only on the graph (ops, clusters and edges in creation order, <c>\n</c> line ends).
/// </para>
/// </remarks>
public static class DotExporter
{
    private static readonly string[] Palette =
    [
        "#a6cee3", "#b2df8a", "#fb9a99", "#fdbf6f", "#cab2d6", "#ffff99",
        "#8dd3c7", "#bebada", "#fb8072", "#80b1d3", "#fdb462", "#b3de69",
        "#fccde5", "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f", "#e5d8bd",
    ];

    /// <summary>The DOT text of <paramref name="graph"/>; see the class remarks for the layout.</summary>
    /// <exception cref="ArgumentException">A kernel group holds an op of another graph, or <see cref="DotOptions.RankDir"/> is invalid.</exception>
    public static string ToDot(ComputeGraph graph, DotOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        options ??= new DotOptions();
        if (options.RankDir is not ("TB" or "LR" or "BT" or "RL"))
            throw new ArgumentException($"DotOptions.RankDir must be TB, LR, BT or RL, got '{options.RankDir}'.", nameof(options));

        var ops = graph.Operations;
        var kernelsOf = KernelMembership(graph, options.KernelGroups);

        // Every name scope: the proper prefixes of op names (at '/' boundaries).
        var scopes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var op in ops)
            for (var i = op.Name.IndexOf('/'); i >= 0; i = op.Name.IndexOf('/', i + 1))
                scopes.Add(op.Name[..i]);

        // Where each op goes (a path of clusters from the root), then which kernel groups can be clusters too.
        var paths = new Dictionary<Operation, List<ClusterKey>>();
        foreach (var op in ops) paths[op] = Place(op, scopes);
        var clusteredKernel = ClusterableKernels(options.KernelGroups, kernelsOf, paths);

        var root = new Cluster(new ClusterKey(ClusterKind.Root, "", ""), "");
        var clusterCount = 0;
        foreach (var op in ops)
        {
            var node = root;
            var path = paths[op];
            if (kernelsOf.TryGetValue(op, out var ks) && clusteredKernel.Contains(ks[0]))
                path = [.. path, new ClusterKey(ClusterKind.Kernel, ks[0].ToString(CultureInfo.InvariantCulture), $"kernel {ks[0]}")];
            foreach (var key in path)
            {
                if (!node.Children.TryGetValue(key, out var child))
                {
                    child = new Cluster(key, $"cluster_{clusterCount++}");
                    node.Children[key] = child;
                    node.Items.Add(child);
                }
                node = child;
            }
            node.Items.Add(op);
        }

        var sb = new StringBuilder();
        sb.Append("digraph ").Append(Quote(options.Title ?? "graph")).Append(" {\n");
        // newrank: Graphviz ranks the whole graph at once; without it, edges between nested clusters can fail with "trouble in init_rank".
        sb.Append("  graph [rankdir=").Append(Quote(options.RankDir)).Append(", newrank=\"true\", compound=\"true\", fontname=\"Helvetica\", fontsize=\"11\"");
        if (options.Title != null) sb.Append(", label=").Append(Quote(options.Title)).Append(", labelloc=\"t\", fontsize=\"14\"");
        sb.Append("];\n");
        sb.Append("  node [fontname=\"Helvetica\", fontsize=\"10\", shape=\"box\", style=\"rounded\"];\n");
        sb.Append("  edge [fontname=\"Helvetica\", fontsize=\"8\", color=\"#555555\"];\n");
        foreach (var item in root.Items) WriteItem(sb, item, 1, kernelsOf);

        foreach (var op in ops)
        {
            foreach (var input in op.Inputs)
            {
                sb.Append("  ").Append(Quote(input.Op.Name)).Append(" -> ").Append(Quote(op.Name));
                if (options.EdgeLabels)
                {
                    var label = $"{input.Shape} {input.DType.Name()}";
                    if (input.Op.Outputs.Count > 1) label = $"#{input.Index} {label}";
                    sb.Append(" [label=").Append(Quote(label)).Append(']');
                }
                sb.Append(";\n");
            }
            if (options.ControlEdges)
                foreach (var control in op.ControlInputs)
                    sb.Append("  ").Append(Quote(control.Name)).Append(" -> ").Append(Quote(op.Name))
                      .Append(" [style=\"dashed\", color=\"#999999\", arrowhead=\"empty\"];\n");
        }
        sb.Append("}\n");
        return sb.ToString();
    }

    /// <summary>
    /// Quotes <paramref name="s"/> as a DOT string: backslashes and double quotes are escaped, line breaks become
    /// <c>\n</c> and other control characters <c>\xHH</c>, so distinct strings stay distinct identifiers.
    /// </summary>
    public static string Quote(string s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var sb = new StringBuilder(s.Length + 2);
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '"': sb.Append("\\\""); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                default:
                    if (char.IsControl(c)) sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    private static void WriteItem(StringBuilder sb, object item, int depth, Dictionary<Operation, List<int>> kernelsOf)
    {
        var indent = new string(' ', 2 * depth);
        if (item is Operation op)
        {
            var label = $"{op.Type}\n{op.Name}";
            var (shape, style) = op.Type switch
            {
                "Placeholder" => ("invhouse", ""),
                "VariableV2" => ("cylinder", ""),
                "Const" => ("note", ""),
                _ => ("box", "rounded"),
            };
            sb.Append(indent).Append(Quote(op.Name)).Append(" [");
            if (kernelsOf.TryGetValue(op, out var ks))
            {
                label += "\n" + (ks.Count == 1 ? "kernel " : "kernels ") + string.Join(", ", ks);
                style = style.Length == 0 ? "filled" : style + ",filled";
                sb.Append("fillcolor=").Append(Quote(Palette[ks[0] % Palette.Length])).Append(", ");
            }
            sb.Append("label=").Append(Quote(label)).Append(", shape=").Append(Quote(shape)).Append(", style=").Append(Quote(style)).Append("];\n");
            return;
        }

        var cluster = (Cluster)item;
        sb.Append(indent).Append("subgraph ").Append(Quote(cluster.Id)).Append(" {\n");
        var inner = indent + "  ";
        sb.Append(inner).Append("label=").Append(Quote(cluster.Key.Label)).Append(";\n");
        switch (cluster.Key.Kind)
        {
            case ClusterKind.Scope:
                sb.Append(inner).Append("style=\"rounded\"; color=\"#888888\";\n");
                break;
            case ClusterKind.Frame:
                sb.Append(inner).Append("style=\"rounded,bold\"; color=\"#3366cc\"; fontcolor=\"#3366cc\";\n");
                break;
            default:
                var k = int.Parse(cluster.Key.Name, CultureInfo.InvariantCulture);
                sb.Append(inner).Append("style=\"dashed\"; color=\"#444444\"; bgcolor=").Append(Quote(Palette[k % Palette.Length] + "40")).Append(";\n");
                break;
        }
        foreach (var child in cluster.Items) WriteItem(sb, child, depth + 1, kernelsOf);
        sb.Append(indent).Append("}\n");
    }

    /// <summary>The kernel indices of each op named by the kernel groups, in group order.</summary>
    private static Dictionary<Operation, List<int>> KernelMembership(ComputeGraph graph, IReadOnlyList<IReadOnlyCollection<Operation>>? groups)
    {
        var result = new Dictionary<Operation, List<int>>();
        if (groups == null) return result;
        for (var k = 0; k < groups.Count; k++)
        {
            foreach (var op in groups[k] ?? throw new ArgumentException($"DotOptions.KernelGroups[{k}] is null."))
            {
                if (op.Graph != graph)
                    throw new ArgumentException($"DotOptions.KernelGroups[{k}] holds operation '{op.Name}' of another graph.");
                if (!result.TryGetValue(op, out var list)) result[op] = list = new List<int>();
                if (!list.Contains(k)) list.Add(k);
            }
        }
        return result;
    }

    /// <summary>Kernel groups of two or more ops that all share one cluster path and belong to no other group.</summary>
    private static HashSet<int> ClusterableKernels(
        IReadOnlyList<IReadOnlyCollection<Operation>>? groups, Dictionary<Operation, List<int>> kernelsOf, Dictionary<Operation, List<ClusterKey>> paths)
    {
        var result = new HashSet<int>();
        if (groups == null) return result;
        for (var k = 0; k < groups.Count; k++)
        {
            var members = groups[k].Distinct().ToList();
            if (members.Count < 2) continue;
            if (members.Any(op => kernelsOf[op].Count != 1)) continue;
            var first = paths[members[0]];
            if (members.All(op => paths[op].SequenceEqual(first))) result.Add(k);
        }
        return result;
    }

    /// <summary>The clusters holding <paramref name="op"/>: its frames' scopes and frames, then its own name scopes.</summary>
    private static List<ClusterKey> Place(Operation op, HashSet<string> scopes)
    {
        var path = new List<ClusterKey>();
        var frames = new List<LoopFrame>();
        for (var f = op.Frame; f != null; f = f.Parent) frames.Add(f);
        frames.Reverse();
        var prefix = "";
        foreach (var frame in frames)
        {
            // The frame sits in the scope of its own name (which holds the loop's ops outside the frame, the While op among them).
            AddScopes(path, prefix, frame.Name, includeSelf: scopes.Contains(frame.Name));
            path.Add(new ClusterKey(ClusterKind.Frame, frame.Name, $"while loop {frame.Name}"));
            prefix = frame.Name;
        }
        AddScopes(path, prefix, op.Name, includeSelf: scopes.Contains(op.Name));
        return path;
    }

    /// <summary>Appends the name scopes of <paramref name="name"/> below <paramref name="prefix"/> (all of them when it is not below).</summary>
    private static void AddScopes(List<ClusterKey> path, string prefix, string name, bool includeSelf)
    {
        var start = 0;
        if (prefix.Length > 0 && name.Length > prefix.Length + 1 && name.StartsWith(prefix, StringComparison.Ordinal) && name[prefix.Length] == '/')
            start = prefix.Length + 1;
        for (var i = name.IndexOf('/', start); i >= 0; i = name.IndexOf('/', i + 1))
        {
            var scope = name[..i];
            path.Add(new ClusterKey(ClusterKind.Scope, scope, scope));
        }
        if (includeSelf) path.Add(new ClusterKey(ClusterKind.Scope, name, name));
    }

    private enum ClusterKind { Root, Scope, Frame, Kernel }

    private readonly record struct ClusterKey(ClusterKind Kind, string Name, string Label);

    private sealed class Cluster(ClusterKey key, string id)
    {
        public ClusterKey Key { get; } = key;
        public string Id { get; } = id;
        public Dictionary<ClusterKey, Cluster> Children { get; } = new();
        public List<object> Items { get; } = new();
    }
}
