// graph — train the notebook's MNIST RNN (or a saved graph), list devices, export graphs as DOT, ONNX or saved graphs.
return Graph.Cli.CliApp.Run(args);
