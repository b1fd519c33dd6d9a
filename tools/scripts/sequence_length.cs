#:project ../../Graph.Kernels/Graph.Kernels.csproj
#:project ../../Graph.Rnn/Graph.Rnn.csproj
#:property PublishAot=false
// Notebook section 5: dynamic_rnn with sequence_length. Instance 2 has length 1: its output at t = 1 is zeros and
// its final state is its output at t = 0.
using Graph.Core;
using Graph.Kernels;
using Graph.Rnn;

TF.ResetDefaultGraph(seed: 42);
const int nSteps = 2, nInputs = 3, nNeurons = 5;
var X = TF.Placeholder(DType.Float32, new Shape(-1, nSteps, nInputs));
var seqLength = TF.Placeholder(DType.Int32, new Shape(-1));
var basicCell = new SimpleRNNCell(units: nNeurons);
var (outputs, states) = Rnn.DynamicRnn(basicCell, X, dtype: DType.Float32, sequenceLength: seqLength);
var init = TF.GlobalVariablesInitializer();

float[,,] X_batch =
{
    { { 0, 1, 2 }, { 9, 8, 7 } }, // instance 1
    { { 3, 4, 5 }, { 0, 0, 0 } }, // instance 2 (padded with a zero vector)
    { { 6, 7, 8 }, { 6, 5, 4 } }, // instance 3
    { { 9, 0, 1 }, { 3, 2, 1 } }, // instance 4
};
int[] seq_length_batch = [2, 1, 2, 2];
using var sess = new Session();
init.Run(sess);
var (outputs_val, states_val) = sess.Run(outputs, states[0], new FeedDict { { X, X_batch }, { seqLength, seq_length_batch } });
Console.WriteLine(outputs_val);
Console.WriteLine(states_val);
