using System.CommandLine;
using System.Diagnostics;
using Graph.Core;
using Graph.Rnn;

namespace Graph.Cli;

/// <summary><c>graph dot</c>: writes a notebook model's graph as DOT, optionally rendered to SVG by Graphviz.</summary>
internal static class DotCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "manual-rnn, static-rnn, dynamic-rnn or mnist-rnn." };
        var graph = new Option<string?>("--graph") { Description = "A saved graph file to draw instead of a notebook model." };
        model.AcceptOnlyFromAmong("manual-rnn", "static-rnn", "dynamic-rnn", "mnist-rnn");
        var output = new Option<string>("--output", "-o") { Description = "The .dot file to write.", Required = true };
        var svg = new Option<bool>("--svg") { Description = "Also render FILE.svg with Graphviz's dot." };
        var command = new Command("dot", "Export a notebook model's graph, or a saved graph, as Graphviz DOT.") { model, graph, output, svg };
        command.SetAction(r => Run(r.GetValue(model), r.GetValue(graph), r.GetValue(output)!, r.GetValue(svg)));
        return command;
    }

    private static int Run(string? model, string? graphPath, string output, bool svg)
    {
        if ((model == null) == (graphPath == null))
        {
            Console.Error.WriteLine("Give exactly one of --model and --graph.");
            return 2;
        }
        var graph = graphPath != null ? SavedGraphTraining.LoadOrReport(graphPath) : model switch
        {
            "manual-rnn" => NotebookModels.ManualRnn(),
            "static-rnn" => NotebookModels.StaticRnn(),
            "dynamic-rnn" => NotebookModels.DynamicRnn(),
            _ => NotebookModels.MnistRnn().Graph,
        };
        if (graph == null) return 1;
        File.WriteAllText(output, DotExporter.ToDot(graph, new DotOptions { Title = model ?? Path.GetFileName(graphPath) }));
        Console.WriteLine($"wrote {output}");
        if (!svg) return 0;
        var svgPath = Path.ChangeExtension(output, ".svg");
        try
        {
            using var process = Process.Start(new ProcessStartInfo("dot", ["-Tsvg", output, "-o", svgPath]) { RedirectStandardError = true })!;
            var errors = process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                Console.Error.WriteLine($"Graphviz's dot failed ({process.ExitCode}): {errors}");
                return 1;
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Console.Error.WriteLine("Graphviz's `dot` is not installed, so no SVG was rendered (install it with `apt-get install graphviz`).");
            return 1;
        }
        Console.WriteLine($"wrote {svgPath}");
        return 0;
    }
}
