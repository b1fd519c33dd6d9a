using Graph.Core;
using ILGPU.Runtime;

namespace Graph.Kernels.Ilgpu;

/// <summary>
/// A while loop on an ILGPU device: the condition and body are compiled once into device plans; the loop variables,
/// captured tensors and the values saved for the gradient stay in device memory, so an iteration moves nothing but
/// the condition's bool to the host. With swap_memory the saved values go to page-locked host memory instead, copied
/// on a second stream while the next iteration's kernels run, so peak device memory does not grow with the steps.
/// </summary>
internal sealed class DeviceLoopRunner(IlgpuDevice device, LoopPrim loop) : IDisposable
{
    /// <summary>Frees the condition's and body's plans.</summary>
    public void Dispose()
    {
        _cond?.Dispose();
        _body?.Dispose();
    }

    private static readonly Dictionary<Tensor, HostTensor> NoHostFeeds = new();
    private ExecutionPlan? _cond, _body;
    private int[]? _live;
    private readonly CountedLoop? _counted = CountedLoop.Of(loop.Frame);
    // The counters of a counted loop: the host steps them, the body reads their values (see CounterValues).
    private readonly Loops.LoopCounters? _counters = Loops.LoopCounters.Of(loop);
    // The live loop variables the body computes (the counters are the host's), and per saved value its position among
    // the body's saved fetches, or -1 for a counter's value (kept once for all iterations, in CounterValues).
    private int[] _computed = [];
    private int[] _savedPositions = [];

    /// <summary>
    /// The ops a live counter's next value waits for (control dependencies, such as a variable's assignment): the
    /// body does not compute the counter (the host does), so these become the body plan's targets and still run each
    /// iteration. A counter's next value is <c>counter + constant</c> (<see cref="CountedLoop"/>): only the control
    /// inputs of that addition and of its constant can carry effects.
    /// </summary>
    private Operation[] CounterEffects(int[] live)
    {
        if (_counters == null) return [];
        var frame = loop.Frame;
        var targets = new List<Operation>();
        foreach (var i in live)
        {
            if (!_counters.IsCounter(i)) continue;
            var next = frame.BodyOutputs[i].Op;
            targets.AddRange(next.ControlInputs);
            foreach (var input in next.Inputs)
                if (input.Op.Frame == frame) targets.AddRange(input.Op.ControlInputs);
        }
        return targets.Distinct().ToArray();
    }

