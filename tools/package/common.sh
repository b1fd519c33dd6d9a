# Sourced by tools/package/*.sh: packs Graph into a local feed and writes the NuGet config a consumer outside the
# repository uses (docs/packaging.md).

GRAPH_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
GRAPH_PACKAGES=(Graph.Core Graph.Kernels Graph.Rnn Graph.Cli)

# The one version of all packages (Directory.Build.props).
graph_version() { dotnet msbuild "$GRAPH_REPO/Graph.Core/Graph.Core.csproj" -getProperty:Version -nologo; }

# graph_pack FEED: the three libraries and the tool, Release, into FEED (the repository's own restore and cache).
graph_pack() {
  local feed=$1 project
  mkdir -p "$feed"
  for project in Graph.Core/Graph.Core.csproj Graph.Kernels/Graph.Kernels.csproj Graph.Rnn/Graph.Rnn.csproj \
                 tools/Graph.Cli/Graph.Cli.csproj; do
    dotnet pack "$GRAPH_REPO/$project" -c Release -o "$feed" -v quiet -nologo -p:ContinuousIntegrationBuild=true
  done
}

# graph_nuget_config FILE FEED: a nuget.config with Graph's packages from FEED only (package source mapping: a package
# of the same name elsewhere is never taken) and everything else from the sources this machine already uses.
graph_nuget_config() {
  local file=$1 feed=$2 upstream i=0 sources="" mapping=""
  # `dotnet nuget list source --format short` prints one enabled source per line as "E <url-or-path>".
  upstream=$(cd / && dotnet nuget list source --format short | sed -nE 's/^E[A-Za-z]* +//p')
  [ -n "$upstream" ] || { echo "no enabled NuGet source: third-party packages (ILGPU, ...) cannot be restored" >&2; return 1; }
  while read -r url; do
    i=$((i + 1))
    sources+="    <add key=\"upstream$i\" value=\"$url\" />"$'\n'
    mapping+="    <packageSource key=\"upstream$i\"><package pattern=\"*\" /></packageSource>"$'\n'
  done <<<"$upstream"
  local graph=""
  for id in "${GRAPH_PACKAGES[@]}"; do graph+="<package pattern=\"$id\" />"; done
  cat > "$file" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="graph-local" value="$feed" />
$sources  </packageSources>
  <packageSourceMapping>
    <packageSource key="graph-local">$graph</packageSource>
$mapping  </packageSourceMapping>
</configuration>
XML
}
