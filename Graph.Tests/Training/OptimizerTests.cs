using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

/// <summary>
/// The TF1 optimizers (tf.train.*Optimizer) step by step against their update formulas written out here, their slot
/// variables, ComputeGradients/ApplyGradients with clipping, and their argument errors.
/// </summary>
/// <remarks>
/// The test problem is float64 v ∈ ℝ³ with v₀ = [1, −2, 3] and loss = Σ c⊙v²/2, c = [0.5, 1, 2], so the gradient of each
/// step is g = c⊙v of the value before the step.
/// </remarks>
[TestFixture("cpu")]
[TestFixture("ilgpu-cpu")]
[TestFixture("cuda", Category = "Cuda")]
public class OptimizerTests(string device) : GraphFixture(device)
{
    private static readonly double[] V0 = [1.0, -2.0, 3.0];
    private static readonly double[] C = [0.5, 1.0, 2.0];
    private const int Steps = 3;


    // ---------------------------------------------------------------------------------------------------------------
    // Helpers

    /// <summary>The variable <c>Variable</c> = V0 and the loss Σ c⊙v²/2 in the current default graph.</summary>
    private static (Variable V, Tensor Loss) QuadraticProblem()
    {
        var v = TF.Variable(TF.Constant(V0), name: "Variable");
        var c = TF.Constant(C, name: "c");
        var loss = TF.ReduceSum(c * TF.Square(v) / 2.0, name: "loss");
        return (v, loss);
    }

    /// <summary>Runs <paramref name="train"/> <paramref name="steps"/> times and returns v after each step.</summary>
    private static List<double[]> RunSteps(Session sess, Operation train, Variable v, int steps = Steps)
    {
        var values = new List<double[]>();
        for (var i = 0; i < steps; i++)
        {
            sess.Run(train);
            values.Add(sess.Run(v.Value).ToArray<double>());
        }
        return values;
    }

    private static double[] Grad(double[] v) => v.Select((x, i) => C[i] * x).ToArray();

    private static void ShouldBeClose(double[] actual, double[] expected, string because, double tol = 1e-12)
    {
        actual.Should().HaveCount(expected.Length, because);
        for (var i = 0; i < expected.Length; i++)
            actual[i].Should().BeApproximately(expected[i], tol * Math.Max(1, Math.Abs(expected[i])), $"{because}, element {i}");
    }

    private static void ShouldMatchReference(List<double[]> actual, List<double[]> expected, string name)
    {
        actual.Should().HaveCount(expected.Count);
        for (var s = 0; s < expected.Count; s++)
            ShouldBeClose(actual[s], expected[s], $"{name}: v after step {s + 1}");
        // Guard against a reference that does not move: each step must change v.
        ShouldNotBeClose(actual[0], V0, $"{name}: the first step moves v");
    }

    private static void ShouldNotBeClose(double[] a, double[] b, string because) =>
        a.Zip(b, (x, y) => Math.Abs(x - y)).Max().Should().BeGreaterThan(1e-6, because);

    // ---------------------------------------------------------------------------------------------------------------
    // Hand-computed TF1 updates (each returns v after every step, g = c⊙v of the value before the step)

    /// <summary>GradientDescent (ApplyGradientDescent): v ← v − lr·g.</summary>
    private static List<double[]> ReferenceGradientDescent(double lr)
    {
        var v = (double[])V0.Clone();
        var result = new List<double[]>();
        for (var t = 1; t <= Steps; t++)
        {
            var g = Grad(v);
            for (var i = 0; i < v.Length; i++) v[i] -= lr * g[i];
            result.Add((double[])v.Clone());
        }
        return result;
    }

    /// <summary>
    /// Momentum (ApplyMomentum), accumulator a₀ = 0: a ← μ·a + g; then v ← v − lr·a, or with Nesterov
    /// v ← v − (lr·g + lr·μ·a) using the new a.
    /// </summary>
    private static List<double[]> ReferenceMomentum(double lr, double mu, bool nesterov)
    {
        var v = (double[])V0.Clone();
        var a = new double[v.Length];
        var result = new List<double[]>();
        for (var t = 1; t <= Steps; t++)
        {
            var g = Grad(v);
            for (var i = 0; i < v.Length; i++)
            {
                a[i] = mu * a[i] + g[i];
                v[i] -= nesterov ? lr * g[i] + lr * mu * a[i] : lr * a[i];
            }
            result.Add((double[])v.Clone());
        }
        return result;
    }

