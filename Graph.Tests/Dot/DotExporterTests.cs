using System.Diagnostics;
using System.Text.RegularExpressions;
using Graph.Core;
using Graph.Kernels;
using Graph.Kernels.Dot;

namespace Graph.Tests;

[TestFixture]
public class DotExporterTests
{
    /// <summary>x (placeholder) → layer/inner/MatMul with layer/w (variable), times layer/scale (const); z depends on it by control.</summary>
    private static (ComputeGraph Graph, Tensor Product) SmallGraph()
    {
        var g = new ComputeGraph { Seed = 1 };
        using var _ = g.AsDefault();
        var x = TF.Placeholder(DType.Float32, new Shape(-1, 3), name: "x");
        Tensor product;
        using (TF.NameScope("layer"))
        {
            var w = TF.Variable(TF.RandomNormal([3, 2]), name: "w");
            var scale = TF.Constant(2f, name: "scale");
            using (TF.NameScope("inner"))
                product = TF.MatMul(x, w) * scale;
        }
        var counter = TF.Variable(TF.Constant(0), name: "counter");
        using (TF.ControlDependencies(product.Op))
            TF.Identity(counter, name: "z");
        return (g, product);
    }

    [Test]
    public void NodesHaveTypeAndNameLabelsAndShapesByKind()
    {
        var (g, _) = SmallGraph();
        var dot = DotExporter.ToDot(g);

        dot.Should().StartWith("digraph \"graph\" {\n").And.EndWith("}\n");
        dot.Should().Contain("""
            "x" [label="Placeholder\nx", shape="invhouse", style=""];
            """);
        dot.Should().Contain("""
            "layer/w" [label="VariableV2\nlayer/w", shape="cylinder", style=""];
            """);
        dot.Should().Contain("""
            "layer/scale" [label="Const\nlayer/scale", shape="note", style=""];
            """);
        dot.Should().Contain("""
            "layer/inner/MatMul" [label="MatMul\nlayer/inner/MatMul", shape="box", style="rounded"];
            """);
        // One node statement per op.
        foreach (var op in g.Operations)
            Regex.Matches(dot, "^ *" + Regex.Escape(DotExporter.Quote(op.Name)) + " \\[label=", RegexOptions.Multiline)
                .Should().ContainSingle(op.Name);
    }

    [Test]
    public void NameScopesAreNestedClusters()
    {
        var (g, _) = SmallGraph();
        var clusters = ClustersOf(DotExporter.ToDot(g));

        clusters["layer/inner/MatMul"].Should().Equal("layer", "layer/inner");
        clusters["layer/inner/Mul"].Should().Equal("layer", "layer/inner");
        clusters["layer/scale"].Should().Equal("layer");
        clusters["layer/w/read"].Should().Equal("layer", "layer/w");
        clusters["layer/w"].Should().Equal(["layer", "layer/w"], "a variable is drawn inside its own scope, with its read and assign ops");
        clusters["x"].Should().BeEmpty();
        clusters["z"].Should().BeEmpty();
    }

    [Test]
    public void EdgesCarryShapeAndDTypeAndControlEdgesAreDashed()
    {
        var (g, _) = SmallGraph();
        var dot = DotExporter.ToDot(g);

        dot.Should().Contain("""
            "x" -> "layer/inner/MatMul" [label="(?, 3) float32"];
            """);
        dot.Should().Contain("""
            "layer/w/read" -> "layer/inner/MatMul" [label="(3, 2) float32"];
            """);
        dot.Should().Contain("""
            "layer/inner/MatMul" -> "layer/inner/Mul" [label="(?, 2) float32"];
            """);
        dot.Should().Contain("""
            "layer/scale" -> "layer/inner/Mul" [label="() float32"];
            """);
        dot.Should().Contain("""
            "counter/read" -> "z" [label="() int32"];
            """);
        dot.Should().Contain("""
            "layer/inner/Mul" -> "z" [style="dashed"
            """);
        Regex.Matches(dot, "style=\"dashed\"").Should().HaveCount(1, "the only control dependency is z's");

        var noLabels = DotExporter.ToDot(g, new DotOptions { EdgeLabels = false, ControlEdges = false });
        noLabels.Should().Contain("\"x\" -> \"layer/inner/MatMul\";\n").And.NotContain("dashed");
    }

