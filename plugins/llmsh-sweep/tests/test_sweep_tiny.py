"""Sweeps of real fine-tune jobs of a tiny random-weight Llama through a shell and kernel."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from llmsh.commands.registry import default_registry
from llmsh.plugins import get_plugins

pytestmark = pytest.mark.timeout(240)
GRID = "--lr 1e-3,2e-3 --rank 2,4 --epochs 1"


async def test_sweep_finetune_submits_one_job_per_combination_and_reports_losses(
    shell: Any, sh: Any, data: Path
) -> None:
    r = await sh(f"sweep finetune tiny-llama --data {data} {GRID} --wait")
    assert r.status == 0, r.err
    lines = r.out.splitlines()
    assert lines[0] == f"sweep 1: 4 finetune jobs of tiny-llama on {data}"
    assert lines[1].split() == ["PID", "LR", "RANK", "MODEL"]
    assert [line.split()[1:3] for line in lines[2:6]] == [
        ["1e-3", "2"], ["1e-3", "4"], ["2e-3", "2"], ["2e-3", "4"]]  # fmt: skip
    procs = json.loads((await sh("ps --all --json")).out)
    assert len(procs) == 4 and {p["kind"] for p in procs} == {"finetune"}
    assert procs[0]["argv"][:2] == ["finetune", "tiny-llama"] and "--lr" in procs[0]["argv"]
    assert [(p["args"]["lr"], p["args"]["rank"]) for p in procs] == [
        (1e-3, 2), (1e-3, 4), (2e-3, 2), (2e-3, 4)]  # fmt: skip

    report = await sh("sweep report")
    header, *rows, summary = report.out.splitlines()
    assert header.split()[:4] == ["PID", "STATE", "LR", "RANK"] and len(rows) == 4
    for line in rows:
        cells = line.split()
        assert cells[1] == "done" and cells[4] == "3/3"
        assert float(cells[5]) > 0 and float(cells[6]) > 0  # first and final loss
        assert cells[5] != cells[6]  # step 1 against step 3
    assert sum("*" in line.split() for line in rows) == 1
    assert summary.startswith("sweep 1: tiny-llama on") and "4 done" in summary
    assert report.out in r.out  # --wait printed the same report

    runs = json.loads((await sh("sweep report 1 --json")).out)["runs"]
    assert [run["state"] for run in runs] == ["done"] * 4
    assert all(isinstance(run["final_loss"], float) for run in runs)
    models = (await sh("models --json")).out
    assert all(run["out"] in models for run in runs)


async def test_without_wait_it_returns_at_once_and_the_jobs_run_on(
    shell: Any, sh: Any, data: Path
) -> None:
    r = await sh(f"sweep finetune tiny-llama --data {data} --rank 2,4 --epochs 1")
    assert r.status == 0 and r.out.splitlines()[-1] == "compare their losses with: sweep report 1"
    pids = [line.split()[0] for line in r.out.splitlines()[2:4]]
    assert len(json.loads((await sh("ps --json")).out)) == 2  # queued or running
    assert (await sh(f"wait {' '.join(pids)}")).status == 0
    listing = (await sh("sweep list")).out.splitlines()
    assert listing[0].split()[:4] == ["SWEEP", "CREATED", "MODEL", "DATA"]
    assert listing[1].split()[-2:] == pids
    runs = json.loads((await sh("sweep report --json")).out)["runs"]
    assert [(run["lr"], run["rank"]) for run in runs] == [(5e-4, 2), (5e-4, 4)]


async def test_mistakes_are_refused_before_any_job_starts(shell: Any, sh: Any, data: Path) -> None:
    r = await sh(f"sweep finetune tiny-llama --data {data} --lr 1e-4,fast")
    assert r.status == 2 and "invalid learning rate 'fast'" in r.err
    r = await sh("sweep finetune tiny-llama --data /no/such.jsonl")
    assert r.status == 1 and "no such data file" in r.err
    many = ",".join(str(n) for n in range(1, 66))
    r = await sh(f"sweep finetune tiny-llama --data {data} --rank {many}")
    assert r.status == 2 and "at most 64" in r.err
    assert json.loads((await sh("ps --all --json")).out) == []
    r = await sh("sweep report")
    assert r.status == 1 and "no sweeps yet" in r.err
    r = await sh("sweep report 7")
    assert r.status == 1 and "no sweep 7" in r.err


async def test_plugins_command_lists_it(shell: Any, sh: Any) -> None:
    found = {p["name"]: p for p in json.loads((await sh("plugins --json")).out)["plugins"]}
    assert found["sweep"]["source"] == "entry point (llmsh-sweep)"
    assert found["sweep"]["registered"] == {
        "commands": ["sweep"], "nl_examples": ["sweep finetune", "sweep report", "sweep list"]
    }  # fmt: skip


def test_language_examples_assemble_and_decode_back() -> None:
    from llmsh.nl_intent.data import AugmentConfig, make_example
    from llmsh.nl_intent.decode import decode
    from llmsh.nl_intent.examples import ExampleBook
    from llmsh.nl_intent.signatures import signatures_from
    from llmsh.nl_intent.words import split_words

    book = ExampleBook()
    get_plugins().collect("register_nl_examples", book.add)
    sigs = signatures_from(default_registry().vocabulary())
    seen: dict[str, set[str]] = {}
    for intent in ("sweep finetune", "sweep report", "sweep list"):
        assert len(book.templates[intent]) >= 5
        for seed in range(6):
            for tpl in book.templates[intent]:
                ex = make_example(tpl, sigs, book, random.Random(seed), AugmentConfig())
                assert ex.command is not None and ex.command.startswith(intent), ex.text
                _, tags = ex.words_and_tags()
                decoded = decode(sigs[intent], ex.text, split_words(ex.text), tags)
                assert decoded.command == ex.command, (ex.text, decoded.error)
                seen.setdefault(intent, set()).add(ex.command)
    finetunes = seen["sweep finetune"]
    assert any("--lr " in c and "--rank " in c and "," in c for c in finetunes)
    assert any(c.endswith("--wait") for c in finetunes)
    assert "sweep report" in seen["sweep report"] and "sweep list" in seen["sweep list"]


@pytest.mark.parametrize("slots", [2])
async def test_two_runs_at_once(shell: Any, sh: Any, data: Path) -> None:
    r = await sh(f"sweep finetune tiny-llama --data {data} --rank 2,4 --epochs 1 --wait")
    assert r.status == 0 and "2 done" in r.out
