#:project ../../Graph.Kernels/Graph.Kernels.csproj
#:project ../../Graph.Rnn/Graph.Rnn.csproj
#:property PublishAot=false
// Notebook section 4: dynamic_rnn runs the cell in a while loop over a [None, n_steps, n_inputs] input.
using Graph.Core;
using Graph.Kernels;
using Graph.Rnn;

TF.ResetDefaultGraph(seed: 42);
const int nSteps = 2, nInputs = 3, nNeurons = 5;
var X = TF.Placeholder(DType.Float32, new Shape(-1, nSteps, nInputs));
var basicCell = new SimpleRNNCell(units: nNeurons);
var (outputs, states) = Rnn.DynamicRnn(basicCell, X, dtype: DType.Float32);
var init = TF.GlobalVariablesInitializer();

float[,,] X_batch =
{
    { { 0, 1, 2 }, { 9, 8, 7 } },
    { { 3, 4, 5 }, { 0, 0, 0 } },
    { { 6, 7, 8 }, { 6, 5, 4 } },
    { { 9, 0, 1 }, { 3, 2, 1 } },
};
using var sess = new Session();
init.Run(sess);
var outputs_val = outputs.Eval(sess, new FeedDict { { X, X_batch } });
Console.WriteLine(outputs_val);