    [Test]
    public void OutputIsDeterministic()
    {
        var (g1, _) = SmallGraph();
        var (g2, _) = SmallGraph();
        var a = DotExporter.ToDot(g1, new DotOptions { Title = "small" });
        a.Should().Be(DotExporter.ToDot(g1, new DotOptions { Title = "small" }));
        a.Should().Be(DotExporter.ToDot(g2, new DotOptions { Title = "small" }), "the same graph built twice gives the same text");
        a.Should().Contain("label=\"small\"").And.NotContain("\r");
        // Nodes appear in creation order.
        var positions = g1.Operations.Select(op => a.IndexOf(DotExporter.Quote(op.Name) + " [label=", StringComparison.Ordinal)).ToList();
        positions.Should().OnlyContain(p => p >= 0);
    }

    [Test]
    public void AwkwardNamesAreQuotedAndEscaped()
    {
        var g = new ComputeGraph();
        using (g.AsDefault())
        {
            var a = TF.Placeholder(DType.Float32, new Shape(2), name: "in\"put\\");
            using (TF.NameScope("sc\"ope"))
            {
                var b = TF.Identity(a, name: "node:1");
                TF.Identity(b, name: "graph");
            }
        }
        var dot = DotExporter.ToDot(g, new DotOptions { Title = "a \"title\"\nline 2" });

        DotExporter.Quote("a\"b\\c\nd").Should().Be("\"a\\\"b\\\\c\\nd\"");
        dot.Should().Contain("\"in\\\"put\\\\\" [label=\"Placeholder\\nin\\\"put\\\\\"");
        dot.Should().Contain("\"in\\\"put\\\\\" -> \"sc\\\"ope/node:1\"");
        dot.Should().Contain("label=\"sc\\\"ope\";");
        dot.Should().Contain("digraph \"a \\\"title\\\"\\nline 2\" {");
        ClustersOf(dot)["sc\\\"ope/graph"].Should().Equal("sc\\\"ope");

        var svg = Render(dot);
        svg.Should().Contain("<title>sc&quot;ope/node:1</title>", "dot resolves the escaped quote in the identifier");
    }

    [Test]
    public void LoopFrameOpsAreDrawnInsideAFrameCluster()
    {
        var g = new ComputeGraph();
        using (g.AsDefault())
        {
            var x = TF.Placeholder(DType.Float32, new Shape(3), name: "x");
            using (TF.NameScope("rnn"))
            {
                TF.WhileLoop(
                    v => TF.Less(v[0], TF.Constant(5)),
                    v =>
                    {
                        var inner = TF.WhileLoop(u => TF.Less(u[0], TF.Constant(2)), u => [u[0] + TF.Constant(1), TF.Tanh(u[1], name: "deep")], [TF.Constant(0), v[1]], name: "inner");
                        return [v[0] + TF.Constant(1), TF.Tanh(inner[1], name: "step")];
                    },
                    [TF.Constant(0), x]);
                TF.Identity(x, name: "after");
            }
        }
        var frameOps = g.Operations.Where(o => o.Frame != null).ToList();
        frameOps.Should().Contain(o => o.Name == "rnn/while/step").And.Contain(o => o.Name == "rnn/while/inner/deep");

        var dot = DotExporter.ToDot(g);
        var clusters = ClustersOf(dot);
        clusters["rnn/while"].Should().Equal("rnn", "rnn/while");
        clusters["rnn/while/step"].Should().Equal("rnn", "rnn/while", "while loop rnn/while");
        clusters["rnn/while/inner"].Should().Equal("rnn", "rnn/while", "while loop rnn/while", "rnn/while/inner");
        clusters["rnn/while/inner/deep"].Should().Equal("rnn", "rnn/while", "while loop rnn/while", "rnn/while/inner", "while loop rnn/while/inner");
        clusters["rnn/after"].Should().Equal("rnn");
        clusters["x"].Should().BeEmpty();
        foreach (var op in frameOps)
            clusters[op.Name].Should().Contain($"while loop {op.Frame!.Name}", op.Name);
        dot.Should().Contain("style=\"rounded,bold\"");
        Render(dot);
    }

