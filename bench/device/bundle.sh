#!/usr/bin/env bash
# Builds DIR/gpu-decode.mjs, an esbuild bundle of bench/device/gpu-decode.ts, and DIR/node_modules with
# the packages the bundle leaves outside: those with native code, whose JavaScript finds its binary by a
# path relative to its own (onnxruntime-node; koffi, which runtime/freed-memory.ts calls glibc through).
# With node alone, DIR then runs on a machine without the project's node_modules. prepare.sh packs it
# for the device tool; test/device/gpu-bundle.test.ts runs it from DIR, so a new native dependency that
# the bundle cannot carry fails there instead of on a lent GPU machine.
#   bash bench/device/bundle.sh DIR
set -euo pipefail
dir=$(mkdir -p "${1:?usage: bundle.sh DIR}" && cd "$1" && pwd)
cd "$(dirname "$0")/../.."

# The files of each outside package that the bundle runs with, Linux x64 only.
external=(onnxruntime-node onnxruntime-common koffi)
files=(
  onnxruntime-node/package.json onnxruntime-node/dist onnxruntime-node/bin/napi-v6/linux/x64
  onnxruntime-common/package.json onnxruntime-common/dist
  koffi/package.json koffi/index.js koffi/index.cjs koffi/src koffi/lib
  @koromix/koffi-linux-x64
)

rm -rf "$dir/node_modules" "$dir/gpu-decode.mjs"
mkdir -p "$dir/node_modules"
tar -C node_modules -c "${files[@]}" | tar -C "$dir/node_modules" -x
npx esbuild bench/device/gpu-decode.ts --bundle --platform=node --format=esm --target=node20 --log-level=warning \
  "${external[@]/#/--external:}" --outfile="$dir/gpu-decode.mjs" \
  --banner:js="import { createRequire as __flanRequire } from 'node:module'; const require = __flanRequire(import.meta.url);"
