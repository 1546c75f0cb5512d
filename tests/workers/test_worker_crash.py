"""A segfault in a model worker fails the jobs on that worker only: the kernel, its
other workers and its other jobs carry on, and the next job gets a fresh worker."""

from __future__ import annotations

import os
import signal

import pytest

from llmsh.kernel import JobSpec, JobState, Kernel
from llmsh.runtime import Runtime
from llmsh.workers.executor import ProcessExecutor
from llmsh.workers.routing import WorkerKey, log_path

from .conftest import eventually, generate, probe, reaped, running, until

pytestmark = pytest.mark.timeout(300)
LOST = "model worker crashed (SIGSEGV); the job was lost"


async def test_a_segfault_fails_only_the_jobs_on_its_worker(
    kernel: Kernel, worker_runtime: Runtime
) -> None:
    load = await kernel.submit(JobSpec("load", args={"model": "tiny-bert"}, device="cpu"))
    [loaded] = await kernel.wait([load.pid], timeout=120)
    assert loaded.state is JobState.DONE, loaded.reason
    other_worker = loaded.metrics["worker_pid"]
    sleeper = await kernel.submit(JobSpec("sleep", args={"seconds": 600}))
    a, b = await kernel.submit(probe()), await kernel.submit(probe())
    await until(kernel, a.pid, running)
    await until(kernel, b.pid, running)
    worker = (await kernel.get(a.pid)).metrics["worker_pid"]
    assert (await kernel.get(b.pid)).metrics["worker_pid"] == worker != other_worker

    crash = await kernel.submit(JobSpec("crash", device="cpu"))  # on the same worker
    ended = await kernel.wait([crash.pid, a.pid, b.pid], timeout=120)
    assert [(p.state, p.reason) for p in ended] == [(JobState.FAILED, LOST)] * 3
    assert reaped(worker)  # waited for before its jobs were failed: no zombie
    assert (await kernel.get(sleeper.pid)).state is JobState.RUNNING  # the kernel carries on
    rows = [r for r in await kernel.resident() if r["name"] == "tiny-bert"]
    assert [(r["pinned"], r["worker_pid"]) for r in rows] == [(True, other_worker)]
    executor = worker_runtime.executor
    assert isinstance(executor, ProcessExecutor)
    logs = [log_path(executor.manager.log_dir, WorkerKey("tiny-llama", "cpu"))]
    logs.append(logs[0].with_name(logs[0].name + ".1"))

    [again] = await kernel.wait([(await kernel.submit(generate("hello", max_tokens=8))).pid], 120)
    assert again.state is JobState.DONE, again.reason
    assert again.metrics["worker_pid"] not in (worker, other_worker)  # a fresh worker
    # faulthandler left the crash's Python stack in the crashed worker's log
    assert any("Segmentation fault" in p.read_text() for p in logs if p.exists())
    await kernel.kill(sleeper.pid)
    unload = await kernel.submit(JobSpec("unload", args={"model": "tiny-bert"}))
    await kernel.wait([unload.pid], timeout=60)
    await eventually(lambda: reaped(other_worker))


async def test_a_worker_killed_under_a_paused_job_fails_that_job(
    kernel: Kernel,
) -> None:
    job = await kernel.submit(probe())
    await until(kernel, job.pid, running)
    await kernel.pause(job.pid)  # paused in the worker: it holds the job, computing nothing
    worker = (await kernel.get(job.pid)).metrics["worker_pid"]
    os.kill(worker, signal.SIGKILL)
    [done] = await kernel.wait([job.pid], timeout=60)
    assert (done.state, done.reason) == (
        JobState.FAILED,
        "model worker crashed (SIGKILL); the job was lost",
    )
    assert reaped(worker)
