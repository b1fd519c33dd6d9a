namespace Graph.Core;

/// <summary>Shared checks for op shape rules; each message names the op and what it got.</summary>
internal static class OpRules
{
    public static string Label(this OpBuildContext ctx, string type) => $"{type} '{ctx.Name}'";

    /// <summary>Throws unless every input has the dtype of input 0.</summary>
    public static DType SameDType(OpBuildContext ctx, string type, params string[] argNames)
    {
        var dtype = ctx.Inputs[0].DType;
        for (var i = 1; i < ctx.Inputs.Count; i++)
            if (ctx.Inputs[i].DType != dtype)
                throw new InvalidArgumentException(
                    $"{ctx.Label(type)}: input '{ArgName(argNames, i)}' has type {ctx.Inputs[i].DType.Name()} that does not match type {dtype.Name()} of argument '{ArgName(argNames, 0)}'.");
        return dtype;
    }

    private static string ArgName(string[] names, int i) => i < names.Length ? names[i] : $"input {i}";

    /// <summary>Throws unless <paramref name="t"/>'s dtype satisfies <paramref name="ok"/>.</summary>
    public static void RequireDType(OpBuildContext ctx, string type, Tensor t, Func<DType, bool> ok, string expected)
    {
        if (!ok(t.DType))
            throw new InvalidArgumentException($"{ctx.Label(type)}: expected {expected} for {t.Name}, got {t.DType.Name()}.");
    }

    /// <summary>Throws unless <paramref name="t"/>'s dtype is in class <paramref name="c"/>.</summary>
    public static void RequireDType(OpBuildContext ctx, string type, Tensor t, DTypeClass c, string? expected = null) =>
        RequireDType(ctx, type, t, d => c.Accepts(d), expected ?? c.Describe());

    /// <summary>Throws unless <paramref name="t"/> has rank <paramref name="rank"/> (when known).</summary>
    public static void RequireRank(OpBuildContext ctx, string type, Tensor t, int rank, string what)
    {
        if (t.Shape.HasRank && t.Shape.Rank != rank)
            throw new InvalidArgumentException($"{ctx.Label(type)}: {what} must have rank {rank}, got shape {t.Shape}.");
    }

    /// <summary>Resolves a possibly negative axis into [0, rank); throws naming the op when out of range.</summary>
    public static int Axis(string label, int axis, int rank)
    {
        var a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank)
            throw new InvalidArgumentException($"{label}: axis {axis} is out of range for a tensor of rank {rank} (expected [-{rank}, {rank})).");
        return a;
    }

    /// <summary>Resolves reduction axes (null = all), sorted and distinct.</summary>
    public static int[] Axes(string label, int[]? axes, int rank)
    {
        if (axes == null) return Ints.Range(rank);
        // Normalised, sorted, without repeats (an insertion sort: a handful of axes, and no LINQ over ints, see Ints).
        var sorted = new int[axes.Length];
        var count = 0;
        foreach (var a in axes)
        {
            var axis = Axis(label, a, rank);
            var at = 0;
            while (at < count && sorted[at] < axis) at++;
            if (at < count && sorted[at] == axis) continue;
            for (var k = count; k > at; k--) sorted[k] = sorted[k - 1];
            sorted[at] = axis;
            count++;
        }
        return count == sorted.Length ? sorted : sorted[..count];
    }

    /// <summary>A dimension computed from others (a tile's, a concatenation's), checked to fit in an int.</summary>
    public static int Dim(string label, long value) => value <= int.MaxValue
        ? (int)value
        : throw new InvalidArgumentException($"{label}: a dimension of {value} elements is too large (the most is {int.MaxValue}).");

    /// <summary>The common static shape of several tensors; throws naming the op when incompatible.</summary>
    public static Shape Merge(string label, IEnumerable<Tensor> tensors)
    {
        var shape = Shape.Unknown;
        foreach (var t in tensors)
        {
            if (!shape.IsCompatibleWith(t.Shape))
                throw new InvalidArgumentException($"{label}: shapes must all be equal, got {shape} and {t.Shape} ({t.Name}).");
            shape = shape.MergeWith(t.Shape);
        }
        return shape;
    }

    /// <summary>Checks concrete shapes at plan time against one another.</summary>
    public static void RequireEqualDims(string label, int[] a, int[] b, string what)
    {
        if (!a.AsSpan().SequenceEqual(b))
            throw new InvalidArgumentException($"{label}: {what} must have equal shapes, got {Shape.Format(a)} and {Shape.Format(b)}.");
    }

    public static Dictionary<string, object> Attrs(params (string Key, object? Value)[] items)
    {
        var d = new Dictionary<string, object>();
        foreach (var (k, v) in items)
            if (v is not null) d[k] = v;
        return d;
    }
}
