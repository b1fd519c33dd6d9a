namespace Graph.Core;

/// <summary>A value the caller must feed at run time (tf.placeholder).</summary>
internal sealed class PlaceholderDef : OpDef
{
    public static readonly PlaceholderDef Instance = new();
    public override string Type => "Placeholder";
    public override bool IsStateful => true;

    public override OutputSpec[] Infer(OpBuildContext ctx) => [new(ctx.Attr<DType>("dtype"), ctx.Attr<Shape>("shape"))];

    public override void Lower(LoweringContext ctx)
    {
        var t = ctx.Op.Output;
        throw new InvalidArgumentException(
            $"You must feed a value for placeholder tensor '{ctx.Op.Name}' with dtype {t.DType.Name()} and shape {t.Shape}.");
    }
}

/// <summary>A constant (tf.constant); attribute <c>value</c> may be a scalar broadcast to attribute <c>shape</c>.</summary>
internal sealed class ConstDef : OpDef
{
    public static readonly ConstDef Instance = new();
    public override string Type => "Const";

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var value = ctx.Attr<HostTensor>("value");
        var shape = ctx.Attrs.TryGetValue("shape", out var s) ? (int[])s : value.Dims;
        return [new(value.DType, new Shape(shape))];
    }

    public override void Lower(LoweringContext ctx)
    {
        var value = ctx.Add(new ConstantPrim(ctx.Op.Attr<HostTensor>("value")));
        ctx.SetOutput(0, ctx.BroadcastTo(value, ctx.Op.Output.Shape.Dims));
    }
}

/// <summary>A variable's storage (TF's VariableV2); its output is the current value.</summary>
internal sealed class VariableDef : OpDef
{
    public static readonly VariableDef Instance = new();
    public override string Type => "VariableV2";
    public override bool IsStateful => true;
    public override bool ReadsStateAtUse => true;

    public override OutputSpec[] Infer(OpBuildContext ctx) => [new(ctx.Attr<DType>("dtype"), ctx.Attr<Shape>("shape"))];

    public override void Lower(LoweringContext ctx)
    {
        var t = ctx.Op.Output;
        ctx.SetOutput(0, ctx.Add(new ReadVariablePrim(ctx.Op, t.DType, t.Shape.ToArray())));
    }
}

/// <summary>Assign, AssignAdd and AssignSub: update a variable and output its new value.</summary>
internal sealed class AssignDef(string type, BinaryOp? combine) : OpDef
{
    public static readonly AssignDef Assign = new("Assign", null);
    public static readonly AssignDef AssignAdd = new("AssignAdd", BinaryOp.Add);
    public static readonly AssignDef AssignSub = new("AssignSub", BinaryOp.Sub);

    public override string Type => type;
    public override bool IsStateful => true;

    public override OutputSpec[] Infer(OpBuildContext ctx)
    {
        var (reference, value) = (ctx.Inputs[0], ctx.Inputs[1]);
        if (reference.Op.Def is not VariableDef)
            throw new InvalidArgumentException($"{ctx.Label(type)}: the first input must be a variable, got {reference.Name} ({reference.Op.Type}).");
        OpRules.SameDType(ctx, type, "ref", "value");
        if (!reference.Shape.IsCompatibleWith(value.Shape))
            throw new InvalidArgumentException(
                $"{ctx.Label(type)}: shapes must be equal, variable {reference.Op.Name} has shape {reference.Shape} and the value has shape {value.Shape}.");
        return [new(reference.DType, reference.Shape)];
    }

    public override void Lower(LoweringContext ctx)
    {
        var variable = ctx.Op.Inputs[0].Op;
        var value = ctx.Input(1);
        OpRules.RequireEqualDims(ctx.OpLabel, variable.Output.Shape.Dims, value.Dims, "the variable and the assigned value");
        // AssignAdd/AssignSub combine with the value read at the variable op's place in the plan.
        if (combine is { } op) value = ctx.Binary(op, ctx.Input(0), value);
        ctx.SetOutput(0, ctx.Add(new AssignVariablePrim(variable, value)));
    }

    public override Tensor?[] Gradient(Operation op, Tensor?[] grads) => [null, null];
}

/// <summary>Identity and StopGradient: the input unchanged (StopGradient blocks the gradient pass).</summary>
internal sealed class IdentityDef(string type) : OpDef
{
    public static readonly IdentityDef Identity = new("Identity");
    public static readonly IdentityDef StopGradient = new("StopGradient");

