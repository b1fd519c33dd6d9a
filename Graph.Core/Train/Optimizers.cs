namespace Graph.Core;

/// <summary>Plain gradient descent: v ← v − lr·g (tf.train.GradientDescentOptimizer).</summary>
public sealed class GradientDescentOptimizer(double learningRate, string name = "GradientDescent") : Optimizer(name)
{
    /// <summary>The learning rate.</summary>
    public double LearningRate { get; } = learningRate;

    /// <inheritdoc/>
    protected override Operation ApplyDense(Tensor grad, Variable v) =>
        v.AssignSub(Scalar(v, LearningRate, "learning_rate") * grad).Op;
}

/// <summary>
/// Momentum (tf.train.MomentumOptimizer): a ← μ·a + g; v ← v − lr·a, or with Nesterov v ← v − lr·(g + μ·a).
/// Slot <c>momentum</c> starts at zero.
/// </summary>
public sealed class MomentumOptimizer(double learningRate, double momentum, bool useNesterov = false, string name = "Momentum") : Optimizer(name)
{
    /// <summary>The learning rate.</summary>
    public double LearningRate { get; } = learningRate;
    /// <summary>The momentum μ.</summary>
    public double Momentum { get; } = momentum;
    /// <summary>Whether the Nesterov form is used.</summary>
    public bool UseNesterov { get; } = useNesterov;

    /// <inheritdoc/>
    protected override void CreateSlots(Variable v) => Slot(v, "momentum", 0);

    /// <inheritdoc/>
    protected override Operation ApplyDense(Tensor grad, Variable v)
    {
        var accum = GetSlot(v, "momentum")!;
        var lr = Scalar(v, LearningRate, "learning_rate");
        var mu = Scalar(v, Momentum, "momentum");
        var newAccum = accum.Assign(accum * mu + grad);
        var step = UseNesterov ? (grad + newAccum * mu) * lr : newAccum * lr;
        return v.AssignSub(step).Op;
    }
}

/// <summary>
/// Adam as TF1 implements it (tf.train.AdamOptimizer, ApplyAdam): with t the step,
/// lr_t = lr·√(1−β2ᵗ)/(1−β1ᵗ); m ← m + (g−m)(1−β1); v ← v + (g²−v)(1−β2); var ← var − lr_t·m/(√v + ε).
/// Slots <c>m</c>, <c>v</c> start at zero; β1ᵗ and β2ᵗ are variables <c>beta1_power</c>, <c>beta2_power</c> updated after each step.
/// </summary>
public sealed class AdamOptimizer(double learningRate = 0.001, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, string name = "Adam")
    : Optimizer(name)
{
    private Variable? _beta1Power, _beta2Power;

    /// <summary>The learning rate.</summary>
    public double LearningRate { get; } = learningRate;
    /// <summary>β1.</summary>
    public double Beta1 { get; } = beta1;
    /// <summary>β2.</summary>
    public double Beta2 { get; } = beta2;
    /// <summary>ε.</summary>
    public double Epsilon { get; } = epsilon;

    /// <inheritdoc/>
    protected override void CreateSlots(Variable v)
    {
        Slot(v, "m", 0);
        Slot(v, "v", 0);
    }

    /// <inheritdoc/>
    protected override void PrepareNonSlot(Variable first)
    {
        _beta1Power ??= NonSlot(first, "beta1_power", Beta1);
        _beta2Power ??= NonSlot(first, "beta2_power", Beta2);
    }

    /// <inheritdoc/>
    protected override Operation ApplyDense(Tensor grad, Variable v)
    {
        var (m, s) = (GetSlot(v, "m")!, GetSlot(v, "v")!);
        var one = Scalar(v, 1, "one");
        var lr = Scalar(v, LearningRate, "learning_rate") * TF.Sqrt(one - TF.Cast(_beta2Power!, v.DType)) / (one - TF.Cast(_beta1Power!, v.DType));
        var newM = m.AssignAdd((grad - m) * Scalar(v, 1 - Beta1, "one_minus_beta1"));
        var newV = s.AssignAdd((TF.Square(grad) - s) * Scalar(v, 1 - Beta2, "one_minus_beta2"));
        return v.AssignSub(lr * newM / (TF.Sqrt(newV) + Scalar(v, Epsilon, "epsilon"))).Op;
    }

    /// <inheritdoc/>
    protected override Operation Finish(IReadOnlyList<Operation> updates, string name)
    {
        using (TF.ControlDependencies(updates.ToArray()))
        {
            var b1 = _beta1Power!.Assign(_beta1Power * Scalar(_beta1Power, Beta1, "beta1"));
            var b2 = _beta2Power!.Assign(_beta2Power * Scalar(_beta2Power, Beta2, "beta2"));
            return TF.Group(updates.Append(b1.Op).Append(b2.Op), name);
        }
    }
}

