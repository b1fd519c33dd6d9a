using System.Runtime.InteropServices;
using Graph.Core;
using Graph.Kernels.Cpu;

namespace Graph.Kernels.Loops;

/// <summary>
/// Runs a while loop: its condition and body are compiled once (per concrete shapes) into their own plans and run
/// each iteration with the loop variables and captured tensors as feeds; a counted loop (<see cref="CountedLoop"/>)
/// runs its known number of iterations without the condition's plan. The loop owns its variables' arrays, so a
/// TensorArray write may update them in place. When the loop's gradient is in the plan, each iteration's saved values
/// are recorded (in host memory with swap_memory).
/// </summary>
internal sealed class LoopRunner(LoopPrim loop)
{
    private ExecutionPlan? _cond, _body;

    /// <summary>The loop's counted form (dynamic_rnn's <c>time &lt; steps</c>): its trip count is known when it starts.</summary>
    private readonly CountedLoop? _counted = CountedLoop.Of(loop.Frame);

    /// <summary>
    /// The number of iterations when the loop is counted and its counters stay within their dtype (<see
    /// cref="CountedLoop.StaysInRange"/>), or null: then the condition is read each iteration.
    /// </summary>
    private long? KnownTrips(Array[] inputs)
    {
        if (_counted is not { } counted) return null;
        long Scalar(Array a) => a switch
        {
            int[] i => i[0],
            long[] l => l[0],
            _ => throw new InternalException($"While '{loop.WhileOp.Name}': a counted loop's counter or limit is {a.GetType().Name}, not an integer array."),
        };
        var n = loop.Frame.LoopVars.Count;
        long Start(int counter) => Scalar(inputs[counter]);
        var trips = counted.Trips(Start, limit => Scalar(inputs[n + limit]));
        return counted.StaysInRange(trips, Start) ? trips : null;
    }