    public override string Type => type;
    public override OutputSpec[] Infer(OpBuildContext ctx) => [new(ctx.Inputs[0].DType, ctx.Inputs[0].Shape)];
    public override void Lower(LoweringContext ctx) => ctx.SetOutput(0, ctx.Input(0));

    /// <summary>Identity passes the gradient through; the gradient pass never calls StopGradient's.</summary>
    public override Tensor?[] Gradient(Operation op, Tensor?[] grads) => [grads[0]];
}

/// <summary>Does nothing; used with control inputs to group ops (tf.no_op, tf.group).</summary>
internal sealed class NoOpDef : OpDef
{
    public static readonly NoOpDef Instance = new();
    public override string Type => "NoOp";
    public override OutputSpec[] Infer(OpBuildContext ctx) => [];
    public override void Lower(LoweringContext ctx) { }
}

/// <summary>
/// A TF1 variable (tf.Variable): the storage op, its initializer (an Assign of the initial value) and its read
/// value (an Identity named <c>read</c>). Converts implicitly to its value tensor.
/// </summary>
public sealed class Variable
{
    internal Variable(Operation variableOp, Operation initializer, Tensor value, Tensor initialValue, bool trainable, bool isResource)
    {
        IsResource = isResource;
        Op = variableOp;
        Initializer = initializer;
        Value = value;
        InitialValue = initialValue;
        Trainable = trainable;
    }

    /// <summary>The VariableV2 op holding the state.</summary>
    public Operation Op { get; }

    /// <summary>The op that assigns the initial value.</summary>
    public Operation Initializer { get; }

    /// <summary>The tensor reading the variable (<c>name/read</c>).</summary>
    public Tensor Value { get; }

    /// <summary>The initial value tensor.</summary>
    public Tensor InitialValue { get; }

    /// <summary>Whether optimizers train it by default.</summary>
    public bool Trainable { get; }

    /// <summary>
    /// Whether TF1 would have made it a resource variable (<c>use_resource=True</c>, as Keras layers do): the same
    /// variable here, but TF1 creates a <c>ReadVariableOp</c> each time it is read, which op counting must know.
    /// </summary>
    public bool IsResource { get; }

    /// <summary>The variable's name (its op's name).</summary>
    public string Name => Op.Name;

    /// <summary>The static shape.</summary>
    public Shape Shape => Op.Output.Shape;

    /// <summary>The dtype.</summary>
    public DType DType => Op.Output.DType;

    /// <summary>The graph.</summary>
    public ComputeGraph Graph => Op.Graph;

    /// <summary>An op that sets the variable to <paramref name="value"/> and outputs the new value.</summary>
    public Tensor Assign(Tensor value, string? name = null) => TF.Assign(this, value, name);

    /// <summary>An op that adds <paramref name="delta"/> to the variable and outputs the new value.</summary>
    public Tensor AssignAdd(Tensor delta, string? name = null) => TF.AssignAdd(this, delta, name);

    /// <summary>An op that subtracts <paramref name="delta"/> from the variable and outputs the new value.</summary>
    public Tensor AssignSub(Tensor delta, string? name = null) => TF.AssignSub(this, delta, name);

    /// <summary>The variable's value tensor.</summary>
    public static implicit operator Tensor(Variable v) => v.Value;

    /// <summary>Sum of two variables' values.</summary>
    public static Tensor operator +(Variable a, Variable b) => a.Value + b.Value;
    /// <summary>Difference of two variables' values.</summary>
    public static Tensor operator -(Variable a, Variable b) => a.Value - b.Value;
    /// <summary>Product of two variables' values.</summary>
    public static Tensor operator *(Variable a, Variable b) => a.Value * b.Value;
    /// <summary>Quotient of two variables' values.</summary>
    public static Tensor operator /(Variable a, Variable b) => a.Value / b.Value;
    /// <summary>Negated value.</summary>
    public static Tensor operator -(Variable a) => -a.Value;
    /// <summary>Value plus a scalar.</summary>
    public static Tensor operator +(Variable a, double b) => a.Value + b;
    /// <summary>Scalar plus value.</summary>
    public static Tensor operator +(double a, Variable b) => a + b.Value;
    /// <summary>Value minus a scalar.</summary>
    public static Tensor operator -(Variable a, double b) => a.Value - b;
    /// <summary>Scalar minus value.</summary>
    public static Tensor operator -(double a, Variable b) => a - b.Value;
    /// <summary>Value times a scalar.</summary>
    public static Tensor operator *(Variable a, double b) => a.Value * b;
    /// <summary>Scalar times value.</summary>
    public static Tensor operator *(double a, Variable b) => a * b.Value;
    /// <summary>Value divided by a scalar.</summary>
    public static Tensor operator /(Variable a, double b) => a.Value / b;
    /// <summary>Scalar divided by value.</summary>
    public static Tensor operator /(double a, Variable b) => a / b.Value;