/// <summary>
/// RMSProp as TF1 implements it (tf.train.RMSPropOptimizer, ApplyRMSProp, not centered): ms ← ms + (g²−ms)(1−ρ);
/// mom ← μ·mom + lr·g/√(ms+ε); var ← var − mom. Slot <c>rms</c> starts at one (as in TF1), <c>momentum</c> at zero.
/// </summary>
public sealed class RMSPropOptimizer(double learningRate, double decay = 0.9, double momentum = 0.0, double epsilon = 1e-10, string name = "RMSProp")
    : Optimizer(name)
{
    /// <summary>The learning rate.</summary>
    public double LearningRate { get; } = learningRate;
    /// <summary>The decay ρ.</summary>
    public double Decay { get; } = decay;
    /// <summary>The momentum μ.</summary>
    public double Momentum { get; } = momentum;
    /// <summary>ε.</summary>
    public double Epsilon { get; } = epsilon;

    /// <inheritdoc/>
    protected override void CreateSlots(Variable v)
    {
        Slot(v, "rms", 1);
        Slot(v, "momentum", 0);
    }

    /// <inheritdoc/>
    protected override Operation ApplyDense(Tensor grad, Variable v)
    {
        var (ms, mom) = (GetSlot(v, "rms")!, GetSlot(v, "momentum")!);
        var newMs = ms.AssignAdd((TF.Square(grad) - ms) * Scalar(v, 1 - Decay, "one_minus_decay"));
        var newMom = mom.Assign(mom * Scalar(v, Momentum, "momentum") + Scalar(v, LearningRate, "learning_rate") * grad / TF.Sqrt(newMs + Scalar(v, Epsilon, "epsilon")));
        return v.AssignSub(newMom).Op;
    }
}

public static partial class TF
{
    /// <summary>Clips values to [min, max] (tf.clip_by_value).</summary>
    public static Tensor ClipByValue(Tensor t, double clipValueMin, double clipValueMax, string? name = null)
    {
        if (clipValueMin > clipValueMax)
            throw new InvalidArgumentException($"ClipByValue: clip_value_min {clipValueMin} is greater than clip_value_max {clipValueMax}.");
        return Minimum(Maximum(t, t.ScalarLike(clipValueMin)), t.ScalarLike(clipValueMax), name);
    }

    /// <summary>
    /// Scales tensors so their global L2 norm is at most <paramref name="clipNorm"/> (tf.clip_by_global_norm):
    /// each t becomes t·clip_norm / max(global_norm, clip_norm). Returns the clipped tensors (null stays null) and the norm.
    /// A norm that is not finite (an infinite or NaN gradient) makes every clipped value NaN, as in TF1, so the error
    /// shows instead of the finite entries silently becoming 0.
    /// </summary>
    public static (Tensor?[] Clipped, Tensor GlobalNorm) ClipByGlobalNorm(IReadOnlyList<Tensor?> tensors, double clipNorm)
    {
        var present = tensors.Where(t => t != null).Select(t => t!).ToList();
        if (present.Count == 0) throw new InvalidArgumentException("ClipByGlobalNorm: all tensors are null.");
        var dtype = present[0].DType;
        var norm = Sqrt(AddN(present.Select(t => ReduceSum(Square(Cast(t, dtype)))).ToList()), "global_norm");
        var clip = norm.ScalarLike(clipNorm);
        // + (norm − norm): 0 for a finite norm, NaN otherwise (TF1's scale_for_finite + (use_norm − use_norm)).
        var scale = clip / Maximum(norm, clip) + (norm - norm);
        return (tensors.Select(t => t == null ? null : t * Cast(scale, t.DType)).ToArray(), norm);
    }

    /// <summary>The TF1 optimizers (tf.train).</summary>
    public static class Train
    {
        /// <summary>tf.train.GradientDescentOptimizer.</summary>
        public static GradientDescentOptimizer GradientDescentOptimizer(double learningRate) => new(learningRate);
        /// <summary>tf.train.MomentumOptimizer.</summary>
        public static MomentumOptimizer MomentumOptimizer(double learningRate, double momentum, bool useNesterov = false) => new(learningRate, momentum, useNesterov);
        /// <summary>tf.train.AdamOptimizer with TF1's defaults.</summary>
        public static AdamOptimizer AdamOptimizer(double learningRate = 0.001, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8) =>
            new(learningRate, beta1, beta2, epsilon);
        /// <summary>tf.train.RMSPropOptimizer with TF1's defaults.</summary>
        public static RMSPropOptimizer RMSPropOptimizer(double learningRate, double decay = 0.9, double momentum = 0.0, double epsilon = 1e-10) =>
            new(learningRate, decay, momentum, epsilon);
    }
}