    /// <summary>
    /// Runs the loop on <paramref name="inputs"/> (device buffers; <paramref name="hostInputs"/> holds the host array
    /// of each where one is current, e.g. a constant). A counted loop (<see cref="CountedLoop"/>) reads its trip count
    /// once and enqueues every iteration without reading the condition back; any other loop reads it per iteration.
    /// </summary>
    public DeviceBuffer[] Run(DeviceBuffer[] inputs, Array?[] hostInputs, RunState state)
    {
        var frame = loop.Frame;
        var n = frame.LoopVars.Count;
        var dims = loop.Inputs.Select(i => i.Dims).ToArray();
        var live = _live ??= Loops.LoopRunner.LiveVariables(loop);
        var counters = _counters;
        // The loop owns copies of its live variables (a TensorArray write may update them in place).
        var vars = new DeviceBuffer?[n];
        foreach (var i in live)
            if (counters?.IsCounter(i) != true) vars[i] = inputs[i].Clone();
        var feeds = new Dictionary<Tensor, IDeviceValue>();
        var feedDims = new Dictionary<Tensor, int[]>();
        for (var j = 0; j < frame.Captures.Count; j++)
        {
            // A captured read of a variable the loop assigns is not fed: the plans read the variable at each use
            // (LoopFrame.IsLiveCapture).
            if (frame.IsLiveCapture(j)) continue;
            feeds[frame.Captures[j]] = inputs[n + j];
            feedDims[frame.Captures[j]] = dims[n + j];
        }
        foreach (var i in live)
        {
            if (vars[i] != null) feeds[frame.LoopVars[i]] = vars[i]!;
            feedDims[frame.LoopVars[i]] = dims[i];
        }
        var context = state.Context;
        _cond ??= Planner.Compile([frame.Condition!], [], feedDims, context.Options);
        if (_body == null)
        {
            _computed = live.Where(i => counters?.IsCounter(i) != true).ToArray();
            var fetches = _computed.Select(i => frame.BodyOutputs[i]).ToList();
            _savedPositions = new int[loop.SaveForGradient ? frame.Saved.Count : 0];
            for (var s = 0; s < _savedPositions.Length; s++)
            {
                _savedPositions[s] = counters?.CounterOf(frame, frame.Saved[s]) >= 0 ? -1 : fetches.Count - _computed.Length;
                if (_savedPositions[s] >= 0) fetches.Add(frame.Saved[s]);
            }
            _body = Planner.Compile(fetches, CounterEffects(live), feedDims, context.Options, loop.SaveForGradient ? frame.ShapeOnly : null);
            var bodyDims = _body.FetchDims;
            for (var k = 0; k < _computed.Length; k++)
                if (!bodyDims[k].AsSpan().SequenceEqual(dims[_computed[k]]))
                    throw new InvalidArgumentException(
                        $"While '{loop.WhileOp.Name}': loop variable {_computed[k]} changed shape from {Shape.Format(dims[_computed[k]])} to {Shape.Format(bodyDims[k])}; a loop variable must keep its shape.");
        }
        var computed = _computed;
        var savedPositions = _savedPositions;
        var record = loop.SaveForGradient
            ? new LoopRecord(frame.SwapMemory) { SavedDims = savedPositions.Select(p => p < 0 ? [] : _body.FetchDims[computed.Length + p]).ToArray() }
            : null;
        if (record != null)
            foreach (var t in frame.ShapeOnly) record.Shapes[t] = _body.QueriedDims[t];
        var onDevice = record?.OnDevice();
        if (onDevice != null) onDevice.SavedPositions = savedPositions;
        var body = (DevicePlanRunner)_body.Runner;
        // A counter's feed is a slice of its values (CounterValues): never written in place nor handed out as a result.
        var donatable = new HashSet<Tensor>(frame.LoopVars.Where((_, i) => counters?.IsCounter(i) != true));
        var stateBytes = computed.Sum(i => vars[i]!.Bytes);
        using var copies = record?.InHostMemory == true ? new SwapStream(device) : null;
        var recorded = new HashSet<DeviceBuffer>(ReferenceEqualityComparer.Instance);
        List<DeviceBuffer> previous = [];
        var scalars = new long?[inputs.Length];
        long ScalarInput(int i)
        {
            if (scalars[i] is { } known) return known;
            var host = hostInputs[i];
            if (host == null)
            {
                host = Array.CreateInstance(inputs[i].DType.ClrType(), 1);
                inputs[i].Download(host, 1);
            }
            return (scalars[i] = Convert.ToInt64(host.GetValue(0))).Value;
        }
        // Known before the first iteration: one read of the counters and limits (usually a host constant and one
        // device scalar) instead of a condition read back, a wait, per iteration.
        long? trips = _counted?.Trips(ScalarInput, j => ScalarInput(n + j));
        // A counter that would wrap (an int32 past 2³¹ − 1) makes the condition hold again: the count above would be
        // wrong, and this runner's counted plan has no per-iteration condition to fall back on (the cpu device has).
        if (trips is { } known && !_counted!.StaysInRange(known, ScalarInput))
            throw new InvalidArgumentException(
                $"While '{loop.WhileOp.Name}': a loop counter would pass its type's largest value within the loop's {known} iterations and wrap; " +
                "the ILGPU devices run counted loops ahead and cannot follow a wrapped counter. Run this loop on the cpu device, or keep its counter in range.");
        // Each counter's values for the whole run, uploaded while the stream is idle after that read.
        var counterValues = counters?.Variables.Select(i => (Variable: i, Values: new CounterValues(device, counters, i, ScalarInput(i), trips!.Value))).ToArray();
        var hostFeeds = counterValues != null ? new Dictionary<Tensor, HostTensor>() : NoHostFeeds;
        try
        {
            for (long iteration = 0; ; iteration++)
            {
                var step = new RunState(state.Session, hostFeeds, context, donatable) { DeviceFeeds = feeds };
                if (trips is { } count)
                {
                    if (iteration >= count) break;
                    // A failed kernel is found within 64 iterations, not only after the last.
                    if ((iteration & 63) == 63) context.DeviceErrors()?.ThrowIfAny();
                    foreach (var (i, values) in counterValues ?? [])
                    {
                        hostFeeds[frame.LoopVars[i]] = values.OnHost(iteration);
                        if (values.OnDevice(iteration) is { } slice) feeds[frame.LoopVars[i]] = slice;
                    }
                }
                else
                {
                    // Reading the condition waits for the previous body's kernels: its saved values are complete, and
                    // a failed kernel stops the loop here rather than letting it run on garbage.
                    var go = _cond.Execute(step)[0].Item<bool>();
                    context.DeviceErrors()?.ThrowIfAny();
                    if (!go) break;
                }
                if (copies != null) onDevice!.Swapped.AddRange(copies.StartPending());
                var results = body.ExecuteOnDevice(step);
                previous = computed.Select(i => vars[i]!).ToList();
                for (var k = 0; k < computed.Length; k++)
                {
                    vars[computed[k]] = results[k];
                    feeds[frame.LoopVars[computed[k]]] = results[k];
                }
                if (record != null)
                {
                    var saved = results[computed.Length..];
                    var bytes = saved.Sum(b => b.Bytes);
                    record.Bytes += bytes;
                    if (copies != null)
                    {
                        copies.Queue(saved.Where(b => !vars.Contains(b)).ToArray(), saved);
                        context.RecordedHostBytes += bytes;
                    }
                    else
                    {
                        // Each recorded buffer belongs to one iteration (the gradient frees it after that iteration).
                        for (var j = 0; j < saved.Length; j++)
                            if (!recorded.Add(saved[j])) recorded.Add(saved[j] = saved[j].Clone());
                        onDevice!.Iterations.Add(saved);
                        context.RecordedDeviceBytes += bytes;
                    }
                }
                context.NoteExtra(context.RecordedDeviceBytes + stateBytes + (copies?.InFlightBytes ?? 0) + _body.PeakBytes, loop.WhileOp);
                foreach (var b in previous.Distinct())
                    if (!recorded.Contains(b) && !vars.Contains(b) && !(copies?.Holds(b) ?? false)) b.Dispose();
                previous = [];
            }
            if (copies != null) onDevice!.Swapped.AddRange(copies.Finish());
            foreach (var (i, values) in counterValues ?? []) vars[i] = values.Owned(trips!.Value);
        }
        catch
        {
            copies?.Dispose();
            foreach (var b in vars.Concat(previous).Concat(onDevice?.Iterations.SelectMany(i => i) ?? []).Where(b => b != null).Distinct()) b!.Dispose();
            foreach (var h in onDevice?.Swapped.SelectMany(i => i) ?? []) h.Dispose();
            foreach (var (_, values) in counterValues ?? []) values.Dispose();
            throw;
        }
        if (record != null)
        {
            // The gradient reads the counters' values from the record, as it reads the saved ones.
            for (var s = 0; s < savedPositions.Length; s++)
                if (savedPositions[s] < 0) onDevice!.SavedCounters[s] = counterValues!.First(c => c.Variable == counters!.CounterOf(frame, frame.Saved[s])).Values;
            if (!context.LoopRecords.TryGetValue(loop.WhileOp, out var stack)) context.LoopRecords[loop.WhileOp] = stack = new Stack<LoopRecord>();
            stack.Push(record);
        }
        foreach (var (_, values) in counterValues ?? [])
            if (onDevice?.SavedCounters.ContainsValue(values) != true) values.Dispose();
        // The results are the caller's: a final variable that is also a saved value is copied, so each has one owner.
        return vars.Select(v => v == null ? null! : recorded.Contains(v) ? v.Clone() : v).ToArray();
    }
}

