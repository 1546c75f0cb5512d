"""Intent parser latency: one utterance at a time through `Translator.translate`
(tokenise, model, decode, assemble, parse), after one warm-up. Prints one JSON line
with p50/p95 in milliseconds (goals: p50 <= 15 ms, p95 <= 30 ms on 2 CPU cores).

The encoder comes from the model store (``models pull minilm``); when it is not
there, the repository's test store (``.cache/test-home``) is tried.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path

UTTERANCES = (
    "show me what's running on the gpu",
    "fine tune smollm2 on notes.jsonl in the background",
    "kill job 2",
    "pause process 4521",
    "how much memory is free",
    "renice job 3 to high priority",
    "write a haiku about autumn",
    "load smollm2 on the second gpu",
    "classify 'the gpu is on fire' as urgent or normal",
    "list failed processes",
)
ROUNDS = 30


def encoder() -> str:
    from llmsh.nl_intent.weights import NLUnavailable, encoder_dir

    try:
        return str(encoder_dir())
    except NLUnavailable:
        home = os.environ.get("LLMSH_TEST_STORE_HOME") or str(
            Path(__file__).resolve().parents[1] / ".cache" / "test-home"
        )
        return str(encoder_dir(Path(home) / "models"))


def main() -> None:
    import torch

    from llmsh.nl_intent.api import Translator, TranslatorConfig

    started = time.perf_counter()
    translator = Translator(TranslatorConfig(encoder=encoder()))
    load_s = time.perf_counter() - started
    translator.translate("warm up")
    samples = []
    for _ in range(ROUNDS):
        for text in UTTERANCES:
            t0 = time.perf_counter()
            translator.translate(text)
            samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    print(json.dumps({
        "bench": "intent_latency", "n": len(samples),
        "p50_ms": round(statistics.median(samples), 2), "p95_ms": round(p95, 2),
        "load_s": round(load_s, 3), "quantized": translator.config.quantize,
        "torch_threads": torch.get_num_threads(), "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
