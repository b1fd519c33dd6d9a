namespace Graph.Core;

/// <summary>
/// A symbolic tensor: output <see cref="Index"/> of operation <see cref="Op"/>, with a static dtype and a
/// (possibly partial) static shape. Its value exists only inside a Session run.
/// </summary>
public sealed partial class Tensor
{
    internal Tensor(Operation op, int index, DType dtype, Shape shape)
    {
        Op = op;
        Index = index;
        DType = dtype;
        Shape = shape;
    }

    /// <summary>The operation that produces this tensor.</summary>
    public Operation Op { get; }

    /// <summary>Which output of <see cref="Op"/> this is.</summary>
    public int Index { get; }

    /// <summary>The element type.</summary>
    public DType DType { get; }

    /// <summary>The static shape inferred when the graph was built.</summary>
    public Shape Shape { get; }

    /// <summary>The graph this tensor belongs to.</summary>
    public ComputeGraph Graph => Op.Graph;

    /// <summary>TF's tensor name, <c>op_name:index</c>.</summary>
    public string Name => $"{Op.Name}:{Index}";

    /// <summary>Describes the tensor as TF does.</summary>
    public override string ToString() => $"Tensor(\"{Name}\", shape={Shape}, dtype={DType.Name()})";

    /// <summary>Element-wise sum with broadcasting (tf.add).</summary>
    public static Tensor operator +(Tensor a, Tensor b) => TF.Add(a, b);
    /// <summary>Element-wise difference with broadcasting (tf.subtract).</summary>
    public static Tensor operator -(Tensor a, Tensor b) => TF.Subtract(a, b);
    /// <summary>Element-wise product with broadcasting (tf.multiply).</summary>
    public static Tensor operator *(Tensor a, Tensor b) => TF.Multiply(a, b);
    /// <summary>Element-wise quotient with broadcasting (tf.divide).</summary>
    public static Tensor operator /(Tensor a, Tensor b) => TF.Divide(a, b);
    /// <summary>Element-wise negation (tf.negative).</summary>
    public static Tensor operator -(Tensor a) => TF.Negative(a);

    /// <summary>Adds a scalar converted to the tensor's dtype.</summary>
    public static Tensor operator +(Tensor a, double b) => TF.Add(a, a.ScalarLike(b));
    /// <summary>Adds a scalar converted to the tensor's dtype.</summary>
    public static Tensor operator +(double a, Tensor b) => TF.Add(b.ScalarLike(a), b);
    /// <summary>Subtracts a scalar converted to the tensor's dtype.</summary>
    public static Tensor operator -(Tensor a, double b) => TF.Subtract(a, a.ScalarLike(b));
    /// <summary>Subtracts from a scalar converted to the tensor's dtype.</summary>
    public static Tensor operator -(double a, Tensor b) => TF.Subtract(b.ScalarLike(a), b);
    /// <summary>Multiplies by a scalar converted to the tensor's dtype.</summary>
    public static Tensor operator *(Tensor a, double b) => TF.Multiply(a, a.ScalarLike(b));
    /// <summary>Multiplies by a scalar converted to the tensor's dtype.</summary>
    public static Tensor operator *(double a, Tensor b) => TF.Multiply(b.ScalarLike(a), b);
    /// <summary>Divides by a scalar converted to the tensor's dtype.</summary>
    public static Tensor operator /(Tensor a, double b) => TF.Divide(a, a.ScalarLike(b));
    /// <summary>Divides a scalar converted to the tensor's dtype by the tensor.</summary>
    public static Tensor operator /(double a, Tensor b) => TF.Divide(b.ScalarLike(a), b);

    /// <summary>
    /// A scalar constant of this tensor's dtype in this tensor's graph (as TF converts Python numbers): a value the dtype
    /// cannot hold exactly (2.5 or 1e10 for an int32 tensor) is refused, as TF1 refuses it, rather than truncated.
    /// </summary>
    internal Tensor ScalarLike(double value)
    {
        if (!DType.Holds(value))
            throw new InvalidArgumentException($"Cannot convert {value.ToString(System.Globalization.CultureInfo.InvariantCulture)} to a {DType.Name()} scalar to combine with {Name}; cast the tensor to a float dtype first.");
        using (Graph.AsDefault())
            return TF.Constant(HostTensor.Scalar(value).AsType(DType), name: "y");
    }
}
