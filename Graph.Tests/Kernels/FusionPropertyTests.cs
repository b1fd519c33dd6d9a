using System.Text;
using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

/// <summary>
/// Seeded property tests of the fusion pass and the fused CPU kernels: random DAGs of element-wise ops (with
/// broadcasting, Where, casts), reductions, matmul epilogues, softmax and variable updates must give the same results
/// with <c>Fusion = true</c> as with <c>Fusion = false</c> (relative error ≤ 1e-5 for floats, exact for ints and bools),
/// fused plans must be bit-for-bit deterministic across runs and sessions (including tensors large enough to run in
/// parallel chunks), and fusion must never add kernels.
/// </summary>
[TestFixture]
public class FusionPropertyTests
{
    private const int GraphCount = 200;

    /// <summary>Per-element relative tolerance between the fused and unfused results.</summary>
    private const double Rtol = 1e-5;

    /// <summary>
    /// Absolute floor, as a fraction of the largest magnitude in the expected tensor: a float sum summed in another
    /// order (fused reductions reduce a chunk's scratch copy, unfused ones the stored array) differs by a few ulps of
    /// its terms, not of its (possibly cancelled) result.
    /// </summary>
    private const double AtolOfScale = 1e-6;

    /// <summary>
    /// Absolute floor against another device: its exp and tanh (XMath, or the GPU's own) differ from the cpu device's in
    /// the last ulp, and a result made small by cancellation (a mean of terms of magnitude ~10 that is ~1e-3) carries
    /// those ulps of its terms, which the result's own scale does not show.
    /// </summary>
    private const double DeviceAtol = 1e-6;

    private static IEnumerable<TestCaseData> Seeds() =>
        Enumerable.Range(0, GraphCount).Select(s => new TestCaseData(s).SetName($"RandomGraph_Seed{s:D3}"));

    [TestCaseSource(nameof(Seeds))]
    public void FusedMatchesUnfusedAndIsDeterministic(int seed) => CheckRandomGraph(seed, "cpu");

    /// <summary>Builds random graph <paramref name="seed"/> and checks it fused on <paramref name="device"/> against unfused on cpu.</summary>
    private static void CheckRandomGraph(int seed, string device)
    {
        var g = new ComputeGraph { Seed = seed };
        RandomGraph graph;
        Operation? init;
        using (g.AsDefault())
        {
            graph = RandomGraph.Build(seed);
            init = graph.Variables.Count > 0 ? TF.GlobalVariablesInitializer() : null;
        }
        CheckFusedAgainstUnfused(g, graph.Fetches, graph.Targets, graph.Feeds, graph.Variables, init, $"seed {seed} on {device}\n{graph.Log}", device: device);
    }

    private static IEnumerable<TestCaseData> IlgpuSeeds() =>
        from device in new[] { "ilgpu-cpu", "cuda" }
        from s in Enumerable.Range(0, GraphCount).Where(s => !RandomGraph.IsLarge(s))
        let data = new TestCaseData(s, device).SetName($"RandomGraphOn_{device}_Seed{s:D3}")
        select device == "cuda" ? data.SetCategory("Cuda") : data;

    /// <summary>
    /// The same random graphs (the small-shape ones: ilgpu-cpu simulates one OS thread per GPU thread) fused into
    /// generated ILGPU kernels on <c>ilgpu-cpu</c> (the kernels CUDA and OpenCL get), against the unfused cpu device;
    /// deterministic across runs and sessions there too.
    /// </summary>
    [TestCaseSource(nameof(IlgpuSeeds))]
    public void FusedOnIlgpuMatchesUnfusedCpu(int seed, string device)
    {
        if (Devices.List().All(d => d.Name != device)) Assert.Ignore($"No '{device}' device on this machine; tools/gpu/run.sh runs these on a GPU machine (docs/gpu.md).");
        CheckRandomGraph(seed, device);
    }

    /// <summary>Large tensors (parallel chunks) and rows longer than a chunk, run repeatedly: bit-identical every time.</summary>
    [TestCase(300, 700)]
    [TestCase(40, 3000)]
    [TestCase(2, 70000)]
    public void LargeFusedPlansAreBitIdenticalAcrossRunsAndSessions(int rows, int cols)
    {
        var g = new ComputeGraph { Seed = 7 };
        var rng = new Random(rows * 31 + cols);
        var feeds = new FeedDict();
        Tensor[] fetches;
        using (g.AsDefault())
        {
            var x = TF.Placeholder(DType.Float32, new Shape(rows, cols));
            var b = TF.Placeholder(DType.Float32, new Shape(cols));
            var c = TF.Placeholder(DType.Float32, new Shape(rows, 1));
            feeds[x] = RandomData(rng, DType.Float32, [rows, cols], -3, 3);
            feeds[b] = RandomData(rng, DType.Float32, [cols], -1, 1);
            feeds[c] = RandomData(rng, DType.Float32, [rows, 1], 0.5, 2);
            var h = TF.Tanh(x * c + b);
            var e = TF.Exp(h) / c;
            var rowSum = TF.ReduceSum(e * h, [1], keepDims: true);
            var centred = e - TF.ReduceMean(e, [-1], keepDims: true);
            var colMax = TF.ReduceMax(TF.Square(centred) - b, [0]);
            var total = TF.ReduceSum(TF.Sigmoid(h) * TF.Softplus(x));
            var minAll = TF.ReduceMin(TF.Abs(centred) + total * 1e-6, null, keepDims: true);
            var soft = TF.Nn.Softmax(x * 0.5 - b);
            var logSoft = TF.Nn.LogSoftmax(h + rowSum * 1e-3);
            var mask = TF.Greater(x, TF.Constant(HostTensor.Scalar(0f)));
            var picked = TF.Where(mask, soft, TF.Cast(TF.Cast(logSoft, DType.Float64) * 0.25, DType.Float32));
            var counts = TF.ReduceSum(TF.Cast(mask, DType.Int32), [1]);
            fetches = [picked, rowSum, colMax, total, minAll, centred, counts, mask, TF.ReduceMean(logSoft, [1])];
        }
        CheckFusedAgainstUnfused(g, fetches, [], feeds, [], null, $"large [{rows}, {cols}]", extraFusedRuns: 2);
    }

