using System.Diagnostics;
using Graph.Core;
using Graph.Kernels;
using Graph.Kernels.Fusion;
using static Graph.Bench.Measure;

namespace Graph.Bench;

internal sealed partial class Scenarios
{
    /// <summary>
    /// Where one Graph training step's time goes. The step is timed whole (Run of the training op), without Adam (Run of
    /// the gradients) and forward only (Run of the loss); the recurrent cell's kernels are timed in isolation with a
    /// Stopwatch around Session.Run of sub-graphs on fed placeholders of the loop body's shapes; the rest is by difference.
    /// </summary>
    public void ProfileStep()
    {
        const int batch = BenchData.BatchSize, units = GraphRnn.Units, inputs = GraphRnn.Inputs, steps = GraphRnn.Steps;
        var profile = new Profile();
        var batches = BenchData.FullBatches(seed: 1);
        using var model = new GraphRnn(withGradients: true);
        var at = 0;
        Func<double> PerStep(Action<FeedDict> run) => () =>
        {
            var sw = Stopwatch.StartNew();
            for (var s = 0; s < StepsPerSample; s++)
            {
                var (x, y) = batches[at++ % batches.Count];
                run(model.Feed(x, y));
            }
            return sw.Elapsed.TotalMilliseconds / StepsPerSample;
        };
        var contenders = new[]
        {
            PerStep(f => model.Session.Run(model.TrainingOp, f)),
            PerStep(f => model.Session.Run(model.Gradients, f)),
            PerStep(f => model.Session.Run(model.Loss, f)),
        };
        foreach (var c in contenders) WarmUp(c, seconds: 1.5, minSamples: 5);
        model.Session.Run(model.TrainingOp, model.Feed(batches[0].X, batches[0].Y));
        var plan = model.Session.LastPlan!;
        profile.StepPlanSummary = $"{plan.Kernels.Count} kernels for {plan.Operations.Count} ops: " + string.Join(", ",
            plan.Kernels.GroupBy(k => Category(k.Group)).OrderByDescending(g => g.Count()).Select(g => $"{g.Count()} {g.Key}"));
        var s = Interleave(reps, contenders);
        (profile.StepMs, profile.ForwardBackwardMs, profile.ForwardMs) = (Median(s[0]), Median(s[1]), Median(s[2]));

        // Session's own per-kernel profile (SessionOptions.Profile): every kernel, loop bodies included, timed by Stopwatch.
        using (var profiled = new GraphRnn(profile: true))
        {
            var n = 0;
            void ProfiledSteps(int count)
            {
                for (var i = 0; i < count; i++)
                {
                    var (bx, by) = batches[n++ % batches.Count];
                    profiled.Step(bx, by);
                }
            }
            ProfiledSteps(20);
            profiled.Session.Profile!.Clear();
            const int profiledSteps = 30;
            var clock = Stopwatch.StartNew();
            ProfiledSteps(profiledSteps);
            profile.ProfiledStepMs = clock.Elapsed.TotalMilliseconds / profiledSteps;
            profile.KernelTotalMs = profiled.Session.Profile.Total.TotalMilliseconds / profiledSteps;
            foreach (var (kernel, count, time) in profiled.Session.Profile.Entries)
                profile.Kernels.Add((kernel, (double)count / profiledSteps, time.TotalMilliseconds / profiledSteps));
        }

        // The loop body's kernels in isolation: one time step of the cell, forward and backward, on fed placeholders.
        var g = new ComputeGraph();
        Tensor x, h, wx, wh, b, dh, hn, mmX, mmH, z1, z2, ew, dzFed, hFed, xFed;
        Tensor[] cellGrads;
        Tensor mmDWx, mmDWh, mmDh, tanhGrad, biasGrad;
        using (g.AsDefault())
        {
            x = TF.Placeholder(DType.Float32, new Shape(batch, inputs), "x_t");
            h = TF.Placeholder(DType.Float32, new Shape(batch, units), "h");
            wx = TF.Placeholder(DType.Float32, new Shape(inputs, units), "Wx");
            wh = TF.Placeholder(DType.Float32, new Shape(units, units), "Wh");
            b = TF.Placeholder(DType.Float32, new Shape(units), "b");
            dh = TF.Placeholder(DType.Float32, new Shape(batch, units), "dh_next");
            hn = TF.Tanh(TF.MatMul(x, wx) + TF.MatMul(h, wh) + b);
            cellGrads = TF.Gradients([hn], [wx, wh, b, h], [dh]).Select(t => t!).ToArray();
            mmX = TF.MatMul(x, wx);
            mmH = TF.MatMul(h, wh);
            z1 = TF.Placeholder(DType.Float32, new Shape(batch, units), "xWx");
            z2 = TF.Placeholder(DType.Float32, new Shape(batch, units), "hWh");
            ew = TF.Tanh(z1 + z2 + b);
            dzFed = TF.Placeholder(DType.Float32, new Shape(batch, units), "dz");
            hFed = TF.Placeholder(DType.Float32, new Shape(batch, units), "h_saved");
            xFed = TF.Placeholder(DType.Float32, new Shape(batch, inputs), "x_saved");
            mmDWx = TF.MatMul(xFed, dzFed, transposeA: true);
            mmDWh = TF.MatMul(hFed, dzFed, transposeA: true);
            mmDh = TF.MatMul(dzFed, wh, transposeB: true);
            tanhGrad = dh * (1.0 - TF.Square(hFed));
            biasGrad = TF.ReduceSum(dzFed, [0]);
        }
        HostTensor R(int rows, int cols, int seed) => HostTensor.From(RandomFloats(rows * cols, seed), rows, cols);
        var feed = new FeedDict
        {
            { x, R(batch, inputs, 1) }, { h, R(batch, units, 2) }, { wx, R(inputs, units, 3) }, { wh, R(units, units, 4) },
            { b, HostTensor.From(RandomFloats(units, 5), units) }, { dh, R(batch, units, 6) }, { z1, R(batch, units, 7) },
            { z2, R(batch, units, 8) }, { dzFed, R(batch, units, 9) }, { hFed, R(batch, units, 10) }, { xFed, R(batch, inputs, 11) },
            { hn, R(batch, units, 12) },
        };
        using var session = new Session(g);
        // Each sub-graph gets only the feeds it reads, so its plan is what the loop body's would be for that part.
        // (name, fetches, feeds, the GEMM shape in the gemm scenario's names, or "")
        (string Name, Tensor[] Fetches, FeedDict Feed, string Gemm)[] subGraphs =
        [
            ("cell forward (2 matmuls + add, bias, tanh)", [hn], Only(feed, x, h, wx, wh, b), ""),
            ("  matmul x_t·Wx [150,28]·[28,150]", [mmX], Only(feed, x, wx), "150x28x150"),
            ("  matmul h·Wh [150,150]·[150,150]", [mmH], Only(feed, h, wh), "150x150x150"),
            ("  add + bias + tanh", [ew], Only(feed, z1, z2, b), ""),
            // h' fed as the saved forward value (any tensor may be fed), so the plan is the gradient alone, as in the loop's backward.
            ("cell backward (gradients for Wx, Wh, b, h)", cellGrads, Only(feed, x, h, wx, wh, b, dh, hn), ""),
            ("  matmul dWx = x_tᵀ·dz [28,150]", [mmDWx], Only(feed, xFed, dzFed), "28x150x150-tn"),
            ("  matmul dWh = hᵀ·dz [150,150]", [mmDWh], Only(feed, hFed, dzFed), "150x150x150-tn"),
            ("  matmul dh = dz·Whᵀ [150,150]", [mmDh], Only(feed, dzFed, wh), "150x150x150-nt"),
            ("  tanh gradient dh·(1−h²)", [tanhGrad], Only(feed, dh, hFed), ""),
            ("  bias gradient Σ_batch dz", [biasGrad], Only(feed, dzFed), ""),
        ];
        foreach (var sg in subGraphs) WarmUp(() => MsPerCallFor(10, () => session.Run(sg.Fetches, sg.Feed)), seconds: 0.2, minSamples: 3);
        var kernels = subGraphs.Select(sg =>
        {
            session.Run(sg.Fetches, sg.Feed);
            return session.LastPlan!.Kernels.Count;
        }).ToArray();
        session.Run(subGraphs[0].Fetches, subGraphs[0].Feed);
        profile.CellPlanDescribe = session.LastPlan!.Describe();
        session.Run(subGraphs[4].Fetches, subGraphs[4].Feed);
        profile.CellPlanDescribe += "\n\n" + session.LastPlan!.Describe();
        var times = Interleave(reps, subGraphs.Select(sg => (Func<double>)(() => MsPerCallFor(15, () => session.Run(sg.Fetches, sg.Feed)))).ToArray());
        for (var i = 0; i < subGraphs.Length; i++)
            profile.SubGraphs.Add((subGraphs[i].Name, Median(times[i]), kernels[i], subGraphs[i].Gemm));

        // Session.Run's fixed cost, for reading the sub-graph times (each includes one Run).
        var tiny = new ComputeGraph();
        Tensor tx, ty;
        using (tiny.AsDefault())
        {
            tx = TF.Placeholder(DType.Float32, new Shape(16), "x");
            ty = TF.Tanh(tx * 2.0 + 1.0);
        }
        using var tinySession = new Session(tiny);
        var tinyFeed = new FeedDict { { tx, HostTensor.From(RandomFloats(16, 1), 16) } };
        tinySession.Run(ty, tinyFeed);
        profile.EmptyRunUs = Median(Enumerable.Range(0, 5).Select(_ => MsPerCall(5000, () => tinySession.Run(ty, tinyFeed)) * 1000).ToList());

        double Sub(int i) => profile.SubGraphs[i].Ms;
        var cellFwd = steps * Sub(0);
        var cellBwd = steps * Sub(4);
        var fwdMatmul = steps * (Sub(1) + Sub(2));
        var bwdMatmul = steps * (Sub(5) + Sub(6) + Sub(7));
        profile.Parts.Add(("forward: 28 × cell step (sub-graph)", cellFwd, $"28 × {F(Sub(0), 4)} ms; of which matmuls 28 × ({F(Sub(1), 4)} + {F(Sub(2), 4)}) = {F(fwdMatmul, 2)} ms"));
        profile.Parts.Add(("forward: rest (while loop, gather, TensorArray, transpose, dense, xent)", profile.ForwardMs - cellFwd, "Run(loss) − the line above"));
        profile.Parts.Add(("backward: 28 × cell gradient (sub-graph)", cellBwd, $"28 × {F(Sub(4), 4)} ms; of which matmuls 28 × ({F(Sub(5), 4)} + {F(Sub(6), 4)} + {F(Sub(7), 4)}) = {F(bwdMatmul, 2)} ms"));
        profile.Parts.Add(("backward: rest (loop gradient, saved values, accumulation, dense/xent grads)", profile.ForwardBackwardMs - profile.ForwardMs - cellBwd, "Run(gradients) − Run(loss) − the line above"));
        profile.Parts.Add(("Adam update of 5 variables", profile.StepMs - profile.ForwardBackwardMs, "Run(train_op) − Run(gradients)"));
        profile.TorchStepMs = report.Find("rnn-step")?.Peer;
        report.Profile = profile;

        report.Print($"profile step {F(profile.StepMs)} ms (forward {F(profile.ForwardMs)}, forward+backward {F(profile.ForwardBackwardMs)}); plan: {profile.StepPlanSummary}");
        foreach (var (part, ms, how) in profile.Parts)
            report.Print($"profile part {F(ms)} ms ({F(100 * ms / profile.StepMs, 1)}%) {part} [{how}]");
        foreach (var (name, ms, k, _) in profile.SubGraphs)
            report.Print($"profile subgraph {F(ms * 1000, 1)} us, {k} kernel(s): {name.Trim()}");
        report.Print($"profile session-run-fixed-cost {F(profile.EmptyRunUs, 2)} us");
        report.Print($"profile kernels: step {F(profile.ProfiledStepMs)} ms with SessionOptions.Profile on, of which {F(profile.KernelTotalMs)} ms inside kernels ({profile.Kernels.Count} kinds)");
        foreach (var (kernel, calls, ms) in profile.Kernels.Take(15))
            report.Print($"profile kernel {F(ms)} ms/step {F(calls, 0)}x/step {kernel}");
    }

    private static string Category(KernelGroup g) => g.Kind switch
    {
        GroupKind.Single => g.Members[0].GetType().Name.Replace("Prim", "", StringComparison.Ordinal) switch
        {
            "Loop" => "while loop (forward)",
            "LoopGrad" => "while loop (gradient)",
            var other => other.ToLowerInvariant(),
        },
        _ when g.Head != null => "matmul with fused epilogue",
        _ when g.Tail != null => "fused element-wise + reduction",
        _ when g.Members.Any(m => m is AssignVariablePrim) => "fused element-wise with variable update",
        _ => "fused element-wise",
    };

    private static FeedDict Only(FeedDict all, params Tensor[] keys)
    {
        var f = new FeedDict();
        foreach (var k in keys) f[k] = all[k];
        return f;
    }
}
