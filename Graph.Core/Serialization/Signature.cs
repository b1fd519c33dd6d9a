namespace Graph.Core;

/// <summary>
/// Named input and output tensors of a graph (TF's SignatureDef): how a program that did not build the graph finds
/// what to feed and what to fetch. Kept in the collection <see cref="GraphKeys.Signatures"/>, so a saved graph
/// carries it. <c>graph train --graph</c> reads the signature named <see cref="Train"/>.
/// </summary>
public sealed class Signature
{
    /// <summary>The signature a training program reads: inputs <c>images</c> and <c>labels</c>, outputs <c>loss</c> (and optionally <c>accuracy</c>).</summary>
    public const string Train = "train";

    /// <summary>Creates a signature; names must be unique within inputs and within outputs.</summary>
    /// <exception cref="InvalidArgumentException">The tensors span several graphs.</exception>
    public Signature(string name, IEnumerable<KeyValuePair<string, Tensor>> inputs, IEnumerable<KeyValuePair<string, Tensor>> outputs)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        Inputs = Unique(inputs, "input");
        Outputs = Unique(outputs, "output");
        var graphs = Inputs.Values.Concat(Outputs.Values).Select(t => t.Graph).Distinct().ToList();
        if (graphs.Count > 1) throw new InvalidArgumentException($"Signature '{name}': its tensors belong to {graphs.Count} different graphs.");
    }

    /// <summary>The signature's name (e.g. <see cref="Train"/>).</summary>
    public string Name { get; }

    /// <summary>The tensors to feed, by name, in the order given.</summary>
    public IReadOnlyDictionary<string, Tensor> Inputs { get; }

    /// <summary>The tensors to fetch, by name, in the order given.</summary>
    public IReadOnlyDictionary<string, Tensor> Outputs { get; }

    /// <summary>The signature named <paramref name="name"/> in <paramref name="graph"/>'s <see cref="GraphKeys.Signatures"/> collection, or null.</summary>
    public static Signature? Find(ComputeGraph graph, string name) =>
        graph.GetCollection<Signature>(GraphKeys.Signatures).LastOrDefault(s => s.Name == name);

    private IReadOnlyDictionary<string, Tensor> Unique(IEnumerable<KeyValuePair<string, Tensor>> items, string what)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (key, tensor) in items)
        {
            ArgumentNullException.ThrowIfNull(tensor);
            if (!result.TryAdd(key, tensor)) throw new InvalidArgumentException($"Signature '{Name}': {what} '{key}' is named twice.");
        }
        return result;
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"Signature({Name}: {string.Join(", ", Inputs.Select(p => $"{p.Key}={p.Value.Name}"))} -> {string.Join(", ", Outputs.Select(p => $"{p.Key}={p.Value.Name}"))})";
}
