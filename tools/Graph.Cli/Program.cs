// graph — train the notebook's MNIST RNN, list devices, export graphs as DOT.
return Graph.Cli.CliApp.Run(args);
