"""The summarize job on a tiny random-weight Llama (256-token context): chunking,
progress per chunk, kill and pause, and the command in a real shell and kernel."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path
from typing import Any

import pytest
from llmsh_summarize import job
from llmsh_summarize.job import COMBINE, PART, WHOLE, summarize_file
from llmsh_summarize.kind import summarize_kind

from llmsh.kernel.control import JobKilled, NullControl
from llmsh.models.pool import ModelPool

pytestmark = pytest.mark.timeout(120)
SENTENCES = ["The council met on Tuesday to discuss the new library by the river.",
             "A cat is a small animal; a kitten is a young cat.",
             "Trains run on rails and the budget grew because steel cost more."]  # fmt: skip


def document(paragraphs: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    return "\n\n".join(" ".join(rng.choices(SENTENCES, k=3)) for _ in range(paragraphs))


@pytest.fixture
def prompts(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The arguments of every generation step the job runs."""
    seen: list[dict[str, Any]] = []
    real = job.job_function

    def recording(kind: str) -> Any:
        def run(args: dict[str, Any], ctl: Any, pool: ModelPool) -> int:
            seen.append(dict(args))
            return real(kind)(args, ctl, pool)

        return run

    monkeypatch.setattr(job, "job_function", recording)
    return seen


def prompt_tokens(tiny_llama: Path, prompt: str) -> int:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    return job.prompt_length(tokenizer, prompt)


def run_job(tmp_path: Path, text: str, **args: Any) -> tuple[str, NullControl]:
    path = tmp_path / "doc.txt"
    path.write_text(text)
    ctl = NullControl()
    pool = ModelPool()
    try:
        args = {"path": str(path), "model": "tiny-llama", "temperature": 1.0, "seed": 0, **args}
        summary = summarize_file(args, ctl, pool)
    finally:
        pool.clear()
    return summary, ctl


def test_a_long_file_is_summarised_in_chunks_that_fit_the_context(
    store: Path, tmp_path: Path, tiny_llama: Path, prompts: list[dict[str, Any]]
) -> None:
    summary, ctl = run_job(tmp_path, document(40), max_words=10)
    progress = [e for e in ctl.events if "done" in e]
    chunks = progress[0]["chunks"]
    assert chunks >= 4
    parts = [p for p in prompts if p["prompt"].endswith(PART.format(words=10))]
    assert len(parts) >= chunks  # more when the summaries need another round themselves
    assert prompts[-1]["prompt"].endswith(COMBINE.format(words=10))
    assert all(p["prompt"].endswith(PART.format(words=10)) for p in prompts[:chunks])
    for p in prompts:  # every step fits the 256-token context with room for its answer
        assert prompt_tokens(tiny_llama, p["prompt"]) + p["max_tokens"] <= 256
    assert progress[-1]["done"] == progress[-1]["total"] == len(prompts)
    assert {e["unit"] for e in progress} == {"chunk"}
    dones = [e["done"] for e in progress]
    assert dones == sorted(dones) and any(d % 1 for d in dones)  # fractions between chunks
    assert 0 < len(summary.split()) <= 10 and ctl.output == []  # run_summarize writes it


def test_a_short_file_is_one_step(
    store: Path, tmp_path: Path, prompts: list[dict[str, Any]]
) -> None:
    _, ctl = run_job(tmp_path, SENTENCES[0], max_words=20)
    assert len(prompts) == 1 and prompts[0]["prompt"] == f"{SENTENCES[0]}\n\n" + WHOLE.format(
        words=20
    )
    assert ctl.events[0]["chunks"] == 1


def test_chunk_tokens_makes_smaller_chunks(
    store: Path, tmp_path: Path, prompts: list[dict[str, Any]]
) -> None:
    _, default = run_job(tmp_path, document(12), max_words=10)
    _, small = run_job(tmp_path, document(12), max_words=10, chunk_tokens=40)
    assert small.events[0]["chunks"] > default.events[0]["chunks"] > 1


