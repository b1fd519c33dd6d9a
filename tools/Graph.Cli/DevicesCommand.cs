using System.CommandLine;
using Graph.Kernels;

namespace Graph.Cli;

/// <summary><c>graph devices</c>: the devices a Session can run on.</summary>
internal static class DevicesCommand
{
    public static Command Create()
    {
        var command = new Command("devices", "List the devices present.");
        command.SetAction(_ =>
        {
            foreach (var d in Devices.List()) Console.WriteLine($"{d.Name,-10} {d.Description}");
            foreach (var note in Devices.Unusable()) Console.WriteLine($"(unusable) {note}");
            return 0;
        });
        return command;
    }
}
