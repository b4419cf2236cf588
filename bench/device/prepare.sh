#!/usr/bin/env bash
# Builds .gpu-carry/ (git-ignored) with what a bare GPU machine lacks, for the device tool's `carry`:
# node itself (xz), bench/device/bundle.sh's esbuild bundle of bench/device/gpu-decode.ts with the packages
# it leaves outside (onnxruntime-node's Linux x64 binaries, which bundle the WebGPU provider; koffi), and the
# Vulkan loader's .deb.
# All under the tool's 64 MiB, the working tree included. Then, in one device call:
#   run(command="bash bench/device/run-on-device.sh", carry=[".gpu-carry"], timeout_s=570)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.gpu-carry
rm -rf "$out"
mkdir -p "$out"

xz -T0 -6 -c "$(command -v node)" >"$out/node.xz"
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
bash bench/device/bundle.sh "$staging"
tar -C "$staging" -cJf "$out/node_modules.tar.xz" node_modules
cp "$staging/gpu-decode.mjs" "$out/"
# The GPU machine has NVIDIA's Vulkan driver (its ICD) but not necessarily the loader, libvulkan.so.1.
(cd "$out" && apt-get download libvulkan1 >/dev/null)

tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
carried=$(du -sb "$out" | cut -f1)
echo "carry: $((carried / 1048576)) MiB, working tree: $((tree / 1048576)) MiB (the tool's limit: 64 MiB together)"
[ $((carried + tree)) -lt $((64 * 1048576)) ] || { echo "over the 64 MiB the device tool carries" >&2; exit 1; }
