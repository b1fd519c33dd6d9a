using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Graph.Core;
using Graph.Core.Data;
using Graph.Kernels;
using Graph.Rnn;
using NUnit.Framework.Api;
using NUnit.Framework.Interfaces;
using NUnit.Framework.Internal;

// graph-gpu-check tests [--category Cuda]      run Graph.Tests' tests of a category in-process (NUnit's API)
// graph-gpu-check bench [--device cuda] [--peer peer.json] [--profile]
//                                              time the notebook's MNIST RNN training step and epoch on a device

string Option(string name, string fallback)
{
    var i = Array.IndexOf(args, "--" + name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
return args.FirstOrDefault() switch
{
    "tests" => Tests.Run(Option("category", "Cuda")),
    "bench" => Bench.Run(Option("device", "cuda"), Option("peer", ""), args.Contains("--profile")),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: graph-gpu-check tests [--category Cuda] | bench [--device cuda] [--peer peer.json] [--profile]");
    return 2;
}

/// <summary>Runs one category of Graph.Tests through NUnit's framework API and prints one summary line.</summary>
internal static class Tests
{
    public static int Run(string category)
    {
        var assembly = Path.Combine(AppContext.BaseDirectory, "Graph.Tests.dll");
        if (!File.Exists(assembly))
        {
            Console.WriteLine($"{category.ToLowerInvariant()}-tests not run: {assembly} is missing (tools/gpu/build.sh publishes it here)");
            return 1;
        }
        var runner = new NUnitTestAssemblyRunner(new DefaultTestAssemblyBuilder());
        runner.Load(assembly, new Dictionary<string, object>());
        var listener = new Listener();
        var sw = Stopwatch.StartNew();
        var result = runner.Run(listener, TestFilter.FromXml($"<filter><cat>{System.Security.SecurityElement.Escape(category)}</cat></filter>"));
        var (passed, failed, skipped) = (0, 0, 0);
        Count(result, ref passed, ref failed, ref skipped);
        Console.WriteLine($"{category.ToLowerInvariant()}-tests passed {passed} failed {failed} skipped {skipped} ({sw.Elapsed.TotalSeconds:F0} s)");
        if (skipped > 0 && passed == 0 && listener.FirstSkipReason is { } reason) Console.WriteLine($"  skipped because: {reason}");
        return failed == 0 ? 0 : 1;
    }

    private static void Count(ITestResult result, ref int passed, ref int failed, ref int skipped)
    {
        if (result.HasChildren)
        {
            foreach (var child in result.Children) Count(child, ref passed, ref failed, ref skipped);
            return;
        }
        if (result.Test.IsSuite) return;
        switch (result.ResultState.Status)
        {
            case TestStatus.Passed: passed++; break;
            case TestStatus.Failed: failed++; break;
            default: skipped++; break;
        }
    }

    private sealed class Listener : ITestListener
    {
        public string? FirstSkipReason { get; private set; }

        public void TestStarted(ITest test) { }

        public void TestFinished(ITestResult result)
        {
            if (result.Test.IsSuite) return;
            if (result.ResultState.Status == TestStatus.Failed)
                Console.WriteLine($"  FAILED {result.FullName}: {result.Message?.Split('\n')[0].Trim()}");
            else if (result.ResultState.Status == TestStatus.Skipped) FirstSkipReason ??= result.Message;
        }

        public void TestOutput(TestOutput output) { }

        public void SendMessage(TestMessage message) { }
    }
}

/// <summary>
/// The notebook's MNIST RNN (SimpleRNN 150 over 28 rows of 28 pixels, dense 10, Adam, batch 150) trained on a device:
/// median step time after warm-up, the first step (plans and kernels compiled), one epoch of 53 batches, launches per
/// step; with a peer file (tools/gpu/peer_torch.py's JSON) the metric lines against PyTorch on the same GPU.
/// </summary>
internal static class Bench
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(string device, string peerFile, bool profile)
    {
        if (Devices.List().All(d => d.Name != device))
        {
            Console.WriteLine($"metric rnn-step-{device} skipped: no '{device}' device here (devices: {string.Join(", ", Devices.List().Select(d => d.Name))})");
            return 0;
        }
        var peer = peerFile.Length > 0 && File.Exists(peerFile) ? JsonSerializer.Deserialize<Dictionary<string, double>>(File.ReadAllText(peerFile)) : null;
        var digits = Mnist.LoadDigits();
        var batches = Batches.ShuffleBatch(digits.TrainImages, digits.TrainLabels, 150, 0).Where(b => b.X.DimsSpan[0] == 150).ToList();
        var model = NotebookModels.MnistRnn(seed: 42, device: device);
        using var session = new Session(model.Graph, new SessionOptions { Device = device });
        using (model.Graph.AsDefault()) session.Run(TF.GlobalVariablesInitializer());
        FeedDict Feed(int i) => new() { { model.X, batches[i % batches.Count].X }, { model.Y, batches[i % batches.Count].y } };

        var sw = Stopwatch.StartNew();
        session.Run(model.TrainingOp, Feed(0));
        var first = sw.Elapsed.TotalMilliseconds;
        for (var i = 1; i < 20; i++) session.Run(model.TrainingOp, Feed(i));
        var (launches, waits) = (Devices.LaunchCount(device), Devices.WaitCount(device));
        session.Run(model.TrainingOp, Feed(20));
        (launches, waits) = (Devices.LaunchCount(device) - launches, Devices.WaitCount(device) - waits);
        var samples = new List<double>();
        for (var s = 0; s < 7; s++)
        {
            sw.Restart();
            for (var i = 0; i < 10; i++) session.Run(model.TrainingOp, Feed(21 + s * 10 + i));
            session.Run(model.Loss, Feed(0)); // waits for the device
            samples.Add((sw.Elapsed.TotalMilliseconds - 0) / 10);
        }
        samples.Sort();
        var step = samples[samples.Count / 2];
        sw.Restart();
        for (var i = 0; i < batches.Count; i++) session.Run(model.TrainingOp, Feed(i));
        var loss = session.Run(model.Loss, Feed(0)).Item<float>();
        var epoch = sw.Elapsed.TotalMilliseconds;
        Console.WriteLine($"graph {device}: step {F(step)} ms (samples {string.Join(" ", samples.Select(F))}), first step {F(first)} ms, " +
                          $"epoch of {batches.Count} batches {F(epoch)} ms, {launches} launches and {waits} waits per step, loss {F(loss)}; GEMM: {Devices.GemmOf(device)}");
        Metric($"rnn-step-{device}", step, peer?.GetValueOrDefault("nn_rnn_step_ms"), "PyTorch nn.RNN (cuDNN)");
        Metric($"rnn-step-{device}-loop", step, peer?.GetValueOrDefault("loop_step_ms"), "PyTorch hand-written loop");
        Metric($"rnn-epoch-{device}", epoch, peer?.GetValueOrDefault("nn_rnn_epoch_ms"), "PyTorch nn.RNN epoch");
        if (profile)
        {
            using var profiled = new Session(model.Graph, new SessionOptions { Device = device, Profile = true });
            using (model.Graph.AsDefault()) profiled.Run(TF.GlobalVariablesInitializer());
            for (var i = 0; i < 3; i++) profiled.Run(model.TrainingOp, Feed(i));
            profiled.Profile!.Clear();
            for (var i = 0; i < 5; i++) profiled.Run(model.TrainingOp, Feed(i));
            Console.WriteLine("profile of 5 steps (each kernel waited for: per-kernel time, not the step's):");
            foreach (var line in profiled.Profile.ToString().Split('\n').Take(25)) Console.WriteLine("  " + line);
        }
        return 0;
    }

    private static string F(double v) => v.ToString("0.###", Inv);

    private static void Metric(string name, double graph, double? peer, string peerName)
    {
        if (peer is { } p and > 0) Console.WriteLine($"metric {name} graph {F(graph)} peer {F(p)} ratio {F(graph / p)} (ms; peer: {peerName})");
        else Console.WriteLine($"metric {name} graph {F(graph)} peer - ratio - (ms; no {peerName} numbers)");
    }
}