/// <summary>
/// The values one counter of a counted loop takes in one execution of the loop (<see cref="Loops.LoopCounters"/>): on
/// the host, and on the device as part of a run of values the device keeps for every execution that starts the same
/// way (<see cref="IlgpuDevice.CounterRun"/>: uploaded once, not every training step, since an upload waits). The body
/// is fed the counter from here instead of running a <c>counter + step</c> kernel, so a TensorArray read or write at
/// the counter is a slice of the array (no index kernel); the loop's record keeps it for the gradient instead of a
/// copy of the counter per iteration.
/// </summary>
internal sealed class CounterValues : IDisposable
{
    /// <summary>
    /// The most values uploaded (8 MiB of int64). A longer loop's kernels that read the counter as a tensor get it
    /// uploaded per iteration, a wait each, as an uncounted loop's condition is read per iteration.
    /// </summary>
    private const long MostUploaded = 1 << 20;

    private readonly IlgpuDevice _device;
    private readonly Loops.LoopCounters _counters;
    private readonly int _variable;
    private readonly long _start;
    private readonly DType _dtype;
    private readonly DeviceBuffer? _values;
    // Whether _values is this execution's own upload (the device keeps no more runs) rather than the device's.
    private readonly bool _ownsValues;

    /// <summary>The values of counter <paramref name="variable"/> of <paramref name="counters"/> from <paramref name="start"/> over <paramref name="trips"/> iterations.</summary>
    public CounterValues(IlgpuDevice device, Loops.LoopCounters counters, int variable, long start, long trips)
    {
        (_device, _counters, _variable, _start, _dtype) = (device, counters, variable, start, counters.DTypeOf(variable));
        if (trips + 1 > MostUploaded) return;
        _values = device.CounterRun(_dtype, start, counters.StepOf(variable), trips + 1, length => counters.Values(variable, start, 0, Math.Min(length, MostUploaded)));
        if (_values == null)
        {
            _values = DeviceBuffer.FromHost(device, _dtype, counters.Values(variable, start, 0, trips + 1));
            _ownsValues = true;
        }
    }

