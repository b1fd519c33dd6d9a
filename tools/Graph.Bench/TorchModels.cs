using HostTensor = Graph.Core.HostTensor;
using TorchSharp;
using static TorchSharp.torch;

namespace Graph.Bench;

/// <summary>
/// The same model in TorchSharp: 150-unit tanh RNN over 28 steps of 28 inputs, linear 10, cross-entropy, TF1-style Adam
/// (lr_t = lr·√(1−β2^t)/(1−β1^t), ε outside the root, as Graph's AdamOptimizer). Two forms: a hand-written loop of torch
/// ops (h = tanh(x_t·Wx + h·Wh + b), as Graph's SimpleRNNCell) and <c>torch.nn.RNN</c> + <c>torch.nn.Linear</c>.
/// </summary>
internal abstract class TorchRnn : IDisposable
{
    private const double LearningRate = 0.001, Beta1 = 0.9, Beta2 = 0.999, Epsilon = 1e-8;
    private readonly List<(Tensor M, Tensor V)> _slots = new();
    private int _t;

    protected TorchRnn() => TorchEnv.Ready();

    /// <summary>The trainable tensors, in a fixed order.</summary>
    protected abstract IReadOnlyList<Tensor> Parameters { get; }

    /// <summary>Logits [batch, 10] of x [batch, 28, 28].</summary>
    protected abstract Tensor Forward(Tensor x);

    protected void CreateSlots()
    {
        foreach (var p in Parameters) _slots.Add((zeros_like(p).DetachFromDisposeScope(), zeros_like(p).DetachFromDisposeScope()));
    }

    public static Tensor Images(HostTensor x) => tensor(x.Span<float>(), x.DimsSpan.ToArray().Select(d => (long)d).ToArray());

    public static Tensor Labels(HostTensor y) => tensor(y.Span<int>().Select(v => (long)v).ToArray(), [y.DimsSpan[0]]);

    /// <summary>One training step on a batch (host data converted to torch tensors inside, as a user's loop does).</summary>
    public void Step(HostTensor x, HostTensor y)
    {
        using var scope = NewDisposeScope();
        var loss = nn.functional.cross_entropy(Forward(Images(x)), Labels(y));
        foreach (var p in Parameters) p.grad?.zero_();
        loss.backward();
        _t++;
        var lr = LearningRate * Math.Sqrt(1 - Math.Pow(Beta2, _t)) / (1 - Math.Pow(Beta1, _t));
        using var noGrad = no_grad();
        for (var i = 0; i < Parameters.Count; i++)
        {
            var (p, g) = (Parameters[i], Parameters[i].grad!);
            var (m, v) = _slots[i];
            m.mul_(Beta1).add_(g, alpha: 1 - Beta1);
            v.mul_(Beta2).addcmul_(g, g, value: 1 - Beta2);
            p.addcdiv_(m, v.sqrt().add_(Epsilon), value: -lr);
        }
    }

    /// <summary>Accuracy (top-1) of the whole set in one forward pass.</summary>
    public float Evaluate(HostTensor x, HostTensor y)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = Forward(Images(x));
        return logits.argmax(1).eq(Labels(y)).to_type(ScalarType.Float32).mean().item<float>();
    }

    public virtual void Dispose()
    {
        foreach (var (m, v) in _slots)
        {
            m.Dispose();
            v.Dispose();
        }
    }
}

/// <summary>The hand-written loop: parameters as leaf tensors, 28 steps of addmm + mm + tanh.</summary>
internal sealed class TorchRnnLoop : TorchRnn
{
    private readonly Tensor _wx, _wh, _b, _wd, _bd;

    public TorchRnnLoop()
    {
        const int units = GraphRnn.Units, inputs = GraphRnn.Inputs, outputs = GraphRnn.Outputs;
        using (no_grad())
        {
            // glorot_uniform kernels, orthogonal recurrent kernel, zero biases: the Keras/TF1 initialisation Graph uses.
            _wx = Glorot(inputs, units);
            _wh = empty(units, units);
            nn.init.orthogonal_(_wh);
            _b = zeros(units);
            _wd = Glorot(units, outputs);
            _bd = zeros(outputs);
        }
        foreach (var p in Parameters) p.requires_grad_(true);
        CreateSlots();
    }

    private static Tensor Glorot(int fanIn, int fanOut)
    {
        var limit = Math.Sqrt(6.0 / (fanIn + fanOut));
        return rand(fanIn, fanOut).mul_(2 * limit).sub_(limit);
    }

    protected override IReadOnlyList<Tensor> Parameters => [_wx, _wh, _b, _wd, _bd];

    protected override Tensor Forward(Tensor x)
    {
        var h = zeros(x.shape[0], GraphRnn.Units);
        for (var t = 0; t < GraphRnn.Steps; t++)
            h = tanh(addmm(_b, x[TensorIndex.Colon, t], _wx, 1, 1).add_(h.mm(_wh)));
        return addmm(_bd, h, _wd, 1, 1);
    }

    public override void Dispose()
    {
        base.Dispose();
        foreach (var p in Parameters) p.Dispose();
    }
}

/// <summary><c>torch.nn.RNN(28, 150, batch_first)</c> + <c>torch.nn.Linear(150, 10)</c>.</summary>
internal sealed class TorchRnnModule : TorchRnn
{
    private readonly TorchSharp.Modules.RNN _rnn;
    private readonly TorchSharp.Modules.Linear _dense;
    private readonly Tensor[] _parameters;

    public TorchRnnModule()
    {
        _rnn = nn.RNN(GraphRnn.Inputs, GraphRnn.Units, batchFirst: true);
        _dense = nn.Linear(GraphRnn.Units, GraphRnn.Outputs);
        _parameters = _rnn.parameters().Concat(_dense.parameters()).Select(p => (Tensor)p).ToArray();
        CreateSlots();
    }

    protected override IReadOnlyList<Tensor> Parameters => _parameters;

    protected override Tensor Forward(Tensor x)
    {
        var (_, h) = _rnn.call(x);
        return _dense.call(h[0]);
    }

    public override void Dispose()
    {
        base.Dispose();
        _rnn.Dispose();
        _dense.Dispose();
    }
}
