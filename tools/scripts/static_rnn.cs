#:project ../../Graph.Kernels/Graph.Kernels.csproj
#:project ../../Graph.Rnn/Graph.Rnn.csproj
#:property PublishAot=false
// Notebook section 2: static_rnn over two time steps with a Keras SimpleRNNCell.
using Graph.Core;
using Graph.Kernels;
using Graph.Rnn;

TF.ResetDefaultGraph(seed: 42);
const int nInputs = 3, nNeurons = 5;
var X0 = TF.Placeholder(DType.Float32, new Shape(-1, nInputs));
var X1 = TF.Placeholder(DType.Float32, new Shape(-1, nInputs));
var basicCell = new SimpleRNNCell(units: nNeurons);
var (outputSeqs, states) = Rnn.StaticRnn(basicCell, [X0, X1], dtype: DType.Float32);
var (Y0, Y1) = (outputSeqs[0], outputSeqs[1]);
var init = TF.GlobalVariablesInitializer();

int[,] X0_batch = { { 0, 1, 2 }, { 3, 4, 5 }, { 6, 7, 8 }, { 9, 0, 1 } };
int[,] X1_batch = { { 9, 8, 7 }, { 0, 0, 0 }, { 6, 5, 4 }, { 3, 2, 1 } };
using var sess = new Session();
init.Run(sess);
var (Y0_val, Y1_val) = sess.Run(Y0, Y1, new FeedDict { { X0, X0_batch }, { X1, X1_batch } });
Console.WriteLine(Y0_val);
Console.WriteLine(Y1_val);
