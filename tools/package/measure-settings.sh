#!/usr/bin/env bash
# Item 2 of #19 (docs/packaging.md): do the runtime settings of this repository's apps (TieredCompilation=false,
# System.GC.LOHThreshold=2 MB) matter to a package consumer? Builds the consumer console app (tools/package/consumer)
# twice from the packages, once as it comes (Graph.Core's buildTransitive targets set both) and once with
# GraphRuntimeSettings=false (neither), then runs four variants alternately, RUNS times each, training EPOCHS epochs:
#   both   the app as it comes          none     GraphRuntimeSettings=false
#   tc-off none + DOTNET_TieredCompilation=0    loh-2mb  none + DOTNET_GCLOHThreshold=0x200000
# and prints the medians of epoch 0 (includes the JIT), the last epoch and the whole process.
# Usage: tools/package/measure-settings.sh [RUNS=5] [EPOCHS=2] [WORK_DIR]
set -euo pipefail
source "$(dirname "$0")/common.sh"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
runs=${1:-5} epochs=${2:-2} work=${3:-$(mktemp -d)}
mkdir -p "$work" && work=$(cd "$work" && pwd)
version=$(graph_version)
graph_pack "$work/feed"
graph_nuget_config "$work/nuget.config" "$work/feed"
export NUGET_PACKAGES=$work/nuget-packages

build() { # build DIR [msbuild args]: the consumer app, Release, from the packages
  local dir=$1; shift
  mkdir -p "$dir"
  cat > "$dir/GraphConsumer.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><ImplicitUsings>enable</ImplicitUsings><Nullable>enable</Nullable></PropertyGroup>
  <ItemGroup><PackageReference Include="Graph.Kernels" Version="$version" /><PackageReference Include="Graph.Rnn" Version="$version" /></ItemGroup>
</Project>
XML
  cp "$GRAPH_REPO/tools/package/consumer/Program.cs" "$dir/"
  dotnet build "$dir" -c Release -v quiet -nologo "$@" >/dev/null
  echo "$dir/bin/Release/net10.0/GraphConsumer.dll"
}
with=$(build "$work/with")
without=$(build "$work/without" -p:GraphRuntimeSettings=false)
grep -q TieredCompilation "$work/without/bin/Release/net10.0/GraphConsumer.runtimeconfig.json" && \
  { echo "GraphRuntimeSettings=false still set TieredCompilation" >&2; exit 1; }

variants=(both none tc-off loh-2mb)
declare -A e0 elast wall
for ((r = 0; r < runs; r++)); do
  for v in "${variants[@]}"; do
    case $v in
      both) cmd=(dotnet "$with") ;;
      none) cmd=(dotnet "$without") ;;
      tc-off) cmd=(env DOTNET_TieredCompilation=0 dotnet "$without") ;;
      loh-2mb) cmd=(env DOTNET_GCLOHThreshold=0x200000 dotnet "$without") ;;
    esac
    start=$(date +%s.%N)
    out=$("${cmd[@]}" --epochs "$epochs")
    end=$(date +%s.%N)
    e0[$v]+="$(sed -nE 's/^epoch 0 .* time ([0-9.]+)s$/\1/p' <<<"$out") "
    elast[$v]+="$(sed -nE "s/^epoch $((epochs - 1)) .* time ([0-9.]+)s\$/\1/p" <<<"$out") "
    wall[$v]+="$(echo "$end - $start" | bc) "
    echo "run $r $v: $(grep -E '^epoch' <<<"$out" | sed -E 's/.* time //' | tr '\n' ' ')wall $(echo "$end - $start" | bc)"
  done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}'; }
echo "| variant | epoch 0 (s) | epoch $((epochs - 1)) (s) | process (s) |"
echo "|---|---|---|---|"
for v in "${variants[@]}"; do
  echo "| $v | $(median <<<"${e0[$v]}") | $(median <<<"${elast[$v]}") | $(printf '%.2f' "$(median <<<"${wall[$v]}")") |"
done
