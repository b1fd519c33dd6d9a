#!/usr/bin/env bash
# Runs the GPU checks on a machine with a CUDA device: the device listing, every test of the "Cuda" category (the op,
# loop, RNN, optimizer and session fixtures and the fused-kernel property test, run on `cuda`; on machines without a
# GPU they are ignored, saying why), the MNIST RNN training on `cuda` for one epoch, and the benchmark's cuda line.
# Usage: tools/gpu-check.sh [--no-bench]
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

echo "== devices"
dotnet run -c Release --project tools/Graph.Cli -- devices

echo "== tests on cuda"
dotnet test graph.sln -c Release --filter "TestCategory=Cuda" --logger "console;verbosity=minimal"

echo "== training on cuda (1 epoch)"
dotnet run -c Release --project tools/Graph.Cli -- train --epochs 1 --device cuda

if [ "${1:-}" != "--no-bench" ]; then
  # The rnn-step scenario ends with its `rnn-step-cuda` line (Graph's training step on cuda).
  echo "== benchmark: rnn-step (cpu against TorchSharp, then cuda)"
  dotnet run -c Release --project tools/Graph.Bench -- rnn-step --reps 3
fi