    public Array[] Run(Array[] inputs, RunState state)
    {
        var frame = loop.Frame;
        var n = frame.LoopVars.Count;
        var dims = loop.Inputs.Select(i => i.Dims).ToArray();
        _live ??= LiveVariables(loop);
        var live = _live;
        // A variable nothing reads has no state: its initial value may not even have been computed (null; see
        // CpuPlanRunner.UnreadLoopInputs), and the loop hands back what it was given.
        var vars = new HostTensor?[n];
        var recycler = state.Session.Recycler;
        for (var i = 0; i < n; i++)
            vars[i] = Ints.Contains(live, i) ? new HostTensor(recycler.RentCopy(inputs[i]), dims[i]) : inputs[i] is { } unread ? new HostTensor(unread, dims[i]) : null;
        var feeds = new Dictionary<Tensor, HostTensor>();
        // A captured read of a variable the loop assigns is not fed: the plans read the variable at each use, so every
        // iteration sees the assignments before it (LoopFrame.IsLiveCapture).
        for (var j = 0; j < frame.Captures.Count; j++)
            if (!frame.IsLiveCapture(j)) feeds[frame.Captures[j]] = new HostTensor(inputs[n + j], dims[n + j]);
        foreach (var i in live) feeds[frame.LoopVars[i]] = vars[i]!;
        var options = state.Context.Options;
        // A counted loop runs its known number of iterations without its condition plan (one plan execution less per
        // iteration; the condition is a pure comparison of counters with limits, so nothing is lost).
        var trips = KnownTrips(inputs);
        if (trips == null) _cond ??= Planner.Compile([frame.Condition!], [], feeds, options);
        if (_body == null)
        {
            // (A loop over the live indices: LINQ over ints is left to the JIT at start-up, see Ints.)
            var fetches = new List<Tensor>(live.Length + frame.Saved.Count);
            foreach (var i in live) fetches.Add(frame.BodyOutputs[i]);
            if (loop.SaveForGradient) fetches.AddRange(frame.Saved);
            _body = Planner.Compile(fetches, [], feeds, options, loop.SaveForGradient ? frame.ShapeOnly : null);
        }
        var record = loop.SaveForGradient ? new LoopRecord(frame.SwapMemory) : null;
        if (record != null)
            foreach (var t in frame.ShapeOnly) record.Shapes[t] = _body.QueriedDims[t];
        var donatable = new HashSet<Tensor>(frame.LoopVars);
        long stateBytes = 0;
        foreach (var v in vars)
            if (v != null) stateBytes += Buffer.ByteLength(v.Data);
        var context = state.Context;
        long iterations = 0;
        // One state for every iteration (the feeds dictionary is updated in place) and one array for the state each
        // iteration replaces: a step of an RNN runs tens of iterations, each allocating as little as it can.
        // A loop variable the body saves for the gradient (an RNN's previous state) is recorded as it is, not copied,
        // unless the body writes it in place; the previous-state check below keeps recorded arrays out of the recycler.
        if (record != null) _shared ??= frame.LoopVars.Where(v => !_body.FeedsWrittenInPlace.Contains(v)).ToHashSet();
        var stepState = new RunState(state.Session, feeds, context, donatable, recycle: true) { SharedFeeds = record == null ? null : _shared };
        var previous = new Array[live.Length];
        while (true)
        {
            if (trips is { } count ? iterations >= count : !_cond!.Execute(stepState)[0].Item<bool>()) break;
            var results = _body.Execute(stepState);
            // The previous state dies here unless a record or the new state still holds it.
            for (var k = 0; k < live.Length; k++) previous[k] = vars[live[k]]!.Data;
            for (var k = 0; k < live.Length; k++)
            {
                var i = live[k];
                if (!results[k].DimsSpan.SequenceEqual(dims[i]))
                    throw new InvalidArgumentException(
                        $"While '{loop.WhileOp.Name}': loop variable {i} changed shape from {Shape.Format(dims[i])} to {Shape.Format(results[k].DimsSpan)} in iteration {iterations}; a loop variable must keep its shape.");
                vars[i] = results[k];
                feeds[frame.LoopVars[i]] = vars[i]!;
            }
            if (record != null)
            {
                var saved = results[live.Length..];
                foreach (var t in saved) record.Uses[t.Data] = (record.Uses.TryGetValue(t.Data, out var uses) ? uses : 0) + 1;
                record.Iterations.Add(saved);
                long bytes = 0;
                foreach (var t in saved) bytes += Buffer.ByteLength(t.Data);
                record.Bytes += bytes;
                if (record.InHostMemory) context.RecordedHostBytes += bytes;
                else context.RecordedDeviceBytes += bytes;
            }
            context.NoteExtra(context.RecordedDeviceBytes + stateBytes + _body.PeakBytes, loop.WhileOp);
            // The live variables' arrays are the loop's own from the start (copies of the inputs), so the first
            // iteration's previous state goes back too.
            for (var k = 0; k < previous.Length; k++)
                if (record?.Uses.ContainsKey(previous[k]) != true && !HoldsAt(previous, k) && !Holds(vars, previous[k])) recycler.Return(previous[k]);
            iterations++;
        }
        if (record != null)
        {
            // The final state leaves the loop; a recorded array that is also part of it must never be recycled.
            foreach (var v in vars)
                if (v != null) record.Escaped.Add(v.Data);
            if (!context.LoopRecords.TryGetValue(loop.WhileOp, out var stack)) context.LoopRecords[loop.WhileOp] = stack = new Stack<LoopRecord>();
            stack.Push(record);
        }
        // The live variables' arrays are the loop's own (copies or body results); the others are its inputs.
        if (!state.InLoop)
            foreach (var i in live) context.AddLoopOutput(vars[i]!.Data);
        var outputs = new Array[n];
        for (var i = 0; i < n; i++) outputs[i] = vars[i]?.Data!;
        return outputs;
    }

    /// <summary>Whether one of <paramref name="tensors"/> holds <paramref name="array"/>.</summary>
    private static bool Holds(HostTensor?[] tensors, Array array)
    {
        foreach (var t in tensors)
            if (t != null && ReferenceEquals(t.Data, array)) return true;
        return false;
    }