    [Test]
    public void DynamicRnnGraphRenders()
    {
        var g = new ComputeGraph { Seed = 42 };
        using (g.AsDefault())
        {
            var x = TF.Placeholder(DType.Float32, new Shape(-1, 2, 3), "X");
            var (outputs, _) = Graph.Rnn.Rnn.DynamicRnn(new Graph.Rnn.SimpleRNNCell(5), x);
            var loss = TF.ReduceSum(outputs * outputs);
            new AdamOptimizer(0.01).Minimize(loss);
        }
        g.Operations.Should().Contain(o => o.Frame != null);
        var dot = DotExporter.ToDot(g, new DotOptions { Title = "dynamic_rnn", RankDir = "LR" });
        dot.Should().Contain("label=\"while loop ");
        var svg = Render(dot);
        foreach (var op in g.Operations) svg.Should().Contain($"<title>{op.Name}</title>");
    }

    [Test]
    public void PlanKernelsAreColouredAndClustered()
    {
        var g = new ComputeGraph { Seed = 1 };
        Tensor x, y;
        using (g.AsDefault())
        {
            x = TF.Placeholder(DType.Float32, new Shape(-1, 4), name: "x");
            var w = TF.Variable(TF.RandomNormal([4, 3]), name: "w");
            var b = TF.Variable(TF.Zeros([3]), name: "b");
            y = TF.Tanh(TF.MatMul(x, w) + b, name: "y");
        }
        using var sess = new Session(g);
        using (g.AsDefault()) sess.Run(TF.GlobalVariablesInitializer());
        sess.Run(y, new FeedDict { { x, new float[2, 4] } });
        var plan = sess.LastPlan!;
        var fused = plan.Kernels.Single(k => k.Ops.Any(o => o.Name == "y"));
        fused.Ops.Select(o => o.Name).Should().Contain(["MatMul", "Add", "y"]);

        var dot = PlanDot.ToDot(plan, g);
        var k = plan.Kernels.ToList().IndexOf(fused);
        var clusters = ClustersOf(dot);
        clusters["MatMul"].Should().Equal($"kernel {k}");
        clusters["y"].Should().Equal($"kernel {k}");
        dot.Should().Contain($"\"y\" [fillcolor=").And.Contain($"label=\"Tanh\\ny\\nkernel {k}\"");
        dot.Should().Contain("style=\"dashed\"; color=");
        clusters["x"].Should().BeEmpty("the placeholder is no kernel's");
        dot.Should().Contain("\"x\" [label=\"Placeholder\\nx\"");
        Render(dot);
    }

    [Test]
    public void InvalidOptionsAreRejected()
    {
        var (g, _) = SmallGraph();
        var (other, product) = SmallGraph();
        FluentActions.Invoking(() => DotExporter.ToDot(g, new DotOptions { RankDir = "XY" }))
            .Should().Throw<ArgumentException>().WithMessage("*RankDir*XY*");
        FluentActions.Invoking(() => DotExporter.ToDot(g, new DotOptions { KernelGroups = [[product.Op]] }))
            .Should().Throw<ArgumentException>().WithMessage("*layer/inner/Mul*another graph*");
        DotExporter.ToDot(other, new DotOptions { RankDir = "LR" }).Should().Contain("rankdir=\"LR\"");
    }

    [Test]
    public void SmallGraphRenders()
    {
        var (g, _) = SmallGraph();
        var svg = Render(DotExporter.ToDot(g, new DotOptions { Title = "small graph" }));
        foreach (var op in g.Operations) svg.Should().Contain($"<title>{op.Name}</title>");
    }

