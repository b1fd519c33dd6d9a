#!/usr/bin/env bash
# Graph's GPU check, for a machine with an NVIDIA GPU and no .NET (the bundle brings its own runtime). Built by
# tools/gpu/build.sh into .gpu-bundle/ next to graph-gpu.tar.xz; run it from there:  .gpu-bundle/run.sh
# Prints: the devices; `cuda-tests passed P failed F skipped S` (Graph.Tests' Cuda category, in-process through
# NUnit's API); PyTorch's numbers on the same GPU; `metric rnn-step-cuda graph X peer Y ratio R` (and the hand-written
# loop and epoch lines) with a per-kernel profile; `graph train --epochs 1` on cuda and on cpu, and whether their
# accuracies agree within 0.005; the cpu device's second-epoch time on 1, 2, 4, 8 and all cores (how it scales on the
# GPU machine's many cores, which the 2-core development machines cannot show). Without a GPU the cuda tests report
# as skipped and the cuda lines say why.
# With $OUT set (the device tool), the log is also written to $OUT/gpu-check.log.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=${GRAPH_GPU_WORK:-/tmp/graph-gpu}
if [ -f "$here/graph-gpu.tar.xz" ]; then
  rm -rf "$work" && mkdir -p "$work"
  tar -C "$work" -xJf "$here/graph-gpu.tar.xz"
  root=$work/graph-gpu
else
  root=$here
  mkdir -p "$work"
fi
log=${OUT:+$OUT/gpu-check.log}
exec > >(tee ${log:+"$log"}) 2>&1

# ldconfig (the libcuda lookup below) lives in /sbin, which a non-login PATH may lack.
export DOTNET_ROOT=$root/dotnet PATH=$root/dotnet:$PATH:/usr/sbin:/sbin DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# ILGPU binds the CUDA driver as "cuda" (libcuda.so); drivers ship libcuda.so.1 only: link it where we look first.
mkdir -p "$root/lib/driver"
for candidate in $(ldconfig -p 2>/dev/null | awk '/libcuda\.so\.1 /{print $NF}') /usr/local/nvidia/lib64/libcuda.so.1 /usr/lib/x86_64-linux-gnu/libcuda.so.1 /usr/lib64/libcuda.so.1; do
  if [ -e "$candidate" ]; then ln -sf "$candidate" "$root/lib/driver/libcuda.so"; break; fi
done
export LD_LIBRARY_PATH=$root/lib/driver:$root/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
app=$root/app
step() { echo; echo "== $*"; }

step "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
command -v dotnet >/dev/null && echo "dotnet: $(command -v dotnet) ($(dotnet --list-runtimes | head -1))"

step "graph devices"
timeout 60 dotnet "$app/graph.dll" devices

step "cuda tests"
timeout 330 dotnet "$app/graph-gpu-check.dll" tests --category Cuda

step "PyTorch peer"
rm -f "$work/peer.json"
if command -v python3 >/dev/null; then timeout 150 python3 "$root/peer_torch.py" "$work/peer.json"; else echo "peer skipped: no python3"; fi

step "benchmark"
timeout 150 dotnet "$app/graph-gpu-check.dll" bench --device cuda --peer "$work/peer.json" --profile

accuracy() { sed -nE 's/.*train_acc ([0-9.]+) test_acc ([0-9.]+).*/\1 \2/p' | tail -1; }
step "graph train --epochs 1 --device cuda"
cuda_line=$(timeout 120 dotnet "$app/graph.dll" train --epochs 1 --device cuda 2>&1); echo "$cuda_line"
step "graph train --epochs 1 --device cpu"
cpu_line=$(timeout 120 dotnet "$app/graph.dll" train --epochs 1 --device cpu 2>&1); echo "$cpu_line"
read -r cuda_train cuda_test <<<"$(accuracy <<<"$cuda_line")"
read -r cpu_train cpu_test <<<"$(accuracy <<<"$cpu_line")"
if [ -n "${cuda_test:-}" ] && [ -n "${cpu_test:-}" ]; then
  awk -v a="$cuda_train" -v b="$cpu_train" -v c="$cuda_test" -v d="$cpu_test" 'BEGIN {
    ok = (a - b < 0.005 && b - a < 0.005 && c - d < 0.005 && d - c < 0.005);
    printf "train accuracy cuda %s cpu %s, test accuracy cuda %s cpu %s: %s within 0.005\n", a, b, c, d, ok ? "equal" : "NOT equal" }'
else
  echo "train accuracy comparison skipped: no epoch line from one of the devices"
fi

# The cpu device splits its kernels by Environment.ProcessorCount, which DOTNET_PROCESSOR_COUNT sets: the second epoch
# (no compiles) on 1, 2, 4, 8 and all of the machine's cores.
step "cpu scaling (graph train --epochs 2 --device cpu, second epoch)"
for cores in 1 2 4 8 $(nproc); do
  line=$(DOTNET_PROCESSOR_COUNT=$cores timeout 60 dotnet "$app/graph.dll" train --epochs 2 --device cpu 2>&1 | grep '^epoch 1 ' || true)
  echo "cores $cores: ${line:-no epoch line}"
done
