namespace Graph.Core;

/// <summary>How <see cref="TF.Distributed.AllReduce"/> combines the ranks' values (Horovod's <c>hvd.Average</c>, <c>hvd.Sum</c>).</summary>
public enum AllReduceOp
{
    /// <summary>The mean over ranks (float32 and float64 only).</summary>
    Average,
    /// <summary>The sum over ranks.</summary>
    Sum,
}

/// <summary>What a <see cref="CollectivePrim"/> computes across the ranks of the job.</summary>
public enum CollectiveKind
{
    /// <summary>Every rank gets the element-wise sum over ranks.</summary>
    AllReduceSum,
    /// <summary>Every rank gets the element-wise mean over ranks.</summary>
    AllReduceAverage,
    /// <summary>Every rank gets the root's value.</summary>
    Broadcast,
    /// <summary>The root gets the element-wise sum over ranks; the other ranks get zeros.</summary>
    ReduceToRoot,
}

/// <summary>
/// A collective over the ranks of a data-parallel job (MPI through <c>Communicator.Current</c>): a host kernel on every
/// device; its value is a new tensor of the input's shape. Every rank must run the same collectives in the same order.
/// </summary>
public sealed class CollectivePrim(CollectiveKind kind, int root, Prim x) : Prim(x.DType, x.Dims, x)
{
    /// <summary>What is computed.</summary>
    public CollectiveKind Kind { get; } = kind;
    /// <summary>The root rank of <see cref="CollectiveKind.Broadcast"/> and <see cref="CollectiveKind.ReduceToRoot"/>.</summary>
    public int Root { get; } = root;
    /// <inheritdoc/>
    public override string Describe() => Kind is CollectiveKind.Broadcast or CollectiveKind.ReduceToRoot ? $"{Kind} root {Root}" : Kind.ToString();
}

/// <summary>
/// The collective ops (<c>AllReduce</c>, <c>Broadcast</c>, <c>Reduce</c>): a value of the same dtype and shape as the
/// input, combined across ranks. Gradients (the job's loss is the sum of the ranks' losses): AllReduce's is the same
/// AllReduce of the incoming gradient; Broadcast's is the sum of the ranks' gradients at the root (Reduce), and
/// Reduce's is a Broadcast from the root.
/// </summary>
internal sealed class CollectiveDef(string type) : OpDef
{
    public static readonly CollectiveDef AllReduce = new("AllReduce");
    public static readonly CollectiveDef Broadcast = new("Broadcast");
    public static readonly CollectiveDef Reduce = new("Reduce");

    public override string Type => type;

    /// <summary>A collective has effects beyond its value: every rank must take part.</summary>
    public override bool IsStateful => true;

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var x = ctx.Inputs[0];
        if (this == AllReduce)
        {
            var op = ctx.Attr<AllReduceOp>("reduce_op");
            if (!Enum.IsDefined(op)) throw new InvalidArgumentException($"{ctx.Label(Type)}: unknown reduce_op {(int)op}.");
            if (op == AllReduceOp.Average) OpRules.RequireDType(ctx, Type, x, DTypeClass.Floating, "float32 or float64 (Average divides)");
            else OpRules.RequireDType(ctx, Type, x, d => d.IsNumeric(), "a numeric dtype");
        }
        else
        {
            if (this == Reduce) OpRules.RequireDType(ctx, Type, x, d => d.IsNumeric(), "a numeric dtype");
            var root = ctx.Attr<int>("root_rank");
            if (root < 0) throw new InvalidArgumentException($"{ctx.Label(Type)}: root_rank must be >= 0, got {root}.");
        }
        return [new(x.DType, x.Shape)];
    }

    public override void Lower(LoweringContext ctx)
    {
        var op = ctx.Op;
        var (kind, root) = this == AllReduce
            ? (op.Attr<AllReduceOp>("reduce_op") == AllReduceOp.Sum ? CollectiveKind.AllReduceSum : CollectiveKind.AllReduceAverage, 0)
            : (this == Broadcast ? CollectiveKind.Broadcast : CollectiveKind.ReduceToRoot, op.Attr<int>("root_rank"));
        ctx.SetOutput(0, ctx.Add(new CollectivePrim(kind, root, ctx.Input(0))));
    }

    public override Tensor?[] Gradient(Operation op, Tensor?[] grads)
    {
        if (grads[0] is not { } g) return [null];
        if (this == AllReduce) return [TF.Distributed.AllReduce(g, op.Attr<AllReduceOp>("reduce_op"))];
        var root = op.Attr<int>("root_rank");
        return [this == Broadcast ? TF.Distributed.Reduce(g, root) : TF.Distributed.Broadcast(g, root)];
    }
}

public static partial class TF
{
    /// <summary>
    /// Data-parallel training across processes (Horovod's model on MPI): collectives as graph ops, a broadcast of the
    /// initial variables, and <see cref="DistributedOptimizer"/>. The ops run on <c>Communicator.Current</c> (Graph.Kernels):
    /// MPI_COMM_WORLD under <c>mpirun</c>, a single process of rank 0 otherwise (where every collective is the identity).
    /// See docs/distributed.md.
    /// </summary>
    public static class Distributed
    {
        /// <summary>
        /// The element-wise <paramref name="op"/> (mean or sum) of <paramref name="tensor"/> over all ranks; every rank gets
        /// the same value (hvd.allreduce). Its gradient is the same allreduce of the incoming gradient.
        /// </summary>
        public static Tensor AllReduce(Tensor tensor, AllReduceOp op = AllReduceOp.Average, string? name = null) =>
            G.AddOp(CollectiveDef.AllReduce, [tensor], OpRules.Attrs(("reduce_op", op)), name ?? "AllReduce").Output;

        /// <summary>Rank <paramref name="rootRank"/>'s value of <paramref name="tensor"/>, on every rank (hvd.broadcast).</summary>
        public static Tensor Broadcast(Tensor tensor, int rootRank = 0, string? name = null) =>
            G.AddOp(CollectiveDef.Broadcast, [tensor], OpRules.Attrs(("root_rank", rootRank)), name ?? "Broadcast").Output;

        /// <summary>The sum of <paramref name="tensor"/> over all ranks on rank <paramref name="rootRank"/>, zeros on the others (MPI_Reduce).</summary>
        public static Tensor Reduce(Tensor tensor, int rootRank = 0, string? name = null) =>
            G.AddOp(CollectiveDef.Reduce, [tensor], OpRules.Attrs(("root_rank", rootRank)), name ?? "Reduce").Output;

        /// <summary>
        /// An op that sets every global variable of the default graph to rank <paramref name="rootRank"/>'s value
        /// (hvd.broadcast_global_variables): run it once after initialising or restoring, so every rank starts from the
        /// same weights. The variables are fused into one broadcast per dtype (see <see cref="TensorFusion"/>).
        /// </summary>
        public static Operation BroadcastGlobalVariables(int rootRank = 0, string name = "broadcast_global_variables")
        {
            var variables = GlobalVariables();
            if (variables.Count == 0) throw new InvalidArgumentException("BroadcastGlobalVariables: the default graph has no global variables.");
            using var scope = G.NameScope(name);
            var values = TensorFusion.Apply(variables.Select(v => v.Value).ToList(), fused => Broadcast(fused, rootRank), TensorFusion.DefaultThresholdBytes);
            return Group(variables.Select((v, i) => v.Assign(values[i]).Op), "assign");
        }
    }
}