    /// <summary>The counter before iteration <paramref name="iteration"/> (after the last: its final value).</summary>
    public long At(long iteration) => _counters.ValueAt(_variable, _start, iteration);

    /// <summary>The counter before iteration <paramref name="iteration"/> as a host scalar.</summary>
    public HostTensor OnHost(long iteration) => new(_counters.Values(_variable, _start, iteration, 1));

    /// <summary>The same value as a slice of the uploaded values (no copy; valid while this object is), or null for a long loop.</summary>
    public DeviceBuffer? OnDevice(long iteration) => _values?.Slice(iteration, 1);

    /// <summary>The value before iteration <paramref name="iteration"/> in a new device buffer (the loop's final counter).</summary>
    public DeviceBuffer Owned(long iteration) => OnDevice(iteration)?.Clone() ?? DeviceBuffer.FromHost(_device, _dtype, OnHost(iteration).Data);

    /// <summary>Frees the values if this execution uploaded its own; the device's kept runs stay for later runs.</summary>
    public void Dispose()
    {
        if (_ownsValues) _values!.Dispose();
    }

}

/// <summary>
/// The gradient of a while loop on an ILGPU device: runs the gradient body's device plan once per recorded iteration,
/// last first; the loop variables' gradients stay on the device, the captured tensors' gradients are summed there
/// (dense by an accumulate kernel, sparse by scatter-add). Swapped records are copied back on a second stream one
/// iteration ahead, overlapping the current iteration's kernels.
/// </summary>
internal sealed class DeviceLoopGradRunner(IlgpuDevice device, LoopGradPrim prim) : IDisposable
{
    /// <summary>Frees the gradient body's plan.</summary>
    public void Dispose()
    {
        _plan?.Dispose();
        _lastPlan?.Dispose();
    }