    /// <inheritdoc/>
    public override string ToString() => $"<Variable '{Name}:0' shape={Shape} dtype={DType.Name()}>";
}

public static partial class TF
{
    /// <summary>A tensor fed at run time (tf.placeholder); <paramref name="shape"/> may contain -1 for unknown dimensions, or be null for unknown rank.</summary>
    public static Tensor Placeholder(DType dtype, Shape? shape = null, string? name = null) =>
        G.AddOp(PlaceholderDef.Instance, [], OpRules.Attrs(("dtype", dtype), ("shape", shape ?? Shape.Unknown)), name ?? "Placeholder").Output;

    /// <summary>
    /// A constant (tf.constant). With <paramref name="dtype"/> the value is converted; with <paramref name="shape"/> a
    /// scalar value is broadcast to that shape.
    /// </summary>
    public static Tensor Constant(HostTensor value, DType? dtype = null, int[]? shape = null, string? name = null)
    {
        if (dtype is { } d && d != value.DType) value = value.AsType(d);
        // -1 means "unknown" to Shape: a constant's shape must be known (tf.zeros([-1, 2]) is an error in TF1 too).
        if (shape != null && Ints.AnyBelow(shape, 0))
            throw new InvalidArgumentException($"Const '{name ?? "Const"}': shape {Shape.Format(shape)} has a negative dimension; a constant's dimensions must be 0 or more.");
        if (shape != null && !Ints.Equal(shape, value.DimsSpan))
        {
            if (value.Size != 1)
                throw new InvalidArgumentException($"Const '{name ?? "Const"}': a value of shape {value.Shape} cannot be given shape {Shape.Format(shape)}; only a scalar is broadcast.");
            value = value.Reshape();
        }
        else shape = null;
        return G.AddOp(ConstDef.Instance, [], OpRules.Attrs(("value", value), ("shape", shape)), name ?? "Const").Output;
    }

    /// <summary>
    /// Creates a variable (tf.Variable) initialised to <paramref name="initialValue"/>: ops <c>Variable</c> (VariableV2),
    /// <c>Variable/Assign</c> and <c>Variable/read</c> as TF1 creates them. Added to the global (and, when
    /// <paramref name="trainable"/>, trainable) variables collection. The initial value's shape must be fully defined.
    /// With <paramref name="useResource"/> (TF1's <c>use_resource=True</c>, what Keras layers create) the variable is
    /// the same, but counted as the four ops of TF1's ResourceVariable instead of three (docs/tf1-mapping.md).
    /// </summary>
    public static Variable Variable(Tensor initialValue, string? name = null, bool trainable = true, DType? dtype = null, bool useResource = false)
    {
        G.CheckOwned(initialValue, "Variable");
        // A dtype different from the initial value's is a Cast TF1 would not create (it raises): counted as one op.
        var cast = dtype is { } d && d != initialValue.DType;
        return MakeVariable(() => cast ? Cast(initialValue, dtype!.Value) : initialValue, cast ? 1 : 0, name, trainable, useResource);
    }

    /// <summary>Creates a variable from a host value: the value becomes a constant <c>Variable/initial_value</c> first, as in TF1.</summary>
    public static Variable Variable(HostTensor initialValue, string? name = null, bool trainable = true, DType? dtype = null, bool useResource = false) =>
        MakeVariable(() => Constant(initialValue, dtype, name: "initial_value"), 1, name, trainable, useResource);

    private static Variable MakeVariable(Func<Tensor> makeInitialValue, int tf1InitialValueOps, string? name, bool trainable, bool useResource)
    {
        var g = G;
        // Variables live outside any control-dependency scope and any loop frame (TF1's init_scope). TF1 creates the
        // initial value's ops, then VariableV2, Assign and read (ops/variables.py RefVariable), or VarHandleOp,
        // VarIsInitializedOp, AssignVariableOp and ReadVariableOp (ops/resource_variable_ops.py).
        using var init = g.InitScope();
        return g.Tf1Call(tf1InitialValueOps + (useResource ? 4 : 3), [], () => MakeVariableOutsideLoops(g, makeInitialValue, name, trainable, useResource));
    }