    /// <summary>
    /// A value computed from a variable read placed after an update of that variable (so it runs after the updating
    /// kernel), combined with values of the updating kernel: fusing the combination into that kernel would make it wait
    /// on itself.
    /// </summary>
    [Test]
    public void CombiningAnUpdatedVariablesLaterReadWithTheUpdatingKernelDoesNotCycle()
    {
        var g = new ComputeGraph();
        Tensor p;
        Tensor x;
        Operation init;
        Variable v;
        using (g.AsDefault())
        {
            x = TF.Placeholder(DType.Float32, new Shape(2, 3));
            v = TF.Variable(TF.Constant(new float[2, 3]));
            var updated = v.AssignAdd(x);               // kernel K: read v + x -> assign v
            var q = TF.Identity(v.Op.Output) * 2.0;     // reads v after the update (a binding ordered after K)
            var t = updated * 3.0;                      // joins K
            p = q + t;                                  // joins K too, but K must then run after q, which runs after K
            init = TF.GlobalVariablesInitializer();
        }
        var feeds = new FeedDict { { x, new float[,] { { 1, 2, 3 }, { 4, 5, 6 } } } };
        CheckFusedAgainstUnfused(g, [p], [], feeds, [v], init, "read-after-update cycle");
    }

    /// <summary>
    /// An update joined to a kernel after an earlier update of the same variable that sits in another kernel reading
    /// from this one (here because the value it reads is fetched, which ends the group): the per-variable order puts the
    /// joined kernel after the other, the data puts it before.
    /// </summary>
    [Test]
    public void UpdateJoinedAfterAnEarlierUpdateInAConsumingKernelDoesNotCycle()
    {
        var g = new ComputeGraph();
        Tensor x, y;
        Operation[] targets;
        Operation init;
        Variable v;
        using (g.AsDefault())
        {
            x = TF.Placeholder(DType.Float32, new Shape(2, 3));
            v = TF.Variable(TF.Constant(new float[2, 3]));
            var h = TF.Tanh(x);              // kernel K
            y = TF.Exp(h);                   // K; fetched, so its readers start new kernels
            var first = v.AssignAdd(y);      // kernel L, reads y from K
            var z = TF.Sigmoid(h);           // joins K
            var second = v.Assign(z);        // joins K, but must follow `first` (in L, which follows K)
            targets = [first.Op, second.Op];
            init = TF.GlobalVariablesInitializer();
        }
        var feeds = new FeedDict { { x, new float[,] { { 1, 2, 3 }, { 4, 5, 6 } } } };
        CheckFusedAgainstUnfused(g, [y], targets, feeds, [v], init, "update after an update in a consuming kernel");
    }

    /// <summary>
    /// An update joined to the kernel holding an earlier update of the same variable, with a read and update of that
    /// variable by another kernel in between: that kernel must run between the two updates, which are now one kernel.
    /// </summary>
    [Test]
    public void UpdateJoinedPastAnInterveningUpdateOfTheSameVariableDoesNotCycle()
    {
        var g = new ComputeGraph();
        Tensor x, third;
        Operation[] targets;
        Operation init;
        Variable v;
        using (g.AsDefault())
        {
            x = TF.Placeholder(DType.Float32, new Shape(2, 3));
            v = TF.Variable(TF.Constant(new float[2, 3]));
            var first = v.Assign(TF.Tanh(x));   // kernel K: tanh -> assign
            var second = v.AssignAdd(x);        // kernel L: read v (after `first`) + x -> assign
            third = v.Assign(first * 2.0);      // mul and assign join K, but must follow `second`
            targets = [first.Op, second.Op];
            init = TF.GlobalVariablesInitializer();
        }
        var feeds = new FeedDict { { x, new float[,] { { 1, 2, 3 }, { 4, 5, 6 } } } };
        CheckFusedAgainstUnfused(g, [third], targets, feeds, [v], init, "update past an intervening update");
    }

