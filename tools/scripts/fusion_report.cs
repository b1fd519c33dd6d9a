#:project ../../Graph.Kernels/Graph.Kernels.csproj
#:project ../../Graph.Rnn/Graph.Rnn.csproj
#:property PublishAot=false
// The fusion report of one training step of the notebook's MNIST RNN (section 6): every kernel the session compiled,
// the primitives it fused, the ops they came from and the bytes it reads and writes; then the same for the loop
// bodies, which run as their own plans each iteration. The last line is `kernels K ops M` for the step's plan.
using Graph.Core;
using Graph.Core.Data;
using Graph.Kernels;
using Graph.Rnn;

var data = Mnist.LoadDigits();
var model = NotebookModels.MnistRnn();
using var scope = model.Graph.AsDefault();
using var sess = new Session(model.Graph, new SessionOptions { Profile = true });
sess.Run(TF.GlobalVariablesInitializer());
var (x, y) = Batches.ShuffleBatch(data.TrainImages, data.TrainLabels, 150, seed: 0).First();
sess.Run(model.TrainingOp, new FeedDict { { model.X, x }, { model.Y, y } });

Console.WriteLine("== kernels run per step, loop bodies included (calls and time of this first step) ==");
Console.WriteLine(sess.Profile!);
Console.WriteLine();
Console.WriteLine("== the step's plan ==");
Console.WriteLine(sess.LastPlan!.Describe());