    private ExecutionPlan? _plan;

    /// <summary>
    /// The body without the loop variables' gradients, for the last iteration when the plan reads none of them (see
    /// <see cref="Loops.LoopGradRunner"/>: an RNN's zero initial state needs no dz₀·W_hᵀ).
    /// </summary>
    private ExecutionPlan? _lastPlan;
    private readonly Dictionary<Tensor, HostTensor> _shapeOnly = new();

    public DeviceBuffer[] Run(DeviceBuffer[] inputs, RunState state)
    {
        var spec = prim.Spec;
        var nv = spec.FloatVars.Length;
        var context = state.Context;
        var record = Loops.LoopGradRunner.PopRecord(prim, context);
        var dims = prim.Inputs.Select(i => i.Dims).ToArray();
        var grads = new DeviceBuffer[nv];
        for (var k = 0; k < nv; k++) grads[k] = inputs[k].Clone();
        var feeds = new Dictionary<Tensor, IDeviceValue>();
        var feedDims = new Dictionary<Tensor, int[]>();
        for (var j = 0; j < spec.Captures.Length; j++)
        {
            feeds[spec.Captures[j]] = inputs[nv + j];
            feedDims[spec.Captures[j]] = dims[nv + j];
        }
        for (var k = 0; k < nv; k++) feedDims[spec.GradIn[k]] = dims[k];
        var savedIndex = spec.Saved.Select(t => spec.ForwardFrame.Saved.IndexOf(t)).ToArray();
        for (var j = 0; j < spec.Saved.Length; j++) feedDims[spec.Saved[j]] = record.SavedDims[savedIndex[j]];
        // Values read only for their shapes: one host placeholder of the right shape, never read.
        var hostFeeds = new Dictionary<Tensor, HostTensor>();
        foreach (var t in spec.ShapeOnly)
        {
            var shape = record.Shapes[t];
            if (!_shapeOnly.TryGetValue(t, out var cached) || !cached.DimsSpan.SequenceEqual(shape)) _shapeOnly[t] = cached = HostTensor.Zeros(t.DType, shape);
            hostFeeds[t] = cached;
            feedDims[t] = shape;
        }
        var captureOutputs = Enumerable.Range(0, spec.FloatCaptures.Length)
            .Where(k => spec.CaptureGrads[k] != null && (prim.UsedOutputs.Length == 0 || prim.UsedOutputs[nv + k])).ToArray();
        var onDevice = record.OnDevice();
        // Sparse gradients of a capture read at a counted loop's counter (a TensorArray read at `time`): the counter's
        // values are the record's, so the body fetches only the slice.
        var countedIndices = new Dictionary<int, CounterValues>();
        foreach (var k in captureOutputs)
            if (spec.SparseCaptureGrads[k] is { } sparse && onDevice.SavedCounters.TryGetValue(spec.ForwardFrame.Saved.IndexOf(sparse.Indices), out var counter))
                countedIndices[k] = counter;
        Tensor[] FetchesOf(int k) => spec.SparseCaptureGrads[k] is { } sparse
            ? countedIndices.ContainsKey(k) ? [sparse.Updates] : [sparse.Updates, sparse.Indices]
            : [spec.CaptureGrads[k]!];
        _plan ??= Planner.Compile(spec.VarGrads.Concat(captureOutputs.SelectMany(FetchesOf)).ToList(), [], feedDims, context.Options);
        var skipLastVarGrads = Loops.LoopGradRunner.VarGradsUnread(prim, nv);
        if (skipLastVarGrads) _lastPlan ??= Planner.Compile(captureOutputs.SelectMany(FetchesOf).ToList(), [], feedDims, context.Options);
        var sums = new DeviceBuffer?[spec.FloatCaptures.Length];
        // Where each dense captured gradient is among the body's fetches (after the loop variables' gradients, which
        // the last plan leaves out): from the second iteration on, a GEMM that makes it may add it straight into the
        // running sum (RunState.AccumulateInto).
        var densePositions = new Dictionary<int, int>();
        for (int j = 0, fetch = 0; j < captureOutputs.Length; j++)
        {
            var k = captureOutputs[j];
            if (spec.SparseCaptureGrads[k] == null) densePositions[k] = fetch;
            fetch += FetchesOf(k).Length;
        }
        var accumulateInto = new Dictionary<int, IDeviceValue>();
        var donatable = new HashSet<Tensor>(spec.GradIn);
        var savedPositions = onDevice.SavedPositions;
        var count = record.InHostMemory ? onDevice.Swapped.Count : onDevice.Iterations.Count;
        using var copies = record.InHostMemory ? device.Accelerator.CreateStream() : null;
        var generation = device.Generation;
        DeviceBuffer[]? next = null;
        // With swap_memory, the iteration's values brought back to the device (in no record: freed here, even on failure).
        DeviceBuffer[]? uploaded = null;
        DeviceBuffer[] Upload(int it) => onDevice.Swapped[it].Select(h => DeviceBuffer.FromHostAsync(h, copies!)).ToArray();
        try
        {
            if (copies != null && count > 0) next = Upload(count - 1);
            for (var it = count - 1; it >= 0; it--)
            {
                DeviceBuffer[] saved;
                if (copies != null)
                {
                    copies.Synchronize();
                    saved = uploaded = next!;
                    // The previous iteration's values start coming back while this one computes.
                    next = it > 0 ? Upload(it - 1) : null;
                }
                else saved = onDevice.Iterations[it];
                var last = it == 0 && skipLastVarGrads;
                var plan = last ? _lastPlan! : _plan;
                var fetchDims = plan.FetchDims;
                // The fetches before the captured gradients': the loop variables' gradients, which the last plan leaves out.
                var firstCapture = last ? 0 : nv;
                for (var k = 0; k < nv; k++) feeds[spec.GradIn[k]] = grads[k];
                for (var j = 0; j < spec.Saved.Length; j++)
                {
                    if (onDevice.SavedCounters.TryGetValue(savedIndex[j], out var counter))
                    {
                        hostFeeds[spec.Saved[j]] = counter.OnHost(it);
                        if (counter.OnDevice(it) is { } slice) feeds[spec.Saved[j]] = slice;
                    }
                    else feeds[spec.Saved[j]] = saved[savedPositions[savedIndex[j]]];
                }
                accumulateInto.Clear();
                foreach (var (k, fetch) in densePositions)
                    if (sums[k] is { } running) accumulateInto[firstCapture + fetch] = running;
                var results = ((DevicePlanRunner)plan.Runner).ExecuteOnDevice(
                    new RunState(state.Session, hostFeeds, context, donatable) { DeviceFeeds = feeds, AccumulateInto = accumulateInto });
                // Buffers this iteration consumes: the previous gradients, the saved values, summed-in results. After the
                // last plan, which makes no gradients of the loop variables, those are outputs nothing reads: zeros.
                var dead = new List<DeviceBuffer>(grads);
                dead.AddRange(saved);
                for (var k = 0; k < nv; k++)
                {
                    if (!last) grads[k] = results[k];
                    else
                    {
                        grads[k] = DeviceBuffer.Allocate(device, grads[k].DType, grads[k].Length);
                        grads[k].Zero();
                    }
                }
                var position = firstCapture;
                foreach (var k in captureOutputs)
                {
                    var target = prim.CaptureDims[k];
                    if (spec.SparseCaptureGrads[k] is { } sparse)
                    {
                        var updates = results[position];
                        var axis = sparse.Axis < 0 ? sparse.Axis + target.Length : sparse.Axis;
                        if (sums[k] == null)
                        {
                            sums[k] = DeviceBuffer.Allocate(device, updates.DType, Shape.Product(target));
                            sums[k]!.Zero();
                        }
                        if (countedIndices.TryGetValue(k, out var counter))
                        {
                            AddSliceAtCounter(updates, counter, it, sums[k]!, target, axis, k, context);
                            dead.Add(updates);
                            position++;
                            continue;
                        }
                        var indices = results[position + 1];
                        DeviceOps.ScatterAddInto(device, updates, indices, sums[k]!, target, axis, fetchDims[position + 1], prim, (prim, k), context);
                        dead.Add(updates);
                        dead.Add(indices);
                        position += 2;
                        continue;
                    }
                    var r = results[position++];
                    if (sums[k] == null) sums[k] = r;
                    else if (!ReferenceEquals(r, sums[k]))
                    {
                        DeviceOps.Accumulate(device, r, sums[k]!, prim);
                        dead.Add(r);
                    }
                }
                var alive = new HashSet<DeviceBuffer>(grads.Concat(sums.OfType<DeviceBuffer>()), ReferenceEqualityComparer.Instance);
                foreach (var b in dead.Distinct())
                    if (!alive.Contains(b)) b.Dispose();
                uploaded = null;
                if (copies != null)
                {
                    foreach (var h in onDevice.Swapped[it]) h.Dispose();
                    onDevice.Swapped.RemoveAt(it);
                }
                else onDevice.Iterations.RemoveAt(it);
                context.NoteExtra(context.RecordedDeviceBytes + (next?.Sum(b => b.Bytes) ?? 0) + plan.PeakBytes, prim.GradOp);
            }
        }
        catch
        {
            if (generation == device.Generation) copies?.Synchronize();
            foreach (var b in grads.Concat(sums.OfType<DeviceBuffer>()).Concat(next ?? []).Concat(uploaded ?? []).Distinct()) b.Dispose();
            record.DisposeDeviceIterations();
            throw;
        }
        if (record.InHostMemory) context.RecordedHostBytes -= record.Bytes;
        else context.RecordedDeviceBytes -= record.Bytes;
        // Every iteration is consumed; what is left is the counters' values.
        record.DisposeDeviceIterations();
        var outputs = new DeviceBuffer[nv + spec.FloatCaptures.Length];
        for (var k = 0; k < nv; k++) outputs[k] = grads[k];
        for (var k = 0; k < spec.FloatCaptures.Length; k++)
        {
            if (sums[k] is { } sum) outputs[nv + k] = sum;
            else
            {
                outputs[nv + k] = DeviceBuffer.Allocate(device, spec.ForwardFrame.Captures[spec.FloatCaptures[k]].DType, Shape.Product(prim.CaptureDims[k]));
                outputs[nv + k].Zero();
            }
        }
        return outputs;
    }