    /// <summary>Whether <paramref name="arrays"/>[<paramref name="k"/>] appeared before index k (so it is returned once).</summary>
    private static bool HoldsAt(Array[] arrays, int k)
    {
        for (var j = 0; j < k; j++)
            if (ReferenceEquals(arrays[j], arrays[k])) return true;
        return false;
    }

    private int[]? _live;

    /// <summary>The loop variables the body never writes in place: recorded for the gradient as they are, not copied.</summary>
    private HashSet<Tensor>? _shared;

    /// <summary>
    /// The loop variables worth computing: those the plan reads, the condition reads, the recorded values need, and
    /// (transitively) those their next values depend on. An unread output TensorArray is never filled.
    /// </summary>
    internal static int[] LiveVariables(LoopPrim loop)
    {
        // Flags and loops rather than sets and LINQ over int: each instantiation over a value type is JIT-compiled on
        // the first training step (ReadyToRun cannot hold the framework's generics over them).
        var frame = loop.Frame;
        var n = frame.LoopVars.Count;
        var index = new Dictionary<Tensor, int>();
        for (var i = 0; i < n; i++) index[frame.LoopVars[i]] = i;
        var live = new bool[n];
        // Marks the loop variables the roots depend on (within the loop's frame); true when one was not marked before.
        bool MarkDependencies(IEnumerable<Tensor> roots)
        {
            var added = false;
            var seen = new HashSet<Tensor>();
            var stack = new Stack<Tensor>(roots);
            while (stack.Count > 0)
            {
                var t = stack.Pop();
                if (!seen.Add(t)) continue;
                if (index.TryGetValue(t, out var i) && !live[i]) live[i] = added = true;
                if (!frame.Encloses(t.Op.Frame)) continue;
                foreach (var input in t.Op.Inputs) stack.Push(input);
                foreach (var c in t.Op.ControlInputs)
                    foreach (var o in c.Outputs) stack.Push(o);
            }
            return added;
        }
        for (var i = 0; i < n; i++) live[i] = loop.UsedOutputs.Length == 0 || loop.UsedOutputs[i];
        MarkDependencies([frame.Condition!]);
        if (loop.SaveForGradient) MarkDependencies(frame.Saved);
        // The next values of live variables depend on others: repeat until no variable is added.
        bool more;
        do
        {
            var nextValues = new List<Tensor>();
            for (var i = 0; i < n; i++)
                if (live[i]) nextValues.Add(frame.BodyOutputs[i]);
            more = MarkDependencies(nextValues);
        } while (more);
        var result = new List<int>();
        for (var i = 0; i < n; i++)
            if (live[i]) result.Add(i);
        return result.ToArray();
    }
}

/// <summary>
/// Runs the gradient of a while loop: pops the forward loop's record, then runs the gradient body once per recorded
/// iteration, last first, carrying the loop variables' gradients and summing the captured tensors' gradients.
/// </summary>
internal sealed class LoopGradRunner(LoopGradPrim prim)
{
    /// <summary>The latest record of the forward loop of <paramref name="prim"/> in this run (nested loops push one per execution).</summary>
    internal static LoopRecord PopRecord(LoopGradPrim prim, RunContext context)
    {
        if (!context.LoopRecords.TryGetValue(prim.Spec.Forward, out var stack) || stack.Count == 0)
            throw new InvalidOperationException($"WhileGrad '{prim.GradOp.Name}': the forward loop '{prim.Spec.Forward.Name}' recorded no values in this run.");
        return stack.Pop();
    }

    private ExecutionPlan? _plan;

    /// <summary>What every run reads the same way: each saved value's place in the forward record, and the captured gradients the plan uses.</summary>
    private (int[] SavedIndex, int[] CaptureOutputs)? _layout;

