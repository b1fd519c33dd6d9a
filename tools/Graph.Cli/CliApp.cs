using System.CommandLine;

namespace Graph.Cli;

/// <summary>The <c>graph</c> command line: <c>devices</c>, <c>train</c>, <c>dot</c>, <c>export</c>.</summary>
public static class CliApp
{
    /// <summary>Parses <paramref name="args"/> and runs the command; returns the exit code.</summary>
    public static int Run(string[] args)
    {
        var root = new RootCommand("Graph: a define-then-run computation graph engine for .NET (TF1 style).");
        root.Subcommands.Add(DevicesCommand.Create());
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(DotCommand.Create());
        root.Subcommands.Add(ExportCommand.Create());
        return root.Parse(args).Invoke();
    }
}