    /// <summary>
    /// Adds the slice <paramref name="updates"/> of iteration <paramref name="iteration"/> into <paramref name="sum"/>
    /// (dims <paramref name="dims"/>) at the counter's value along <paramref name="axis"/>. A contiguous slice is
    /// copied in, no kernel: the counter takes each value in one iteration only, so that slice of the sum still holds
    /// zeros and the copy is the sum (bit for bit, but that a −0 stays −0 where 0 + −0 gave +0: the same number).
    /// </summary>
    private void AddSliceAtCounter(DeviceBuffer updates, CounterValues counter, long iteration, DeviceBuffer sum, int[] dims, int axis, int k, RunContext context)
    {
        var at = counter.At(iteration);
        var inner = Shape.Product(dims.AsSpan(axis + 1));
        if (Shape.Product(dims.AsSpan(0, axis)) == 1 && at >= 0 && at < dims[axis])
        {
            if (inner > 0) sum.Slice(at * inner, inner).CopyFrom(updates);
            return;
        }
        // Strided slices (a gather along an inner axis), or an index out of range, which the kernel reports as before
        // (the forward gather's own check fails the run too).
        using var index = counter.Owned(iteration);
        DeviceOps.ScatterAddInto(device, updates, index, sum, dims, axis, [], prim, (prim, k), context);
    }
}

