using Graph.Core;
using Graph.Rnn;

namespace Graph.Cli;

/// <summary>
/// Notebook models made self-describing for programs that did not build them (<c>graph train --graph</c>, another
/// process, another language): the training signature, the train op and the global step live in collections, so
/// a saved graph carries them.
/// </summary>
internal static class TrainableModels
{
    /// <summary>
    /// The notebook's MNIST RNN (<see cref="NotebookModels.MnistRnn"/>) plus: a <c>global_step</c> variable (collection
    /// <see cref="GraphKeys.GlobalStep"/>) that each step increments after Adam's update; that increment as the train op
    /// (collection <see cref="GraphKeys.TrainOp"/>); and the signature <see cref="Signature.Train"/>: inputs
    /// <c>images</c> [batch, 28, 28] float32 and <c>labels</c> [batch] int32, outputs <c>loss</c>, <c>accuracy</c> and
    /// <c>logits</c>.
    /// </summary>
    public static ComputeGraph MnistRnn(int seed = 42, bool swapMemory = false)
    {
        var model = NotebookModels.MnistRnn(seed, swapMemory);
        var g = model.Graph;
        using var scope = g.AsDefault();
        var globalStep = TF.Variable(TF.Constant(0, name: "initial_value"), name: "global_step", trainable: false);
        Operation trainStep;
        using (g.ControlDependencies([model.TrainingOp])) trainStep = globalStep.AssignAdd(TF.Constant(1), name: "train_step").Op;
        g.AddToCollection(GraphKeys.GlobalStep, globalStep);
        g.AddToCollection(GraphKeys.TrainOp, trainStep);
        g.AddToCollection(GraphKeys.Signatures, new Signature(Signature.Train,
            [new("images", model.X), new("labels", model.Y)],
            [new("loss", model.Loss), new("accuracy", model.Accuracy), new("logits", model.Logits)]));
        return g;
    }
}
