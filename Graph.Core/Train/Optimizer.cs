namespace Graph.Core;

/// <summary>
/// Base of the TF1 optimizers (tf.train.Optimizer): <see cref="ComputeGradients"/> adds the gradient ops,
/// <see cref="ApplyGradients"/> the update ops, <see cref="Minimize"/> both. Slot variables (moments, accumulators)
/// are ordinary non-trainable variables in the graph, initialised by the global variables initializer.
/// </summary>
public abstract class Optimizer
{
    /// <summary>Creates the optimizer; <paramref name="name"/> prefixes its ops and slots.</summary>
    protected Optimizer(string name) => Name = name;

    /// <summary>The optimizer's name (e.g. <c>Adam</c>).</summary>
    public string Name { get; }

    private readonly Dictionary<(Variable, string), Variable> _slots = new();

    /// <summary>
    /// Gradients of <paramref name="loss"/> with respect to <paramref name="varList"/> (default: the trainable variables
    /// of its graph), paired with their variables; a variable the loss does not depend on gets a null gradient.
    /// A non-scalar loss is summed, as in TF.
    /// </summary>
    public IReadOnlyList<(Tensor? Gradient, Variable Variable)> ComputeGradients(Tensor loss, IEnumerable<Variable>? varList = null)
    {
        var vars = (varList ?? loss.Graph.GetCollection<Variable>(GraphKeys.TrainableVariables)).ToList();
        if (vars.Count == 0) throw new InvalidArgumentException($"{Name}: no variables to optimize (the graph of {loss.Name} has no trainable variables and no var_list was given).");
        if (!loss.DType.IsFloating())
            throw new InvalidArgumentException($"{Name}: the loss {loss.Name} must be float32 or float64, got {loss.DType.Name()}.");
        var grads = TF.Gradients([loss], vars.Select(v => v.Value).ToList());
        // Loops, not Zip and Where over the pairs: LINQ over a tuple is framework generic code no ReadyToRun image holds.
        var pairs = new List<(Tensor? Gradient, Variable Variable)>(vars.Count);
        for (var i = 0; i < vars.Count; i++) pairs.Add((grads[i], vars[i]));
        return pairs;
    }

    /// <summary>
    /// An op applying the gradients to their variables, then incrementing <paramref name="globalStep"/> when given.
    /// Throws when no variable has a gradient.
    /// </summary>
    public Operation ApplyGradients(IReadOnlyList<(Tensor? Gradient, Variable Variable)> gradsAndVars, Variable? globalStep = null, string? name = null)
    {
        var withGrads = new List<(Tensor Gradient, Variable Variable)>();
        foreach (var (gradient, variable) in gradsAndVars)
            if (gradient != null) withGrads.Add((gradient, variable));
        if (withGrads.Count == 0)
            throw new InvalidArgumentException(
                $"{Name}: no gradients provided for any variable, check your graph for ops that do not support gradients, between variables " +
                $"[{string.Join(", ", gradsAndVars.Select(p => p.Variable.Name))}] and the loss.");
        var g = withGrads[0].Variable.Graph;
        using var _ = g.AsDefault();
        PrepareNonSlot(withGrads[0].Variable);
        foreach (var (_, v) in withGrads) CreateSlots(v);
        // As TF1: the returned op is named after the scope (the optimizer's name by default); with a global step the
        // updates are grouped as "update" and the step increment carries the name.
        using var scope = g.NameScope(name ?? Name);
        var scopeName = g.CurrentNameScope + "/";
        var updates = new List<Operation>();
        foreach (var (grad, v) in withGrads)
        {
            if (grad.DType != v.DType) throw new InvalidArgumentException($"{Name}: gradient {grad.Name} is {grad.DType.Name()} but variable {v.Name} is {v.DType.Name()}.");
            if (!grad.Shape.IsCompatibleWith(v.Shape)) throw new InvalidArgumentException($"{Name}: gradient {grad.Name} has shape {grad.Shape} but variable {v.Name} has shape {v.Shape}.");
            using (g.NameScope("update_" + v.Name.Replace('/', '_')))
                updates.Add(ApplyDense(RunTimeShapeChecked(grad, v), v));
        }
        if (globalStep == null) return Finish(updates, scopeName);
        var finish = Finish(updates, "update");
        using (g.ControlDependencies([finish]))
            return TF.AssignAdd(globalStep, TF.Cast(TF.Constant(1), globalStep.DType), name: scopeName).Op;
    }

