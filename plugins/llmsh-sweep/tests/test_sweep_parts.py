"""The grid, the sweeps file and the report rows (no kernel, no model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from llmsh_sweep.grid import MAX_RUNS, floats, fmt_lr, ints, runs
from llmsh_sweep.report import best, losses, row, summary_line, table_rows
from llmsh_sweep.store import Sweep, SweepJob, SweepStore

from llmsh.kernel import JobState, Process, Progress


def test_values_are_parsed_deduplicated_and_checked() -> None:
    assert floats(("1e-4", "2e-4", "1e-4"), "lr") == [1e-4, 2e-4]
    assert ints(("8", "4", "8"), "rank") == [8, 4]
    with pytest.raises(ValueError, match="invalid lr 'fast'"):
        floats(("fast",), "lr")
    with pytest.raises(ValueError, match="positive"):
        floats(("-1e-4",), "lr")
    with pytest.raises(ValueError, match="at least 1"):
        ints(("0",), "rank")
    with pytest.raises(ValueError, match="integers"):
        ints(("4.5",), "rank")


def test_learning_rates_print_short() -> None:
    assert [fmt_lr(x) for x in (1e-4, 2e-4, 5e-4, 1e-3, 1.5e-4, 3e-5, 0.1)] == [
        "1e-4", "2e-4", "5e-4", "1e-3", "1.5e-4", "3e-5", "1e-1"]  # fmt: skip


def test_runs_are_every_combination_like_a_job_array() -> None:
    grid = runs("smollm2", 3, [1e-4, 2e-4], [4, 8])
    assert [(r.lr, r.rank) for r in grid] == [(1e-4, 4), (1e-4, 8), (2e-4, 4), (2e-4, 8)]
    assert grid[0].out == "smollm2-sweep3-lr1e-4-r4"
    assert grid[0].params() == {"lr": 1e-4, "rank": 4}
    with pytest.raises(ValueError, match=f"at most {MAX_RUNS}"):
        runs("m", 1, [i * 1e-5 for i in range(1, 20)], list(range(1, 5)))


def test_sweeps_are_numbered_remembered_and_skip_taken_ids(tmp_path: Path) -> None:
    store = SweepStore(tmp_path)
    assert store.get() is None and store.all() == []
    with store.new("m", "a.jsonl") as first:
        first.jobs.append(SweepJob(10, 1e-4, 4, "m-sweep1-lr1e-4-r4"))
    with store.new("m", "a.jsonl") as empty:
        pass  # nothing submitted: not remembered
    with store.new("m", "b.jsonl", skip=lambda i: i == 2) as third:
        third.jobs.append(SweepJob(11, 2e-4, 8, "x"))
    assert empty.id == 2 and third.id == 3
    assert [s.id for s in store.all()] == [1, 3]
    assert store.get() == third and store.get(1) == first and store.get(2) is None
    assert json.loads((tmp_path / "sweeps.json").read_text())["sweeps"][0]["jobs"][0]["pid"] == 10


def test_a_failure_part_way_keeps_the_submitted_jobs(tmp_path: Path) -> None:
    store = SweepStore(tmp_path)
    with pytest.raises(RuntimeError), store.new("m", "d") as sweep:
        sweep.jobs.append(SweepJob(5, 1e-4, 4, "a"))
        raise RuntimeError("the kernel refused the second job")
    (kept,) = store.all()
    assert [j.pid for j in kept.jobs] == [5]


def test_a_corrupt_file_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "sweeps.json").write_text("{not json")
    with pytest.raises(ValueError, match="cannot read"):
        SweepStore(tmp_path).all()


def proc(pid: int, state: str, curve: list[float]) -> Process:
    history = [[i + 1, v] for i, v in enumerate(curve)]
    return Process(pid=pid, kind="finetune", argv=(), args={}, state=JobState(state), priority=0,
                   device_request="auto", progress=Progress(len(curve), 10, "step"),
                   metrics={"loss": curve[-1], "loss_history": history} if curve else {})  # fmt: skip


def test_rows_compare_final_losses_and_mark_the_best() -> None:
    sweep = Sweep(
        1,
        "m",
        "d.jsonl",
        jobs=[
            SweepJob(i, lr, rank, f"m{i}")
            for i, (lr, rank) in enumerate([(1e-4, 4), (1e-4, 8), (2e-4, 4)], 1)
        ],
    )
    procs = [proc(1, "done", [3.0] * 5 + [2.0] * 5), proc(2, "done", [3.0] * 5 + [1.0] * 5),
             proc(3, "running", [0.5])]  # fmt: skip
    rows = [row(j, p) for j, p in zip(sweep.jobs, procs, strict=True)]
    assert [(r.first_loss, r.final_loss) for r in rows] == [(3.0, 2.0), (3.0, 1.0), (0.5, 0.5)]
    short = row(sweep.jobs[0], proc(1, "done", [4.0, 3.0, 2.0]))
    assert (short.first_loss, short.final_loss) == (4.0, 2.0)  # halves of a short curve
    assert best(rows) is rows[1]  # lowest final loss among the finished runs
    table = table_rows(rows)
    assert table[1] == ["2", "done", "1e-4", "8", "10/10", "3.0000", "1.0000", "*", "m2"]
    assert table[2][1] == "running" and table[2][7] == ""
    line = summary_line(sweep, rows)
    assert line.startswith("sweep 1: m on d.jsonl (2 done, 1 running); best: lr 1e-4, rank 8")
    assert row(SweepJob(9, 1e-4, 4, "x"), None).state == "unknown"
    assert losses({"loss": 1.5}) == [1.5] and losses({}) == []
