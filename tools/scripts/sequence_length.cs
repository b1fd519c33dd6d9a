#:project ../../Graph.Kernels/Graph.Kernels.csproj
#:project ../../Graph.Rnn/Graph.Rnn.csproj
#:property PublishAot=false
// Notebook section 5: dynamic_rnn with sequence_length. Instance 2 has length 1: its output at t = 1 is zeros and its
// final state is its output at t = 0. As in the notebook run that printed these arrays (TensorFlow 1.15) the cell is
// tf.nn.rnn_cell.BasicRNNCell; the lengths' checks and the copy condition make its kernel's op seed 106.
using Graph.Core;
using Graph.Kernels;
using Graph.Rnn;

TF.ResetDefaultGraph(seed: 42);
const int nSteps = 2, nInputs = 3, nNeurons = 5;
var X = TF.Placeholder(DType.Float32, new Shape(-1, nSteps, nInputs));
var basicCell = new BasicRNNCell(numUnits: nNeurons);

var seq_length = TF.Placeholder(DType.Int32, new Shape(-1));
var (outputs, states) = Rnn.DynamicRnn(basicCell, X, dtype: DType.Float32, sequenceLength: seq_length);
var init = TF.GlobalVariablesInitializer();

float[,,] X_batch =
{
    // step 0     step 1
    { { 0, 1, 2 }, { 9, 8, 7 } }, // instance 1
    { { 3, 4, 5 }, { 0, 0, 0 } }, // instance 2 (padded with zero vectors)
    { { 6, 7, 8 }, { 6, 5, 4 } }, // instance 3
    { { 9, 0, 1 }, { 3, 2, 1 } }, // instance 4
};
int[] seq_length_batch = [2, 1, 2, 2];
using var sess = new Session();
init.Run(sess);
var (outputs_val, states_val) = sess.Run(outputs, states[0], new FeedDict { { X, X_batch }, { seq_length, seq_length_batch } });

// print(outputs_val):
// [[[-0.9123188   0.16516446  0.5548655  -0.39159346  0.20846416]
//   [-1.          0.956726    0.99831694  0.99970174  0.96518576]]
//  [[-0.9998612   0.6702289   0.9723653   0.6631046   0.74457586]
//   [ 0.          0.          0.          0.          0.        ]]
//  [[-0.99999976  0.8967997   0.9986295   0.9647514   0.93662   ]
//   [-0.9999526   0.9681953   0.96002865  0.98706263  0.85459226]]
//  [[-0.96435434  0.99501586 -0.36150697  0.9983378   0.999497  ]
//   [-0.9613586   0.9568762   0.7132288   0.97729224 -0.0958299 ]]]
Console.WriteLine(outputs_val);
// print(states_val):
// [[-1.          0.956726    0.99831694  0.99970174  0.96518576]
//  [-0.9998612   0.6702289   0.9723653   0.6631046   0.74457586]
//  [-0.9999526   0.9681953   0.96002865  0.98706263  0.85459226]
//  [-0.9613586   0.9568762   0.7132288   0.97729224 -0.0958299 ]]
Console.WriteLine(states_val);