    private static Variable MakeVariableOutsideLoops(ComputeGraph g, Func<Tensor> makeInitialValue, string? name, bool trainable, bool useResource)
    {
        using var scope = g.NameScope(name ?? "Variable");
        var scopeName = g.CurrentNameScope;
        var initialValue = makeInitialValue();
        if (!initialValue.Shape.IsFullyDefined)
            throw new InvalidArgumentException(
                $"Variable '{scopeName}': the initial value {initialValue.Name} must have a fully defined shape, got {initialValue.Shape}.");
        var varOp = g.AddOp(VariableDef.Instance, [], OpRules.Attrs(("dtype", initialValue.DType), ("shape", initialValue.Shape)), scopeName + "/");
        var assign = g.AddOp(AssignDef.Assign, [varOp.Output, initialValue], name: "Assign");
        var read = g.AddOp(IdentityDef.Identity, [varOp.Output], name: "read").Output;
        var variable = new Variable(varOp, assign, read, initialValue, trainable, useResource);
        g.AddToCollection(GraphKeys.GlobalVariables, variable);
        if (trainable) g.AddToCollection(GraphKeys.TrainableVariables, variable);
        return variable;
    }

    /// <summary>An op that sets <paramref name="variable"/> to <paramref name="value"/> (tf.assign).</summary>
    public static Tensor Assign(Variable variable, Tensor value, string? name = null) =>
        G.AddOp(AssignDef.Assign, [variable.Op.Output, value], name: name ?? "Assign").Output;

    /// <summary>An op that adds <paramref name="delta"/> to <paramref name="variable"/> (tf.assign_add).</summary>
    public static Tensor AssignAdd(Variable variable, Tensor delta, string? name = null) =>
        G.AddOp(AssignDef.AssignAdd, [variable.Op.Output, delta], name: name ?? "AssignAdd").Output;

    /// <summary>An op that subtracts <paramref name="delta"/> from <paramref name="variable"/> (tf.assign_sub).</summary>
    public static Tensor AssignSub(Variable variable, Tensor delta, string? name = null) =>
        G.AddOp(AssignDef.AssignSub, [variable.Op.Output, delta], name: name ?? "AssignSub").Output;

    /// <summary>The global variables of the default graph (tf.global_variables).</summary>
    public static IReadOnlyList<Variable> GlobalVariables() => G.GetCollection<Variable>(GraphKeys.GlobalVariables);

    /// <summary>The trainable variables of the default graph (tf.trainable_variables).</summary>
    public static IReadOnlyList<Variable> TrainableVariables() => G.GetCollection<Variable>(GraphKeys.TrainableVariables);

    /// <summary>An op that runs the initializers of <paramref name="variables"/> (tf.variables_initializer).</summary>
    public static Operation VariablesInitializer(IEnumerable<Variable> variables, string name = "init") =>
        Group(variables.Select(v => v.Initializer), name);

    /// <summary>An op that initialises every global variable (tf.global_variables_initializer).</summary>
    public static Operation GlobalVariablesInitializer() => VariablesInitializer(GlobalVariables());

    /// <summary>The input unchanged (tf.identity).</summary>
    public static Tensor Identity(Tensor x, string? name = null) => G.AddOp(IdentityDef.Identity, [x], name: name).Output;

    /// <summary>The input unchanged, but the gradient pass treats it as a constant (tf.stop_gradient).</summary>
    public static Tensor StopGradient(Tensor x, string? name = null) => G.AddOp(IdentityDef.StopGradient, [x], name: name).Output;

    /// <summary>An op that does nothing (tf.no_op).</summary>
    public static Operation NoOp(string? name = null) => G.AddOp(NoOpDef.Instance, [], name: name);

    /// <summary>An op that runs all of <paramref name="ops"/> (tf.group).</summary>
    public static Operation Group(IEnumerable<Operation> ops, string? name = null)
    {
        var g = G;
        using (g.ControlDependencies(ops)) return g.AddOp(NoOpDef.Instance, [], name: name ?? "group_deps");
    }

    /// <summary>An op that runs all of <paramref name="ops"/> (tf.group).</summary>
    public static Operation Group(params Operation[] ops) => Group(ops, null);

    /// <summary>An op that runs the producers of <paramref name="tensors"/> (tf.group over tensors).</summary>
    public static Operation Group(params Tensor[] tensors) => Group(tensors.Select(t => t.Op), null);
}
