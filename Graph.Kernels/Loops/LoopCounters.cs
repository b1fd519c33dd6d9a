using Graph.Core;

namespace Graph.Kernels.Loops;

/// <summary>
/// The counters of a counted loop (<see cref="CountedLoop"/>): scalar loop variables the body steps by a constant, so
/// the host knows the value of each in every iteration from its initial value alone (dynamic_rnn's <c>time</c>). A
/// backend may hand the body these values instead of computing <c>counter + step</c> on its device, read a
/// TensorArray at them without an index kernel, and recompute them for the gradient instead of recording them.
/// </summary>
internal sealed class LoopCounters
{
    private readonly Dictionary<int, (long Step, DType DType)> _counters;

    private LoopCounters(Dictionary<int, (long, DType)> counters) => _counters = counters;

    /// <summary>The counters of <paramref name="loop"/>, or null when it is not counted (its trip count is known only on its device).</summary>
    public static LoopCounters? Of(LoopPrim loop)
    {
        if (CountedLoop.Of(loop.Frame) is not { } counted) return null;
        var counters = new Dictionary<int, (long, DType)>();
        foreach (var term in counted.Terms)
            if (loop.Inputs[term.Counter].Dims.Length == 0) counters.TryAdd(term.Counter, (term.Step, loop.Frame.LoopVars[term.Counter].DType));
        return counters.Count == 0 ? null : new LoopCounters(counters);
    }

    /// <summary>The counters' loop variable indices.</summary>
    public IEnumerable<int> Variables => _counters.Keys;

    /// <summary>The dtype of counter <paramref name="variable"/> (int32 or int64).</summary>
    public DType DTypeOf(int variable) => _counters[variable].DType;

    /// <summary>What counter <paramref name="variable"/> adds each iteration.</summary>
    public long StepOf(int variable) => _counters[variable].Step;

    /// <summary>Whether loop variable <paramref name="variable"/> is a counter.</summary>
    public bool IsCounter(int variable) => _counters.ContainsKey(variable);

    /// <summary>The counter whose loop variable in <paramref name="frame"/> is <paramref name="t"/>: its index, or -1.</summary>
    public int CounterOf(LoopFrame frame, Tensor t)
    {
        foreach (var variable in _counters.Keys)
            if (frame.LoopVars[variable] == t) return variable;
        return -1;
    }

    /// <summary>
    /// The values counter <paramref name="variable"/> takes from <paramref name="start"/>: before each of
    /// <paramref name="count"/> iterations from iteration <paramref name="first"/> on, in the counter's dtype.
    /// </summary>
    public Array Values(int variable, long start, long first, long count)
    {
        var values = Array.CreateInstance(_counters[variable].DType.ClrType(), count);
        for (long i = 0; i < count; i++)
        {
            var value = ValueAt(variable, start, first + i);
            if (values is int[] ints) ints[i] = (int)value;
            else ((long[])values)[i] = value;
        }
        return values;
    }

    /// <summary>
    /// The value of counter <paramref name="variable"/> from <paramref name="start"/> before iteration
    /// <paramref name="iteration"/> (an int32 counter wraps as the device's addition would).
    /// </summary>
    public long ValueAt(int variable, long start, long iteration)
    {
        var (step, dtype) = _counters[variable];
        var value = unchecked(start + iteration * step);
        return dtype == DType.Int32 ? unchecked((int)value) : value;
    }
}
