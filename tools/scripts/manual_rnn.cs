#:project ../../Graph.Kernels/Graph.Kernels.csproj
#:property PublishAot=false
// Notebook section 1: a manual two-step RNN with shared weights, Y(t) = tanh(X(t)·Wx + Y(t-1)·Wy + b).
// With graph seed 42 the weights are TF1's, so the printed arrays are the notebook's.
using Graph.Core;
using Graph.Kernels;

TF.ResetDefaultGraph(seed: 42);

const int nInputs = 3, nNeurons = 5;
var X0 = TF.Placeholder(DType.Float32, new Shape(-1, nInputs));
var X1 = TF.Placeholder(DType.Float32, new Shape(-1, nInputs));

var Wx = TF.Variable(TF.RandomNormal([nInputs, nNeurons], dtype: DType.Float32));
var Wy = TF.Variable(TF.RandomNormal([nNeurons, nNeurons], dtype: DType.Float32));
var b = TF.Variable(TF.Zeros([1, nNeurons], DType.Float32));

var Y0 = TF.Tanh(TF.MatMul(X0, Wx) + b);
var Y1 = TF.Tanh(TF.MatMul(Y0, Wy) + TF.MatMul(X1, Wx) + b);

var init = TF.GlobalVariablesInitializer();

// Mini-batch: instance 0, 1, 2, 3 (int arrays fed to float placeholders are converted, as in TF).
int[,] X0_batch = { { 0, 1, 2 }, { 3, 4, 5 }, { 6, 7, 8 }, { 9, 0, 1 } }; // t = 0
int[,] X1_batch = { { 9, 8, 7 }, { 0, 0, 0 }, { 6, 5, 4 }, { 3, 2, 1 } }; // t = 1

using var sess = new Session();
init.Run(sess);
var (Y0_val, Y1_val) = sess.Run(Y0, Y1, new FeedDict { { X0, X0_batch }, { X1, X1_batch } });

Console.WriteLine(Y0_val);
Console.WriteLine(Y1_val);
