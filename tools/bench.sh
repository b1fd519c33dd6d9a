#!/usr/bin/env bash
# Runs the benchmark tool (tools/Graph.Bench: Graph against TorchSharp, OpenBLAS and the core's FMA peak) and rewrites
# docs/performance.md with its numbers.
#   tools/bench.sh                          all scenarios (about two minutes on 2 idle cores, plus the build)
#   tools/bench.sh rnn-step gemm --reps 5   a subset / fewer repetitions (the doc then holds only those)
#   tools/bench.sh fair --reps 5            the fair comparison alone: every contender in its own processes
# Measure on an idle machine: the scenarios compete with anything else for the 2 cores.
# The GEMM peer needs OpenBLAS (Debian: apt-get install -y libopenblas0-pthread); without it that comparison is skipped.
# TorchSharp-cpu (about 1 GB with libtorch) comes from NuGet on the first build.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 PATH=$PATH:/usr/sbin:/sbin  # ldconfig lives in /sbin
if ! ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so\.0'; then
  echo "note: libopenblas.so.0 not found; the gemm scenario will report Graph alone (apt-get install -y libopenblas0-pthread)" >&2
fi
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
if awk -v l="$load" 'BEGIN { exit !(l > 0.5) }'; then
  echo "note: load average $load: other work is running, expect noisy numbers" >&2
fi
# The bench runs published ReadyToRun (crossgen2 precompiles Graph's, the bench's and TorchSharp's managed code, as
# `dotnet publish -p:PublishReadyToRun=true` does for any app): the fair scenario's processes then start as a shipped
# app would. The plain build beside it is the fair scenario's "JIT build" Graph contender (start-up without ReadyToRun).
dotnet build -c Release tools/Graph.Bench -v quiet -nologo
out=tools/Graph.Bench/bin/publish
dotnet publish -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true tools/Graph.Bench -o "$out" -v quiet -nologo
mkdir -p docs
log=$(mktemp)
"$out/Graph.Bench" --markdown docs/performance.md "$@" | tee "$log"
echo "full output: $log; docs/performance.md rewritten"
