#!/usr/bin/env python3
"""The PyTorch peer of Graph's GPU benchmark: the notebook's MNIST RNN (SimpleRNN 150 over 28 rows of 28 inputs,
dense 10, softmax cross-entropy, Adam 0.001, batch 150) trained on the same GPU, two ways: torch.nn.RNN (cuDNN) and
a hand-written 28-step loop with autograd. Prints one line per contender and writes their times as JSON
(argv[1]) for graph-gpu-check's metric lines. Step times are medians of 7 samples of 10 steps after 20 warm-up steps;
an epoch is 53 batches (8,000 digits / 150), like Graph's. Data are random: the times do not depend on the values."""
import json
import sys
import time

try:
    import torch
except ImportError as e:
    print(f"peer skipped: PyTorch is not installed ({e})")
    sys.exit(0)
if not torch.cuda.is_available():
    print("peer skipped: torch.cuda.is_available() is False")
    sys.exit(0)

dev = torch.device("cuda")
torch.manual_seed(0)
B, T, D, H, C = 150, 28, 28, 150, 10
batches = [(torch.rand(B, T, D, device=dev), torch.randint(0, C, (B,), device=dev)) for _ in range(53)]


class NnRnn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True)
        self.out = torch.nn.Linear(H, C)

    def forward(self, x):
        _, h = self.rnn(x)
        return self.out(h[0])


class LoopRnn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.wx = torch.nn.Parameter(torch.randn(D, H) * 0.1)
        self.wh = torch.nn.Parameter(torch.randn(H, H) * 0.1)
        self.b = torch.nn.Parameter(torch.zeros(H))
        self.out = torch.nn.Linear(H, C)

    def forward(self, x):
        h = torch.zeros(x.shape[0], H, device=x.device)
        for t in range(T):
            h = torch.tanh(x[:, t] @ self.wx + h @ self.wh + self.b)
        return self.out(h)


def measure(model):
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step(i):
        x, y = batches[i % len(batches)]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    for i in range(20):
        step(i)
    torch.cuda.synchronize()
    samples = []
    for s in range(7):
        start = time.perf_counter()
        for i in range(10):
            step(s * 10 + i)
        torch.cuda.synchronize()
        samples.append((time.perf_counter() - start) * 1000 / 10)
    samples.sort()
    start = time.perf_counter()
    for i in range(len(batches)):
        step(i)
    torch.cuda.synchronize()
    epoch = (time.perf_counter() - start) * 1000
    return samples[len(samples) // 2], epoch, samples


nn_step, nn_epoch, nn_samples = measure(NnRnn().to(dev))
loop_step, loop_epoch, loop_samples = measure(LoopRnn().to(dev))
name = torch.cuda.get_device_name(0)
print(f"peer PyTorch {torch.__version__} on {name}: nn.RNN step {nn_step:.3f} ms (samples {' '.join(f'{v:.3f}' for v in nn_samples)}), "
      f"epoch {nn_epoch:.1f} ms; hand-written loop step {loop_step:.3f} ms, epoch {loop_epoch:.1f} ms")
if len(sys.argv) > 1:
    with open(sys.argv[1], "w") as f:
        json.dump({"nn_rnn_step_ms": nn_step, "nn_rnn_epoch_ms": nn_epoch, "loop_step_ms": loop_step, "loop_epoch_ms": loop_epoch}, f)
