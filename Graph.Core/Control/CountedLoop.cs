namespace Graph.Core;

/// <summary>
/// A while loop whose number of iterations is known when it starts: its condition is <c>counter &lt; limit</c>, or a
/// conjunction of such terms (dynamic_rnn's <c>time &lt; steps</c>, maximum_iterations' counter), where each counter
/// is an integer loop variable that the body steps by a positive constant and each limit is a constant or a tensor
/// captured from outside the loop. A runtime can then enqueue every iteration without reading the condition back
/// (on a GPU: without a host round trip per iteration) and get the same iterations.
/// </summary>
public sealed class CountedLoop
{
    /// <summary>One <c>counter &lt; limit</c> term.</summary>
    /// <param name="Counter">The loop variable's index.</param>
    /// <param name="Step">What the body adds to it each iteration (positive).</param>
    /// <param name="LimitCapture">The limit's index among the frame's captured tensors, or -1 for a constant limit.</param>
    /// <param name="LimitConstant">The constant limit (when <paramref name="LimitCapture"/> is -1).</param>
    public sealed record Term(int Counter, long Step, int LimitCapture, long LimitConstant);

    private CountedLoop(IReadOnlyList<Term> terms, long[] counterMax) => (Terms, _counterMax) = (terms, counterMax);

    /// <summary>Per term, the largest value its counter's dtype holds (past it, the counter wraps and the loop goes on).</summary>
    private readonly long[] _counterMax;

    /// <summary>The condition's terms; the loop runs while all hold.</summary>
    public IReadOnlyList<Term> Terms { get; }

    /// <summary>The counted form of <paramref name="frame"/>'s loop, or null when its condition is anything else.</summary>
    public static CountedLoop? Of(LoopFrame frame)
    {
        if (frame.Condition is not { } condition) return null;
        var terms = new List<Term>();
        return Collect(frame, condition, terms)
            ? new CountedLoop(terms, CounterMaxima(frame, terms))
            : null;
    }

    private static bool Collect(LoopFrame frame, Tensor condition, List<Term> terms)
    {
        switch (condition.Op.Def.Type)
        {
            case "LogicalAnd":
                return Collect(frame, condition.Op.Inputs[0], terms) && Collect(frame, condition.Op.Inputs[1], terms);
            case "Less":
            {
                var counter = IndexOf(frame.LoopVars, condition.Op.Inputs[0]);
                if (counter < 0 || !condition.Op.Inputs[0].DType.IsInteger()) return false;
                if (StepOf(frame, counter) is not { } step) return false;
                var limit = condition.Op.Inputs[1];
                var capture = IndexOf(frame.Captures, limit);
                // A limit read live (a variable the body assigns) may change during the loop: only the condition knows.
                if (capture >= 0 && frame.IsLiveCapture(capture)) return false;
                if (capture >= 0 && limit.Shape is { HasRank: true, Rank: 0 })
                {
                    terms.Add(new Term(counter, step, capture, 0));
                    return true;
                }
                if (ConstantScalar(limit) is { } constant)
                {
                    terms.Add(new Term(counter, step, -1, constant));
                    return true;
                }
                return false;
            }
            default:
                return false;
        }
    }

    /// <summary>The largest value of each term's counter (int32 or int64).</summary>
    private static long[] CounterMaxima(LoopFrame frame, List<Term> terms)
    {
        var maxima = new long[terms.Count];
        for (var i = 0; i < maxima.Length; i++) maxima[i] = frame.LoopVars[terms[i].Counter].DType == DType.Int32 ? int.MaxValue : long.MaxValue;
        return maxima;
    }

    /// <summary>The positive constant the body adds to loop variable <paramref name="counter"/>, or null.</summary>
    private static long? StepOf(LoopFrame frame, int counter)
    {
        var next = frame.BodyOutputs[counter];
        if (next.Op.Def.Type != "Add") return null;
        var (a, b) = (next.Op.Inputs[0], next.Op.Inputs[1]);
        var variable = frame.LoopVars[counter];
        var other = a == variable ? b : b == variable ? a : null;
        // Only a constant of the loop's own frame: one from outside is captured, and a run may feed it another value
        // than its attribute (Session.Run refuses feeds inside a loop), which would make the trip count wrong.
        if (other == null || !frame.Encloses(other.Op.Frame)) return null;
        var step = ConstantScalar(other);
        return step is > 0 ? step : null;
    }

    private static long? ConstantScalar(Tensor t)
    {
        if (t.Op.Def.Type != "Const" || !t.DType.IsInteger()) return null;
        var value = t.Op.Attr<HostTensor>("value");
        return value.Size == 1 ? Convert.ToInt64(value.Data.GetValue(0)) : null;
    }

    private static int IndexOf(IReadOnlyList<Tensor> list, Tensor t)
    {
        for (var i = 0; i < list.Count; i++)
            if (list[i] == t) return i;
        return -1;
    }

    /// <summary>
    /// How many iterations the loop runs, given each counter's initial value and each captured limit's value: the
    /// fewest over the terms of ⌈(limit − start) / step⌉, at least 0 (see <see cref="StaysInRange"/>).
    /// </summary>
    public long Trips(Func<int, long> initialValue, Func<int, long> capturedLimit)
    {
        var trips = long.MaxValue;
        foreach (var term in Terms)
        {
            var start = initialValue(term.Counter);
            var limit = term.LimitCapture >= 0 ? capturedLimit(term.LimitCapture) : term.LimitConstant;
            if (limit <= start) return 0;
            // Unsigned 64-bit arithmetic is exact here (0 < limit − start < 2⁶⁴, the step is positive); Int128's
            // operators are left to the JIT at start-up.
            var span = (ulong)(limit - start);
            var n = span / (ulong)term.Step + (span % (ulong)term.Step != 0 ? 1UL : 0UL);
            if (n < (ulong)trips) trips = (long)n;
        }
        return trips;
    }

    /// <summary>
    /// Whether every counter stays within its dtype over <paramref name="trips"/> iterations from its initial value, so
    /// that <see cref="Trips"/> is exact: an int32 counter stepping past 2³¹ − 1 wraps negative and the condition holds
    /// again, which only reading the condition shows.
    /// </summary>
    public bool StaysInRange(long trips, Func<int, long> initialValue)
    {
        for (var i = 0; i < Terms.Count; i++)
        {
            // start + trips · step ≤ max ⇔ trips ≤ ⌊(max − start) / step⌋ for a positive step, in exact unsigned arithmetic.
            var start = initialValue(Terms[i].Counter);
            if (start > _counterMax[i] || trips < 0) return false;
            if ((ulong)trips > (ulong)(_counterMax[i] - start) / (ulong)Terms[i].Step) return false;
        }
        return true;
    }
}
