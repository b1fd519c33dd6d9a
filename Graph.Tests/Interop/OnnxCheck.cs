using Graph.Core;
using Graph.Kernels;
using Microsoft.ML.OnnxRuntime;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;
using OrtSessionOptions = Microsoft.ML.OnnxRuntime.SessionOptions;

namespace Graph.Tests;

/// <summary>Runs exported models in ONNX Runtime (CPU) and compares them with Graph's results.</summary>
internal static class OnnxCheck
{
    /// <summary>Runs <paramref name="model"/> on <paramref name="feeds"/> (by input name) and returns <paramref name="outputs"/> as host tensors.</summary>
    public static HostTensor[] Run(byte[] model, IReadOnlyDictionary<string, HostTensor> feeds, IReadOnlyList<string> outputs)
    {
        using var options = new OrtSessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new InferenceSession(model, options);
        var values = feeds.ToDictionary(p => p.Key, p => ToOrt(p.Value));
        try
        {
            using var run = new RunOptions();
            using var results = session.Run(run, values, outputs.ToList());
            return results.Select(FromOrt).ToArray();
        }
        finally
        {
            foreach (var v in values.Values) v.Dispose();
        }
    }

    /// <summary>
    /// Exports <paramref name="outputs"/> of <paramref name="graph"/> from <paramref name="feeds"/>' tensors, runs the model in ONNX
    /// Runtime and in <paramref name="session"/>, and checks that they agree (float32 to 1e-5 relative, see <see cref="AssertClose"/>).
    /// Returns the model bytes and both results.
    /// </summary>
    public static (byte[] Model, HostTensor[] Graph, HostTensor[] Ort) ExportAndCompare(ComputeGraph graph, Session session, FeedDict feeds, IReadOnlyList<Tensor> outputs)
    {
        var model = Onnx.ToBytes(graph, feeds.Keys.ToList(), outputs, session);
        var expected = session.Run(outputs, feeds);
        var actual = Run(model, feeds.ToDictionary(p => Onnx.NameOf(p.Key), p => p.Value), outputs.Select(Onnx.NameOf).ToList());
        for (var i = 0; i < outputs.Count; i++) AssertClose(actual[i], expected[i], outputs[i].Name);
        return (model, expected, actual);
    }

    /// <summary>
    /// Same dtype and shape; integers and bools equal; floats within 1e-5 relative to the tensor's scale:
    /// |ort − graph| ≤ 1e-5 · max |graph| over the tensor. (A value that comes out of cancellation, a tanh near zero of
    /// sums near one, carries the rounding of the terms it was computed from, a few 1e-8 of the tensor's scale, which no
    /// bound on its own magnitude would allow; the elementwise relative error is reported separately.)
    /// </summary>
    public static void AssertClose(HostTensor actual, HostTensor expected, string what)
    {
        actual.DType.Should().Be(expected.DType, what);
        actual.Dims.Should().Equal(expected.Dims, what);
        if (!expected.DType.IsFloating())
        {
            actual.ContentEquals(expected).Should().BeTrue($"{what}: ONNX Runtime's {actual} must equal Graph's {expected}");
            return;
        }
        var (a, e) = (actual.ToArray<double>(), expected.ToArray<double>());
        var scale = e.Where(double.IsFinite).Select(Math.Abs).DefaultIfEmpty(0).Max();
        for (var i = 0; i < e.Length; i++)
        {
            if (double.IsNaN(e[i]))
            {
                double.IsNaN(a[i]).Should().BeTrue($"{what}[{i}] is NaN in Graph");
                continue;
            }
            if (double.IsInfinity(e[i])) a[i].Should().Be(e[i], $"{what}[{i}]");
            else Math.Abs(a[i] - e[i]).Should().BeLessThanOrEqualTo(1e-5 * scale, $"{what}[{i}]: ONNX Runtime {a[i]} vs Graph {e[i]}");
        }
    }

    /// <summary>The largest relative difference, for reporting how close the runtimes are.</summary>
    public static double MaxRelativeError(HostTensor actual, HostTensor expected)
    {
        var (a, e) = (actual.ToArray<double>(), expected.ToArray<double>());
        return e.Select((v, i) => Math.Abs(a[i] - v) / Math.Max(Math.Abs(v), 1e-30)).DefaultIfEmpty(0).Max();
    }

    private static OrtValue ToOrt(HostTensor t)
    {
        var shape = t.Dims.Select(d => (long)d).ToArray();
        return t.Data switch
        {
            float[] f => OrtValue.CreateTensorValueFromMemory(f, shape),
            double[] d => OrtValue.CreateTensorValueFromMemory(d, shape),
            int[] i => OrtValue.CreateTensorValueFromMemory(i, shape),
            long[] l => OrtValue.CreateTensorValueFromMemory(l, shape),
            bool[] b => OrtValue.CreateTensorValueFromMemory(b, shape),
            _ => throw new ArgumentException($"No ONNX Runtime tensor for {t.DType.Name()}."),
        };
    }

    private static HostTensor FromOrt(OrtValue value)
    {
        var info = value.GetTensorTypeAndShape();
        var dims = info.Shape.Select(d => checked((int)d)).ToArray();
        return info.ElementDataType switch
        {
            TensorElementType.Float => HostTensor.From(value.GetTensorDataAsSpan<float>().ToArray(), dims),
            TensorElementType.Double => HostTensor.From(value.GetTensorDataAsSpan<double>().ToArray(), dims),
            TensorElementType.Int32 => HostTensor.From(value.GetTensorDataAsSpan<int>().ToArray(), dims),
            TensorElementType.Int64 => HostTensor.From(value.GetTensorDataAsSpan<long>().ToArray(), dims),
            TensorElementType.Bool => HostTensor.From(value.GetTensorDataAsSpan<bool>().ToArray(), dims),
            var other => throw new ArgumentException($"Unexpected ONNX Runtime output type {other}."),
        };
    }
}
