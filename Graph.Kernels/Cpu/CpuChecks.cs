using Graph.Core;

namespace Graph.Kernels.Cpu;

/// <summary>
/// The validations (<see cref="CheckPrim"/>) on host arrays: index ranges, NaN and infinity, assertions. Each returns its
/// first operand unchanged or throws an <see cref="InvalidArgumentException"/> naming the op; devices run them on the
/// host with their operands copied back.
/// </summary>
internal static class CpuChecks
{
    /// <summary>Checks <paramref name="p"/>'s operands and returns operand 0.</summary>
    public static HostTensor Run(CheckPrim p, IReadOnlyList<HostTensor> operands)
    {
        switch (p)
        {
            case CheckIndicesPrim c: CheckIndices(c, operands[0]); break;
            case CheckNumericsPrim c: CheckNumerics(c, operands[0].Data); break;
            case AssertPrim a: Assert(a, operands); break;
            default: throw new InvalidOperationException($"No cpu check for {p.Describe()} ({p.OriginName}).");
        }
        return operands[0];
    }

    private static void CheckIndices(CheckIndicesPrim p, HostTensor indices)
    {
        var idx = indices.Data;
        for (var i = 0; i < idx.Length; i++)
        {
            var v = idx is int[] ints ? ints[i] : ((long[])idx)[i];
            if (v >= 0 && v < p.Limit) continue;
            throw new InvalidArgumentException(IndexErrorMessage(p, i, v.ToString(System.Globalization.CultureInfo.InvariantCulture), Summary(indices, 20)));
        }
    }

    /// <summary>
    /// The message for index <paramref name="position"/> of <paramref name="p"/> being <paramref name="value"/> (TF1's
    /// wording for labels), with the first label values when known (<paramref name="labels"/>; devices record only the
    /// bad one).
    /// </summary>
    public static string IndexErrorMessage(CheckIndicesPrim p, long position, string value, string? labels) => p.What switch
    {
        "sequence_length" => $"{p.OriginName}: sequence_length[{position}] = {value} is outside [0, {p.Limit - 1}]: a sequence length must be between 0 and the number of time steps.",
        "label" => $"{p.OriginName}: Received a label value of {value} which is outside the valid range of [0, {p.Limit})." + (labels == null ? "" : $" Label values: {labels}"),
        _ => $"{p.OriginName}: {p.What}[{position}] = {value} is not in [0, {p.Limit}).",
    };

    private static void CheckNumerics(CheckNumericsPrim p, Array data)
    {
        var (nan, inf) = data switch
        {
            float[] f => Count(f),
            double[] d => Count(d),
            _ => throw new InvalidArgumentException($"{p.OriginName}: CheckNumerics needs a float32 or float64 tensor."),
        };
        if (!nan && !inf) return;
        var what = nan && inf ? "Inf and NaN" : nan ? "NaN" : "Inf";
        throw new InvalidArgumentException($"{p.OriginName}: {p.Message} : Tensor had {what} values");
    }

    private static (bool NaN, bool Inf) Count<T>(T[] values) where T : System.Numerics.IFloatingPointIeee754<T>
    {
        bool nan = false, inf = false;
        foreach (var v in values)
        {
            nan |= T.IsNaN(v);
            inf |= T.IsInfinity(v);
        }
        return (nan, inf);
    }

    private static void Assert(AssertPrim p, IReadOnlyList<HostTensor> operands)
    {
        var condition = (bool[])operands[1].Data;
        if (Array.IndexOf(condition, false) < 0) return;
        var message = new System.Text.StringBuilder($"{p.OriginName}: {p.Message}");
        for (var i = 0; i < p.DataLabels.Count; i++)
        {
            if (p.DataLabels[i].Length > 0) message.Append(" [").Append(p.DataLabels[i]).Append(']');
            message.Append(" [").Append(Summary(operands[2 + i], p.Summarize)).Append(']');
        }
        throw new InvalidArgumentException(message.ToString());
    }

    /// <summary>The first <paramref name="count"/> values of <paramref name="t"/> separated by spaces, "..." when there are more (as TF prints them).</summary>
    private static string Summary(HostTensor t, int count)
    {
        var n = (int)Math.Min(count, t.Size);
        var values = Enumerable.Range(0, n).Select(i => Format(t.Data.GetValue(i)!));
        return string.Join(' ', values) + (t.Size > n ? "..." : "");
    }

    private static string Format(object value) => value switch
    {
        float f => Format((double)f),
        double d when double.IsNaN(d) => "nan",
        double d when double.IsInfinity(d) => d > 0 ? "inf" : "-inf",
        double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        bool b => b ? "1" : "0",
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!,
    };
}