def test_kill_stops_the_job_at_the_next_token(store: Path, tmp_path: Path) -> None:
    class KilledAfter(NullControl):
        def __init__(self, checks: int) -> None:
            super().__init__()
            self.left = checks

        def check(self) -> None:
            self.left -= 1
            self.killed = self.left < 0
            super().check()

    path = tmp_path / "doc.txt"
    path.write_text(document(20))
    ctl = KilledAfter(5)
    with pytest.raises(JobKilled):
        summarize_file({"path": str(path), "model": "tiny-llama"}, ctl, ModelPool())


def test_errors_are_one_line_reasons(store: Path, tmp_path: Path, make_llama: Any) -> None:
    from llmsh.models.errors import ModelError
    from llmsh.models.importer import add_model
    from llmsh.models.store import ModelStore

    with pytest.raises(ModelError, match="no text"):
        run_job(tmp_path, "  \n\n ")
    with pytest.raises(ModelError, match="wrote no summary"):
        run_job(tmp_path, "hello", temperature=0)  # greedy, this model writes newlines
    add_model("cramped", make_llama(tmp_path / "cramped", context=64), ModelStore())
    with pytest.raises(ModelError, match="context of 64 tokens: too small"):
        run_job(tmp_path, "hello", model="cramped")
    with pytest.raises(ValueError, match="chunk_tokens"):
        summarize_kind().validate({"path": "x", "chunk_tokens": 8})  # type: ignore[misc]


# -- through the shell and the kernel ------------------------------------------------


async def test_summarize_command_runs_one_summarize_job(
    shell: Any, sh: Any, tmp_path: Path
) -> None:
    (tmp_path / "long.txt").write_text(document(30))
    r = await sh(f"summarize {tmp_path / 'long.txt'} --model tiny-llama --max-words 8 -t 1")
    assert r.status == 0, r.err
    assert r.out.strip() and len(r.out.split()) <= 8
    (proc,) = json.loads((await sh("ps --all --json")).out)
    assert proc["kind"] == "summarize" and proc["state"] == "done"
    assert proc["argv"][0] == "summarize" and proc["args"]["model"] == "tiny-llama"
    assert proc["metrics"]["chunks"] > 1
    progress = proc["progress"]
    assert progress["unit"] == "chunk" and progress["done"] == progress["total"]
    assert progress["total"] >= proc["metrics"]["chunks"] + 1  # map steps, then the reduce
    assert (await sh(f"logs {proc['pid']}")).out == r.out


async def test_pause_resume_and_kill_a_running_summary(shell: Any, sh: Any, tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text(document(300))
    await sh(f"summarize {tmp_path / 'big.txt'} -m tiny-llama --chunk-tokens 32 -t 1 &")
    kernel = await shell.kernel()
    (proc,) = await kernel.list()
    pid = proc.pid
    for _ in range(200):
        proc = await kernel.get(pid)
        if proc.state.value == "running" and proc.progress.done >= 1:
            break
        await asyncio.sleep(0.05)
    assert (await sh(f"pause {pid}")).status == 0
    await asyncio.sleep(0.3)
    held = (await kernel.get(pid)).progress.done
    await asyncio.sleep(0.3)
    proc = await kernel.get(pid)
    assert proc.state.value == "paused" and proc.progress.done == held
    assert (await sh(f"resume {pid}; kill {pid}")).status == 0
    await sh("wait")
    assert (await kernel.get(pid)).state.value == "killed"


async def test_command_errors(shell: Any, sh: Any, tmp_path: Path) -> None:
    r = await sh("summarize /no/such/file.txt")
    assert r.status == 1 and "no such file: /no/such/file.txt" in r.err
    (tmp_path / "a.txt").write_text("hello")
    r = await sh(f"summarize {tmp_path / 'a.txt'} --max-words 2")
    assert r.status == 2 and "--max-words must be at least 5" in r.err
    r = await sh(f"summarize {tmp_path / 'a.txt'} --model nosuchmodel")
    assert r.status == 1 and "nosuchmodel" in r.err


async def test_reads_standard_input_and_explains(shell: Any, sh: Any) -> None:
    r = await sh("echo 'The council met on Tuesday.' | summarize - -m tiny-llama -w 5 -t 1")
    assert r.status == 0, r.err
    r = await sh("explain summarize - -m tiny-llama")
    assert "job kind:   summarize" in r.out
