using Graph.Core;

namespace Graph.Kernels;

/// <summary>
/// A run of fixed fetches, targets and fed tensors, made by <see cref="Session.MakeCallable"/> (TF1's
/// <c>Session.make_callable</c>). Feed values are given in the order of the feed list; the plan for their shapes is
/// looked up only when they change, and <see cref="RunInto"/> computes the fetched values directly into arrays the
/// caller owns, so a call allocates nothing for them. Like its session, it runs one call at a time: a call started
/// while another call or Run of the session is in progress on another thread is refused with the session's
/// <see cref="InvalidOperationException"/>, never answered with another call's feeds.
/// </summary>
public sealed class SessionCallable
{
    private readonly Session _session;
    private readonly Tensor[] _fetches, _feedList;
    private readonly Operation[] _targets;
    private readonly Dictionary<Tensor, HostTensor> _fed = new();
    private readonly int[][] _lastDims;
    private readonly Array?[] _into;
    private PlanCache.Entry? _plan;
    private int[][] _fetchDims = [];
    private long _planVersion;

    internal SessionCallable(Session session, Tensor[] fetches, Tensor[] feedList, Operation[] targets)
    {
        _session = session;
        _fetches = fetches;
        _feedList = feedList;
        _targets = targets;
        _lastDims = new int[feedList.Length][];
        _into = new Array?[fetches.Length];
    }

    /// <summary>The tensors each call computes, in result order.</summary>
    public IReadOnlyList<Tensor> Fetches => _fetches;

    /// <summary>The tensors each call feeds, in argument order.</summary>
    public IReadOnlyList<Tensor> FeedList => _feedList;

    /// <summary>Runs with <paramref name="feeds"/> (one per feed-list tensor, in order) and returns new arrays of the fetched values.</summary>
    public HostTensor[] Run(params HostTensor[] feeds)
    {
        using var alone = _session.EnterRun();
        return _session.Execute(Prepare(feeds), _fed, null);
    }

    /// <summary>
    /// Runs with <paramref name="feeds"/> and writes fetch i into <paramref name="outputs"/>[i], which must have the
    /// fetch's dtype and this run's shape of it, and must not be one of the fed arrays.
    /// </summary>
    public void RunInto(ReadOnlySpan<HostTensor> feeds, ReadOnlySpan<HostTensor> outputs)
    {
        using var alone = _session.EnterRun();
        var plan = Prepare(feeds);
        if (outputs.Length != _fetches.Length)
            throw new InvalidArgumentException($"RunInto: {_fetches.Length} fetch(es) but {outputs.Length} output tensor(s).");
        var dims = _fetchDims;
        var into = _into;
        Array.Clear(into);
        for (var i = 0; i < outputs.Length; i++)
        {
            var o = outputs[i] ?? throw new ArgumentNullException(nameof(outputs), $"RunInto: output {i} (for {_fetches[i].Name}) is null.");
            if (o.DType != _fetches[i].DType || !o.DimsSpan.SequenceEqual(dims[i]))
                throw new InvalidArgumentException(
                    $"RunInto: output {i} for Tensor '{_fetches[i].Name}' is {o.DType.Name()} {Shape.Format(o.DimsSpan.ToArray())}; the run computes {_fetches[i].DType.Name()} {Shape.Format(dims[i])}.");
            foreach (var f in feeds)
                if (ReferenceEquals(f.Data, o.Data))
                    throw new InvalidArgumentException($"RunInto: output {i} for Tensor '{_fetches[i].Name}' is also a fed array; the run would overwrite its own input.");
            for (var j = 0; j < i; j++)
                if (ReferenceEquals(into[j], o.Data))
                    throw new InvalidArgumentException($"RunInto: outputs {j} and {i} are the same array.");
            into[i] = o.Data;
        }
        _session.Execute(plan, _fed, into);
    }

    /// <summary>
    /// Checks the feeds and returns the plan for their shapes: the last one when they have its shapes and dtypes (checked
    /// when it was made) and the session still caches it, else the session's plan for them. The remembered shapes change
    /// only with the plan, so a call that failed leaves the callable as it was. Called inside the session's run claim.
    /// </summary>
    private PlanCache.Entry Prepare(ReadOnlySpan<HostTensor> feeds)
    {
        if (feeds.Length != _feedList.Length)
            throw new InvalidArgumentException($"This callable feeds {_feedList.Length} tensor(s) ({string.Join(", ", _feedList.Select(t => t.Name))}); got {feeds.Length} value(s).");
        var same = _plan is { Evicted: false } && _planVersion == _session.Graph.LoopRecordVersion;
        for (var i = 0; i < feeds.Length; i++)
        {
            var tensor = _feedList[i];
            var v = feeds[i];
            if (!same || v is null || v.DType != tensor.DType || !v.DimsSpan.SequenceEqual(_lastDims[i]))
            {
                v = Session.PrepareFeed(tensor, v!);
                same = false;
            }
            _fed[tensor] = v;
        }
        if (!same)
        {
            var plan = _session.PlanFor(_fetches, _targets, _fed);
            for (var i = 0; i < feeds.Length; i++) _lastDims[i] = _fed[_feedList[i]].Dims;
            (_plan, _planVersion, _fetchDims) = (plan, _session.Graph.LoopRecordVersion, plan.Plan.FetchDims);
        }
        return _plan!;
    }
}