    /// <summary>
    /// Adam (ApplyAdam), m₀ = s₀ = 0, at step t = 1, 2, …:
    /// lr_t = lr·√(1−β2ᵗ)/(1−β1ᵗ); m ← β1·m + (1−β1)·g; s ← β2·s + (1−β2)·g²; v ← v − lr_t·m/(√s + ε).
    /// </summary>
    private static (List<double[]> V, double[] M, double[] S) ReferenceAdam(double lr, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
    {
        var v = (double[])V0.Clone();
        var m = new double[v.Length];
        var s = new double[v.Length];
        var result = new List<double[]>();
        for (var t = 1; t <= Steps; t++)
        {
            var g = Grad(v);
            var lrT = lr * Math.Sqrt(1 - Math.Pow(beta2, t)) / (1 - Math.Pow(beta1, t));
            for (var i = 0; i < v.Length; i++)
            {
                m[i] = beta1 * m[i] + (1 - beta1) * g[i];
                s[i] = beta2 * s[i] + (1 - beta2) * g[i] * g[i];
                v[i] -= lrT * m[i] / (Math.Sqrt(s[i]) + eps);
            }
            result.Add((double[])v.Clone());
        }
        return (result, m, s);
    }

    /// <summary>
    /// RMSProp (ApplyRMSProp, not centered), ms₀ = 1 (TF1 initialises the rms slot to ones), mom₀ = 0:
    /// ms ← ρ·ms + (1−ρ)·g²; mom ← μ·mom + lr·g/√(ms + ε); v ← v − mom.
    /// </summary>
    private static (List<double[]> V, double[] Ms, double[] Mom) ReferenceRmsProp(double lr, double rho = 0.9, double mu = 0.0, double eps = 1e-10)
    {
        var v = (double[])V0.Clone();
        var ms = Enumerable.Repeat(1.0, v.Length).ToArray();
        var mom = new double[v.Length];
        var result = new List<double[]>();
        for (var t = 1; t <= Steps; t++)
        {
            var g = Grad(v);
            for (var i = 0; i < v.Length; i++)
            {
                ms[i] = rho * ms[i] + (1 - rho) * g[i] * g[i];
                mom[i] = mu * mom[i] + lr * g[i] / Math.Sqrt(ms[i] + eps);
                v[i] -= mom[i];
            }
            result.Add((double[])v.Clone());
        }
        return (result, ms, mom);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Update formulas

    [Test]
    public void GradientDescentMatchesTheTf1Update()
    {
        var (v, loss) = QuadraticProblem();
        var train = new GradientDescentOptimizer(0.1).Minimize(loss);
        using var sess = NewSession();
        sess.Run(TF.GlobalVariablesInitializer());
        ShouldMatchReference(RunSteps(sess, train, v), ReferenceGradientDescent(0.1), "GradientDescent");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void MomentumMatchesTheTf1Update(bool nesterov)
    {
        var (v, loss) = QuadraticProblem();
        var opt = new MomentumOptimizer(0.1, 0.9, useNesterov: nesterov);
        var train = opt.Minimize(loss);
        using var sess = NewSession();
        sess.Run(TF.GlobalVariablesInitializer());
        sess.Run(opt.GetSlot(v, "momentum")!.Value).ToArray<double>().Should().Equal(0, 0, 0);
        ShouldMatchReference(RunSteps(sess, train, v), ReferenceMomentum(0.1, 0.9, nesterov), nesterov ? "Nesterov" : "Momentum");
    }

    [Test]
    public void NesterovDiffersFromPlainMomentum()
    {
        // The two references differ from step 2 on, so the Nesterov test above really distinguishes the two forms.
        var plain = ReferenceMomentum(0.1, 0.9, false);
        var nesterov = ReferenceMomentum(0.1, 0.9, true);
        ShouldNotBeClose(plain[0], nesterov[0], "step 1");
        ShouldNotBeClose(plain[2], nesterov[2], "step 3");
    }

    [Test]
    public void AdamMatchesTheTf1UpdateWithBiasCorrection()
    {
        var (v, loss) = QuadraticProblem();
        var opt = new AdamOptimizer(0.1);
        (opt.Beta1, opt.Beta2, opt.Epsilon).Should().Be((0.9, 0.999, 1e-8), "TF1's defaults");
        var train = opt.Minimize(loss);
        using var sess = NewSession();
        sess.Run(TF.GlobalVariablesInitializer());
        var (expected, m, s) = ReferenceAdam(0.1);
        ShouldMatchReference(RunSteps(sess, train, v), expected, "Adam");
        ShouldBeClose(sess.Run(opt.GetSlot(v, "m")!.Value).ToArray<double>(), m, "Adam m after 3 steps");
        ShouldBeClose(sess.Run(opt.GetSlot(v, "v")!.Value).ToArray<double>(), s, "Adam v after 3 steps");
        // β powers start at β (the power used by step 1) and are multiplied by β after each step.
        sess.Run(TestGraph.GetTensor("beta1_power:0")).Item<double>().Should().BeApproximately(Math.Pow(0.9, Steps + 1), 1e-15);
        sess.Run(TestGraph.GetTensor("beta2_power:0")).Item<double>().Should().BeApproximately(Math.Pow(0.999, Steps + 1), 1e-15);
    }

    [Test]
    public void AdamFirstStepMovesEachElementByLrTimesSign()
    {
        // At t = 1: m = 0.1·g, s = 0.001·g², lr_1 = lr·√0.001/0.1, so the step is lr·g/(|g| + ε/√0.001) ≈ lr·sign(g).
        var (v, loss) = QuadraticProblem();
        var train = TF.Train.AdamOptimizer(0.1).Minimize(loss);
        using var sess = NewSession();
        sess.Run(TF.GlobalVariablesInitializer());
        var after = RunSteps(sess, train, v, steps: 1)[0];
        ShouldBeClose(after, [1 - 0.1, -2 + 0.1, 3 - 0.1], "Adam's bias-corrected first step", 1e-7);
    }

    [TestCase(0.0)]
    [TestCase(0.5)]
    public void RmsPropMatchesTheTf1Update(double momentum)
    {
        var (v, loss) = QuadraticProblem();
        var opt = new RMSPropOptimizer(0.01, momentum: momentum);
        (opt.Decay, opt.Epsilon).Should().Be((0.9, 1e-10), "TF1's defaults");
        var train = opt.Minimize(loss);
        using var sess = NewSession();
        sess.Run(TF.GlobalVariablesInitializer());
        sess.Run(opt.GetSlot(v, "rms")!.Value).ToArray<double>().Should().Equal([1, 1, 1], "TF1 initialises the rms slot to ones");
        var (expected, ms, mom) = ReferenceRmsProp(0.01, mu: momentum);
        ShouldMatchReference(RunSteps(sess, train, v), expected, "RMSProp");
        ShouldBeClose(sess.Run(opt.GetSlot(v, "rms")!.Value).ToArray<double>(), ms, "RMSProp rms after 3 steps");
        ShouldBeClose(sess.Run(opt.GetSlot(v, "momentum")!.Value).ToArray<double>(), mom, "RMSProp momentum after 3 steps");
    }

    [Test]
    public void RmsPropDefaultsMatchTf1()
    {
        var opt = TF.Train.RMSPropOptimizer(0.01);
        (opt.LearningRate, opt.Decay, opt.Momentum, opt.Epsilon).Should().Be((0.01, 0.9, 0.0, 1e-10));
        var adam = TF.Train.AdamOptimizer();
        (adam.LearningRate, adam.Beta1, adam.Beta2, adam.Epsilon).Should().Be((0.001, 0.9, 0.999, 1e-8));
    }

    [Test]
    public void Float32VariablesAreUpdatedInFloat32()
    {
        var v = TF.Variable(TF.Constant(new float[] { 1, -2, 3 }), name: "Variable");
        var loss = TF.ReduceSum(TF.Constant(new float[] { 0.5f, 1, 2 }) * TF.Square(v) / 2.0);
        var opt = new AdamOptimizer(0.1);
        var train = opt.Minimize(loss);
        opt.GetSlot(v, "m")!.DType.Should().Be(DType.Float32);
        using var sess = NewSession();
        sess.Run(TF.GlobalVariablesInitializer());
        var (expected, _, _) = ReferenceAdam(0.1);
        for (var s = 0; s < Steps; s++)
        {
            sess.Run(train);
            var actual = sess.Run(v.Value).ToArray<float>();
            for (var i = 0; i < 3; i++) ((double)actual[i]).Should().BeApproximately(expected[s][i], 1e-5, $"float32 Adam step {s + 1}, element {i}");
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Slots, collections, global step

    [Test]
    public void AdamCreatesTf1NamedNonTrainableSlotsThatTheInitializerSets()
    {
        var (v, loss) = QuadraticProblem();
        var opt = new AdamOptimizer(0.1);
        opt.Minimize(loss);

        var m = opt.GetSlot(v, "m");
        var s = opt.GetSlot(v, "v");
        m.Should().NotBeNull();
        s.Should().NotBeNull();
        m!.Name.Should().Be("Variable/Adam");
        s!.Name.Should().Be("Variable/Adam_1");
        opt.GetSlot(v, "no_such_slot").Should().BeNull();
        foreach (var slot in new[] { m, s })
        {
            slot.Trainable.Should().BeFalse();
            slot.Shape.Dims.Should().Equal(v.Shape.Dims);
            slot.DType.Should().Be(DType.Float64);
        }

        var global = TF.GlobalVariables().Select(x => x.Name).ToList();
        global.Should().BeEquivalentTo(["Variable", "Variable/Adam", "Variable/Adam_1", "beta1_power", "beta2_power"]);
        TF.TrainableVariables().Select(x => x.Name).Should().Equal("Variable");
        var betaPowers = TF.GlobalVariables().Where(x => x.Name.StartsWith("beta")).ToList();
        betaPowers.Should().OnlyContain(x => !x.Trainable && x.Shape.Rank == 0);

        using var sess = NewSession();
        sess.Run(TF.GlobalVariablesInitializer());
        sess.Run(m.Value).ToArray<double>().Should().Equal(0, 0, 0);
        sess.Run(s.Value).ToArray<double>().Should().Equal(0, 0, 0);
        sess.Run(betaPowers[0].Value).Item<double>().Should().Be(betaPowers[0].Name == "beta1_power" ? 0.9 : 0.999);
    }

    [Test]
    public void SlotsAreNotInitialisedWithoutTheInitializer()
    {
        var (v, loss) = QuadraticProblem();
        var opt = new AdamOptimizer(0.1);
        var train = opt.Minimize(loss);
        using var sess = NewSession();
        sess.Run(v.Initializer);
        var act = () => sess.Run(train);
        act.Should().Throw<FailedPreconditionException>("the slots and β powers were never initialised");
    }

    [Test]
    public void MomentumAndRmsPropSlotNames()
    {
        var (v, loss) = QuadraticProblem();
        var momentum = new MomentumOptimizer(0.1, 0.9);
        momentum.Minimize(loss);
        var rms = new RMSPropOptimizer(0.01);
        rms.Minimize(loss);

        momentum.GetSlot(v, "momentum")!.Name.Should().Be("Variable/Momentum");
        rms.GetSlot(v, "rms")!.Name.Should().Be("Variable/RMSProp");
        rms.GetSlot(v, "momentum")!.Name.Should().Be("Variable/RMSProp_1");
        TF.GlobalVariables().Select(x => x.Name).Should()
            .BeEquivalentTo(["Variable", "Variable/Momentum", "Variable/RMSProp", "Variable/RMSProp_1"]);
        TF.TrainableVariables().Should().ContainSingle().Which.Name.Should().Be("Variable");
        new GradientDescentOptimizer(0.1).Minimize(loss);
        TF.GlobalVariables().Should().HaveCount(4, "gradient descent has no slots");

        using var sess = NewSession();
        sess.Run(TF.GlobalVariablesInitializer());
        sess.Run(rms.GetSlot(v, "rms")!.Value).ToArray<double>().Should().Equal(1, 1, 1);
        sess.Run(rms.GetSlot(v, "momentum")!.Value).ToArray<double>().Should().Equal(0, 0, 0);
        sess.Run(momentum.GetSlot(v, "momentum")!.Value).ToArray<double>().Should().Equal(0, 0, 0);
    }

    [Test]
    public void SlotsAreCreatedOncePerVariableAcrossMinimizeCalls()
    {
        var (v, loss) = QuadraticProblem();
        var opt = new AdamOptimizer(0.1);
        opt.Minimize(loss);
        var m = opt.GetSlot(v, "m");
        opt.Minimize(loss * 2.0);
        opt.GetSlot(v, "m").Should().BeSameAs(m);
        TF.GlobalVariables().Should().HaveCount(5);
    }

    [Test]
    public void SlotsOfTwoVariablesArePerVariable()
    {
        var a = TF.Variable(TF.Constant(new double[] { 1, 2 }), name: "a");
        var b = TF.Variable(TF.Constant(new double[,] { { 3 }, { 4 } }), name: "b");
        var loss = TF.ReduceSum(TF.Square(a)) + TF.ReduceSum(TF.Square(b));
        var opt = new AdamOptimizer();
        opt.Minimize(loss);
        opt.GetSlot(a, "m")!.Name.Should().Be("a/Adam");
        opt.GetSlot(b, "v")!.Name.Should().Be("b/Adam_1");
        opt.GetSlot(b, "m")!.Shape.Dims.Should().Equal(2, 1);
        TF.GlobalVariables().Where(x => x.Name.StartsWith("beta")).Should().HaveCount(2, "β powers are shared by all variables");
    }

    [Test]
    public void SlotsAreNamedAfterTheVariableWhateverTheCurrentNameScope()
    {
        Variable w;
        using (TF.NameScope("layer")) w = TF.Variable(TF.Constant(new double[] { 1, 2 }), name: "W");
        w.Name.Should().Be("layer/W");
        var opt = new AdamOptimizer();
        using (TF.NameScope("train")) opt.Minimize(TF.ReduceSum(TF.Square(w)));
        opt.GetSlot(w, "m")!.Name.Should().Be("layer/W/Adam");
        opt.GetSlot(w, "v")!.Name.Should().Be("layer/W/Adam_1");
        TF.GlobalVariables().Select(x => x.Name).Should().Contain(["beta1_power", "beta2_power"]);
    }

    /// <summary>
    /// tf.train.Optimizer.minimize/apply_gradients: "name: Optional name for the returned operation", defaulting to the
    /// optimizer's name; with a global step the returned op is the step's increment, which carries that name.
    /// </summary>
    [TestCase("GradientDescent", null, false, "GradientDescent")]
    [TestCase("Adam", null, false, "Adam")]
    [TestCase("RMSProp", null, false, "RMSProp")]
    [TestCase("GradientDescent", "training_op", false, "training_op")]
    [TestCase("Adam", "training_op", false, "training_op")]
    [TestCase("Momentum", null, true, "Momentum")]
    [TestCase("Adam", "training_op", true, "training_op")]
    public void MinimizeReturnsAnOpWithTheTf1Name(string optimizer, string? name, bool withGlobalStep, string expected)
    {
        var (_, loss) = QuadraticProblem();
        Optimizer opt = optimizer switch
        {
            "GradientDescent" => new GradientDescentOptimizer(0.1),
            "Adam" => new AdamOptimizer(),
            "RMSProp" => new RMSPropOptimizer(0.01),
            _ => new MomentumOptimizer(0.1, 0.9),
        };
        var globalStep = withGlobalStep ? TF.Variable(TF.Constant(0L), name: "global_step", trainable: false) : null;
        var train = opt.Minimize(loss, globalStep, name: name);
        train.Name.Should().Be(expected);
        TestGraph.GetOperation(expected).Should().BeSameAs(train);
    }

    [Test]
    public void MinimizeInsideANameScopeNamesTheOpInThatScope()
    {
        var (_, loss) = QuadraticProblem();
        Operation train;
        using (TF.NameScope("train")) train = new AdamOptimizer().Minimize(loss);
        train.Name.Should().Be("train/Adam");
    }

    [Test]
    public void GlobalStepIncrementsByOnePerStep()
    {
        var (v, loss) = QuadraticProblem();
        var globalStep = TF.Variable(TF.Constant(0L), name: "global_step", trainable: false);
        var train = new MomentumOptimizer(0.1, 0.9).Minimize(loss, globalStep);
        using var sess = NewSession();
        sess.Run(TF.GlobalVariablesInitializer());
        var values = new List<long>();
        var vs = new List<double[]>();
        for (var i = 0; i < Steps; i++)
        {
            sess.Run(train);
            values.Add(sess.Run(globalStep.Value).Item<long>());
            vs.Add(sess.Run(v.Value).ToArray<double>());
        }
        values.Should().Equal(1L, 2L, 3L);
        ShouldMatchReference(vs, ReferenceMomentum(0.1, 0.9, false), "Momentum with a global step");
    }

    [Test]
    public void GlobalStepWorksWithInt32AndAdam()
    {
        var (v, loss) = QuadraticProblem();
        var globalStep = TF.Variable(TF.Constant(0), name: "global_step", trainable: false);
        var train = new AdamOptimizer(0.1).Minimize(loss, globalStep);
        using var sess = NewSession();
        sess.Run(TF.GlobalVariablesInitializer());
        var vs = RunSteps(sess, train, v);
        sess.Run(globalStep.Value).Item<int>().Should().Be(Steps);
        ShouldMatchReference(vs, ReferenceAdam(0.1).V, "Adam with a global step");
    }

    // ---------------------------------------------------------------------------------------------------------------
    // ComputeGradients / ApplyGradients / clipping

    [Test]
    public void ComputeGradientsThenApplyGradients()
    {
        var (v, loss) = QuadraticProblem();
        var unused = TF.Variable(TF.Constant(5.0), name: "unused");
        var opt = new GradientDescentOptimizer(0.1);
        var gradsAndVars = opt.ComputeGradients(loss);
        gradsAndVars.Select(p => p.Variable).Should().Equal(v, unused);
        gradsAndVars[1].Gradient.Should().BeNull("the loss does not depend on 'unused'");
        var train = opt.ApplyGradients(gradsAndVars);

        using var sess = NewSession();
        sess.Run(TF.GlobalVariablesInitializer());
        sess.Run(gradsAndVars[0].Gradient!).ToArray<double>().Should().Equal(Grad(V0));
        ShouldMatchReference(RunSteps(sess, train, v), ReferenceGradientDescent(0.1), "ApplyGradients");
        sess.Run(unused.Value).Item<double>().Should().Be(5.0, "a variable without a gradient is left alone");
    }

    [Test]
    public void ComputeGradientsWithAVarListOnlyTrainsThoseVariables()
    {
        var a = TF.Variable(TF.Constant(new double[] { 1, 2 }), name: "a");
        var b = TF.Variable(TF.Constant(3.0), name: "b");
        var loss = TF.ReduceSum(a.Value * 3.0) + b.Value * b.Value;
        var opt = new GradientDescentOptimizer(0.5);
        var gv = opt.ComputeGradients(loss, [b]);
        gv.Should().ContainSingle().Which.Variable.Should().BeSameAs(b);
        var train = opt.ApplyGradients(gv);
        using var sess = NewSession();
        sess.Run(TF.GlobalVariablesInitializer());
        sess.Run(train);
        sess.Run(b.Value).Item<double>().Should().Be(3.0 - 0.5 * 6.0);
        sess.Run(a.Value).ToArray<double>().Should().Equal(1, 2);
    }

    [Test]
    public void ApplyGradientsAcceptsGradientsComputedElsewhere()
    {
        // A gradient tensor of the caller's choosing, e.g. a constant: v ← v − lr·g.
        var v = TF.Variable(TF.Constant(new double[] { 1, 2 }), name: "v");
        var train = new GradientDescentOptimizer(0.25).ApplyGradients([(TF.Constant(new double[] { 4, -8 }), v)]);
        using var sess = NewSession();
        sess.Run(TF.GlobalVariablesInitializer());
        sess.Run(train);
        sess.Run(train);
        sess.Run(v.Value).ToArray<double>().Should().Equal(1 - 2 * 1.0, 2 + 2 * 2.0);
    }

    /// <summary>
    /// A linear loss with fixed gradients ga = [3, 4] for a and gb = [12] for b: global norm √(9+16+144) = 13.
    /// clip_by_global_norm scales each gradient by clip/max(norm, clip).
    /// </summary>
    [TestCase(6.5, 0.5)]
    [TestCase(13.0, 1.0)]
    [TestCase(20.0, 1.0)]
    public void ClipByGlobalNormBetweenComputeAndApply(double clipNorm, double expectedScale)
    {
        var a = TF.Variable(TF.Constant(new double[] { 1, 1 }), name: "a");
        var b = TF.Variable(TF.Constant(new double[] { 1 }), name: "b");
        var unused = TF.Variable(TF.Constant(0.0), name: "unused");
        var loss = TF.ReduceSum(a * TF.Constant(new double[] { 3, 4 })) + TF.ReduceSum(b.Value * 12.0);
        var opt = new GradientDescentOptimizer(1.0);
        var gv = opt.ComputeGradients(loss);
        gv.Should().HaveCount(3);
        var (clipped, norm) = TF.ClipByGlobalNorm(gv.Select(p => p.Gradient).ToList(), clipNorm);
        clipped.Should().HaveCount(3);
        clipped[2].Should().BeNull("a null gradient stays null");
        var train = opt.ApplyGradients(clipped.Zip(gv, (c, p) => (c, p.Variable)).ToList());

        using var sess = NewSession();
        sess.Run(TF.GlobalVariablesInitializer());
        var r = sess.Run([norm, clipped[0]!, clipped[1]!]);
        r[0].Item<double>().Should().BeApproximately(13.0, 1e-12);
        ShouldBeClose(r[1].ToArray<double>(), [3 * expectedScale, 4 * expectedScale], "clipped ga");
        ShouldBeClose(r[2].ToArray<double>(), [12 * expectedScale], "clipped gb");
        sess.Run(train);
        ShouldBeClose(sess.Run(a.Value).ToArray<double>(), [1 - 3 * expectedScale, 1 - 4 * expectedScale], "a after the clipped step");
        ShouldBeClose(sess.Run(b.Value).ToArray<double>(), [1 - 12 * expectedScale], "b after the clipped step");
        sess.Run(unused.Value).Item<double>().Should().Be(0.0);
    }

    [Test]
    public void ClipByGlobalNormOfFloat32Tensors()
    {
        var (clipped, norm) = TF.ClipByGlobalNorm([TF.Constant(new float[] { 0, 6 }), TF.Constant(new float[,] { { 8 } })], 5.0);
        norm.DType.Should().Be(DType.Float32);
        using var sess = NewSession();
        sess.Run(norm).Item<float>().Should().BeApproximately(10f, 1e-5f);
        sess.Run(clipped[0]!).ToArray<float>().Should().Equal(0f, 3f);
        var second = sess.Run(clipped[1]!);
        second.Dims.Should().Equal(1, 1);
        second.ToArray<float>()[0].Should().BeApproximately(4f, 1e-5f);
    }

    [Test]
    public void ClipByGlobalNormOfOnlyNullsIsAnError()
    {
        var act = () => TF.ClipByGlobalNorm([null, null], 1.0);
        act.Should().Throw<InvalidArgumentException>().WithMessage("*null*");
    }

    [Test]
    public void ClipByValueValuesAndGradient()
    {
        var x = TF.Constant(new double[] { -3, -0.5, 0.2, 2.5, 7 });
        var clipped = TF.ClipByValue(x, -1, 2);
        // d Σ w⊙clip(x) / dx = w where min < x < max, else 0.
        var w = TF.Constant(new double[] { 1, 2, 3, 4, 5 });
        var grad = TF.Gradients(TF.ReduceSum(clipped * w), x)[0];
        grad.Should().NotBeNull();
        using var sess = NewSession();
        sess.Run(clipped).ToArray<double>().Should().Equal(-1, -0.5, 0.2, 2, 2);
        sess.Run(grad!).ToArray<double>().Should().Equal(0, 2, 3, 0, 0);
    }

    [Test]
    public void ClipByValueOfAGradientInsideATrainingStep()
    {
        // Gradients [3, −0.2] clipped to [−1, 1] → [1, −0.2]; GD with lr 1.
        var v = TF.Variable(TF.Constant(new double[] { 0, 0 }), name: "v");
        var loss = TF.ReduceSum(v * TF.Constant(new double[] { 3, -0.2 }));
        var opt = new GradientDescentOptimizer(1.0);
        var gv = opt.ComputeGradients(loss);
        var train = opt.ApplyGradients(gv.Select(p => ((Tensor?)TF.ClipByValue(p.Gradient!, -1, 1), p.Variable)).ToList());
        using var sess = NewSession();
        sess.Run(TF.GlobalVariablesInitializer());
        sess.Run(train);
        ShouldBeClose(sess.Run(v.Value).ToArray<double>(), [-1, 0.2], "v after one clipped step");
    }

    [Test]
    public void ClipByValueWithMinAboveMaxIsAnError()
    {
        var act = () => TF.ClipByValue(TF.Constant(new double[] { 1 }), 2, 1);
        act.Should().Throw<InvalidArgumentException>().WithMessage("*clip_value_min*");
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Bad input and non-scalar losses

    [Test]
    public void MinimizeWithoutTrainableVariablesIsAnError()
    {
        var frozen = TF.Variable(TF.Constant(new double[] { 1, 2 }), name: "frozen", trainable: false);
        var x = TF.Placeholder(DType.Float64, new Shape(2), "x");
        var loss = TF.ReduceSum(TF.Square(x * frozen));
        var act = () => new GradientDescentOptimizer(0.1).Minimize(loss);
        act.Should().Throw<InvalidArgumentException>().WithMessage("*no variables to optimize*");
    }

    [Test]
    public void MinimizeWithNoTrainableVariableInReachListsTheVariables()
    {
        TF.Variable(TF.Constant(new double[] { 1, 2 }), name: "w1");
        TF.Variable(TF.Constant(3.0), name: "w2");
        var x = TF.Placeholder(DType.Float64, new Shape(2), "x");
        var loss = TF.ReduceSum(TF.Square(x));
        var act = () => new AdamOptimizer().Minimize(loss);
        act.Should().Throw<InvalidArgumentException>()
            .WithMessage("*no gradients*")
            .Where(e => e.Message.Contains("w1") && e.Message.Contains("w2"), "the message lists the variables");
        TF.GlobalVariables().Should().HaveCount(2, "no slots are created for a failed Minimize");
    }

    [Test]
    public void MinimizeThroughStopGradientOnlyIsAnError()
    {
        var w = TF.Variable(TF.Constant(new double[] { 1, 2 }), name: "w");
        var loss = TF.ReduceSum(TF.StopGradient(w) * 2.0);
        var act = () => new GradientDescentOptimizer(0.1).Minimize(loss);
        act.Should().Throw<InvalidArgumentException>().Where(e => e.Message.Contains("[w]"), "the message lists the variable");
    }

    [Test]
    public void ApplyGradientsWithOnlyNullGradientsIsAnError()
    {
        var w = TF.Variable(TF.Constant(1.0), name: "w");
        var act = () => new GradientDescentOptimizer(0.1).ApplyGradients([(null, w)]);
        act.Should().Throw<InvalidArgumentException>().Where(e => e.Message.Contains("[w]"), "the message lists the variable");
    }

    [Test]
    public void ApplyGradientsWithAGradientOfAnotherDTypeIsAnError()
    {
        var v = TF.Variable(TF.Constant(new double[] { 1, 2 }), name: "v");
        var act = () => new GradientDescentOptimizer(0.1).ApplyGradients([(TF.Constant(new float[] { 1, 1 }), v)]);
        act.Should().Throw<InvalidArgumentException>().WithMessage("*float32*").Where(e => e.Message.Contains("float64"));
    }

    [Test]
    public void ApplyGradientsWithAGradientOfAnotherShapeIsAnError()
    {
        var v = TF.Variable(TF.Constant(new double[] { 1, 2 }), name: "v");
        var act = () => new MomentumOptimizer(0.1, 0.9).ApplyGradients([(TF.Constant(new double[] { 1, 1, 1 }), v)]);
        act.Should().Throw<InvalidArgumentException>().WithMessage("*shape*");
    }

    [Test]
    public void GradientWithRespectToAnIntegerTensorIsAnError()
    {
        var x = TF.Constant(new[] { 1, 2, 3 }, name: "x");
        var y = TF.ReduceSum(TF.Cast(x, DType.Float64) * 2.0);
        var act = () => TF.Gradients(y, x);
        act.Should().Throw<InvalidArgumentException>().WithMessage("*int32*").Where(e => e.Message.Contains("x:0"));
    }

    [Test]
    public void MinimizeOfAnIntegerLossIsAnError()
    {
        var w = TF.Variable(TF.Constant(1.0), name: "w");
        var loss = TF.Cast(w, DType.Int32);
        var act = () => new GradientDescentOptimizer(0.1).Minimize(loss);
        act.Should().Throw<InvalidArgumentException>().WithMessage("*int32*");
    }

    /// <summary>TF sums a non-scalar loss (grad_ys = ones): Minimize(c⊙v²/2) and Minimize(Σ c⊙v²/2) take identical steps.</summary>
    [TestCase("GradientDescent")]
    [TestCase("Adam")]
    [TestCase("RMSProp")]
    public void NonScalarLossIsSummed(string optimizer)
    {
        Optimizer Make() => optimizer switch
        {
            "GradientDescent" => new GradientDescentOptimizer(0.1),
            "Adam" => new AdamOptimizer(0.1),
            _ => new RMSPropOptimizer(0.01),
        };
        List<double[]> Train(bool reduce)
        {
            var g = new ComputeGraph();
            using var scope = g.AsDefault();
            var v = TF.Variable(TF.Constant(V0), name: "Variable");
            var perElement = TF.Constant(C) * TF.Square(v) / 2.0;
            perElement.Shape.Dims.Should().Equal(3);
            var train = Make().Minimize(reduce ? TF.ReduceSum(perElement) : perElement);
            using var sess = NewSession(g);
            sess.Run(TF.GlobalVariablesInitializer());
            return RunSteps(sess, train, v);
        }
        var vector = Train(reduce: false);
        var summed = Train(reduce: true);
        for (var s = 0; s < Steps; s++) vector[s].Should().Equal(summed[s], $"step {s + 1}");
        ShouldNotBeClose(vector[0], V0, "the vector loss trains v");
    }
}
