using System.CommandLine;
using Graph.Core;

namespace Graph.Cli;

/// <summary>The <c>graph</c> command line: <c>devices</c>, <c>train</c>, <c>dot</c>, <c>export</c>.</summary>
public static class CliApp
{
    /// <summary>
    /// Parses <paramref name="args"/> and runs the command; returns the exit code: 0 on success, 2 for a usage error or
    /// a user error (unknown device, missing or bad data set, corrupt checkpoint, unwritable path: one line on stderr,
    /// no stack trace), 1 for an internal error (its stack trace follows, for a bug report).
    /// </summary>
    public static int Run(string[] args)
    {
        var root = new RootCommand("Graph: a define-then-run computation graph engine for .NET (TF1 style).");
        root.Subcommands.Add(DevicesCommand.Create());
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(DotCommand.Create());
        root.Subcommands.Add(ExportCommand.Create());
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors) Console.Error.WriteLine($"graph: {OneLine(error.Message)}");
            Console.Error.WriteLine("Run 'graph --help' (or 'graph COMMAND --help') for usage.");
            return 2;
        }
        try
        {
            return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (UserError(e) is { } message)
        {
            Console.Error.WriteLine($"graph: {message}");
            return 2;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"graph: internal error, please report it: {e}");
            return 1;
        }
    }

    /// <summary>The one-line message of an error the user can fix, or null for an internal error.</summary>
    internal static string? UserError(Exception e)
    {
        while (e is AggregateException { InnerExceptions.Count: 1 } or System.Reflection.TargetInvocationException && e.InnerException != null) e = e.InnerException!;
        return e switch
        {
            InternalException => null,
            GraphException or IOException or UnauthorizedAccessException or InvalidDataException or NotSupportedException => OneLine(e.Message),
            // An unavailable device; the argument exceptions of bugs (out of range, null) stay internal errors.
            ArgumentException when e.GetType() == typeof(ArgumentException) => OneLine(e.Message),
            _ => null,
        };
    }

    private static string OneLine(string message) => string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    /// <summary>
    /// Checks before any work that <paramref name="path"/> can be written as a file (its directory is created when
    /// missing); throws an <see cref="IOException"/> naming <paramref name="option"/> otherwise.
    /// </summary>
    internal static string WritableFile(string path, string option)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new IOException($"{option} '{path}' is a directory; give a file name.");
        Probe(Path.GetDirectoryName(full)!, path, option);
        if (File.Exists(full))
            try
            {
                using var existing = new FileStream(full, FileMode.Open, FileAccess.Write);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new IOException($"Cannot write {option} '{path}': {e.Message}", e);
            }
        return full;
    }

    /// <summary>Checks before any work that files can be written in directory <paramref name="path"/> (created when missing).</summary>
    internal static string WritableDirectory(string path, string option)
    {
        var full = Path.GetFullPath(path);
        if (File.Exists(full)) throw new IOException($"{option} '{path}' is a file; give a directory.");
        Probe(full, path, option);
        return full;
    }

    private static void Probe(string directory, string path, string option)
    {
        try
        {
            Directory.CreateDirectory(directory);
            using var probe = new FileStream(Path.Combine(directory, $".graph-write-check-{Guid.NewGuid():N}"), FileMode.CreateNew, FileAccess.Write,
                FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"Cannot write {option} '{path}': {e.Message}", e);
        }
    }
}
