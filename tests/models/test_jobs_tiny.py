"""Job functions on tiny random-weight models: the plumbing, not the quality."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmsh.kernel.control import JobKilled, NullControl
from llmsh.models.errors import ModelError
from llmsh.models.jobs import job_function, run_job
from llmsh.models.manifest import ModelFormat
from llmsh.models.pool import ModelPool
from llmsh.models.store import ModelStore

from .controls import KillAfter, text


def gen(pool: ModelPool, **args: object) -> NullControl:
    ctl = NullControl()
    assert run_job("generate", {"model": "tiny-llama", "prompt": "Hello", **args}, ctl, pool) == 0
    return ctl


def test_generate_streams_greedy_deterministic(store: ModelStore, pool: ModelPool) -> None:
    first = gen(pool, temperature=0, max_tokens=12)
    second = gen(pool, temperature=0, max_tokens=12)
    assert text(first) == text(second)
    token_events = [e for e in first.events if e.get("unit") == "tok"]
    assert token_events[-1]["rate"] > 0 and token_events[-1]["prompt_tokens"] > 0
    assert len(first.output) > 1  # streamed in pieces, not one write
    assert [r.name for r in pool.snapshot()] == ["tiny-llama"]  # stays loaded for the next job


def test_sampling_seeded(store: ModelStore, pool: ModelPool) -> None:
    a = gen(pool, temperature=1.0, top_p=0.9, seed=7, max_tokens=10)
    b = gen(pool, temperature=1.0, top_p=0.9, seed=7, max_tokens=10)
    assert text(a) == text(b)


def test_kill_between_tokens(store: ModelStore, pool: ModelPool) -> None:
    ctl = KillAfter(3)
    with pytest.raises(JobKilled):
        run_job(
            "generate",
            {"model": "tiny-llama", "prompt": "Hi", "temperature": 0, "max_tokens": 50},
            ctl,
            pool,
        )
    assert len([e for e in ctl.events if e.get("unit") == "tok"]) == 3
    assert pool.snapshot()[0].refs == 0  # the model was released


def test_chat_turn(store: ModelStore, pool: ModelPool) -> None:
    ctl = NullControl()
    messages = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"},
                {"role": "user", "content": "What is your name?"}]  # fmt: skip
    assert (
        run_job("chat", {"model": "tiny-llama", "messages": messages, "max_tokens": 5}, ctl, pool)
        == 0
    )
    with pytest.raises(ModelError, match="message 1"):
        run_job(
            "chat",
            {"model": "tiny-llama", "messages": [{"role": "robot", "content": "x"}]},
            ctl,
            pool,
        )


@pytest.mark.parametrize(
    ("kind", "args", "match"),
    [
        ("generate", {"model": "nope", "prompt": "x"}, "unknown model 'nope'"),
        ("generate", {"model": "tiny-bert", "prompt": "x"}, "cannot generate"),
        ("generate", {"model": "tiny-llama", "prompt": "x", "temperature": -1}, "temperature"),
        ("embed", {"model": "tiny-llama", "text": "x"}, "use an embedding model"),
        ("classify", {"model": "tiny-bert", "text": "x", "labels": "one"}, "two labels"),
        ("eval", {"model": "tiny-llama", "data": "/no/such.jsonl"}, "no such data file"),
        ("finetune", {"model": "tiny-llama"}, "needs a data file"),
        ("finetune", {"model": "tiny-llama", "data": "x", "out": "../up"}, "bad model name"),
    ],
)
def test_job_errors_are_one_line(
    store: ModelStore, pool: ModelPool, kind: str, args: dict[str, object], match: str
) -> None:
    with pytest.raises(ModelError, match=match) as err:
        run_job(kind, args, NullControl(), pool)
    assert "\n" not in str(err.value)


def test_unknown_kind() -> None:
    with pytest.raises(ModelError, match="unknown model job kind"):
        job_function("dance")


def test_embed_and_out_file(store: ModelStore, pool: ModelPool, tmp_path: Path) -> None:
    ctl = NullControl()
    out = tmp_path / "vectors.jsonl"
    args = {"model": "tiny-bert", "texts": ["a cat", "a car"], "out": str(out)}
    assert run_job("embed", args, ctl, pool) == 0
    assert "dimension: 32" in text(ctl)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["text"] for r in rows] == ["a cat", "a car"]
    norm = sum(v * v for v in rows[0]["embedding"]) ** 0.5
    assert abs(norm - 1) < 1e-4 and len(rows[0]["embedding"]) == 32


def test_classify_sorted(store: ModelStore, pool: ModelPool) -> None:
    ctl = NullControl()
    run_job(
        "classify", {"model": "tiny-bert", "text": "a cat", "labels": ["x", "y", "z"]}, ctl, pool
    )
    scores = [float(line.split()[-1]) for line in text(ctl).splitlines()]
    assert len(scores) == 3 and scores == sorted(scores, reverse=True)
    assert all(0 <= p <= 1 for p in scores) and abs(sum(scores) - 1) < 0.005  # probabilities


def test_softmax_is_a_distribution_that_keeps_the_order() -> None:
    from llmsh.models.embed import softmax

    probs = softmax([0.31, 0.12, -0.4, 0.30], 0.05)
    assert abs(sum(probs) - 1) < 1e-9 and probs[0] > probs[3] > probs[1] > probs[2] > 0
    assert softmax([500.0, 0.0], 0.05)[0] == 1.0  # no overflow for far-apart scores


def test_eval_perplexity(store: ModelStore, pool: ModelPool, tmp_path: Path) -> None:
    data = tmp_path / "book.txt"
    data.write_text("The capital of France is Paris. " * 20)
    ctl = NullControl()
    assert (
        run_job("eval", {"model": "tiny-llama", "data": str(data), "max_length": 32}, ctl, pool)
        == 0
    )
    assert "perplexity:" in text(ctl)
    assert (
        ctl.events[-1]["unit"] == "window" and ctl.events[-1]["done"] == ctl.events[-1]["total"] > 1
    )


def write_data(tmp_path: Path, lines: int = 6) -> Path:
    path = tmp_path / "train.jsonl"
    rows = [{"prompt": f"Say {i}", "completion": f"Number {i} is here."} for i in range(lines)]
    rows[0] = {"text": "The capital of France is Paris."}
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_finetune_registers_adapter(store: ModelStore, pool: ModelPool, tmp_path: Path) -> None:
    ctl = NullControl()
    ctl.pid = 42
    args = {
        "model": "tiny-llama",
        "data": str(write_data(tmp_path)),
        "steps": 12,
        "lr": 0.01,
        "rank": 2,
    }
    assert run_job("finetune", args, ctl, pool) == 0
    manifest = store.get("tiny-llama-ft-42")
    assert manifest.format is ModelFormat.LORA and manifest.base == "tiny-llama"
    losses = manifest.extra["training"]["losses"]
    assert len(losses) == 12 and sum(losses[-3:]) < sum(losses[:3])
    steps = [e for e in ctl.events if e.get("unit") == "step"]
    assert steps[-1]["done"] == 12 and "loss" in steps[-1] and "eta" in steps[-1]
    assert not store.checkpoints("tiny-llama-ft-42").exists()  # cleaned up on success
    assert text(gen(pool, model="tiny-llama-ft-42", temperature=0, max_tokens=4)) is not None


def test_finetune_kill_and_resume(store: ModelStore, pool: ModelPool, tmp_path: Path) -> None:
    data = str(write_data(tmp_path))
    args = {
        "model": "tiny-llama",
        "data": data,
        "steps": 10,
        "checkpoint_every": 4,
        "out": "tiny-ft",
        "rank": 2,
    }
    with pytest.raises(JobKilled):
        run_job("finetune", args, KillAfter(6), pool)
    assert not store.exists("tiny-ft")
    assert (store.checkpoints("tiny-ft") / "step-000004").is_dir()
    ctl = NullControl()
    assert run_job("finetune", {"resume_from": "tiny-ft"}, ctl, pool) == 0
    steps = [e["done"] for e in ctl.events if e.get("unit") == "step"]
    assert steps == [5, 6, 7, 8, 9, 10]  # continued after the checkpoint
    assert len(store.get("tiny-ft").extra["training"]["losses"]) == 10
    with pytest.raises(ModelError, match="no checkpoint"):
        run_job("finetune", {"resume_from": "tiny-ft"}, NullControl(), pool)


def test_finetune_bad_data_names_line(store: ModelStore, pool: ModelPool, tmp_path: Path) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text('{"text": "fine"}\n{"prompt": 1}\n')
    before = store.names()
    with pytest.raises(ModelError, match="bad.jsonl line 2"):
        run_job("finetune", {"model": "tiny-llama", "data": str(data)}, NullControl(), pool)
    assert store.names() == before