    /// <summary>
    /// A transpose (a strided copy, which starts its own group) of a fused value, combined with that value: the merged
    /// kernel must not read the transposed value's source before the source is computed and stored.
    /// </summary>
    [Test]
    public void TransposeOfAFusedValueCombinedWithTheValue()
    {
        var g = new ComputeGraph();
        Tensor z;
        Tensor x;
        using (g.AsDefault())
        {
            x = TF.Placeholder(DType.Float32, new Shape(3, 3));
            var y = TF.Tanh(x);
            z = y + TF.Transpose(y);
        }
        var feeds = new FeedDict { { x, new float[,] { { 1, 2, 3 }, { 4, 5, 6 }, { 7, 8, 9 } } } };
        CheckFusedAgainstUnfused(g, [z], [], feeds, [], null, "transpose merge");
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Running and comparing

    private sealed record RunResult(HostTensor[] Outputs, HostTensor?[] VariableValues, ExecutionPlan Plan);

    private static RunResult RunOnce(Session sess, IReadOnlyList<Tensor> fetches, IReadOnlyList<Operation> targets, FeedDict feeds,
        IReadOnlyList<Variable> variables, Operation? init)
    {
        if (init != null) sess.Run(init);
        var outputs = sess.Run(fetches, targets, feeds);
        return new RunResult(outputs, variables.Select(sess.GetVariableValue).ToArray(), sess.LastPlan!);
    }

    private static void CheckFusedAgainstUnfused(ComputeGraph g, IReadOnlyList<Tensor> fetches, IReadOnlyList<Operation> targets,
        FeedDict feeds, IReadOnlyList<Variable> variables, Operation? init, string context, int extraFusedRuns = 0, string device = "cpu")
    {
        RunResult reference, first;
        var repeats = new List<(string What, RunResult Result)>();
        string stage = "unfused run";
        try
        {
            using (var unfused = new Session(g, new SessionOptions { Fusion = false }))
                reference = RunOnce(unfused, fetches, targets, feeds, variables, init);

            using var fused = new Session(g, new SessionOptions { Fusion = true, Device = device });
            stage = "fused run";
            first = RunOnce(fused, fetches, targets, feeds, variables, init);
            var compiled = fused.PlansCompiled;
            for (var i = 0; i < 1 + extraFusedRuns; i++)
            {
                stage = $"fused run {i + 2}";
                var again = RunOnce(fused, fetches, targets, feeds, variables, init);
                fused.PlansCompiled.Should().Be(compiled, $"the same key reuses its plan ({context})");
                again.Plan.Should().BeSameAs(first.Plan, context);
                repeats.Add(($"same session, run {i + 2}", again));
            }
            stage = "fused run in a second session";
            using var fused2 = new Session(g, new SessionOptions { Fusion = true, Device = device });
            repeats.Add(("second session", RunOnce(fused2, fetches, targets, feeds, variables, init)));
        }
        catch (Exception e) when (e is not AssertionException)
        {
            Assert.Fail($"{context}\n{stage} threw {e}");
            return;
        }

        var problems = new List<string>();
        for (var i = 0; i < fetches.Count; i++)
        {
            if (CompareClose(reference.Outputs[i], first.Outputs[i], device) is { } diff)
                problems.Add($"fetch {i} ({fetches[i].Name}): fused differs from unfused: {diff}");
            foreach (var (what, r) in repeats)
                if (!BitIdentical(first.Outputs[i], r.Outputs[i]))
                    problems.Add($"fetch {i} ({fetches[i].Name}): not bit-identical ({what}): {FirstBitDifference(first.Outputs[i], r.Outputs[i])}");
        }
        for (var i = 0; i < variables.Count; i++)
        {
            var (expected, actual) = (reference.VariableValues[i], first.VariableValues[i]);
            if (expected == null || actual == null)
            {
                if (expected != actual) problems.Add($"variable {variables[i].Name}: initialised in one mode only");
                continue;
            }
            if (CompareClose(expected, actual, device) is { } diff) problems.Add($"variable {variables[i].Name}: fused differs from unfused: {diff}");
            foreach (var (what, r) in repeats)
                if (r.VariableValues[i] is not { } again || !BitIdentical(actual, again))
                    problems.Add($"variable {variables[i].Name}: not bit-identical ({what})");
        }
        if (first.Plan.Kernels.Count > reference.Plan.Kernels.Count)
            problems.Add($"the fused plan has {first.Plan.Kernels.Count} kernels, the unfused one {reference.Plan.Kernels.Count}");

        if (problems.Count > 0)
            Assert.Fail($"{context}\n{string.Join("\n", problems)}\n--- fused plan ---\n{first.Plan.Describe()}\n--- unfused plan ---\n{reference.Plan.Describe()}");
    }

    /// <summary>Null when equal within tolerance (floats) or exactly (ints, bools); otherwise a description of the worst mismatch.</summary>
    private static string? CompareClose(HostTensor expected, HostTensor actual, string device)
    {
        if (expected.DType != actual.DType) return $"dtype {expected.DType.Name()} vs {actual.DType.Name()}";
        if (!expected.DimsSpan.SequenceEqual(actual.DimsSpan)) return $"shape {expected.Shape} vs {actual.Shape}";
        switch (expected.Data)
        {
            case float[] e: return CompareFloats(e.Length, i => e[i], i => ((float[])actual.Data)[i], expected.Dims, device == "cpu" ? 0 : DeviceAtol);
            case double[] e: return CompareFloats(e.Length, i => e[i], i => ((double[])actual.Data)[i], expected.Dims, device == "cpu" ? 0 : DeviceAtol);
            default:
                for (var i = 0; i < expected.Size; i++)
                    if (!Equals(expected.Data.GetValue(i), actual.Data.GetValue(i)))
                        return $"at {Index(expected.Dims, i)}: expected {expected.Data.GetValue(i)}, got {actual.Data.GetValue(i)} (exact equality required)";
                return null;
        }
    }

    private static string? CompareFloats(int n, Func<int, double> expected, Func<int, double> actual, int[] dims, double atol)
    {
        var scale = 0.0;
        for (var i = 0; i < n; i++)
            if (double.IsFinite(expected(i))) scale = Math.Max(scale, Math.Abs(expected(i)));
        var bad = 0;
        var worst = -1;
        var worstRatio = 0.0;
        for (var i = 0; i < n; i++)
        {
            var (x, y) = (expected(i), actual(i));
            double ratio;
            if (double.IsNaN(x) || double.IsNaN(y)) ratio = double.IsNaN(x) && double.IsNaN(y) ? 0 : double.PositiveInfinity;
            else if (double.IsInfinity(x) || double.IsInfinity(y)) ratio = x == y ? 0 : double.PositiveInfinity;
            else
            {
                var tol = Rtol * Math.Max(Math.Abs(x), Math.Abs(y)) + AtolOfScale * scale + atol;
                var err = Math.Abs(x - y);
                ratio = err == 0 ? 0 : tol == 0 ? double.PositiveInfinity : err / tol;
            }
            if (ratio <= 1) continue;
            bad++;
            if (ratio > worstRatio)
            {
                worstRatio = ratio;
                worst = i;
            }
        }
        return bad == 0 ? null
            : $"{bad} of {n} elements out of tolerance; worst at {Index(dims, worst)}: expected {expected(worst):R}, got {actual(worst):R} ({worstRatio:G3}x the tolerance)";
    }

    private static bool BitIdentical(HostTensor a, HostTensor b) =>
        a.DType == b.DType && a.DimsSpan.SequenceEqual(b.DimsSpan) && Bytes(a.Data).AsSpan().SequenceEqual(Bytes(b.Data));

    private static string FirstBitDifference(HostTensor a, HostTensor b)
    {
        if (a.DType != b.DType || !a.DimsSpan.SequenceEqual(b.DimsSpan)) return $"{a.DType.Name()}{a.Shape} vs {b.DType.Name()}{b.Shape}";
        for (var i = 0; i < a.Size; i++)
            if (!Bytes(a.Data, i).AsSpan().SequenceEqual(Bytes(b.Data, i)))
                return $"first at {Index(a.Dims, i)}: {FormatBits(a.Data.GetValue(i))} vs {FormatBits(b.Data.GetValue(i))}";
        return "?";
    }

    private static string FormatBits(object? v) => v switch
    {
        float f => $"{f:R} (0x{BitConverter.SingleToInt32Bits(f):X8})",
        double d => $"{d:R} (0x{BitConverter.DoubleToInt64Bits(d):X16})",
        _ => $"{v}",
    };

    private static byte[] Bytes(Array a)
    {
        var bytes = new byte[Buffer.ByteLength(a)];
        Buffer.BlockCopy(a, 0, bytes, 0, bytes.Length);
        return bytes;
    }

    private static byte[] Bytes(Array a, int index)
    {
        var size = Buffer.ByteLength(a) / Math.Max(1, a.Length);
        var bytes = new byte[size];
        Buffer.BlockCopy(a, index * size, bytes, 0, size);
        return bytes;
    }

    private static string Index(int[] dims, int flat)
    {
        var index = new int[dims.Length];
        for (var d = dims.Length - 1; d >= 0; d--)
        {
            index[d] = flat % Math.Max(1, dims[d]);
            flat /= Math.Max(1, dims[d]);
        }
        return Shape.Format(index);
    }

    private static HostTensor RandomData(Random rng, DType dtype, int[] dims, double lo, double hi)
    {
        var n = (int)Shape.Product(dims);
        Array data = dtype switch
        {
            DType.Float32 => Enumerable.Range(0, n).Select(_ => (float)(lo + (hi - lo) * rng.NextDouble())).ToArray(),
            DType.Float64 => Enumerable.Range(0, n).Select(_ => lo + (hi - lo) * rng.NextDouble()).ToArray(),
            DType.Int32 => Enumerable.Range(0, n).Select(_ => rng.Next((int)Math.Ceiling(lo), (int)Math.Floor(hi) + 1)).ToArray(),
            DType.Int64 => Enumerable.Range(0, n).Select(_ => (long)rng.Next((int)Math.Ceiling(lo), (int)Math.Floor(hi) + 1)).ToArray(),
            _ => Enumerable.Range(0, n).Select(_ => rng.Next(2) == 1).ToArray(),
        };
        return new HostTensor(data, dims);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The random graph generator

    /// <summary>A value of the graph being built, with a (conservative) bound on its elements.</summary>
    private sealed class Node(Tensor t, double lo, double hi, bool exact, string name)
    {
        public Tensor T { get; } = t;
        public int[] Dims { get; } = t.Shape.Dims;
        public DType DType => T.DType;
        public double Lo { get; } = lo;
        public double Hi { get; } = hi;
        public double Mag => Math.Max(Math.Abs(Lo), Math.Abs(Hi));

        /// <summary>
        /// Computed only with correctly rounded or order-free operations from exact values, so fused and unfused
        /// results are bit-equal: only such values feed comparisons and float→int casts (whose results must match exactly).
        /// </summary>
        public bool Exact { get; } = exact;

        public string Name { get; } = name;

        /// <summary>For a reduction without keepDims: its dims with the reduced axes kept (a reshape target).</summary>
        public int[]? KeptDims { get; init; }

        public bool IsFloat => DType is DType.Float32 or DType.Float64;
        public bool IsInt => DType is DType.Int32 or DType.Int64;
        public bool IsNumeric => IsFloat || IsInt;
    }

    private sealed class VariableState(Variable v, double lo, double hi)
    {
        public Variable V { get; } = v;
        public double Lo { get; set; } = lo;
        public double Hi { get; set; } = hi;
        public bool Exact { get; set; } = true;
        public double Mag => Math.Max(Math.Abs(Lo), Math.Abs(Hi));
    }

    private sealed class RandomGraph
    {
        private static readonly int[][] SmallShapes = [[4, 5], [4, 5], [4, 5], [3, 4, 5], [5, 5], [6, 1], [1, 7], [2, 3, 4], [7]];
        private static readonly int[][] LargeShapes = [[300, 700], [40, 3000], [2, 70000], [3, 50, 1000], [120000]];

        private readonly Random _rng;
        private readonly int[] _base;
        private readonly DType _float;
        private readonly DType _otherFloat;
        private readonly bool _large;
        private readonly List<Node> _pool = new();
        private readonly List<VariableState> _vars = new();
        private readonly StringBuilder _log = new();
        private readonly HashSet<Tensor> _assigns = new();

        public FeedDict Feeds { get; } = new();
        public List<Tensor> Fetches { get; } = new();
        public List<Operation> Targets { get; } = new();
        public List<Variable> Variables => _vars.Select(v => v.V).ToList();
        public string Log => _log.ToString();

        private RandomGraph(int seed)
        {
            _rng = new Random(seed * 7919 + 17);
            // Every fifth graph uses a large iteration space: parallel chunks, and for some rows longer than a chunk.
            _large = IsLarge(seed);
            _base = _large ? LargeShapes[seed / 5 % LargeShapes.Length] : SmallShapes[_rng.Next(SmallShapes.Length)];
            _float = _rng.Next(5) == 0 ? DType.Float64 : DType.Float32;
            _otherFloat = _float == DType.Float32 ? DType.Float64 : DType.Float32;
            _log.AppendLine($"base {Shape.Format(_base)} {_float.Name()}");
        }

        /// <summary>Whether graph <paramref name="seed"/> uses a large iteration space.</summary>
        public static bool IsLarge(int seed) => seed % 5 == 2;

        public static RandomGraph Build(int seed)
        {
            var g = new RandomGraph(seed);
            g.Generate();
            return g;
        }

        private void Generate()
        {
            // Sources: feeds and constants of the base shape and of broadcastable shapes.
            Source(_float, _base, -2, 2, "feed");
            Source(_float, FamilyDims(), -2, 2, Pick("feed", "const"));
            Source(_float, _base, 0.5, 2, Pick("feed", "const"));
            if (_rng.Next(3) == 0) Source(_float, FamilyDims(), -1, 1, "fill");
            if (_rng.Next(4) == 0) Source(DType.Int32, FamilyDims(), -5, 5, "feed");

            if (_rng.Next(10) < 4)
                for (var i = _rng.Next(1, 3); i > 0; i--) NewVariable();

            var steps = _large ? _rng.Next(8, 18) : _rng.Next(10, 30);
            for (var s = 0; s < steps; s++) Step();

            // Fetch the last value, some values nothing else reads, a few random ones (intermediates, ints, bools),
            // sometimes one twice.
            var fetched = new List<Node> { _pool[^1] };
            var read = _pool.SelectMany(n => n.T.Op.Inputs).ToHashSet();
            var sinks = _pool.Where(n => !read.Contains(n.T) && n != _pool[^1]).ToList();
            for (var i = Math.Min(sinks.Count, _rng.Next(0, 5)); i > 0; i--)
            {
                var k = _rng.Next(sinks.Count);
                fetched.Add(sinks[k]);
                sinks.RemoveAt(k);
            }
            for (var i = _rng.Next(0, 3); i > 0; i--) fetched.Add(_pool[_rng.Next(_pool.Count)]);
            if (_rng.Next(8) == 0) fetched.Add(fetched[_rng.Next(fetched.Count)]);
            foreach (var n in fetched) Fetches.Add(n.T);
            _log.AppendLine($"fetch {string.Join(", ", fetched.Select(n => n.Name))}");
            Targets.AddRange(_assigns.Where(a => !Fetches.Contains(a)).Select(a => a.Op));
        }

        private void Step()
        {
            var r = _rng.Next(100);
            try
            {
                if (r < 22) UnaryStep();
                else if (r < 48) BinaryStep();
                else if (r < 55) WhereStep();
                else if (r < 61) CastStep();
                else if (r < 65) IntStep();
                else if (r < 78) ReduceStep();
                else if (r < 81) ReshapeStep();
                else if (r < 86) MatMulStep();
                else if (r < 91) SoftmaxStep();
                else if (_vars.Count > 0) VariableStep();
                else BinaryStep();
            }
            catch (SkipStep)
            {
            }
        }

        private sealed class SkipStep : Exception;

        // --- helpers -------------------------------------------------------------------------------------------

        private T Pick<T>(params T[] items) => items[_rng.Next(items.Length)];

        private Node Add(Tensor t, double lo, double hi, bool exact, string what, int[]? kept = null)
        {
            var n = new Node(t, Math.Min(lo, hi), Math.Max(lo, hi), exact, $"n{_pool.Count}") { KeptDims = kept };
            _pool.Add(n);
            _log.AppendLine($"{n.Name} = {what} : {t.DType.Name()}{Shape.Format(n.Dims)} [{n.Lo:G4}, {n.Hi:G4}]{(exact ? " exact" : "")}");
            return n;
        }

        /// <summary>A value from the pool satisfying <paramref name="ok"/>, biased towards recent values (deep chains) but often reusing old ones (DAGs).</summary>
        private Node Choose(Func<Node, bool> ok)
        {
            var candidates = _pool.Where(ok).ToList();
            if (candidates.Count == 0) throw new SkipStep();
            return _rng.Next(2) == 0 ? candidates[Math.Max(0, candidates.Count - 1 - _rng.Next(4))] : candidates[_rng.Next(candidates.Count)];
        }

        private bool IsFamily(int[] dims)
        {
            if (dims.Length > _base.Length) return false;
            var lead = _base.Length - dims.Length;
            for (var i = 0; i < dims.Length; i++)
                if (dims[i] != 1 && dims[i] != _base[lead + i]) return false;
            return true;
        }

        /// <summary>The base shape, or one that broadcasts to it: a suffix, some axes 1, or a scalar.</summary>
        private int[] FamilyDims()
        {
            switch (_rng.Next(6))
            {
                case 0: return [];
                case 1: return _base[_rng.Next(_base.Length)..];
                case 2:
                case 3:
                    var ones = _base.Select(d => _rng.Next(2) == 0 ? 1 : d).ToArray();
                    return _rng.Next(3) == 0 ? ones[1..] : ones;
                default: return _base;
            }
        }

        /// <summary>numpy broadcast of several shapes, or null.</summary>
        private static int[]? Broadcast(params int[][] shapes)
        {
            var rank = shapes.Max(s => s.Length);
            var result = new int[rank];
            for (var i = 0; i < rank; i++)
            {
                var d = 1;
                foreach (var s in shapes)
                {
                    var k = i - (rank - s.Length);
                    if (k < 0 || s[k] == 1) continue;
                    if (d != 1 && d != s[k]) return null;
                    d = s[k];
                }
                result[i] = d;
            }
            return result;
        }

        /// <summary>Whether combining values of these shapes stays within the shapes of this graph (no new outer products).</summary>
        private bool Combinable(params int[][] shapes)
        {
            var b = Broadcast(shapes);
            return b != null && (IsFamily(b) || shapes.Any(s => s.AsSpan().SequenceEqual(b)));
        }

        private Node Source(DType dtype, int[] dims, double lo, double hi, string kind)
        {
            switch (kind)
            {
                case "feed":
                {
                    var t = TF.Placeholder(dtype, new Shape(dims));
                    Feeds[t] = RandomData(_rng, dtype, dims, lo, hi);
                    return Add(t, lo, hi, true, "feed");
                }
                case "const":
                    return Add(TF.Constant(RandomData(_rng, dtype, dims, lo, hi)), lo, hi, true, "const");
                default:
                {
                    var value = Math.Round(lo + (hi - lo) * _rng.NextDouble(), 3);
                    if (dtype.IsInteger()) value = Math.Round(value);
                    var t = TF.Constant(HostTensor.Scalar(value), dtype, dims);
                    return Add(t, value, value, true, $"fill {value}");
                }
            }
        }

        /// <summary>x scaled into [-limit, limit] when its bound is larger.</summary>
        private Node Bounded(Node x, double limit)
        {
            if (x.Mag <= limit || !x.IsFloat) return x;
            var s = limit / x.Mag;
            return Add(x.T * s, x.Lo * s, x.Hi * s, x.Exact, $"{x.Name} * {s:G4}");
        }

        /// <summary>A positive version of x (for Sqrt, Log and divisors): bounded below by 0.05.</summary>
        private Node Positive(Node x)
        {
            if (x.Lo >= 0.05) return x;
            x = Bounded(x, 30);
            switch (_rng.Next(4))
            {
                case 0:
                {
                    var a = Add(TF.Abs(x.T), 0, x.Mag, x.Exact, $"Abs({x.Name})");
                    return Add(a.T + 0.5, 0.5, a.Hi + 0.5, x.Exact, $"{a.Name} + 0.5");
                }
                case 1:
                {
                    var s = Add(TF.Softplus(x.T), Softplus(x.Lo), Softplus(x.Hi), false, $"Softplus({x.Name})");
                    return Add(s.T + 0.1, s.Lo + 0.1, s.Hi + 0.1, false, $"{s.Name} + 0.1");
                }
                case 2:
                {
                    var q = Add(TF.Square(x.T), 0, x.Mag * x.Mag, x.Exact, $"Square({x.Name})");
                    return Add(q.T + 1.0, 1, q.Hi + 1, x.Exact, $"{q.Name} + 1");
                }
                default:
                {
                    var t = Add(TF.Tanh(x.T), Math.Tanh(x.Lo), Math.Tanh(x.Hi), false, $"Tanh({x.Name})");
                    return Add(TF.Exp(t.T), Math.Exp(t.Lo), Math.Exp(t.Hi), false, $"Exp({t.Name})");
                }
            }
        }

        /// <summary>x, or a transformed x, bounded away from 0 (a divisor).</summary>
        private Node AwayFromZero(Node x)
        {
            if (x.Lo >= 0.05 || x.Hi <= -0.05) return x;
            var p = Positive(x);
            if (_rng.Next(2) == 0) return p;
            return Add(-p.T, -p.Hi, -p.Lo, p.Exact, $"Neg({p.Name})");
        }

        private static double Softplus(double v) => Math.Max(v, 0) + Math.Log(1 + Math.Exp(-Math.Abs(v)));
        private static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));

        /// <summary>A partner for a binary op on <paramref name="a"/>: a pool value, the value itself, a new source, or a Fill constant.</summary>
        private Node Partner(Node a)
        {
            var r = _rng.Next(10);
            if (r == 0) return a;
            if (r <= 2)
            {
                var dims = FamilyDims();
                if (Combinable(a.Dims, dims))
                    return a.IsFloat ? Source(a.DType, dims, -2, 2, Pick("feed", "const", "fill")) : Source(a.DType, dims, -4, 4, Pick("const", "fill"));
            }
            return Choose(b => b.DType == a.DType && Combinable(a.Dims, b.Dims));
        }

        // --- steps -----------------------------------------------------------------------------------------------

        private void UnaryStep()
        {
            var x = Choose(n => n.IsFloat);
            switch (_rng.Next(10))
            {
                case 0: Add(-x.T, -x.Hi, -x.Lo, x.Exact, $"Neg({x.Name})"); break;
                case 1: Add(TF.Abs(x.T), x.Lo > 0 ? x.Lo : x.Hi < 0 ? -x.Hi : 0, x.Mag, x.Exact, $"Abs({x.Name})"); break;
                case 2:
                    x = Bounded(x, 100);
                    Add(TF.Square(x.T), x.Lo > 0 ? x.Lo * x.Lo : x.Hi < 0 ? x.Hi * x.Hi : 0, x.Mag * x.Mag, x.Exact, $"Square({x.Name})");
                    break;
                case 3:
                    x = Bounded(x, 8);
                    Add(TF.Exp(x.T), Math.Exp(x.Lo), Math.Exp(x.Hi), false, $"Exp({x.Name})");
                    break;
                case 4: Add(TF.Tanh(x.T), Math.Tanh(x.Lo), Math.Tanh(x.Hi), false, $"Tanh({x.Name})"); break;
                case 5: Add(TF.Sigmoid(x.T), Sigmoid(x.Lo), Sigmoid(x.Hi), false, $"Sigmoid({x.Name})"); break;
                case 6: Add(TF.Relu(x.T), Math.Max(0, x.Lo), Math.Max(0, x.Hi), x.Exact, $"Relu({x.Name})"); break;
                case 7: Add(TF.Softplus(x.T), Softplus(x.Lo), Softplus(x.Hi), false, $"Softplus({x.Name})"); break;
                case 8:
                    x = Positive(x);
                    Add(TF.Sqrt(x.T), Math.Sqrt(x.Lo), Math.Sqrt(x.Hi), x.Exact, $"Sqrt({x.Name})");
                    break;
                default:
                    x = Positive(x);
                    Add(TF.Log(x.T), Math.Log(x.Lo), Math.Log(x.Hi), false, $"Log({x.Name})");
                    break;
            }
        }

        private void BinaryStep()
        {
            var a = Choose(n => n.IsFloat);
            var b = Partner(a);
            var exact = a.Exact && b.Exact;
            switch (_rng.Next(6))
            {
                case 0: Add(a.T + b.T, a.Lo + b.Lo, a.Hi + b.Hi, exact, $"Add({a.Name}, {b.Name})"); break;
                case 1: Add(a.T - b.T, a.Lo - b.Hi, a.Hi - b.Lo, exact, $"Sub({a.Name}, {b.Name})"); break;
                case 2:
                {
                    a = Bounded(a, 100);
                    b = Bounded(b, 100);
                    var p = new[] { a.Lo * b.Lo, a.Lo * b.Hi, a.Hi * b.Lo, a.Hi * b.Hi };
                    Add(a.T * b.T, p.Min(), p.Max(), a.Exact && b.Exact, $"Mul({a.Name}, {b.Name})");
                    break;
                }
                case 3:
                {
                    a = Bounded(a, 100);
                    var d = AwayFromZero(b);
                    var m = a.Mag / Math.Max(0.05, Math.Min(Math.Abs(d.Lo), Math.Abs(d.Hi)));
                    Add(a.T / d.T, -m, m, a.Exact && d.Exact, $"Div({a.Name}, {d.Name})");
                    break;
                }
                case 4: Add(TF.Maximum(a.T, b.T), Math.Max(a.Lo, b.Lo), Math.Max(a.Hi, b.Hi), exact, $"Maximum({a.Name}, {b.Name})"); break;
                default: Add(TF.Minimum(a.T, b.T), Math.Min(a.Lo, b.Lo), Math.Min(a.Hi, b.Hi), exact, $"Minimum({a.Name}, {b.Name})"); break;
            }
        }

        /// <summary>A bool value: a comparison of exact values (so both modes agree exactly), or logic on bools.</summary>
        private Node Condition()
        {
            if (_rng.Next(4) == 0 && _pool.Any(n => n.DType == DType.Bool))
            {
                var c = Choose(n => n.DType == DType.Bool);
                if (_rng.Next(2) == 0) return Add(TF.LogicalNot(c.T), 0, 1, true, $"LogicalNot({c.Name})");
                var d = Choose(n => n.DType == DType.Bool && Combinable(c.Dims, n.Dims));
                return _rng.Next(2) == 0
                    ? Add(TF.LogicalAnd(c.T, d.T), 0, 1, true, $"LogicalAnd({c.Name}, {d.Name})")
                    : Add(TF.LogicalOr(c.T, d.T), 0, 1, true, $"LogicalOr({c.Name}, {d.Name})");
            }
            var x = Choose(n => n.IsNumeric && n.Exact);
            Tensor other;
            string otherName;
            if (_rng.Next(2) == 0)
            {
                var threshold = x.IsInt ? Math.Round((x.Lo + x.Hi) / 2) : Math.Round(x.Lo + (x.Hi - x.Lo) * _rng.NextDouble(), 2);
                other = TF.Constant(HostTensor.Scalar(threshold), x.DType);
                otherName = $"{threshold}";
            }
            else
            {
                var y = Choose(n => n.DType == x.DType && n.Exact && Combinable(x.Dims, n.Dims));
                (other, otherName) = (y.T, y.Name);
            }
            var (op, name) = Pick<(Func<Tensor, Tensor, Tensor>, string)>(
                ((a, b) => TF.Greater(a, b), "Greater"), ((a, b) => TF.Less(a, b), "Less"), ((a, b) => TF.GreaterEqual(a, b), "GreaterEqual"),
                ((a, b) => TF.LessEqual(a, b), "LessEqual"), ((a, b) => TF.NotEqual(a, b), "NotEqual"), ((a, b) => TF.Equal(a, b), "Equal"));
            return Add(op(x.T, other), 0, 1, true, $"{name}({x.Name}, {otherName})");
        }

        private void WhereStep()
        {
            var c = Condition();
            var a = Choose(n => n.IsNumeric && Combinable(c.Dims, n.Dims));
            var b = _rng.Next(5) == 0 ? Source(a.DType, FamilyDims(), -1, 1, "fill") : Choose(n => n.DType == a.DType && Combinable(c.Dims, a.Dims, n.Dims));
            if (!Combinable(c.Dims, a.Dims, b.Dims)) throw new SkipStep();
            // TF2 semantics (broadcasting throughout), as the reference evaluates it.
            Add(TF.WhereV2(c.T, a.T, b.T), Math.Min(a.Lo, b.Lo), Math.Max(a.Hi, b.Hi), a.Exact && b.Exact, $"WhereV2({c.Name}, {a.Name}, {b.Name})");
        }

        private void CastStep()
        {
            switch (_rng.Next(4))
            {
                case 0:
                {
                    var x = Choose(n => n.DType == _float);
                    Add(TF.Cast(x.T, _otherFloat), x.Lo, x.Hi, x.Exact, $"Cast({x.Name}, {_otherFloat.Name()})");
                    break;
                }
                case 1:
                {
                    var x = Choose(n => n.DType == _otherFloat || (n.IsInt && n.Mag < 1 << 20) || n.DType == DType.Bool);
                    Add(TF.Cast(x.T, _float), x.Lo, x.Hi, x.Exact, $"Cast({x.Name}, {_float.Name()})");
                    break;
                }
                case 2:
                {
                    // float -> int truncates: only exact values, so both modes truncate the same numbers.
                    var x = Bounded(Choose(n => n.IsFloat && n.Exact), 1000);
                    var to = Pick(DType.Int32, DType.Int64);
                    var scaled = Add(x.T * 10.0, x.Lo * 10, x.Hi * 10, true, $"{x.Name} * 10");
                    Add(TF.Cast(scaled.T, to), Math.Floor(scaled.Lo), Math.Ceiling(scaled.Hi), true, $"Cast({scaled.Name}, {to.Name()})");
                    break;
                }
                default:
                {
                    var x = Choose(n => n.IsInt);
                    var to = x.DType == DType.Int32 ? DType.Int64 : DType.Int32;
                    Add(TF.Cast(x.T, to), x.Lo, x.Hi, true, $"Cast({x.Name}, {to.Name()})");
                    break;
                }
            }
        }

        /// <summary>Integer arithmetic (exact in both modes).</summary>
        private void IntStep()
        {
            var a = Choose(n => n.IsInt && n.Mag < 1e6);
            switch (_rng.Next(7))
            {
                case 0: Add(-a.T, -a.Hi, -a.Lo, true, $"Neg({a.Name})"); return;
                case 1: Add(TF.Abs(a.T), 0, a.Mag, true, $"Abs({a.Name})"); return;
                case 2 when a.Mag < 1000: Add(TF.Square(a.T), 0, a.Mag * a.Mag, true, $"Square({a.Name})"); return;
            }
            var b = Choose(n => n.DType == a.DType && n.Mag < 1e6 && Combinable(a.Dims, n.Dims));
            switch (_rng.Next(6))
            {
                case 0: Add(a.T + b.T, a.Lo + b.Lo, a.Hi + b.Hi, true, $"Add({a.Name}, {b.Name})"); break;
                case 1: Add(a.T - b.T, a.Lo - b.Hi, a.Hi - b.Lo, true, $"Sub({a.Name}, {b.Name})"); break;
                case 2 when a.Mag * b.Mag < 1e9:
                {
                    var p = new[] { a.Lo * b.Lo, a.Lo * b.Hi, a.Hi * b.Lo, a.Hi * b.Hi };
                    Add(a.T * b.T, p.Min(), p.Max(), true, $"Mul({a.Name}, {b.Name})");
                    break;
                }
                case 3:
                {
                    var abs = Add(TF.Abs(b.T), 0, b.Mag, true, $"Abs({b.Name})");
                    var d = Add(abs.T + TF.Constant(HostTensor.Scalar(1), b.DType), 1, b.Mag + 1, true, $"{abs.Name} + 1");
                    Add(a.T / d.T, -a.Mag, a.Mag, true, $"Div({a.Name}, {d.Name})");
                    break;
                }
                case 4: Add(TF.Maximum(a.T, b.T), Math.Max(a.Lo, b.Lo), Math.Max(a.Hi, b.Hi), true, $"Maximum({a.Name}, {b.Name})"); break;
                default: Add(TF.Minimum(a.T, b.T), Math.Min(a.Lo, b.Lo), Math.Min(a.Hi, b.Hi), true, $"Minimum({a.Name}, {b.Name})"); break;
            }
        }

        private void ReduceStep()
        {
            var x = Choose(n => n.IsNumeric && n.Dims.Length > 0);
            var rank = x.Dims.Length;
            int[]? axes = _rng.Next(7) switch
            {
                0 => null,                                              // all
                1 => [0],                                               // leading
                2 => rank >= 2 ? [0, 1] : [0],                          // leading two
                3 => rank >= 2 ? [rank - 2, rank - 1] : [-1],           // trailing two
                4 => rank == 3 ? [1] : [-1],                            // middle
                _ => _rng.Next(2) == 0 ? [rank - 1] : [-1],             // trailing
            };
            var resolved = axes == null ? Enumerable.Range(0, rank).ToArray() : axes.Select(a => a < 0 ? a + rank : a).Distinct().ToArray();
            var count = resolved.Aggregate(1L, (p, a) => p * x.Dims[a]);
            var keep = _rng.Next(2) == 0;
            var keptDims = x.Dims.Select((d, i) => resolved.Contains(i) ? 1 : d).ToArray();
            var what = $"{x.Name} axes {(axes == null ? "all" : Shape.Format(axes))}{(keep ? " keepDims" : "")}";
            switch (x.IsFloat ? _rng.Next(4) : _rng.Next(3))
            {
                case 0:
                    if (x.IsInt && x.Mag * count > 1e9) throw new SkipStep();
                    Add(TF.ReduceSum(x.T, axes, keep), Math.Min(x.Lo * count, x.Lo), Math.Max(x.Hi * count, x.Hi), x.IsInt,
                        $"ReduceSum({what})", keep ? null : keptDims);
                    break;
                case 1: Add(TF.ReduceMax(x.T, axes, keep), x.Lo, x.Hi, x.Exact, $"ReduceMax({what})", keep ? null : keptDims); break;
                case 2: Add(TF.ReduceMin(x.T, axes, keep), x.Lo, x.Hi, x.Exact, $"ReduceMin({what})", keep ? null : keptDims); break;
                default: Add(TF.ReduceMean(x.T, axes, keep), x.Lo, x.Hi, false, $"ReduceMean({what})", keep ? null : keptDims); break;
            }
        }

        /// <summary>A reduction result without its kept axes, reshaped (a view) back into the broadcast family.</summary>
        private void ReshapeStep()
        {
            var x = Choose(n => n.KeptDims != null && !n.KeptDims.AsSpan().SequenceEqual(n.Dims));
            Add(TF.Reshape(x.T, x.KeptDims!), x.Lo, x.Hi, x.Exact, $"Reshape({x.Name}, {Shape.Format(x.KeptDims!)})");
        }

        /// <summary>x · W (W constant, variable or fed) followed by an element-wise epilogue.</summary>
        private void MatMulStep()
        {
            if (_base.Length != 2 || (long)_base[0] * _base[1] * _base[1] > 200_000_000) throw new SkipStep();
            var x = Bounded(Choose(n => n.IsFloat && n.Dims.AsSpan().SequenceEqual(_base)), 4);
            var c = _base[1];
            var w = RandomData(_rng, x.DType, [c, c], -1 / Math.Sqrt(c), 1 / Math.Sqrt(c));
            var transposeB = _rng.Next(3) == 0;
            var weights = w.Data is float[] f ? f.Select(v => (double)v).ToArray() : (double[])w.Data;
            // |(x W)_ij| <= max|x| * max_j sum_k |W_kj| (rows of W when transposed).
            var columnSum = Enumerable.Range(0, c).Max(j => Enumerable.Range(0, c).Sum(k => Math.Abs(transposeB ? weights[j * c + k] : weights[k * c + j])));
            Tensor wt;
            string kind;
            switch (_rng.Next(3))
            {
                case 0:
                    wt = TF.Constant(w);
                    kind = "const";
                    break;
                case 1:
                    var v = TF.Variable(w, name: "W");
                    _vars.Add(new VariableState(v, -1, 1));
                    wt = v.Value;
                    kind = "variable";
                    break;
                default:
                    wt = TF.Placeholder(x.DType, new Shape(c, c));
                    Feeds[wt] = w;
                    kind = "feed";
                    break;
            }
            var bound = x.Mag * columnSum;
            var y = Add(TF.MatMul(x.T, wt, transposeB: transposeB), -bound, bound, false, $"MatMul({x.Name}, {kind} W{(transposeB ? "ᵀ" : "")})");
            if (_rng.Next(5) != 0)
            {
                var bias = Source(x.DType, _rng.Next(3) == 0 ? [] : [c], -0.5, 0.5, "const");
                y = Add(y.T + bias.T, y.Lo - 0.5, y.Hi + 0.5, false, $"Add({y.Name}, {bias.Name})");
            }
            switch (_rng.Next(5))
            {
                case 0: Add(TF.Relu(y.T), 0, Math.Max(0, y.Hi), false, $"Relu({y.Name})"); break;
                case 1: Add(TF.Tanh(y.T), Math.Tanh(y.Lo), Math.Tanh(y.Hi), false, $"Tanh({y.Name})"); break;
                case 2: Add(TF.Sigmoid(y.T), Sigmoid(y.Lo), Sigmoid(y.Hi), false, $"Sigmoid({y.Name})"); break;
                case 3: Add(y.T * 0.5, y.Lo * 0.5, y.Hi * 0.5, false, $"{y.Name} * 0.5"); break;
            }
        }

        private void SoftmaxStep()
        {
            var x = Choose(n => n.IsFloat && n.Dims.Length > 0 && n.Dims[^1] > 1);
            if (_rng.Next(2) == 0) Add(TF.Nn.Softmax(x.T), 0, 1, false, $"Softmax({x.Name})");
            else Add(TF.Nn.LogSoftmax(x.T), x.Lo - x.Hi - Math.Log(x.Dims[^1]) - 1, 0, false, $"LogSoftmax({x.Name})");
        }

        private void NewVariable()
        {
            var dims = _rng.Next(3) == 0 ? FamilyDims() : _base;
            var (lo, hi) = (-1.0, 1.0);
            var v = TF.Variable(RandomData(_rng, _float, dims, lo, hi), name: "v");
            var state = new VariableState(v, lo, hi);
            _vars.Add(state);
            Add(v.Value, lo, hi, true, $"read {v.Name} (before any update)");
        }

        /// <summary>Assign or AssignAdd (a target; its output joins the pool), or a read placed after the updates so far.</summary>
        private void VariableStep()
        {
            var st = _vars[_rng.Next(_vars.Count)];
            var v = st.V;
            var dims = v.Shape.Dims;
            var kind = _rng.Next(3);
            if (kind == 2)
            {
                Add(TF.Identity(v.Op.Output), st.Lo, st.Hi, st.Exact, $"read {v.Name} (after the updates so far)");
                return;
            }
            var value = Choose(n => n.DType == v.DType && Combinable(dims, n.Dims) && Broadcast(dims, n.Dims)!.AsSpan().SequenceEqual(dims));
            if (!value.Dims.AsSpan().SequenceEqual(dims))
            {
                var zero = Source(v.DType, dims, 0, 0, "fill");
                value = Add(value.T + zero.T, value.Lo, value.Hi, value.Exact, $"Add({value.Name}, {zero.Name})");
            }
            value = Bounded(value, 50);
            Tensor updated;
            if (kind == 0)
            {
                updated = v.Assign(value.T);
                (st.Lo, st.Hi, st.Exact) = (value.Lo, value.Hi, value.Exact);
                Add(updated, st.Lo, st.Hi, st.Exact, $"Assign({v.Name}, {value.Name})");
            }
            else
            {
                if (st.Mag > 1e4) throw new SkipStep();
                updated = v.AssignAdd(value.T);
                (st.Lo, st.Hi, st.Exact) = (st.Lo + value.Lo, st.Hi + value.Hi, st.Exact && value.Exact);
                Add(updated, st.Lo, st.Hi, st.Exact, $"AssignAdd({v.Name}, {value.Name})");
            }
            _assigns.Add(updated);
        }
    }
}
