#:project ../../Graph.Kernels/Graph.Kernels.csproj
#:project ../../Graph.Rnn/Graph.Rnn.csproj
#:property PublishAot=false
// Notebook section 4: dynamic_rnn runs the cell in a while loop over a [None, n_steps, n_inputs] input. As in the
// notebook run that printed this array (TensorFlow 1.15) the cell is tf.nn.rnn_cell.BasicRNNCell; TF1 builds it inside
// the loop's body, after the 86 ops dynamic_rnn and while_loop create before it, so its kernel's op seed is 87. (The
// printout is not stale: it is this graph's output.)
using Graph.Core;
using Graph.Kernels;
using Graph.Rnn;

TF.ResetDefaultGraph(seed: 42);
const int nSteps = 2, nInputs = 3, nNeurons = 5;
var X = TF.Placeholder(DType.Float32, new Shape(-1, nSteps, nInputs));
var basicCell = new BasicRNNCell(numUnits: nNeurons);
var (outputs, states) = Rnn.DynamicRnn(basicCell, X, dtype: DType.Float32);
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

// print(outputs_val):
// [[[-0.85115266  0.87358344  0.5802911   0.8954789  -0.0557505 ]
//   [-0.999996    0.99999577  0.9981815   1.          0.37679607]]
//  [[-0.9983293   0.9992038   0.98071456  0.999985    0.25192663]
//   [-0.7081804  -0.0772338  -0.85227895  0.5845349  -0.78780943]]
//  [[-0.9999827   0.99999535  0.9992863   1.          0.5159072 ]
//   [-0.9993956   0.9984095   0.83422637  0.99999976 -0.47325212]]
//  [[ 0.87888587  0.07356028  0.97216916  0.9998546  -0.7351168 ]
//   [-0.9134514   0.3600957   0.7624866   0.99817705  0.80142   ]]]
Console.WriteLine(outputs_val);
