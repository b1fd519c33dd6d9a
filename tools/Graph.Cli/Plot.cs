namespace Graph.Cli;

/// <summary>Training curves as a PNG (ScottPlot).</summary>
internal static class Plot
{
    public static void Write(string path, IReadOnlyList<(int Epoch, double Loss, double TrainAcc, double TestAcc)> history)
    {
        var plot = new ScottPlot.Plot();
        var epochs = history.Select(h => (double)h.Epoch).ToArray();
        plot.Add.Scatter(epochs, history.Select(h => h.Loss).ToArray()).LegendText = "loss (last batch)";
        plot.Add.Scatter(epochs, history.Select(h => h.TrainAcc).ToArray()).LegendText = "train accuracy (last batch)";
        plot.Add.Scatter(epochs, history.Select(h => h.TestAcc).ToArray()).LegendText = "test accuracy";
        plot.Title("MNIST RNN training");
        plot.XLabel("epoch");
        plot.ShowLegend();
        plot.SavePng(path, 800, 500);
    }
}
