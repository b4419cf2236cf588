"""Merges the JSON lines of gpu-decode.ts (ours) and hf_peer.py into one JSON object: per shape and batch,
tokens/s of each, their ratio (goal: >= 1.0 at batch 128 on base) and our batch-1 step time against the
HBM floor of the decoder's weights (goal: within 3x)."""
import json
import sys


def read(path):
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.startswith("{")]
    except FileNotFoundError:
        return []


ours_path, hf_path = sys.argv[1:3]
ours, hf = read(ours_path), read(hf_path)
decode = lambda records: {(r["shape"], r["batch"]): r for r in records if r["kind"] == "decode"}
ours_decode, hf_decode = decode(ours), decode(hf)
rows = []
for key in sorted(set(ours_decode) | set(hf_decode)):
    o, h = ours_decode.get(key), hf_decode.get(key)
    row = {"shape": key[0], "batch": key[1]}
    if o:
        row.update(oursTokensPerSecond=round(o["tokensPerSecond"], 1), oursStepMs=round(o["stepMs"], 3))
        if key[1] == 1:
            row.update(hbmFloorStepMs=round(o["hbmFloorStepMs"], 4), stepVsFloor=round(o["stepMs"] / o["hbmFloorStepMs"], 2))
    if h:
        row.update(hfTokensPerSecond=round(h["tokensPerSecond"], 1), hfStepMs=round(h["stepMs"], 3), hfDevice=h["device"])
    if o and h:
        row["oursVsHf"] = round(o["tokensPerSecond"] / h["tokensPerSecond"], 3)
    rows.append(row)
print(json.dumps({
    "bench": "gpu-decode",
    "workload": "greedy, 64-token prompts, random weights (fp32), ours on webgpu vs HF T5ForConditionalGeneration",
    "goals": {"base batch 128 oursVsHf": ">= 1.0", "batch 1 stepVsFloor": "<= 3"},
    "rows": rows,
    "placement": [r for r in ours if r["kind"] == "load"],
}, indent=2))
