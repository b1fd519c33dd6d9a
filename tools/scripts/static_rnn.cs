#:project ../../Graph.Kernels/Graph.Kernels.csproj
#:project ../../Graph.Rnn/Graph.Rnn.csproj
#:property PublishAot=false
// Notebook section 2: static_rnn over two time steps. The notebook run that printed these arrays (handson-ml chapter 14,
// TensorFlow 1.15) used tf.nn.rnn_cell.BasicRNNCell(num_units=5); with graph seed 42 its kernel's op seed is 20 (the
// ops TF1 creates before it, counted as docs/tf1-mapping.md explains), so this prints the notebook's arrays. With
// `new SimpleRNNCell(units: nNeurons)` (tf.keras.layers.SimpleRNNCell) it prints what TF1 gives for that cell (op
// seeds 18 and 29).
using Graph.Core;
using Graph.Kernels;
using Graph.Rnn;

// reset_graph(); X0, X1 = placeholders; basic_cell = BasicRNNCell(5); static_rnn(basic_cell, [X0, X1]); Y0, Y1 = output_seqs
TF.ResetDefaultGraph(seed: 42);
const int nInputs = 3, nNeurons = 5;
var X0 = TF.Placeholder(DType.Float32, new Shape(-1, nInputs));
var X1 = TF.Placeholder(DType.Float32, new Shape(-1, nInputs));
var basicCell = new BasicRNNCell(numUnits: nNeurons);
var (outputSeqs, states) = Rnn.StaticRnn(basicCell, [X0, X1], dtype: DType.Float32);
var (Y0, Y1) = (outputSeqs[0], outputSeqs[1]);

// init = tf.global_variables_initializer()
var init = TF.GlobalVariablesInitializer();

// with tf.Session() as sess: init.run(); Y0_val, Y1_val = sess.run([Y0, Y1], feed_dict=...)
int[,] X0_batch = { { 0, 1, 2 }, { 3, 4, 5 }, { 6, 7, 8 }, { 9, 0, 1 } };
int[,] X1_batch = { { 9, 8, 7 }, { 0, 0, 0 }, { 6, 5, 4 }, { 3, 2, 1 } };
using var sess = new Session();
init.Run(sess);
var (Y0_val, Y1_val) = sess.Run(Y0, Y1, new FeedDict { { X0, X0_batch }, { X1, X1_batch } });

// Y0_val (the notebook shows the array's repr, array([[ 0.30741334, -0.32884315, ...]], dtype=float32)):
// [[ 0.30741334 -0.32884315 -0.6542847  -0.9385059   0.52089024]
//  [ 0.99122757 -0.9542541  -0.7518079  -0.9995208   0.9820235 ]
//  [ 0.9999268  -0.99783254 -0.8247353  -0.9999963   0.99947774]
//  [ 0.996771   -0.68750614  0.8419969   0.9303911   0.8120684 ]]
Console.WriteLine(Y0_val);
// Y1_val:
// [[ 0.99998885 -0.99976057 -0.0667929  -0.9999803   0.99982214]
//  [-0.6524943  -0.51520866 -0.37968948 -0.5922594  -0.08968379]
//  [ 0.99862397 -0.99715203 -0.03308626 -0.9991566   0.9932902 ]
//  [ 0.99681675 -0.9598194   0.39660627 -0.8307606   0.79671973]]
Console.WriteLine(Y1_val);