    /// <summary>The notebook's manual two-step RNN (tools/scripts/manual_rnn.cs), plain and with its plan's kernels.</summary>
    [Test]
    public void ManualRnnGraphRenders()
    {
        var g = new ComputeGraph { Seed = 42 };
        Tensor x0, x1, y0, y1;
        Operation init;
        using (g.AsDefault())
        {
            const int nInputs = 3, nNeurons = 5;
            x0 = TF.Placeholder(DType.Float32, new Shape(-1, nInputs));
            x1 = TF.Placeholder(DType.Float32, new Shape(-1, nInputs));
            var wx = TF.Variable(TF.RandomNormal([nInputs, nNeurons], dtype: DType.Float32));
            var wy = TF.Variable(TF.RandomNormal([nNeurons, nNeurons], dtype: DType.Float32));
            var b = TF.Variable(TF.Zeros([1, nNeurons], DType.Float32));
            y0 = TF.Tanh(TF.MatMul(x0, wx) + b);
            y1 = TF.Tanh(TF.MatMul(y0, wy) + TF.MatMul(x1, wx) + b);
            init = TF.GlobalVariablesInitializer();
        }
        int[,] x0Batch = { { 0, 1, 2 }, { 3, 4, 5 }, { 6, 7, 8 }, { 9, 0, 1 } };
        int[,] x1Batch = { { 9, 8, 7 }, { 0, 0, 0 }, { 6, 5, 4 }, { 3, 2, 1 } };
        using var sess = new Session(g);
        sess.Run(init);
        sess.Run(y0, y1, new FeedDict { { x0, x0Batch }, { x1, x1Batch } });

        var dot = DotExporter.ToDot(g, new DotOptions { Title = "manual RNN" });
        dot.Should().Contain("\"Placeholder\" [label=\"Placeholder\\nPlaceholder\", shape=\"invhouse\"");
        dot.Should().Contain("\"Placeholder_1\" -> \"MatMul_2\" [label=\"(?, 3) float32\"];");
        dot.Should().Contain("\"Variable_1/read\" -> \"MatMul_1\" [label=\"(5, 5) float32\"];");
        dot.Should().Contain("\"init\" [label=\"NoOp\\ninit\"");
        dot.Should().Contain("\"Variable/Assign\" -> \"init\" [style=\"dashed\"");
        var clusters = ClustersOf(dot);
        clusters["Variable"].Should().Equal("Variable");
        clusters["Variable_1/read"].Should().Equal("Variable_1");
        clusters["MatMul_2"].Should().BeEmpty();

        var svg = Render(dot);
        foreach (var op in g.Operations) svg.Should().Contain($"<title>{op.Name}</title>");
        Render(PlanDot.ToDot(sess.LastPlan!, g)).Should().Contain("kernel 0");
    }

    /// <summary>For each node statement, the labels of the clusters enclosing it, outermost first.</summary>
    private static Dictionary<string, List<string>> ClustersOf(string dot)
    {
        var result = new Dictionary<string, List<string>>();
        var stack = new List<string?>();
        var node = new Regex("^\\s*\"((?:[^\"\\\\]|\\\\.)*)\" \\[");
        foreach (var line in dot.Split('\n'))
        {
            if (line.TrimStart().StartsWith("subgraph ", StringComparison.Ordinal)) stack.Add(null);
            else if (line.Trim() == "}") { if (stack.Count > 0) stack.RemoveAt(stack.Count - 1); }
            else if (stack.Count > 0 && stack[^1] == null && line.TrimStart().StartsWith("label=", StringComparison.Ordinal))
            {
                var t = line.Trim();
                stack[^1] = t["label=\"".Length..^2];
            }
            else if (node.Match(line) is { Success: true } m)
                result[m.Groups[1].Value] = stack.Select(s => s!).ToList();
        }
        return result;
    }

    /// <summary>Renders <paramref name="dot"/> with Graphviz (<c>dot -Tsvg</c>); ignores the test when dot is not on PATH.</summary>
    private static string Render(string dot)
    {
        var exe = FindDot();
        if (exe == null)
            Assert.Ignore("Graphviz 'dot' is not on PATH, so the DOT text could not be rendered; install graphviz (apt-get install graphviz) to run this check.");
        var psi = new ProcessStartInfo(exe!, "-Tsvg")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(dot);
        process.StandardInput.Close();
        if (!process.WaitForExit(60_000))
        {
            process.Kill();
            Assert.Fail("dot -Tsvg did not finish within 60 s.");
        }
        var err = stderr.Result;
        process.ExitCode.Should().Be(0, $"dot must accept the text; it said: {err}\n{dot}");
        err.Should().BeEmpty("dot must not warn about the text:\n" + dot);
        var svg = stdout.Result;
        svg.Should().Contain("<svg");
        return svg;
    }

    private static string? FindDot()
    {
        var names = OperatingSystem.IsWindows() ? new[] { "dot.exe" } : new[] { "dot" };
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            foreach (var name in names)
            {
                var path = Path.Combine(dir, name);
                if (File.Exists(path)) return path;
            }
        return null;
    }
}
