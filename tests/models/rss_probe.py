"""Measure the resident memory a model job adds, in a fresh interpreter.

Run as ``python rss_probe.py KIND MODEL``; prints JSON with the RSS growth from
just before the model is loaded to the end of a short job, plus our estimate.
A fresh process keeps earlier tests' freed memory out of the measurement.
"""

from __future__ import annotations

import gc
import json
import sys

import psutil


def warm_up(kind: str) -> None:
    """Run a tiny model of the same family first, so torch's one-off costs (kernel code
    paged in, thread pools) are not charged to the model: the kernel pays them once."""
    import torch
    from transformers import BertConfig, BertModel, LlamaConfig, LlamaForCausalLM

    if kind == "generate":
        llama = LlamaConfig(
            hidden_size=64, intermediate_size=128, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, vocab_size=512,
        )  # fmt: skip
        model: torch.nn.Module = LlamaForCausalLM(llama)
    else:
        bert = BertConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                          num_attention_heads=4, vocab_size=512)  # fmt: skip
        model = BertModel(bert)
    with torch.inference_mode():
        ids = torch.randint(0, 512, (1, 16))
        out = model(input_ids=ids, use_cache=True) if kind == "generate" else model(input_ids=ids)
        if kind == "generate":
            model(input_ids=ids[:, :1], past_key_values=out.past_key_values, use_cache=True)
    del model, out


def main() -> None:
    kind, name = sys.argv[1], sys.argv[2]
    import torch  # noqa: F401 - imported before the baseline: not the model's memory
    import transformers  # noqa: F401

    from llmsh.kernel.control import NullControl
    from llmsh.models.estimate import estimate_job
    from llmsh.models.jobs import job_function
    from llmsh.models.pool import ModelPool

    args = (
        {"prompt": "What is the capital of France?", "temperature": 0, "max_tokens": 32}
        if kind == "generate"
        else {"text": "A cat sat on the mat.", "texts": None}
    )
    args["model"] = name
    run = job_function(kind)
    job_function("generate"), job_function("embed")  # import every module first
    from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer  # noqa: F401

    warm_up(kind)
    gc.collect()
    proc = psutil.Process()
    before = proc.memory_info().rss
    pool = ModelPool()
    run(args, NullControl(), pool)
    gc.collect()
    after = proc.memory_info().rss
    estimate = estimate_job(kind, args).as_dict()
    print(json.dumps({"measured": after - before, "estimate": estimate}))


if __name__ == "__main__":
    main()
