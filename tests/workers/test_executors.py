"""The executor contract: the same expectations, through a real kernel, against every
executor (`llmsh.kernel.executor`): control takes effect at the job's next check,
output and progress come back whole, a job ends with the same reason wherever it
ran, residency is reported, and a crash of the executing side fails only its jobs."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from llmsh.kernel import EventType, JobSpec, JobState, Kernel

from .conftest import KernelMaker, probe, reaped, running, until

pytestmark = pytest.mark.timeout(300)
EXECUTORS = ("inline", "process")


@pytest.fixture(params=EXECUTORS)
async def kernel(
    request: pytest.FixtureRequest, tmp_path: Path, new_kernel: KernelMaker
) -> AsyncIterator[Kernel]:
    k = new_kernel(tmp_path / "state", executor=request.param)
    assert k.executor.name == request.param
    await k.start()
    yield k
    await k.close()


async def run_one(kernel: Kernel, spec: JobSpec) -> tuple[object, str]:
    proc = await kernel.submit(spec)
    [done] = await kernel.wait([proc.pid], timeout=120)
    return done, await kernel.output(proc.pid)


async def test_kill_ends_the_job_at_its_next_check_and_frees_its_slot(kernel: Kernel) -> None:
    job = await kernel.submit(probe())  # steps until killed
    await until(kernel, job.pid, running)
    killed = await kernel.kill(job.pid)
    assert (killed.state, killed.exit_status, killed.reason) == (JobState.KILLED, 137, "killed")
    assert all(c.slots_used == 0 for c in kernel.capacities())
    after, _ = await run_one(kernel, probe(steps=3))  # the executor carries on
    assert after.state is JobState.DONE, after.reason  # type: ignore[attr-defined]


async def test_pause_holds_the_job_at_its_check_and_resume_lets_it_go_on(
    kernel: Kernel,
) -> None:
    job = await kernel.submit(probe(steps=100000))
    await until(kernel, job.pid, running)
    await kernel.pause(job.pid)
    await asyncio.sleep(0.3)  # a step in flight finishes, and its report arrives
    held = (await kernel.get(job.pid)).progress.done
    await asyncio.sleep(0.5)
    assert (await kernel.get(job.pid)).progress.done == held  # check() blocks while paused
    await kernel.resume(job.pid)
    await until(kernel, job.pid, lambda p: p.progress.done > held)
    assert (await kernel.kill(job.pid)).state is JobState.KILLED


async def test_a_job_paused_before_it_ran_starts_paused(kernel: Kernel) -> None:
    # A submit replies once committed, when the job may have started: its first check
    # comes only after `first_sleep`, so the pause arrives before the job's first step.
    job = await kernel.submit(probe(steps=5, first_sleep=1.0))
    await kernel.pause(job.pid)
    await asyncio.sleep(1.5)
    assert (await kernel.get(job.pid)).progress.done == 0
    await kernel.resume(job.pid)
    [done] = await kernel.wait([job.pid], timeout=60)
    assert done.state is JobState.DONE and done.progress.done == 5


async def test_renice_reaches_the_running_job(kernel: Kernel) -> None:
    job = await kernel.submit(probe(until=7))  # ends once its control shows priority 7
    await until(kernel, job.pid, running)
    await kernel.renice(job.pid, 7)
    [done] = await kernel.wait([job.pid], timeout=60)
    assert done.state is JobState.DONE, done.reason
    assert await kernel.output(job.pid) == "priority 0\npriority 7\n"


async def test_renice_while_paused_is_seen_after_resume(kernel: Kernel) -> None:
    job = await kernel.submit(probe(until=-5))
    await until(kernel, job.pid, running)
    await kernel.pause(job.pid)
    await kernel.renice(job.pid, -5)
    await kernel.resume(job.pid)
    [done] = await kernel.wait([job.pid], timeout=60)
    assert done.state is JobState.DONE, done.reason
    assert (await kernel.output(job.pid)).splitlines() == ["priority 0", "priority -5"]


# The store keeps a job's output as text (UTF-8), so a job writes str: every str
# comes back exactly, carriage returns, escapes and long lines included.
CHUNKS = ["a\rb", "\r\n", "ünïcødé ✓ 🦙", "x" * 70000, "tab\tend\n", "\x1b[31mred\x1b[0m",
          "\x00nul", "no newline"]  # fmt: skip


async def test_output_and_progress_come_back_whole(kernel: Kernel) -> None:
    sub = kernel.subscribe()
    spec = JobSpec("echo", ("echo",), {"chunks": CHUNKS}, device="cpu")
    done, text = await run_one(kernel, spec)
    assert done.state is JobState.DONE, done.reason  # type: ignore[attr-defined]
    assert text == "".join(CHUNKS)
    streamed = []
    while (event := await sub.get(timeout=0.1)) is not None:
        if event.type is EventType.OUTPUT:
            streamed.append(event.text)
    assert "".join(streamed) == text
    assert done.progress.done == len(CHUNKS) and done.progress.unit == "chunk"  # type: ignore[attr-defined]
    history = done.metrics["loss_history"]  # type: ignore[attr-defined]
    assert history == [[i + 1, 1.0 / (i + 1)] for i in range(len(CHUNKS))]  # none coalesced away


@pytest.mark.parametrize(
    ("spec", "state", "status", "reason"),
    [
        (probe(**{"raise": "ValueError", "message": "boom\nmore"}), JobState.FAILED, 1,
         "ValueError: boom"),
        (probe(**{"raise": "MemoryError", "message": "no room"}), JobState.FAILED, 1,
         "out of memory: no room"),
        (probe(steps=2, status=3), JobState.FAILED, 3, "exit status 3"),
        (probe(steps=2), JobState.DONE, 0, ""),
    ],
)  # fmt: skip
async def test_a_job_ends_with_the_same_state_and_reason_on_every_executor(
    kernel: Kernel, spec: JobSpec, state: JobState, status: int, reason: str
) -> None:
    done, _ = await run_one(kernel, spec)
    assert (done.state, done.exit_status, done.reason) == (state, status, reason)  # type: ignore[attr-defined]


async def test_residency_comes_back_and_unload_releases_it(kernel: Kernel) -> None:
    load, text = await run_one(kernel, JobSpec("load", args={"model": "tiny-bert"}, device="cpu"))
    assert load.state is JobState.DONE and "kept resident" in text  # type: ignore[attr-defined]
    rows = [r for r in await kernel.resident() if r["name"] == "tiny-bert"]
    assert [(r["device"], r["pinned"], r["source"]) for r in rows] == [("cpu", True, "models")]
    assert rows[0]["nbytes"] > 0
    unload, text = await run_one(kernel, JobSpec("unload", args={"model": "tiny-bert"}))
    assert unload.state is JobState.DONE and "tiny-bert released on cpu" in text  # type: ignore[attr-defined]
    assert not [r for r in await kernel.resident() if r["name"] == "tiny-bert"]


async def test_a_crash_of_the_executing_side_fails_only_its_jobs(kernel: Kernel) -> None:
    if kernel.executor.name == "inline":
        pytest.skip("inline: the executing side is the kernel itself")
    doomed = await kernel.submit(probe())
    other = await kernel.submit(probe(model="tiny-bert"))  # another model: another worker
    await until(kernel, doomed.pid, running)
    await until(kernel, other.pid, running)
    worker = (await kernel.get(doomed.pid)).metrics["worker_pid"]
    assert (await kernel.get(other.pid)).metrics["worker_pid"] != worker
    os.kill(worker, signal.SIGKILL)
    [failed] = await kernel.wait([doomed.pid], timeout=60)
    assert (failed.state, failed.reason) == (
        JobState.FAILED,
        "model worker crashed (SIGKILL); the job was lost",
    )
    assert reaped(worker)
    assert (await kernel.get(other.pid)).state is JobState.RUNNING  # untouched
    again, _ = await run_one(kernel, probe(steps=2))
    assert again.state is JobState.DONE, again.reason  # type: ignore[attr-defined]
    assert again.metrics["worker_pid"] not in (worker, 0)  # type: ignore[attr-defined]
    assert (await kernel.kill(other.pid)).state is JobState.KILLED
