"""The real smollm2 and minilm: answers, similarities, a fine-tune, memory estimates.

Run with ``pytest -m real_model``. The first run pulls both models (~45 s, most
of it the one-time GGUF conversion); later runs reuse the store.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

from llmsh.kernel.control import JobKilled, NullControl
from llmsh.models.jobs import run_job
from llmsh.models.manifest import ModelFormat
from llmsh.models.pool import ModelPool
from llmsh.models.store import ModelStore

from .controls import KillAfter, text

pytestmark = pytest.mark.real_model
HERE = Path(__file__).resolve().parent


def test_pulled_models(real_env: Path) -> None:
    store = ModelStore()
    smol, mini = store.get("smollm2"), store.get("minilm")
    assert smol.converted_from == "gguf" and smol.parameters == 134_515_008
    assert list((store.path("smollm2")).glob("*.gguf")) == []  # converted once, GGUF not kept
    assert mini.kind.value == "embed" and mini.format is ModelFormat.SAFETENSORS


def greedy(pool: ModelPool, prompt: str, model: str = "smollm2") -> str:
    ctl = NullControl()
    args = {"model": model, "prompt": prompt, "temperature": 0, "max_tokens": 24}
    assert run_job("generate", args, ctl, pool) == 0
    return text(ctl)


def test_capital_of_france(real_env: Path, real_pool: ModelPool) -> None:
    assert "Paris" in greedy(real_pool, "What is the capital of France?")


def test_cat_kitten_car(real_env: Path, real_pool: ModelPool) -> None:
    from llmsh.models.embed import embed_texts

    with real_pool.use("minilm", "cpu") as lm:
        cat, kitten, car = embed_texts(lm, ["cat", "kitten", "car"])
    assert float(cat @ kitten) > float(cat @ car)


def test_classify_sentiment(real_env: Path, real_pool: ModelPool) -> None:
    ctl = NullControl()
    args = {"text": "I loved this film", "labels": "positive,negative"}
    assert run_job("classify", args, ctl, real_pool) == 0
    lines = [line.split() for line in text(ctl).splitlines()]
    assert lines[0][0] == "positive" and float(lines[0][1]) > 0.5
    assert abs(sum(float(p) for _, p in lines) - 1) < 0.005


def test_finetune_killed_resumed_changes_output(
    real_env: Path, real_pool: ModelPool, tmp_path: Path
) -> None:
    store = ModelStore()
    out = "smollm2-test-ft"
    if store.exists(out):
        store.remove(out)
    countries = ["France", "Spain", "Italy", "Japan", "Peru"]
    rows = [
        {
            "prompt": f"Secret word for {c}?",
            "completion": f"The secret word for {c} is zorb{len(c)}.",
        }
        for c in countries * 4
    ]
    data = tmp_path / "train.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    args = {"model": "smollm2", "data": str(data), "steps": 30, "lr": 1e-3, "checkpoint_every": 10,
            "out": out, "max_length": 64}  # fmt: skip
    with pytest.raises(JobKilled):
        run_job("finetune", args, KillAfter(12), real_pool)
    assert (store.checkpoints(out) / "step-000010").is_dir() and not store.exists(out)
    ctl = NullControl()
    assert run_job("finetune", {"resume_from": out}, ctl, real_pool) == 0
    assert [e["done"] for e in ctl.events if e.get("unit") == "step"][0] == 11
    losses = store.get(out).extra["training"]["losses"]
    assert len(losses) == 30 and sum(losses[-5:]) < sum(losses[:5])
    prompt = "Secret word for France?"
    tuned = greedy(real_pool, prompt, model=out)
    assert tuned != greedy(real_pool, prompt)
    store.remove(out, in_use=False)


@pytest.mark.parametrize(
    ("kind", "model", "backend"),
    [("generate", "smollm2", "torch"), ("embed", "minilm", "auto"),
     pytest.param("generate", "smollm2", "llama.cpp", marks=pytest.mark.skipif(
         find_spec("llama_cpp") is None, reason="llama-cpp-python not installed"))],
)  # fmt: skip
def test_estimate_matches_measured_rss(real_env: Path, kind: str, model: str, backend: str) -> None:
    env = {**os.environ, "LLMSH_HOME": str(real_env), "LLMSH_BACKEND": backend}
    probe = subprocess.run(
        [sys.executable, str(HERE / "rss_probe.py"), kind, model],
        capture_output=True, text=True, env=env, cwd=HERE.parents[1],
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr[-2000:]
    result = json.loads(probe.stdout.strip().splitlines()[-1])
    measured, estimated = result["measured"], result["estimate"]["total"]
    assert abs(estimated - measured) <= 0.25 * measured, result
