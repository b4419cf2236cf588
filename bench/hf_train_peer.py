"""The Hugging Face peer of bench/train.ts: full finetuning of transformers' T5ForConditionalGeneration on
the CPU (fp32, torch's default threads) with transformers' Adafactor at a constant rate (the paper's
setting: no relative step, no parameter scaling) and gradient clipping at 1.0, as our trainer steps.
One JSON line per request line on stdin, so the bench can alternate it with our trainer step by step:

    {"cmd": "step", "inputIds": [[...]], "attentionMask": [[...]], "labels": [[...]]}
        -> {"seconds": s, "loss": l}   one optimizer step on that batch (decoder inputs from the labels)
    {"cmd": "quit"}

The first line written is {"ready": true, "torch": ..., "transformers": ..., "threads": ...}.
"""
import json
import sys
import time

import torch
import transformers
from transformers import T5ForConditionalGeneration
from transformers.optimization import Adafactor


def reply(record):
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def main():
    model = T5ForConditionalGeneration.from_pretrained(sys.argv[1], dtype=torch.float32).train()
    optimizer = Adafactor(model.parameters(), lr=float(sys.argv[2]), scale_parameter=False, relative_step=False,
                          warmup_init=False)
    reply({"ready": True, "torch": torch.__version__, "transformers": transformers.__version__,
           "threads": torch.get_num_threads()})
    for line in sys.stdin:
        request = json.loads(line)
        if request["cmd"] == "quit":
            break
        start = time.perf_counter()
        out = model(input_ids=torch.tensor(request["inputIds"]), attention_mask=torch.tensor(request["attentionMask"]),
                    labels=torch.tensor(request["labels"]))
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        reply({"seconds": time.perf_counter() - start, "loss": out.loss.item()})


if __name__ == "__main__":
    main()
