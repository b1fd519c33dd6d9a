using Graph.Core;
using Graph.Kernels;

namespace Graph.Tests;

[TestFixture]
public class GraphTests
{
    [Test]
    public void OpNamesAreUniqueLikeTf()
    {
        var g = new ComputeGraph();
        using (g.AsDefault())
        {
            var a = TF.Constant(new float[,] { { 1 } });
            TF.MatMul(a, a).Op.Name.Should().Be("MatMul");
            TF.MatMul(a, a).Op.Name.Should().Be("MatMul_1");
            TF.MatMul(a, a, name: "MatMul").Op.Name.Should().Be("MatMul_2");
            a.Op.Name.Should().Be("Const");
            a.Name.Should().Be("Const:0");
        }
    }

    [Test]
    public void NameScopesPrefixAndUniquify()
    {
        var g = new ComputeGraph();
        using (g.AsDefault())
        {
            using (TF.NameScope("rnn"))
            {
                TF.Constant(1f).Op.Name.Should().Be("rnn/Const");
                using (TF.NameScope("cell")) TF.Constant(1f).Op.Name.Should().Be("rnn/cell/Const");
            }
            using (TF.NameScope("rnn")) TF.Constant(1f).Op.Name.Should().Be("rnn_1/Const");
            using (TF.NameScope("rnn/")) TF.Constant(1f).Op.Name.Should().Be("rnn/Const_1");
            g.GetOperation("rnn/cell/Const").Type.Should().Be("Const");
        }
    }

    [Test]
    public void VariableCreatesTf1OpsAndJoinsCollections()
    {
        var g = new ComputeGraph();
        using (g.AsDefault())
        {
            var w = TF.Variable(TF.Zeros([2, 3]));
            var frozen = TF.Variable(TF.Ones([1]), name: "frozen", trainable: false);
            w.Name.Should().Be("Variable");
            w.Op.Type.Should().Be("VariableV2");
            w.Initializer.Name.Should().Be("Variable/Assign");
            w.Value.Op.Name.Should().Be("Variable/read");
            w.Shape.Should().Equal(2, 3);
            frozen.Name.Should().Be("frozen");
            TF.GlobalVariables().Should().Equal(w, frozen);
            TF.TrainableVariables().Should().Equal(w);
            g.Operations.Select(o => o.Name).Should().ContainInOrder("zeros", "Variable", "Variable/Assign", "Variable/read");
        }
    }

    [Test]
    public void VariableFromHostValueCreatesInitialValueConstantInsideItsScope()
    {
        var g = new ComputeGraph();
        using (g.AsDefault())
        {
            var v = TF.Variable(new float[] { 1, 2 }, name: "v");
            v.InitialValue.Op.Name.Should().Be("v/initial_value");
            using var sess = new Session(g);
            sess.Run(TF.GlobalVariablesInitializer());
            sess.Run(v.Value).ToArray<float>().Should().Equal(1f, 2f);
        }
    }

    [Test]
    public void ControlDependenciesOrderExecution()
    {
        var g = new ComputeGraph();
        using (g.AsDefault())
        {
            var v = TF.Variable(TF.Constant(1f));
            var update = v.AssignAdd(TF.Constant(10f));
            Tensor after;
            using (TF.ControlDependencies(update)) after = TF.Identity(v.Op.Output);
            var doubled = after * 2.0;
            after.Op.ControlInputs.Should().Equal(update.Op);
            doubled.Op.ControlInputs.Should().BeEmpty("the scope has ended");
            using var sess = new Session(g);
            sess.Run(v.Initializer);
            sess.Run(doubled).Item<float>().Should().Be(22f);
        }
    }

    [Test]
    public void ResetDefaultGraphSetsTheGraphSeed()
    {
        var g = TF.ResetDefaultGraph(seed: 42);
        TF.GetDefaultGraph().Should().BeSameAs(g);
        g.Seed.Should().Be(42);
        g.Operations.Should().BeEmpty();
        TF.ResetDefaultGraph().Seed.Should().BeNull();
    }

    [Test]
    public void TensorFromAnotherGraphIsRejectedNamingIt()
    {
        var g1 = new ComputeGraph();
        var g2 = new ComputeGraph();
        Tensor a;
        using (g1.AsDefault()) a = TF.Constant(1f, name: "a");
        using (g2.AsDefault())
        {
            var act = () => TF.Add(a, TF.Constant(2f));
            act.Should().Throw<InvalidArgumentException>().WithMessage("*a:0*another graph*");
        }
    }

    [Test]
    public void IncompatibleShapesFailAtBuildTimeNamingOpAndShapes()
    {
        var g = new ComputeGraph();
        using (g.AsDefault())
        {
            var a = TF.Placeholder(DType.Float32, new Shape(-1, 3), "a");
            var b = TF.Placeholder(DType.Float32, new Shape(4, 2), "b");
            var act = () => TF.MatMul(a, b);
            act.Should().Throw<InvalidArgumentException>().WithMessage("*MatMul*(?, 3)*(4, 2)*");
            var add = () => TF.Add(a, b);
            add.Should().Throw<InvalidArgumentException>().WithMessage("*Add*(?, 3)*(4, 2)*");
        }
    }

    [Test]
    public void OperatorsWithScalarsUseTheTensorsDtype()
    {
        var g = new ComputeGraph();
        using (g.AsDefault())
        {
            var x = TF.Constant(new double[] { 1, 2 });
            var y = 2.0 * x - 1 + x / 4;
            y.DType.Should().Be(DType.Float64);
            using var sess = new Session(g);
            sess.Run(y).ToArray<double>().Should().Equal(1.25, 3.5);
            var n = TF.Constant(new[] { 7, -7 });
            sess.Run(n / 2).ToArray<int>().Should().Equal(3, -3);
        }
    }
}
