#!/usr/bin/env bash
# The consumer test (docs/packaging.md), run by .ci/run: packs Graph into a local folder, then, outside the repository
# and with a NuGet cache and .NET CLI home of its own (so no stale Graph package and no global tool is ever used or
# touched), a fresh console project (`dotnet new console` + `dotnet add package`) and a fresh file-based script
# (`#:package`) run the manual RNN and one training epoch from those packages, and the `graph` tool installed from the
# folder runs `graph devices` and `graph train --epochs 1`.
# Usage: tools/package/consumer-test.sh [WORK_DIR]   (default: a new temporary folder; it is left for inspection)
set -euo pipefail
source "$(dirname "$0")/common.sh"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

work=${1:-$(mktemp -d)}
mkdir -p "$work" && work=$(cd "$work" && pwd)
case "$work/" in "$GRAPH_REPO"/*) echo "the consumer must live outside the repository ($GRAPH_REPO)" >&2; exit 1 ;; esac
fail() { echo "consumer test FAILED: $*" >&2; exit 1; }

version=$(graph_version)
feed=$work/feed
echo "== pack $version into $feed"
graph_pack "$feed"
for id in "${GRAPH_PACKAGES[@]}"; do [ -f "$feed/$id.$version.nupkg" ] || fail "$id.$version.nupkg was not packed"; done
# Written before DOTNET_CLI_HOME changes, from the sources this machine's own NuGet config names.
graph_nuget_config "$work/nuget.config" "$feed"

# XDG_DATA_HOME: where file-based apps build (dotnet/runfile/) and NuGet keeps its HTTP cache, here inside $work too.
export NUGET_PACKAGES=$work/nuget-packages DOTNET_CLI_HOME=$work/cli-home XDG_DATA_HOME=$work/data
mkdir -p "$DOTNET_CLI_HOME" "$XDG_DATA_HOME"

# check NAME OUTPUT: the manual RNN printed TF1's numbers, and the epoch line came out.
check() {
  grep -q -- "-0.06640061" <<<"$2" || fail "$1: the manual RNN did not print TF1's Y0 (-0.06640061 ...)"
  grep -qE "^epoch 0 loss [0-9.]+ train_acc [0-9.]+ test_acc [0-9.]+" <<<"$2" || fail "$1: no epoch line"
}

echo "== a fresh console project: dotnet new console, dotnet add package Graph.Kernels Graph.Rnn $version"
app=$work/console
dotnet new console -o "$app" -n GraphConsumer >/dev/null
(cd "$app" && dotnet add package Graph.Kernels --version "$version" >/dev/null && dotnet add package Graph.Rnn --version "$version" >/dev/null)
cp "$GRAPH_REPO/tools/package/consumer/Program.cs" "$app/Program.cs"
out=$(cd "$app" && dotnet run -c Release -- --epochs 1)
echo "$out"
check "console project" "$out"
grep -q "$GRAPH_REPO" "$app/obj/project.assets.json" && fail "the console project's restore reaches into $GRAPH_REPO"
[ -d "$NUGET_PACKAGES/graph.core/$version" ] || fail "Graph.Core $version was not restored from $feed"
# check_settings RUNTIMECONFIG: the runtime settings of Graph.Core's buildTransitive targets reached the app
# (docs/packaging.md).
check_settings() {
  [ -f "$1" ] || fail "no runtimeconfig.json at $1"
  grep -q '"System.Runtime.TieredCompilation": false' "$1" || fail "TieredCompilation=false did not reach $1"
  grep -q '"System.GC.LOHThreshold": 2097152' "$1" || fail "System.GC.LOHThreshold did not reach $1"
}
check_settings "$app/bin/Release/net10.0/GraphConsumer.runtimeconfig.json"
# As on a machine without OpenBLAS: GRAPH_BLAS=managed never loads it, and the epoch runs on the managed GEMM.
out=$(GRAPH_BLAS=managed dotnet "$app/bin/Release/net10.0/GraphConsumer.dll" --epochs 1)
check "console project, GRAPH_BLAS=managed" "$out"
echo "GRAPH_BLAS=managed: $(grep -E '^epoch 0' <<<"$out")"

echo "== a fresh file-based script with #:package Graph.Kernels@$version, Graph.Rnn@$version"
mkdir -p "$work/script"
{ printf '#:package Graph.Kernels@%s\n#:package Graph.Rnn@%s\n#:property PublishAot=false\n' "$version" "$version"
  cat "$GRAPH_REPO/tools/package/consumer/Program.cs"; } > "$work/script/train.cs"
out=$(cd "$work/script" && dotnet run -c Release train.cs -- --epochs 1)
echo "$out"
check "file-based script" "$out"
check_settings "$(find "$XDG_DATA_HOME/dotnet/runfile" -path '*/bin/release/train.runtimeconfig.json' | head -n 1)"

echo "== dotnet tool install Graph.Cli $version from $feed (tool path $work/tools)"
dotnet tool install Graph.Cli --version "$version" --tool-path "$work/tools" --configfile "$work/nuget.config"
devices=$("$work/tools/graph" devices)
echo "$devices"
grep -qE "^cpu " <<<"$devices" || fail "graph devices did not list cpu"
# Without a CUDA driver, asking for cuda is a clear error with the usage exit code, not a crash.
if ! grep -qE "^cuda " <<<"$devices"; then
  set +e; cuda_out=$("$work/tools/graph" train --epochs 1 --device cuda 2>&1); cuda_status=$?; set -e
  [ "$cuda_status" -eq 2 ] && grep -q "Device 'cuda' is not available" <<<"$cuda_out" || \
    fail "graph train --device cuda without a CUDA driver: exit $cuda_status, $cuda_out"
  echo "no CUDA driver: $cuda_out"
fi
train=$("$work/tools/graph" train --epochs 1)
echo "$train"
grep -qE "^epoch 0 loss [0-9.]+ train_acc [0-9.]+ test_acc [0-9.]+" <<<"$train" || fail "graph train printed no epoch line"

echo "consumer test: ok (packages $version from $feed; console project, file-based script, graph tool)"
