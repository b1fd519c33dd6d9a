namespace Graph.Core;

/// <summary>
/// Horovod's <c>hvd.DistributedOptimizer</c>: wraps an optimizer so that <see cref="Minimize"/> (and
/// <see cref="ComputeGradients"/>) average the gradients over all ranks before the wrapped optimizer applies them. The
/// gradients are fused into one buffer per dtype (<see cref="TensorFusion"/>, 64 MiB by default), so a training step
/// makes one allreduce, not one per variable. Slots and updates are the wrapped optimizer's, under its name, so a
/// checkpoint of a distributed run restores into a single-process one and back.
/// </summary>
/// <remarks>
/// <para>Averaging: by default each rank's gradient (the gradient of its own mean loss) is averaged over ranks, which is
/// the gradient of the mean loss over the global batch when every rank holds the same number of examples (Horovod's
/// rule). With <c>exampleCount</c> (this rank's number of examples, a scalar tensor such as the batch dimension) each
/// gradient is weighted by its rank's count and divided by the total, so unequal shards (a global batch of 151 on 2
/// ranks) still give exactly the global-batch gradient; the count rides in the same fused buffer.</para>
/// <para>Sparse gradients: Graph has no IndexedSlices; the gradient of a gather (an embedding lookup) is already dense
/// (a scatter-add into zeros of the parameter's shape), so it is allreduced densely, as Horovod does with
/// <c>sparse_as_dense=True</c>. That moves the whole parameter every step; an allgather of (indices, rows) would move
/// N·k rows instead, cheaper only when few rows are touched (docs/distributed.md has the arithmetic).</para>
/// </remarks>
public sealed class DistributedOptimizer
{
    private readonly Tensor? _exampleCount;

    /// <summary>Wraps <paramref name="optimizer"/>.</summary>
    /// <param name="optimizer">The optimizer that applies the averaged gradients.</param>
    /// <param name="exampleCount">This rank's example count (scalar, any numeric dtype) to weight its gradients by; null averages evenly.</param>
    /// <param name="fusionThresholdBytes">The largest fused buffer (Horovod's <c>HOROVOD_FUSION_THRESHOLD</c>); 0 gives one allreduce per gradient.</param>
    public DistributedOptimizer(Optimizer optimizer, Tensor? exampleCount = null, long fusionThresholdBytes = TensorFusion.DefaultThresholdBytes)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentOutOfRangeException.ThrowIfNegative(fusionThresholdBytes);
        if (exampleCount != null && (exampleCount.Shape.HasRank && exampleCount.Shape.Rank != 0 || !exampleCount.DType.IsNumeric()))
            throw new InvalidArgumentException($"DistributedOptimizer: the example count {exampleCount.Name} must be a numeric scalar, got {exampleCount.DType.Name()} {exampleCount.Shape}.");
        Optimizer = optimizer;
        _exampleCount = exampleCount;
        FusionThresholdBytes = fusionThresholdBytes;
    }

    /// <summary>The wrapped optimizer.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The largest fused gradient buffer in bytes.</summary>
    public long FusionThresholdBytes { get; }

    /// <summary>The wrapped optimizer's name (its slots and update ops carry it).</summary>
    public string Name => Optimizer.Name;

    /// <summary>
    /// The wrapped optimizer's gradients, each replaced by its average over all ranks (weighted by the example counts
    /// when given). A null gradient stays null and takes no part.
    /// </summary>
    public IReadOnlyList<(Tensor? Gradient, Variable Variable)> ComputeGradients(Tensor loss, IEnumerable<Variable>? varList = null)
    {
        var local = Optimizer.ComputeGradients(loss, varList);
        var present = local.Select((p, i) => (p.Gradient, Index: i)).Where(p => p.Gradient != null).ToList();
        if (present.Count == 0) return local;
        var g = loss.Graph;
        using var _ = g.AsDefault();
        using var scope = g.NameScope("DistributedOptimizer");
        var gradients = present.Select(p => p.Gradient!).ToList();
        var averaged = _exampleCount == null
            ? TensorFusion.Apply(gradients, fused => TF.Distributed.AllReduce(fused, AllReduceOp.Average), FusionThresholdBytes)
            : WeightedAverage(gradients, _exampleCount);
        var result = local.ToArray();
        for (var k = 0; k < present.Count; k++) result[present[k].Index] = (averaged[k], local[present[k].Index].Variable);
        return result;
    }

    /// <summary>Applies (already averaged) gradients with the wrapped optimizer.</summary>
    public Operation ApplyGradients(IReadOnlyList<(Tensor? Gradient, Variable Variable)> gradsAndVars, Variable? globalStep = null, string? name = null) =>
        Optimizer.ApplyGradients(gradsAndVars, globalStep, name);

    /// <summary><see cref="ComputeGradients"/> (averaged over ranks) then <see cref="ApplyGradients"/> (hvd.DistributedOptimizer.minimize).</summary>
    public Operation Minimize(Tensor loss, Variable? globalStep = null, IEnumerable<Variable>? varList = null, string? name = null)
    {
        var gradsAndVars = ComputeGradients(loss, varList);
        Graph.Core.Optimizer.RequireAnyGradient(Name, gradsAndVars, loss);
        return ApplyGradients(gradsAndVars, globalStep, name);
    }

    /// <summary>The wrapped optimizer's slot <paramref name="slotName"/> of <paramref name="v"/>.</summary>
    public Variable? GetSlot(Variable v, string slotName) => Optimizer.GetSlot(v, slotName);

    // Σ_r n_r·g_r / Σ_r n_r with one allreduce (Sum) per fused buffer: each buffer carries this rank's count as its last
    // element, so the total arrives with the gradients.
    private Tensor[] WeightedAverage(List<Tensor> gradients, Tensor count)
    {
        var result = new Tensor[gradients.Count];
        foreach (var bucket in TensorFusion.Buckets(gradients, FusionThresholdBytes))
        {
            var dtype = gradients[bucket[0]].DType;
            var n = TF.Cast(count, dtype);
            var shapes = bucket.Select(i => gradients[i].Shape.IsFullyDefined ? gradients[i].Shape.Dims : null).ToList();
            if (shapes.Any(s => s == null))
            {
                // A gradient of unknown shape (its own bucket): a second allreduce for the total.
                var i = bucket[0];
                result[i] = TF.Distributed.AllReduce(gradients[i] * n, AllReduceOp.Sum) / TF.Distributed.AllReduce(n, AllReduceOp.Sum);
                continue;
            }
            var flat = bucket.Select(i => TF.Reshape(gradients[i] * n, [-1])).Append(TF.Reshape(n, [1])).ToList();
            var summed = TF.Distributed.AllReduce(TF.Concat(flat, 0, name: "fused"), AllReduceOp.Sum);
            var parts = TF.Split(summed, shapes.Select(s => (int)Shape.Product(s!)).Append(1).ToArray(), name: "unfuse");
            var total = TF.Reshape(parts[^1], []);
            for (var k = 0; k < bucket.Count; k++) result[bucket[k]] = TF.Reshape(parts[k] / total, shapes[k]!);
        }
        return result;
    }
}
