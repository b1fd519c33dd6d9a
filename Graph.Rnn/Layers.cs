using Graph.Core;

namespace Graph.Rnn;

/// <summary>
/// A fully connected layer (tf.layers.dense): activation(x·kernel + bias), kernel glorot_uniform, bias zeros. It counts
/// the ops TF1's tf.layers.Dense creates (its variables are tf.layers' reference variables); on inputs of rank above 2,
/// which TF1 multiplies with tensordot, the product counts as Graph builds it.
/// </summary>
public sealed class Dense(int units, Func<Tensor, Tensor>? activation = null, bool useBias = true, string name = "dense")
{
    /// <summary>Output units.</summary>
    public int Units { get; } = units;
    /// <summary>The kernel [depth, units], once applied.</summary>
    public Variable? Kernel { get; private set; }
    /// <summary>The bias [units], once applied (null without bias).</summary>
    public Variable? Bias { get; private set; }

    /// <summary>Applies the layer to [batch, depth] (or [..., depth]) inputs, creating its variables on first use.</summary>
    public Tensor Apply(Tensor x)
    {
        if (!x.Shape.HasRank || x.Shape[-1] < 0)
            throw new InvalidArgumentException($"Dense '{name}': the last dimension of the input must be known, got {x.Shape}.");
        var depth = x.Shape[-1];
        var g = x.Graph;
        using var counting = g.Tf1CountExplicitly();
        using var scope = TF.NameScope(name);
        if (Kernel == null)
        {
            using var init = g.InitScope();
            Kernel = TF.Variable(Initializers.GlorotUniform([depth, Units], x.DType), name: "kernel");
            if (useBias) Bias = TF.Variable(Initializers.Zeros([Units], x.DType), name: "bias");
        }
        else if (Kernel.Shape[0] != depth)
            throw new InvalidArgumentException($"Dense '{name}': built for inputs of depth {Kernel.Shape[0]}, got {x.Shape}.");
        // keras/layers/core.py Dense.call on rank 2: MatMul, BiasAdd (the cast to the layer's dtype is none), activation.
        g.CountTf1Capture(x, x.Op.Frame);
        g.CountTf1Capture(Kernel.Value);
        if (Bias != null) g.CountTf1Capture(Bias.Value);
        Tensor y;
        using (x.Shape.Rank == 2 ? g.Tf1NotCounted() : g.Tf1CountEachOp())
        {
            var flat = x.Shape.Rank == 2 ? x : TF.Reshape(x, [-1, depth]);
            y = TF.MatMul(flat, Kernel);
            if (Bias != null) y += Bias.Value;
            if (x.Shape.Rank != 2) y = ReshapeBack(y, x);
        }
        if (x.Shape.Rank == 2) g.CountTf1Ops(Bias != null ? 2 : 1);
        if (activation == null) return y;
        using (g.Tf1CountEachOp()) return activation(y);
    }

    /// <summary>
    /// The product [n, units] of the flattened input back to the input's leading axes: a static shape with at most one
    /// unknown axis (which becomes -1), else the input's shape at run time, as tensordot's dynamic shape in TF1
    /// (<c>shape(x)[:-1] ++ [units]</c>): a reshape like zeros [d₀, …, units] built from the input's axes, read for its
    /// shape only (computed never) and not counted; the reshape counts as the static one does, so the layer counts the
    /// same ops for TF1 either way.
    /// </summary>
    private Tensor ReshapeBack(Tensor y, Tensor x)
    {
        var lead = x.Shape.Dims[..^1];
        if (lead.Count(d => d < 0) <= 1) return TF.Reshape(y, [.. lead, Units]);
        Tensor like;
        using (x.Graph.Tf1NotCounted())
        {
            like = TF.Zeros([Units], y.DType);
            for (var axis = lead.Length - 1; axis >= 0; axis--) like = TensorArray.Zeros(x, like, sizeAxis: axis).Flow;
        }
        return x.Graph.Tf1Call(Tf1Ops.WithConstants(1), [y], () => TF.ReshapeLike(y, like));
    }
}

/// <summary>TF1-style layer functions (tf.layers).</summary>
public static class Layers
{
    /// <summary>tf.layers.dense: creates a <see cref="Graph.Rnn.Dense"/> layer and applies it.</summary>
    public static Tensor Dense(Tensor inputs, int units, Func<Tensor, Tensor>? activation = null, bool useBias = true, string name = "dense") =>
        new Dense(units, activation, useBias, name).Apply(inputs);

    /// <summary>tf.nn.dropout: keeps each element with probability <paramref name="keepProb"/> and scales kept ones by 1/keep_prob.</summary>
    public static Tensor Dropout(Tensor x, double keepProb, int? seed = null)
    {
        if (keepProb <= 0 || keepProb > 1) throw new InvalidArgumentException($"Dropout: keep_prob must be in (0, 1], got {keepProb}.");
        using var scope = TF.NameScope("dropout");
        var uniform = TF.RandomUniformLike(x, x.DType, seed);
        var keep = TF.Cast(TF.Less(uniform, TF.Constant(HostTensor.Scalar(keepProb).AsType(x.DType), name: "keep_prob")), x.DType);
        return x * keep / keepProb;
    }
}