/// <summary>
/// Moves swapped loop values to page-locked host memory on a second stream: an iteration's values are queued when
/// the body finishes and copied once the next condition has waited for the body's kernels, so the copies overlap the
/// next body; the device buffers are freed when their copies are done.
/// </summary>
internal sealed class SwapStream(IlgpuDevice device) : IDisposable
{
    private readonly AcceleratorStream _stream = device.Accelerator.CreateStream();
    private readonly int _generation = device.Generation;
    private readonly List<(DeviceBuffer[] Free, DeviceBuffer[] Saved)> _pending = new();
    private readonly List<(DeviceBuffer[] Free, PinnedHostCopy[] Host)> _inFlight = new();

    /// <summary>Device bytes still held by values on their way to the host.</summary>
    public long InFlightBytes => _pending.Sum(p => p.Free.Sum(b => b.Bytes)) + _inFlight.Sum(f => f.Free.Sum(b => b.Bytes));

    /// <summary>Whether <paramref name="b"/> is waiting to be copied.</summary>
    public bool Holds(DeviceBuffer b) => _pending.Any(p => p.Saved.Contains(b)) || _inFlight.Any(f => f.Free.Contains(b));

    /// <summary>Queues an iteration's saved values (the kernels computing them may still run); <paramref name="free"/> are freed after the copy.</summary>
    public void Queue(DeviceBuffer[] free, DeviceBuffer[] saved) => _pending.Add((free, saved));