    /// <summary>
    /// <paramref name="grad"/>, checked against <paramref name="v"/>'s shape when the step runs if its static shape leaves
    /// that open: the update ops broadcast, so a gradient of another shape (a fed [1] for a [3] variable) would otherwise
    /// update every element with it, where TF1's Apply* kernels fail ("var and grad do not have the same shape"). A
    /// statically shaped gradient, as every gradient of a loss is, gets no op. The check is not one of TF1's ops, so it
    /// is not counted for TF1's op ids.
    /// </summary>
    private Tensor RunTimeShapeChecked(Tensor grad, Variable v)
    {
        if (grad.Shape.IsFullyDefined || !v.Shape.IsFullyDefined) return grad;
        using (grad.Graph.Tf1NotCounted())
            return TF.EnsureShape(grad, v.Shape.Dims,
                $"{Name}: var and grad do not have the same shape: the gradient of variable {v.Name} must have its shape {Shape.Format(v.Shape.Dims)}.");
    }

    /// <summary>ComputeGradients then ApplyGradients (tf.train.Optimizer.minimize).</summary>
    public Operation Minimize(Tensor loss, Variable? globalStep = null, IEnumerable<Variable>? varList = null, string? name = null)
    {
        var gradsAndVars = ComputeGradients(loss, varList);
        RequireAnyGradient(Name, gradsAndVars, loss);
        return ApplyGradients(gradsAndVars, globalStep, name);
    }

    /// <summary>Minimize's error (TF1's ValueError) when the loss reaches none of the variables.</summary>
    internal static void RequireAnyGradient(string optimizer, IReadOnlyList<(Tensor? Gradient, Variable Variable)> gradsAndVars, Tensor loss)
    {
        // (A loop: LINQ over the tuples is framework generic code no ReadyToRun image holds.)
        var any = false;
        foreach (var (gradient, _) in gradsAndVars) any |= gradient != null;
        if (!any)
            throw new InvalidArgumentException(
                $"{optimizer}: no gradients provided for any variable: none of [{string.Join(", ", gradsAndVars.Select(p => p.Variable.Name))}] is in reach of the loss {loss.Name}.");
    }

    /// <summary>The slot <paramref name="slotName"/> of <paramref name="v"/> (e.g. Adam's <c>m</c>), or null.</summary>
    public Variable? GetSlot(Variable v, string slotName) => _slots.TryGetValue((v, slotName), out var slot) ? slot : null;

    /// <summary>Creates the per-variable slots this optimizer needs (call <see cref="Slot"/>).</summary>
    protected virtual void CreateSlots(Variable v) { }

    /// <summary>Creates variables shared by all updates (e.g. Adam's β powers), once.</summary>
    protected virtual void PrepareNonSlot(Variable first) { }

    /// <summary>The update op of one variable.</summary>
    protected abstract Operation ApplyDense(Tensor grad, Variable v);

    /// <summary>Groups the updates into an op named <paramref name="name"/>; optimizers with per-step state update it here, after them.</summary>
    protected virtual Operation Finish(IReadOnlyList<Operation> updates, string name) => TF.Group(updates, name);

    /// <summary>
    /// A slot variable of <paramref name="v"/> named <c>{v}/{Name}</c> (then <c>_1</c>, …, as TF names them), filled with
    /// <paramref name="fill"/>; created once and outside any control-dependency scope.
    /// </summary>
    protected Variable Slot(Variable v, string slotName, double fill)
    {
        if (_slots.TryGetValue((v, slotName), out var existing)) return existing;
        var g = v.Graph;
        using var _ = g.AsDefault();
        using var noDeps = g.ControlDependencies(null);
        using var top = g.NameScope("/");
        var init = TF.Constant(HostTensor.Scalar(fill).AsType(v.DType), shape: v.Shape.ToArray(), name: v.Name + "/" + Name + "/Initializer");
        var slot = TF.Variable(init, name: v.Name + "/" + Name, trainable: false);
        _slots[(v, slotName)] = slot;
        return slot;
    }

    /// <summary>A non-trainable scalar variable shared by all updates, created once in the variable's graph.</summary>
    protected static Variable NonSlot(Variable like, string name, double value)
    {
        var g = like.Graph;
        using var _ = g.AsDefault();
        using var noDeps = g.ControlDependencies(null);
        using var top = g.NameScope("/");
        return TF.Variable(TF.Constant(HostTensor.Scalar(value).AsType(like.DType), name: name + "/initial_value"), name: name, trainable: false);
    }

    /// <summary>A scalar constant of the variable's dtype.</summary>
    protected static Tensor Scalar(Variable v, double value, string name) => TF.Constant(HostTensor.Scalar(value).AsType(v.DType), name: name);
}
