#:project ../../Graph.Kernels/Graph.Kernels.csproj
#:project ../../Graph.Rnn/Graph.Rnn.csproj
#:property PublishAot=false
// Notebook section 3: one [None, n_steps, n_inputs] placeholder, unstacked into time steps for static_rnn.
using Graph.Core;
using Graph.Kernels;
using Graph.Rnn;

TF.ResetDefaultGraph(seed: 42);
const int nSteps = 2, nInputs = 3, nNeurons = 5;
var X = TF.Placeholder(DType.Float32, new Shape(-1, nSteps, nInputs));
var XSeqs = TF.Unstack(TF.Transpose(X, perm: [1, 0, 2]));
var basicCell = new SimpleRNNCell(units: nNeurons);
var (outputSeqs, states) = Rnn.StaticRnn(basicCell, XSeqs, dtype: DType.Float32);
var outputs = TF.Transpose(TF.Stack(outputSeqs), perm: [1, 0, 2]);
var init = TF.GlobalVariablesInitializer();

float[,,] X_batch =
{
    { { 0, 1, 2 }, { 9, 8, 7 } }, // instance 1
    { { 3, 4, 5 }, { 0, 0, 0 } }, // instance 2
    { { 6, 7, 8 }, { 6, 5, 4 } }, // instance 3
    { { 9, 0, 1 }, { 3, 2, 1 } }, // instance 4
};
using var sess = new Session();
init.Run(sess);
var outputs_val = outputs.Eval(sess, new FeedDict { { X, X_batch } });
Console.WriteLine(outputs_val.Transpose(1, 0, 2)[1]);