    /// <summary>
    /// After the default stream has been waited on: completes the copies in flight (freeing their device buffers) and
    /// starts copying the pending values. Returns the host copies completed, in iteration order.
    /// </summary>
    public List<PinnedHostCopy[]> StartPending()
    {
        // The kernels that computed the pending values ran on the default stream, which the copy stream does not follow.
        var ticket = device.WaitTicket();
        device.Accelerator.DefaultStream.Synchronize();
        device.DefaultStreamSynchronized(ticket);
        var done = Complete();
        foreach (var (free, saved) in _pending) _inFlight.Add((free, saved.Select(b => b.CopyToHostAsync(_stream)).ToArray()));
        _pending.Clear();
        return done;
    }

    /// <summary>Copies whatever is left and waits for it.</summary>
    public List<PinnedHostCopy[]> Finish()
    {
        var done = StartPending();
        done.AddRange(Complete());
        return done;
    }

    private List<PinnedHostCopy[]> Complete()
    {
        _stream.Synchronize();
        var done = new List<PinnedHostCopy[]>();
        foreach (var (free, host) in _inFlight)
        {
            foreach (var b in free.Distinct()) b.Dispose();
            done.Add(host);
        }
        _inFlight.Clear();
        return done;
    }

    public void Dispose()
    {
        // Copies may still be reading device buffers and writing pinned memory (unless the context is gone with them).
        if (_generation == device.Generation) _stream.Synchronize();
        foreach (var (free, _) in _pending) foreach (var b in free) b.Dispose();
        foreach (var (free, host) in _inFlight)
        {
            foreach (var b in free) b.Dispose();
            foreach (var h in host) h.Dispose();
        }
        _stream.Dispose();
    }
}
