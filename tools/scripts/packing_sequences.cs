#:project ../../Graph.Kernels/Graph.Kernels.csproj
#:project ../../Graph.Rnn/Graph.Rnn.csproj
#:property PublishAot=false
// Notebook section 3: one [None, n_steps, n_inputs] placeholder, unstacked into time steps for static_rnn. As in the
// notebook run that printed these arrays (TensorFlow 1.15) the cell is tf.nn.rnn_cell.BasicRNNCell; its kernel's op
// seed is 22: the transpose (perm Const, Transpose) and unstack add three ops before static_rnn.
using Graph.Core;
using Graph.Kernels;
using Graph.Rnn;

TF.ResetDefaultGraph(seed: 42);
const int nSteps = 2, nInputs = 3, nNeurons = 5;
var X = TF.Placeholder(DType.Float32, new Shape(-1, nSteps, nInputs));
var X_seqs = TF.Unstack(TF.Transpose(X, perm: [1, 0, 2]));
var basicCell = new BasicRNNCell(numUnits: nNeurons);
var (outputSeqs, states) = Rnn.StaticRnn(basicCell, X_seqs, dtype: DType.Float32);
var outputs = TF.Transpose(TF.Stack(outputSeqs), perm: [1, 0, 2]);
var init = TF.GlobalVariablesInitializer();

float[,,] X_batch =
{
    // t = 0      t = 1
    { { 0, 1, 2 }, { 9, 8, 7 } }, // instance 1
    { { 3, 4, 5 }, { 0, 0, 0 } }, // instance 2
    { { 6, 7, 8 }, { 6, 5, 4 } }, // instance 3
    { { 9, 0, 1 }, { 3, 2, 1 } }, // instance 4
};
using var sess = new Session();
init.Run(sess);
var outputs_val = outputs.Eval(sess, new FeedDict { { X, X_batch } });

// print(outputs_val):
// [[[-0.45652324 -0.68064123  0.40938237  0.63104504 -0.45732826]
//   [-0.9428799  -0.9998869   0.94055814  0.9999985  -0.9999997 ]]
//  [[-0.8001535  -0.9921827   0.7817797   0.9971032  -0.9964609 ]
//   [-0.637116    0.11300927  0.5798437   0.4310559  -0.6371699 ]]
//  [[-0.93605185 -0.9998379   0.9308867   0.9999815  -0.99998295]
//   [-0.9165386  -0.9945604   0.896054    0.99987197 -0.9999751 ]]
//  [[ 0.9927369  -0.9981933  -0.55543643  0.9989031  -0.9953323 ]
//   [-0.02746338 -0.73191994  0.7827872   0.9525682  -0.9781773 ]]]
Console.WriteLine(outputs_val);
// print(np.transpose(outputs_val, axes=[1, 0, 2])[1]), the outputs at t = 1: the rows of the second block above.
Console.WriteLine(outputs_val.Transpose(1, 0, 2)[1]);
