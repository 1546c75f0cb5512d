"""eval job: perplexity of a causal LM on a JSON lines or plain text file."""

from __future__ import annotations

import math
import time
from typing import Any

import torch

from llmsh.kernel.control import JobControl
from llmsh.models.data import read_examples
from llmsh.models.errors import ModelError
from llmsh.models.jobs import default_model
from llmsh.models.manifest import ModelKind
from llmsh.models.pool import ModelPool
from llmsh.models.resolve import resolved
from llmsh.models.runtime import job_device, oom_guard


def windows(ids: list[int], size: int) -> list[list[int]]:
    """Non-overlapping windows of at most `size` tokens (a last one shorter than 2 is dropped)."""
    return [ids[i : i + size] for i in range(0, len(ids), size) if len(ids[i : i + size]) > 1]


def run_eval(args: dict[str, Any], ctl: JobControl, pool: ModelPool) -> int:
    """args: model, data (JSON lines or text), max_length (window size, default 512)."""
    if not args.get("data"):
        raise ModelError("eval needs a data file (--data FILE)")
    examples = read_examples(str(args["data"]), allow_text=True)
    name = str(args.get("model") or default_model("eval"))
    size = int(args.get("max_length", 512))
    device = job_device(args, ctl)
    res = resolved("eval", args)
    with oom_guard(device), pool.use(name, device, need=res.resident) as lm, torch.inference_mode():
        if lm.kind is not ModelKind.GENERATE:
            raise ModelError(f"eval needs a text-generation model; {name!r} is {lm.kind.value}")
        ctl.set_memory(res.extra)  # the weights are the pool's, counted once
        eos = lm.tokenizer.eos_token_id
        ids: list[int] = []
        for example in examples:
            ids += lm.tokenizer(example.plain)["input_ids"] + ([eos] if eos is not None else [])
        chunks = windows(ids, size)
        if not chunks:
            raise ModelError("the data file has too little text to evaluate")
        nll, count, start = 0.0, 0, time.perf_counter()
        for done, chunk in enumerate(chunks, 1):
            ctl.check()
            batch = torch.tensor([chunk], device=lm.device)
            loss = lm.model(input_ids=batch, labels=batch).loss
            nll += float(loss.item()) * (len(chunk) - 1)  # mean over the predicted tokens
            count += len(chunk) - 1
            rate = count / (time.perf_counter() - start)
            ctl.progress(done, len(chunks), "window", rate=rate, loss=nll / count)
    mean = nll / count
    ctl.write(f"perplexity: {math.exp(mean):.3f} over {count} tokens (mean loss {mean:.4f})\n")
    return 0
