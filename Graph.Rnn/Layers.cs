using Graph.Core;

namespace Graph.Rnn;

/// <summary>A fully connected layer (tf.layers.dense): activation(x·kernel + bias), kernel glorot_uniform, bias zeros.</summary>
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
        using var scope = TF.NameScope(name);
        if (Kernel == null)
        {
            Kernel = TF.Variable(Initializers.GlorotUniform([depth, Units], x.DType), name: "kernel");
            if (useBias) Bias = TF.Variable(Initializers.Zeros([Units], x.DType), name: "bias");
        }
        else if (Kernel.Shape[0] != depth)
            throw new InvalidArgumentException($"Dense '{name}': built for inputs of depth {Kernel.Shape[0]}, got {x.Shape}.");
        var flat = x.Shape.Rank == 2 ? x : TF.Reshape(x, [-1, depth]);
        var y = TF.MatMul(flat, Kernel);
        if (Bias != null) y += Bias.Value;
        if (x.Shape.Rank != 2) y = TF.Reshape(y, x.Shape.Dims[..^1].Select(d => d).Append(Units).Select((d, i) => i == 0 && d < 0 ? -1 : d).ToArray());
        return activation == null ? y : activation(y);
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
