using System.Diagnostics;
using System.Globalization;
using Graph.Core;
using Graph.Core.Data;
using Graph.Kernels;

namespace Graph.Cli;

/// <summary>
/// Which batch a training step gets: step <c>s</c> is batch <c>s % n</c> of epoch <c>s / n</c> (n batches per
/// epoch), and epoch <c>e</c> shuffles with seed <c>seed + e</c> as <c>graph train</c> does; so a run resumed at any
/// step sees the batches an unbroken run would.
/// </summary>
internal sealed class TrainingSchedule(HostTensor images, HostTensor labels, int batchSize, int seed)
{
    private int _epoch = -1;
    private List<(HostTensor X, HostTensor y)> _batches = [];

    /// <summary>Batches per epoch (the last one may be smaller).</summary>
    public int BatchesPerEpoch { get; } = (images.DimsSpan[0] + batchSize - 1) / batchSize;

    /// <summary>The images and labels of global step <paramref name="step"/> (counted from 0).</summary>
    public (HostTensor X, HostTensor y) Batch(long step)
    {
        var epoch = checked((int)(step / BatchesPerEpoch));
        if (epoch != _epoch)
        {
            _batches = Batches.ShuffleBatch(images, labels, batchSize, seed + epoch).ToList();
            _epoch = epoch;
        }
        return _batches[(int)(step % BatchesPerEpoch)];
    }
}

/// <summary>
/// <c>graph train --graph FILE</c>: trains a saved graph that this program did not build. What to run comes from the
/// graph itself: the signature <see cref="Signature.Train"/> (inputs <c>images</c> and <c>labels</c>, output
/// <c>loss</c>, optional output <c>accuracy</c>), the first op of collection <see cref="GraphKeys.TrainOp"/>, and the
/// variable of collection <see cref="GraphKeys.GlobalStep"/> (created when absent) that counts steps across runs.
/// </summary>
internal static class SavedGraphTraining
{
    /// <summary>
    /// The saver of <c>--checkpoint DIR</c> (null without one, keeping 3 checkpoints) after restoring the latest
    /// checkpoint in DIR, or, when there is none, after running <paramref name="init"/>.
    /// </summary>
    public static Saver? ResumeOrInitialise(Session sess, string? checkpointDir, Operation init, bool report = true)
    {
        var saver = checkpointDir == null ? null : new Saver(maxToKeep: 3);
        var latest = checkpointDir == null ? null : Saver.LatestCheckpoint(checkpointDir);
        if (latest != null)
        {
            saver!.Restore(sess, latest);
            if (report) Console.Error.WriteLine($"resumed from {latest}");
        }
        else sess.Run(init);
        return saver;
    }

    /// <summary>The saved graph at <paramref name="path"/>, or null after printing why it cannot be read.</summary>
    public static ComputeGraph? LoadOrReport(string path)
    {
        try
        {
            return ComputeGraph.Load(path);
        }
        catch (Exception e) when (e is SavedGraphException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine(e.Message);
            return null;
        }
    }

    public static int Run(string graphPath, MnistData data, int epochs, int? steps, int batchSize, string device, string? checkpointDir, string? plotPath, int seed)
    {
        if (LoadOrReport(graphPath) is not { } g) return 1;
        using var scope = g.AsDefault();
        string? missing = null;
        var signature = Signature.Find(g, Signature.Train);
        if (signature == null) missing = $"a signature named '{Signature.Train}' (collection '{GraphKeys.Signatures}')";
        else
            foreach (var (key, inputs) in new[] { ("images", true), ("labels", true), ("loss", false) })
                if (!(inputs ? signature.Inputs : signature.Outputs).ContainsKey(key))
                    missing ??= $"{(inputs ? "input" : "output")} '{key}' in signature '{Signature.Train}'";
        var trainOp = g.GetCollection<Operation>(GraphKeys.TrainOp).FirstOrDefault();
        if (trainOp == null) missing ??= $"an op in collection '{GraphKeys.TrainOp}'";
        if (missing != null)
        {
            Console.Error.WriteLine($"'{graphPath}' cannot be trained: it lacks {missing} (see docs/interop.md, \"Training a saved graph\").");
            return 2;
        }
        var (images, labels, loss) = (signature!.Inputs["images"], signature.Inputs["labels"], signature.Outputs["loss"]);
        var accuracy = signature.Outputs.GetValueOrDefault("accuracy");
        var globalStep = g.GetCollection<Variable>(GraphKeys.GlobalStep).FirstOrDefault();
        if (globalStep == null)
        {
            globalStep = TF.Variable(TF.Constant(0), name: "global_step", trainable: false);
            using (g.ControlDependencies([trainOp!])) trainOp = globalStep.AssignAdd(TF.Constant(1)).Op;
        }
        var init = TF.GlobalVariablesInitializer();

        using var sess = new Session(g, new SessionOptions { Device = device });
        var saver = ResumeOrInitialise(sess, checkpointDir, init);

        var schedule = new TrainingSchedule(data.TrainImages, data.TrainLabels, batchSize, seed);
        var step = sess.Run(globalStep.Value).Item<long>();
        FeedDict Feed(long s)
        {
            var (x, y) = schedule.Batch(s);
            return new FeedDict { { images, x }, { labels, y } };
        }
        void Save() => saver?.Save(sess, Path.Combine(checkpointDir!, "model"), globalStep: checked((int)sess.Run(globalStep.Value).Item<long>()));

        if (steps is { } count)
        {
            // One line per step with the loss in round-trip form, so two runs can be compared bit for bit.
            for (var i = 0; i < count; i++, step++)
            {
                var value = sess.Run([loss], [trainOp!], Feed(step))[0].Item<float>();
                Console.WriteLine($"step {step + 1} loss {value.ToString("R", CultureInfo.InvariantCulture)}");
            }
            Save();
            return 0;
        }

        var testFeed = new FeedDict { { images, data.TestImages }, { labels, data.TestLabels } };
        var history = new List<(int Epoch, double Loss, double TrainAcc, double TestAcc)>();
        for (var epoch = (int)(step / schedule.BatchesPerEpoch); epoch < epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            FeedDict? last = null;
            for (; step < (long)(epoch + 1) * schedule.BatchesPerEpoch; step++) sess.Run(trainOp!, last = Feed(step));
            // The report of `graph train`: loss and accuracy of the epoch's last batch, and test accuracy.
            var lossValue = last == null ? 0f : sess.Run(loss, last).Item<float>();
            if (accuracy == null) Console.WriteLine($"epoch {epoch} loss {lossValue:F4} time {clock.Elapsed.TotalSeconds:F2}s");
            else
            {
                var trainAcc = last == null ? 0f : sess.Run(accuracy, last).Item<float>();
                var testAcc = sess.Run(accuracy, testFeed).Item<float>();
                Console.WriteLine($"epoch {epoch} loss {lossValue:F4} train_acc {trainAcc:F4} test_acc {testAcc:F4} time {clock.Elapsed.TotalSeconds:F2}s");
                history.Add((epoch, lossValue, trainAcc, testAcc));
            }
            Save();
        }
        if (plotPath != null) Plot.Write(plotPath, history);
        return 0;
    }
}
