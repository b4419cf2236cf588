"""The peer of bench/device/gpu-decode.ts: Hugging Face transformers' T5ForConditionalGeneration with
random weights, greedy generate() of exactly NEW_TOKENS tokens from PROMPT_TOKENS-token prompts, fp32 as
ours, on CUDA where torch sees a GPU (the CPU otherwise, to check the script). One JSON line per
measurement on stdout, in the records' shape of gpu-decode.ts.

    python3 hf_peer.py --configs DIR --shapes base,small --batches 1,32,128 [--new-tokens 64]
"""
import argparse
import json
import sys
import time

import torch
from transformers import T5Config, T5ForConditionalGeneration

PROMPT_TOKENS = 64


def emit(record):
    print(json.dumps(record), flush=True)


def timed(device, body):
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = body()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, out


def bench_shape(shape, config_path, batches, new_tokens, device):
    with open(config_path) as f:
        config = T5Config(**json.load(f))
    torch.manual_seed(0)
    start = time.perf_counter()
    model = T5ForConditionalGeneration(config).to(device).eval()
    emit({"kind": "load", "system": "hf-transformers", "device": device, "shape": shape,
          "seconds": time.perf_counter() - start, "torch": torch.__version__})
    generator = torch.Generator().manual_seed(11)
    for batch in batches:
        ids = torch.randint(100, config.vocab_size - 200, (batch, PROMPT_TOKENS), generator=generator)
        ids[:, -1] = config.eos_token_id
        ids = ids.to(device)
        mask = torch.ones_like(ids)

        def generate(n):
            return model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=n, min_new_tokens=n,
                                  do_sample=False, num_beams=1)

        with torch.inference_mode():
            generate(2)  # warm-up: kernels, allocator
            prefill_seconds, _ = timed(device, lambda: model.get_encoder()(input_ids=ids, attention_mask=mask))
            seconds, out = timed(device, lambda: generate(new_tokens))
        tokens = batch * (out.shape[1] - 1)
        emit({"kind": "decode", "system": "hf-transformers", "device": device, "shape": shape, "batch": batch,
              "promptTokens": PROMPT_TOKENS, "newTokens": new_tokens, "tokens": tokens, "seconds": seconds,
              "tokensPerSecond": tokens / seconds, "prefillSeconds": prefill_seconds,
              "stepMs": (seconds - prefill_seconds) / new_tokens * 1000})
        print(f"[hf_peer] {shape} batch {batch}: {tokens / seconds:.1f} tokens/s", file=sys.stderr, flush=True)
    del model
    if device == "cuda":
        torch.cuda.empty_cache()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--configs", required=True, help="folder of <shape>.json written by gpu-decode --write-configs")
    parser.add_argument("--shapes", default="base,small,large")
    parser.add_argument("--batches", default="1,32,128")
    parser.add_argument("--new-tokens", type=int, default=64)
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    batches = [int(b) for b in args.batches.split(",")]
    for shape in args.shapes.split(","):
        bench_shape(shape, f"{args.configs}/{shape}.json", batches, args.new_tokens, device)


if __name__ == "__main__":
    main()
