#!/usr/bin/env bash
# Runs on the lent GPU machine (see prepare.sh): our decode benchmark on webgpu and the Hugging Face peer
# on CUDA, shape by shape (base first: it holds the goal), each cut off by its own timeout so one slow
# shape cannot cost the rest. Writes $OUT/ours.jsonl, $OUT/hf.jsonl, $OUT/log.txt and the summary
# $OUT/device-bench.json. SHAPES, BATCHES, NEW_TOKENS and the per-shape timeouts can be overridden
# (llvmpipe check here: OUT=/tmp/x SHAPES=tiny BATCHES=1,4 NEW_TOKENS=8 bash bench/device/run-on-device.sh).
set -uo pipefail
cd "$(dirname "$0")/../.."
carry=$PWD/.gpu-carry
out=${OUT:-/tmp/flan-gpu-out}
work=/tmp/flan-gpu
mkdir -p "$out" "$work"
log="$out/log.txt"

if ! ldconfig -p | grep -q libvulkan.so.1; then
  for f in "$carry"/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES=$icd
# xz-utils may be missing from the image; Python's lzma reads the same files.
unxz() { if command -v xz >/dev/null; then xz -dc "$1"; else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"; fi; }
unxz "$carry/node.xz" >"$work/node" && chmod +x "$work/node"
unxz "$carry/node_modules.tar.xz" | tar -C "$work" -x
cp "$carry/gpu-decode.mjs" "$work/"
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1; "$work/node" --version; } >>"$log"

shapes=${SHAPES:-base,small,large}
batches=${BATCHES:-1,32,128}
new_tokens=${NEW_TOKENS:-64}
"$work/node" "$work/gpu-decode.mjs" --write-configs "$work/configs"
for shape in ${shapes//,/ }; do
  case $shape in base) t=150 ;; large) t=170 ;; *) t=70 ;; esac
  t=${SHAPE_TIMEOUT:-$t}
  echo "== $shape: ours on webgpu (timeout ${t}s)" >>"$log"
  FLAN_DEVICE=webgpu timeout "$t" "$work/node" "$work/gpu-decode.mjs" --shapes "$shape" --batches "$batches" --new-tokens "$new_tokens" \
    >>"$out/ours.jsonl" 2>>"$log" || echo "ours on $shape exited $?" >>"$log"
  echo "== $shape: Hugging Face transformers (timeout ${t}s)" >>"$log"
  timeout "$t" python3 bench/device/hf_peer.py --configs "$work/configs" --shapes "$shape" --batches "$batches" --new-tokens "$new_tokens" \
    >>"$out/hf.jsonl" 2>>"$log" || echo "the HF peer on $shape exited $?" >>"$log"
  # After each shape, so a call cut off by its own limit still brings back the summary of what it measured.
  python3 bench/device/summarize.py "$out/ours.jsonl" "$out/hf.jsonl" >"$out/device-bench.json" 2>>"$log"
done
cat "$out/device-bench.json"