    private (int[] SavedIndex, int[] CaptureOutputs) Layout(int nv)
    {
        var spec = prim.Spec;
        var savedIndex = new int[spec.Saved.Length];
        for (var j = 0; j < savedIndex.Length; j++) savedIndex[j] = spec.ForwardFrame.Saved.IndexOf(spec.Saved[j]);
        var used = new List<int>(spec.FloatCaptures.Length);
        for (var k = 0; k < spec.FloatCaptures.Length; k++)
            if (spec.CaptureGrads[k] != null && (prim.UsedOutputs.Length == 0 || prim.UsedOutputs[nv + k])) used.Add(k);
        return (savedIndex, used.ToArray());
    }

    /// <summary>
    /// The body without the loop variables' gradients, for the last iteration when the plan reads none of them: the
    /// gradient with respect to an RNN's initial state is a product (dz₀·W_hᵀ) nothing reads when that state is a
    /// constant zero.
    /// </summary>
    private ExecutionPlan? _lastPlan;

    private readonly Dictionary<Tensor, HostTensor> _shapeOnly = new();
    private readonly Dictionary<int, Array> _unread = new();
    private readonly Dictionary<int, Array> _unreadVars = new();

    /// <summary>Whether the plan reads none of <paramref name="prim"/>'s loop variables' gradients (<see cref="_lastPlan"/>).</summary>
    internal static bool VarGradsUnread(LoopGradPrim prim, int nv)
    {
        if (prim.UsedOutputs.Length == 0 || nv == 0) return false;
        for (var k = 0; k < nv; k++)
            if (prim.UsedOutputs[k]) return false;
        return true;
    }

    /// <summary>
    /// An output nothing reads: one zero array per output index in <paramref name="kept"/>, kept across runs, that
    /// nothing reads or writes (a new one only when the type or length changes).
    /// </summary>
    private static Array Unread(Dictionary<int, Array> kept, int k, Type elementType, int length)
    {
        if (!kept.TryGetValue(k, out var unread) || unread.Length != length || unread.GetType().GetElementType() != elementType)
            kept[k] = unread = Array.CreateInstance(elementType, length);
        return unread;
    }

    /// <summary>
    /// Capture k's result when no iteration contributed to it: zeros, new per run when the plan reads it; when the plan
    /// does not (an input sequence's gradient nobody asked for), one array kept across runs that nothing reads or writes.
    /// </summary>
    private Array ZeroGradient(int k, int nv)
    {
        var dtype = prim.Spec.ForwardFrame.Captures[prim.Spec.FloatCaptures[k]].DType.ClrType();
        var length = (int)Shape.Product(prim.CaptureDims[k]);
        if (prim.UsedOutputs.Length == 0 || prim.UsedOutputs[nv + k]) return Array.CreateInstance(dtype, length);
        return Unread(_unread, k, dtype, length);
    }

    /// <summary>The axis sparse capture gradient k scatters its slices along, counted from the front.</summary>
    private int SparseAxis(int k)
    {
        var axis = prim.Spec.SparseCaptureGrads[k]!.Value.Axis;
        return axis < 0 ? axis + prim.CaptureDims[k].Length : axis;
    }

    /// <summary>A sparse capture gradient's sum kept across runs, and which of its slices this run has written.</summary>
    private sealed record KeptSum(HostTensor Sum, bool[] Written);

    private readonly Dictionary<int, KeptSum> _sparseSums = new();

    /// <summary>
    /// The accumulator of sparse capture gradient k (e.g. the gradient of dynamic_rnn's projected inputs, the size of
    /// the whole sequence). New and zeroed when it is fetched (the caller keeps it; <c>Written</c> is null). Else kept
    /// across runs and not cleared: <c>Written</c> (all false) marks the slices along the scatter axis this run has
    /// written, the first write of a slice copies, and <see cref="CpuMovement.ClearUnwritten"/> zeroes the rest when
    /// the loop ends.
    /// </summary>
    private (HostTensor Sum, bool[]? Written) SparseSum(int k, int nv, DType dtype, int axis)
    {
        var dims = prim.CaptureDims[k];
        if (prim.FetchedOutputs.Length == 0 || prim.FetchedOutputs[nv + k]) return (HostTensor.Zeros(dtype, dims), null);
        if (!_sparseSums.TryGetValue(k, out var kept) || kept.Sum.DType != dtype || !kept.Sum.DimsSpan.SequenceEqual(dims))
            _sparseSums[k] = kept = new KeptSum(HostTensor.Zeros(dtype, dims), new bool[dims[axis]]);
        else Array.Clear(kept.Written);
        return (kept.Sum, kept.Written);
    }

