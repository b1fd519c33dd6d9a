#!/usr/bin/env bash
# Builds the GPU check bundle (tools/gpu/run.sh runs it) on a machine with the .NET SDK, for a GPU machine without
# .NET: the .NET runtime copied from this SDK (host, hostfxr, Microsoft.NETCore.App), Graph.Tests with the in-process
# runner (tools/Graph.GpuCheck) and the `graph` CLI (framework-dependent publishes), OpenBLAS with its Fortran runtime
# (for the cpu comparison), the PyTorch peer script. Output: <dir>/graph-gpu.tar.xz and <dir>/run.sh
# (default dir: .gpu-bundle, git-ignored). Usage: tools/gpu/build.sh [dir] [xz level, default 9]
set -euo pipefail
# ldconfig lives in /sbin: a PATH without the sbin folders (a CI runner's, a non-login shell's) must still find it.
export PATH=$PATH:/usr/sbin:/sbin
cd "$(dirname "$0")/../.."
out=$(mkdir -p "${1:-.gpu-bundle}" && cd "${1:-.gpu-bundle}" && pwd)
level=${2:-9}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/graph-gpu
mkdir -p "$root/app" "$root/lib" "$root/dotnet/host/fxr" "$root/dotnet/shared/Microsoft.NETCore.App"

for project in Graph.Tests tools/Graph.GpuCheck tools/Graph.Cli; do
  dotnet publish "$project" -c Release -r linux-x64 --self-contained false -o "$root/app" --nologo -v quiet -p:UseAppHost=false >/dev/null
done
# The test SDK's code-coverage collector (and its per-platform folders) is not needed to run tests in-process.
rm -rf "$root/app/CodeCoverage" "$root/app/x86" "$root/app/x64" "$root/app/arm64" "$root/app/alpine" "$root/app/ubuntu" "$root/app/macos"
# ONNX Runtime serves the interop tests, which are not in the Cuda category.
rm -f "$root/app"/libonnxruntime*.so

# The runtime the apps run on: the newest 10.x of this SDK's install.
dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
version=$(dotnet --list-runtimes | awk '$1 == "Microsoft.NETCore.App" && $2 ~ /^10\./ {v = $2} END {print v}')
fxr=$(ls "$dotnet_root/host/fxr" | sort -V | tail -1)
cp "$dotnet_root/dotnet" "$root/dotnet/"
cp -r "$dotnet_root/host/fxr/$fxr" "$root/dotnet/host/fxr/"
cp -r "$dotnet_root/shared/Microsoft.NETCore.App/$version" "$root/dotnet/shared/Microsoft.NETCore.App/"

# OpenBLAS for the cpu device's GEMM (optional: without it the cpu device uses its managed GEMM).
for lib in libopenblas.so.0 libgfortran.so.5 libquadmath.so.0; do
  path=$(ldconfig -p 2>/dev/null | awk -v n="$lib" '$1 == n {print $NF; exit}' || true)
  if [ -n "$path" ]; then cp -L "$path" "$root/lib/$lib"; fi
done

cp tools/gpu/run.sh tools/gpu/peer_torch.py "$root/"
tar -C "$stage" -cf - graph-gpu | xz -T2 "-$level" > "$out/graph-gpu.tar.xz"
cp tools/gpu/run.sh "$out/run.sh"
echo "bundle: $out/graph-gpu.tar.xz ($(du -h "$out/graph-gpu.tar.xz" | cut -f1); unpacked $(du -sh "$root" | cut -f1)), runtime $version"
