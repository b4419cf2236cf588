"""The Hugging Face peer of bench/vs-hf.ts: transformers' T5ForConditionalGeneration on the CPU (fp32,
torch's default threads), loading the same checkpoint directory our server serves. It answers one JSON
line per request line on stdin, so the bench can interleave it with our server request by request:

    {"cmd": "generate", "prompts": [[ids...], ...], "newTokens": 64}
        -> {"ids": [[new ids...], ...], "seconds": s}   one static padded batch, greedy, exactly newTokens
    {"cmd": "quit"}

The first line written is {"ready": true, "torch": ..., "transformers": ..., "threads": ...}.
"""
import json
import sys
import time

import torch
import transformers
from transformers import T5ForConditionalGeneration


def reply(record):
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def generate(model, prompts, new_tokens):
    width = max(len(p) for p in prompts)
    ids = torch.zeros((len(prompts), width), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, prompt in enumerate(prompts):  # right padding, as the tokenizer pads T5 prompts
        ids[row, : len(prompt)] = torch.tensor(prompt)
        mask[row, : len(prompt)] = 1
    start = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                             do_sample=False, num_beams=1)
    seconds = time.perf_counter() - start
    return {"ids": out[:, 1:].tolist(), "seconds": seconds}  # without the decoder start token


def main():
    model_dir = sys.argv[1]
    model = T5ForConditionalGeneration.from_pretrained(model_dir, dtype=torch.float32).eval()
    reply({"ready": True, "torch": torch.__version__, "transformers": transformers.__version__,
           "threads": torch.get_num_threads()})
    for line in sys.stdin:
        request = json.loads(line)
        if request["cmd"] == "quit":
            break
        if request["cmd"] == "generate":
            reply(generate(model, request["prompts"], request["newTokens"]))
        else:
            reply({"error": f"unknown cmd {request['cmd']}"})


if __name__ == "__main__":
    main()
