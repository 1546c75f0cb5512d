"""Model jobs through a real kernel in process mode: they run in model worker processes
and behave as they do in kernel threads (states, output, reasons, control, pool)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import psutil
import pytest

from llmsh.kernel import EventType, JobSpec, JobState, Kernel, KernelConfig
from llmsh.runtime import make_kernel

from .conftest import (
    KernelMaker,
    eventually,
    generate,
    probe,
    probe_kinds,
    reaped,
    running,
    until,
)

pytestmark = pytest.mark.timeout(300)


async def run_one(kernel: Kernel, spec: JobSpec) -> tuple[object, str]:
    proc = await kernel.submit(spec)
    [done] = await kernel.wait([proc.pid], timeout=120)
    return done, await kernel.output(proc.pid)


async def test_generate_runs_in_a_worker_and_says_what_a_thread_says(
    kernel: Kernel, tmp_path: Path, new_kernel: KernelMaker
) -> None:
    sub = kernel.subscribe()
    spec = generate("The capital of France", max_tokens=24, temperature=1.0, seed=7)
    done, text = await run_one(kernel, spec)
    assert done.state is JobState.DONE, done.reason  # type: ignore[attr-defined]
    worker = psutil.Process(done.metrics["worker_pid"])  # type: ignore[attr-defined]
    assert worker.ppid() == os.getpid() and "llmsh.workers.main" in worker.cmdline()
    events = []
    while (event := await sub.get(timeout=0.1)) is not None:
        events.append(event)
    states = [e.process.state for e in events if e.type is EventType.STATE and e.process]
    assert states == [JobState.QUEUED, JobState.LOADING, JobState.RUNNING, JobState.DONE]
    assert "".join(e.text for e in events if e.type is EventType.OUTPUT) == text

    threaded = new_kernel(tmp_path / "thread-state", executor="inline")
    await threaded.start()
    try:
        same, same_text = await run_one(threaded, spec)
    finally:
        await threaded.close()
    assert "worker_pid" not in same.metrics  # type: ignore[attr-defined]
    assert same_text == text and text.strip()
    assert same.progress.done == done.progress.done  # type: ignore[attr-defined]


async def test_jobs_on_one_model_share_its_worker_and_pool(kernel: Kernel) -> None:
    a = await kernel.submit(generate("one", max_tokens=16))
    b = await kernel.submit(generate("two", max_tokens=16))
    done = await kernel.wait([a.pid, b.pid], timeout=120)
    assert [p.state for p in done] == [JobState.DONE, JobState.DONE]
    assert done[0].metrics["worker_pid"] == done[1].metrics["worker_pid"]
    rows = [r for r in await kernel.resident() if r["name"] == "tiny-llama"]
    assert [(r["device"], r["worker_pid"], r["source"]) for r in rows] == [
        ("cpu", done[0].metrics["worker_pid"], "models")
    ]


async def test_pause_resume_renice_and_kill_reach_the_job_in_its_worker(kernel: Kernel) -> None:
    job = await kernel.submit(probe(until=7))
    await until(kernel, job.pid, running)
    await kernel.pause(job.pid)
    await asyncio.sleep(0.3)  # a step in flight finishes, and its report arrives
    held = (await kernel.get(job.pid)).progress.done
    await asyncio.sleep(0.5)
    assert (await kernel.get(job.pid)).progress.done == held  # check() blocks while paused
    await kernel.resume(job.pid)
    await until(kernel, job.pid, lambda p: p.progress.done > held)
    await kernel.renice(job.pid, 7)  # the job ends when its control shows priority 7
    [done] = await kernel.wait([job.pid], timeout=60)
    assert done.state is JobState.DONE, done.reason
    assert (await kernel.output(job.pid)).splitlines() == ["priority 0", "priority 7"]

    victim = await kernel.submit(probe())
    await until(kernel, victim.pid, running)
    killed = await kernel.kill(victim.pid)
    assert killed.state is JobState.KILLED and killed.exit_status == 137
    assert all(c.slots_used == 0 for c in kernel.capacities())
    after, _ = await run_one(kernel, probe(steps=3))  # the worker lives on for the next job
    assert after.state is JobState.DONE  # type: ignore[attr-defined]
    assert after.metrics["worker_pid"] == killed.metrics["worker_pid"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        (generate("hi", model="tiny-bert"), "it cannot generate text"),
        (probe(**{"raise": "ValueError", "message": "boom\nsecond line"}), "ValueError: boom"),
        (probe(**{"raise": "MemoryError", "message": "no room"}), "out of memory: no room"),
        (probe(steps=2, status=3), "exit status 3"),
    ],
)
async def test_failures_keep_the_reasons_a_thread_gives(
    kernel: Kernel, tmp_path: Path, new_kernel: KernelMaker, spec: JobSpec, reason: str
) -> None:
    failed, _ = await run_one(kernel, spec)
    threaded = new_kernel(tmp_path / "thread-state", executor="inline")
    await threaded.start()
    try:
        same, _ = await run_one(threaded, spec)
    finally:
        await threaded.close()
    assert failed.state is JobState.FAILED and "worker_pid" in failed.metrics  # type: ignore[attr-defined]
    assert failed.reason == same.reason  # type: ignore[attr-defined]
    assert reason in failed.reason  # type: ignore[attr-defined]


async def test_load_keeps_a_model_in_its_worker_until_unload(kernel: Kernel) -> None:
    load, text = await run_one(kernel, JobSpec("load", args={"model": "tiny-bert"}, device="cpu"))
    assert load.state is JobState.DONE and "kept resident" in text  # type: ignore[attr-defined]
    worker = load.metrics["worker_pid"]  # type: ignore[attr-defined]
    rows = [r for r in await kernel.resident() if r["name"] == "tiny-bert"]
    assert [(r["pinned"], r["worker_pid"]) for r in rows] == [(True, worker)]
    embed, _ = await run_one(kernel, JobSpec("embed", args={"text": "hi", "model": "tiny-bert"}))
    assert embed.metrics["worker_pid"] == worker  # type: ignore[attr-defined]

    unload, text = await run_one(kernel, JobSpec("unload", args={"model": "tiny-bert"}))
    assert unload.state is JobState.DONE and "tiny-bert released on cpu" in text  # type: ignore[attr-defined]
    assert not [r for r in await kernel.resident() if r["name"] == "tiny-bert"]
    await eventually(lambda: reaped(worker))  # a worker left with no model and no job exits
    again, _ = await run_one(kernel, JobSpec("unload", args={"model": "tiny-bert"}))
    assert again.state is JobState.FAILED and "not loaded" in again.reason  # type: ignore[attr-defined]


async def test_restarted_finetune_resumes_from_its_checkpoint_in_a_worker(
    tmp_path: Path, new_kernel: KernelMaker
) -> None:
    data = tmp_path / "data.jsonl"
    data.write_text(
        "".join(json.dumps({"prompt": f"q{i}", "completion": f"a{i}"}) + "\n" for i in range(4))
    )
    args = {"model": "tiny-llama", "data": str(data), "steps": 4000, "checkpoint_every": 2,
            "lr": 1e-3, "rank": 2, "out": "ft-in-worker"}  # fmt: skip
    k = new_kernel(tmp_path / "state")
    await k.start()
    job = await k.submit(JobSpec("finetune", ("finetune", "tiny-llama"), args, device="cpu"))
    await until(k, job.pid, lambda p: p.progress.done >= 5)
    await k.close()  # the kernel stops: the job is interrupted, its checkpoints stay
    assert k.table[job.pid].state is JobState.INTERRUPTED
    k2 = new_kernel(tmp_path / "state")
    await k2.start()
    try:
        new = await k2.restart(job.pid)
        first = await until(k2, new.pid, lambda p: p.progress.done > 0)
        assert first.progress.done >= 2  # continued from a checkpoint, not from step 0
        assert first.metrics["worker_pid"] != os.getpid()
        await k2.kill(new.pid)
    finally:
        await k2.close()


async def test_a_plugin_model_job_runs_in_a_worker(kernel: Kernel, tmp_path: Path) -> None:
    if "summarize" not in await kernel.kind_names():
        pytest.skip("the llmsh-summarize plugin is not installed")
    text = tmp_path / "notes.txt"
    text.write_text("The council met on Tuesday. A cat is a small animal. " * 3)
    spec = JobSpec("summarize", args={"path": str(text), "model": "tiny-llama", "max_words": 8,
                                      "temperature": 1.0, "seed": 3}, device="cpu")  # fmt: skip
    done, out = await run_one(kernel, spec)
    assert done.state is JobState.DONE, done.reason  # type: ignore[attr-defined]
    assert done.metrics["worker_pid"] != os.getpid() and out.strip()  # type: ignore[attr-defined]


async def test_runtimes_share_no_workers_and_a_kernel_that_owns_its_runtime_ends_them(
    kernel: Kernel, tmp_path: Path, worker_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared, _ = await run_one(kernel, probe(steps=2))
    monkeypatch.setenv("LLMSH_HOME", str(tmp_path / "other-home"))
    other = make_kernel(KernelConfig(state_dir=tmp_path / "other", nvml=None, executor="process"))
    for kind in probe_kinds():
        other.kinds.register(kind)
    await other.start()
    try:
        own, _ = await run_one(other, probe(steps=2))
        assert own.state is JobState.DONE, own.reason  # type: ignore[attr-defined]
        mine, theirs = own.metrics["worker_pid"], shared.metrics["worker_pid"]  # type: ignore[attr-defined]
        assert mine != theirs  # same model and device, another runtime: another worker
        # Each worker reads the home of the runtime that started it.
        assert psutil.Process(mine).environ()["LLMSH_HOME"] == str(tmp_path / "other-home")
        assert psutil.Process(theirs).environ()["LLMSH_HOME"] == str(worker_home)
    finally:
        await other.close()
    assert reaped(mine)  # closed with the kernel that owned its runtime
    assert not reaped(theirs)  # the shared runtime's worker is not that kernel's to end
