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
    public static void Check(Func<Tensor[], Tensor> f, double step, double tolerance, params HostTensor[] inputs)
    {
        var g = new ComputeGraph();
        using var scope = g.AsDefault();
        var placeholders = inputs.Select((v, i) => TF.Placeholder(v.DType, v.Shape, "x" + i)).ToArray();
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

    /// <summary>A float64 tensor of the given dimensions with values uniform in [lo, hi).</summary>
    public static HostTensor Random(int seed, double lo, double hi, params int[] dims)
    {
        var rng = new Random(seed);
        return HostTensor.From(Enumerable.Range(0, (int)Shape.Product(dims)).Select(_ => lo + (hi - lo) * rng.NextDouble()).ToArray(), dims);
    }
}
