#!/usr/bin/env bash
# Measures one model through the server, as any client would: starts `flan-serve serve` on the model,
# runs `flan-serve eval --suite synthetic` in each mode, and leaves one JSON file per run in OUT_DIR
# (the eval's --json line). models/build/summarize-eval.ts turns a set of these into the cards' tables.
#
#   models/build/evaluate.sh MODEL_DIR OUT_DIR [PORT] [LIMIT] [RUNS]
# RUNS: all (default); direct-cot to skip the arithmetic self-consistency pair (the ablation's runs);
# phrasings for only the plain-phrasing runs (held-in families asked in trained and held-out phrasings).
set -euo pipefail
model=$1 out=$2 port=${3:-8091} limit=${4:-100} runs=${5:-all}
mkdir -p "$out"
FLAN_THREADS=1 node bin/flan-serve.js serve --model "$model" --port "$port" >"$out/server.log" 2>&1 &
server=$!
trap 'kill $server' EXIT
until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 1; done
id=$(basename "$model")
run() {
  local name=$1
  shift
  node bin/flan-serve.js eval --server "http://127.0.0.1:$port" --model "$id" --suite synthetic --json --no-progress \
    --concurrency 8 "$@" | tail -1 >"$out/$name.json"
  echo "$(date -u +%H:%M:%S) $id $name done"
}
# Plainly asked, as a user would: greedy, no trigger, a worked answer read at "So the answer is".
run phrasings-seen --mode direct --tasks phrasings-seen --limit "$limit"
run phrasings-unseen --mode direct --tasks phrasings-unseen --limit "$limit"
[ "$runs" = phrasings ] && exit 0
run direct --mode direct --limit "$limit"
run cot --mode cot --tasks cot --limit "$limit"
[ "$runs" = all ] || exit 0
# Self-consistency against greedy CoT on the same arithmetic questions.
run cot-arithmetic --mode cot --tasks arithmetic --limit "$limit"
run cot-sc-arithmetic --mode cot-sc --tasks arithmetic --samples 8 --temperature 0.7 --limit "$limit"
