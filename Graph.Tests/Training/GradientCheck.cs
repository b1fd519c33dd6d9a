using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

/// <summary>Float64 central finite differences against the symbolic gradient of Σ w·f(x), w fixed random weights.</summary>
public static class GradientCheck
{
    /// <summary>
    /// Builds <paramref name="f"/> on float64 placeholders fed with <paramref name="inputs"/>, and checks
    /// d(Σ w·f)/d(input i) for every float input against central differences.
    /// </summary>
    public static void Check(Func<Tensor[], Tensor> f, params HostTensor[] inputs) => Check(f, 1e-6, 1e-5, inputs);

    /// <summary>As <see cref="Check(Func{Tensor[], Tensor}, HostTensor[])"/> with explicit step and tolerance.</summary>
    public static void Check(Func<Tensor[], Tensor> f, double step, double tolerance, params HostTensor[] inputs) =>
        CheckCore(f, step, tolerance, inputs.Select(v => v.Shape).ToArray(), inputs);

    /// <summary>
    /// As <see cref="Check(Func{Tensor[], Tensor}, HostTensor[])"/>, but placeholder i is built with the static shape
    /// <paramref name="placeholderShapes"/>[i] (which may have unknown dimensions, -1, or be <see cref="Shape.Unknown"/>)
    /// instead of the fed value's shape.
    /// </summary>
    public static void CheckWithPlaceholderShapes(Func<Tensor[], Tensor> f, Shape[] placeholderShapes, params HostTensor[] inputs) =>
        CheckCore(f, 1e-6, 1e-5, placeholderShapes, inputs);

    private static void CheckCore(Func<Tensor[], Tensor> f, double step, double tolerance, Shape[] placeholderShapes, HostTensor[] inputs)
    {
        if (placeholderShapes.Length != inputs.Length)
            throw new ArgumentException($"{placeholderShapes.Length} placeholder shapes for {inputs.Length} inputs.");
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var placeholders = inputs.Select((v, i) => TF.Placeholder(v.DType, placeholderShapes[i], "x" + i)).ToArray();
        var y = f(placeholders);
        y.DType.Should().Be(DType.Float64, "gradient checks run in float64");
        var rng = new Random(1234);
        using var sess = new Session(g);
        FeedDict Feeds(HostTensor[] values)
        {
            var d = new FeedDict();
            for (var i = 0; i < values.Length; i++) d[placeholders[i]] = values[i];
            return d;
        }
        var yShape = sess.Run(y, Feeds(inputs)).Dims;
        var weightsData = Enumerable.Range(0, (int)Shape.Product(yShape)).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        var w = TF.Constant(HostTensor.From(weightsData, yShape));
        var objective = TF.ReduceSum(y * w);
        var floatInputs = placeholders.Where(p => p.DType.IsFloating()).ToArray();
        floatInputs.Should().NotBeEmpty("a gradient check needs at least one float input");
        var grads = TF.Gradients(objective, floatInputs);
        var symbolic = sess.Run(grads.Select((gr, i) => gr ?? throw new AssertionException($"no gradient for input {floatInputs[i].Name}")).ToList(), Feeds(inputs));
        for (var k = 0; k < floatInputs.Length; k++)
        {
            var index = Array.IndexOf(placeholders, floatInputs[k]);
            var x = inputs[index].ToArray<double>();
            var analytic = symbolic[k].ToArray<double>();
            symbolic[k].Dims.Should().Equal(inputs[index].Dims, $"the gradient of input {index} has its shape");
            for (var e = 0; e < x.Length; e++)
            {
                double Eval(double delta)
                {
                    var perturbed = (double[])x.Clone();
                    perturbed[e] += delta;
                    var values = (HostTensor[])inputs.Clone();
                    values[index] = HostTensor.From(perturbed, inputs[index].Dims);
                    return sess.Run(objective, Feeds(values)).Item<double>();
                }
                var numeric = (Eval(step) - Eval(-step)) / (2 * step);
                analytic[e].Should().BeApproximately(numeric, tolerance * Math.Max(1, Math.Abs(numeric)),
                    $"d/d x{index}[{e}] of {y.Op.Type}");
            }
        }
    }

    /// <summary>
    /// The symbolic gradients (TF.Gradients) of y = f(placeholders fed with <paramref name="inputs"/>) with respect to
    /// every input, weighted by <paramref name="gradY"/> (null: TF's default of ones). A null entry means TF.Gradients
    /// returned null for that input; non-float inputs always get null.
    /// </summary>
    public static HostTensor?[] SymbolicGradients(Func<Tensor[], Tensor> f, HostTensor? gradY, params HostTensor[] inputs)
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var placeholders = inputs.Select((v, i) => TF.Placeholder(v.DType, v.Shape, "x" + i)).ToArray();
        var y = f(placeholders);
        var floatInputs = placeholders.Where(p => p.DType.IsFloating()).ToArray();
        var grads = TF.Gradients([y], floatInputs, gradY == null ? null : [TF.Constant(gradY)]);
        var feeds = new FeedDict();
        for (var i = 0; i < inputs.Length; i++) feeds[placeholders[i]] = inputs[i];
        var nonNull = grads.Where(t => t != null).Select(t => t!).ToList();
        using var sess = new Session(g);
        HostTensor[] values = nonNull.Count == 0 ? [] : sess.Run(nonNull, feeds);
        var result = new HostTensor?[inputs.Length];
        for (int k = 0, v = 0; k < floatInputs.Length; k++)
            if (grads[k] != null) result[Array.IndexOf(placeholders, floatInputs[k])] = values[v++];
        return result;
    }

    /// <summary>A float64 tensor of the given dimensions with values uniform in [lo, hi).</summary>
    public static HostTensor Random(int seed, double lo, double hi, params int[] dims)
    {
        var rng = new Random(seed);
        return HostTensor.From(Enumerable.Range(0, (int)Shape.Product(dims)).Select(_ => lo + (hi - lo) * rng.NextDouble()).ToArray(), dims);
    }

    /// <summary>A float64 tensor whose values have a random sign and a magnitude uniform in [minAbs, maxAbs) (away from 0).</summary>
    public static HostTensor RandomAwayFromZero(int seed, double minAbs, double maxAbs, params int[] dims)
    {
        var rng = new Random(seed);
        return HostTensor.From(Enumerable.Range(0, (int)Shape.Product(dims))
            .Select(_ => (rng.Next(2) == 0 ? -1 : 1) * (minAbs + (maxAbs - minAbs) * rng.NextDouble())).ToArray(), dims);
    }
}