    /// <summary>
    /// The gradient body's fetches: the loop variables' gradients (unless <paramref name="varGrads"/> is false), then
    /// each captured gradient (a sparse one as its slices and indices).
    /// </summary>
    private List<Tensor> BodyFetches(int[] captureOutputs, bool varGrads = true)
    {
        var spec = prim.Spec;
        var fetches = varGrads ? new List<Tensor>(spec.VarGrads) : [];
        foreach (var k in captureOutputs)
            if (spec.SparseCaptureGrads[k] is { } sparse)
            {
                fetches.Add(sparse.Updates);
                fetches.Add(sparse.Indices);
            }
            else fetches.Add(spec.CaptureGrads[k]!);
        return fetches;
    }

    public Array[] Run(Array[] inputs, RunState state)
    {
        var spec = prim.Spec;
        var nv = spec.FloatVars.Length;
        var context = state.Context;
        var record = PopRecord(prim, context);
        var dims = prim.Inputs.Select(i => i.Dims).ToArray();
        var grads = new HostTensor[nv];
        for (var k = 0; k < nv; k++) grads[k] = new HostTensor(state.Session.Recycler.RentCopy(inputs[k]), dims[k]);
        var feeds = new Dictionary<Tensor, HostTensor>();
        for (var j = 0; j < spec.Captures.Length; j++) feeds[spec.Captures[j]] = new HostTensor(inputs[nv + j], dims[nv + j]);
        var (savedIndex, captureOutputs) = _layout ??= Layout(nv);
        var sums = new HostTensor?[spec.FloatCaptures.Length];
        // Which sums are a body result (the loop's own array) rather than a sparse sum this runner keeps.
        var resultSums = new bool[sums.Length];
        // Per sparse sum kept across runs: which of its slices this run has written (the rest are zeroed at the end).
        var written = new bool[]?[sums.Length];
        var donatable = new HashSet<Tensor>(spec.GradIn);
        // Values read only for their shapes: one placeholder array of the right shape, never read.
        foreach (var t in spec.ShapeOnly)
        {
            var shape = record.Shapes[t];
            if (_shapeOnly.TryGetValue(t, out var cached) && cached.DimsSpan.SequenceEqual(shape)) feeds[t] = cached;
            else feeds[t] = _shapeOnly[t] = HostTensor.Zeros(t.DType, shape);
        }
        // One state, one dead list and one alive set for every iteration (an RNN's gradient runs tens of them a step).
        var stepState = new RunState(state.Session, feeds, context, donatable, recycle: true);
        var dead = new List<Array>();
        var alive = new HashSet<Array>(ReferenceEqualityComparer.Instance);
        var skipLastVarGrads = !state.InLoop && VarGradsUnread(prim, nv);
        // Each body plan's running sums, by fetch (RunState.AccumulateTargets), for this run only: kept in fields they
        // would hold the run's sums alive after it.
        Array?[]? bodyAccumulate = null, lastAccumulate = null;
        for (var it = record.Iterations.Count - 1; it >= 0; it--)
        {
            var last = it == 0 && skipLastVarGrads;
            for (var k = 0; k < nv; k++) feeds[spec.GradIn[k]] = grads[k];
            for (var j = 0; j < spec.Saved.Length; j++) feeds[spec.Saved[j]] = record.Iterations[it][savedIndex[j]];
            // A sparse capture gradient is fetched as its slices and indices; a dense one as is.
            _plan ??= Planner.Compile(BodyFetches(captureOutputs), [], feeds, context.Options);
            if (last) _lastPlan ??= Planner.Compile(BodyFetches(captureOutputs, varGrads: false), [], feeds, context.Options);
            var plan = last ? _lastPlan! : _plan;
            // The fetches before the captured gradients': the loop variables' gradients, which the last plan leaves out.
            var firstCapture = last ? 0 : nv;
            // From the second iteration on, a dense captured gradient's product may add straight into its running sum
            // (a weight gradient: one pass over the sum less per iteration, and no array for the product).
            var accumulate = last ? lastAccumulate ??= new Array?[plan.FetchPrims.Count] : bodyAccumulate ??= new Array?[plan.FetchPrims.Count];
            stepState.AccumulateTargets = accumulate;
            for (int j = 0, fetch = firstCapture; j < captureOutputs.Length; j++)
            {
                var k = captureOutputs[j];
                if (spec.SparseCaptureGrads[k] != null) fetch += 2;
                else accumulate[fetch++] = resultSums[k] ? sums[k]!.Data : null;
            }
            var results = plan.Execute(stepState);
            dead.Clear();
            // The previous gradients are consumed. After the last plan, which makes none, the loop variables' gradients
            // are outputs nothing reads: kept zeros.
            foreach (var g in grads) dead.Add(g.Data);
            for (var k = 0; k < nv; k++)
                grads[k] = last ? new HostTensor(Unread(_unreadVars, k, grads[k].DType.ClrType(), (int)Shape.Product(dims[k])), dims[k]) : results[k];
            var position = firstCapture;
            foreach (var k in captureOutputs)
            {
                if (spec.SparseCaptureGrads[k] is { } sparse)
                {
                    var (updates, indices) = (results[position], results[position + 1]);
                    position += 2;
                    if (sums[k] == null) (sums[k], written[k]) = SparseSum(k, nv, updates.DType, SparseAxis(k));
                    CpuMovement.ScatterAddInto(sums[k]!.Data, prim.CaptureDims[k], SparseAxis(k), updates.Data, indices.Data, written[k]);
                    dead.Add(updates.Data);
                    continue;
                }
                var r = results[position++];
                if (sums[k] == null)
                {
                    sums[k] = r;
                    resultSums[k] = true;
                }
                else if (!ReferenceEquals(r.Data, sums[k]!.Data))
                {
                    SpanOps.Binary(prim, BinaryOp.Add, sums[k]!.Data, 0, r.Data, 0, sums[k]!.Data, r.Size);
                    dead.Add(r.Data);
                }
            }
            // This iteration's record and the previous gradients are consumed (unless they escaped the loop or live on).
            foreach (var t in record.Iterations[it])
                if (--CollectionsMarshal.GetValueRefOrNullRef(record.Uses, t.Data) == 0) dead.Add(t.Data);
            alive.Clear();
            foreach (var a in record.Escaped) alive.Add(a);
            foreach (var g in grads) alive.Add(g.Data);
            foreach (var sum in sums)
                if (sum != null) alive.Add(sum.Data);
            state.Session.Recycler.ReturnAllExcept(dead, alive);
            context.NoteExtra(context.RecordedDeviceBytes + plan.PeakBytes, prim.GradOp);
        }
        for (var k = 0; k < sums.Length; k++)
            if (written[k] is { } slices) CpuMovement.ClearUnwritten(sums[k]!.Data, prim.CaptureDims[k], SparseAxis(k), slices);
        if (record.InHostMemory) context.RecordedHostBytes -= record.Bytes;
        else context.RecordedDeviceBytes -= record.Bytes;
        var outputs = new Array[nv + spec.FloatCaptures.Length];
        for (var k = 0; k < nv; k++) outputs[k] = grads[k].Data;
        for (var k = 0; k < spec.FloatCaptures.Length; k++)
            outputs[nv + k] = sums[k]?.Data ?? ZeroGradient(k, nv);
        if (!state.InLoop)
        {
            if (!skipLastVarGrads || record.Iterations.Count == 0)
                foreach (var g in grads) context.AddLoopOutput(g.Data);
            for (var k = 0; k < sums.Length; k++)
                if (resultSums[k]) context.AddLoopOutput(sums[k]!.Data);
        }
        return outputs;
    }
}
