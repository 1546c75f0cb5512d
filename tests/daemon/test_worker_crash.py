"""A real daemon in process mode: a segfault in a model worker fails that worker's job,
the daemon and its other jobs carry on, the next model job gets a fresh worker, and
SIGKILL of the daemon leaves no worker behind."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import psutil
import pytest

from llmsh.daemon import connect
from llmsh.kernel import JobSpec, JobState
from tests.models.conftest import build_llama
from tests.workers.conftest import until

from .conftest import DaemonProcess

pytestmark = pytest.mark.timeout(300)


def exited(pid: int) -> bool:
    """Gone, or a zombie (after the daemon died its workers belong to init to reap)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def test_segfault_in_a_worker_fails_its_job_and_the_daemon_carries_on(
    daemon_process: DaemonProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmsh.models.importer import add_model
    from llmsh.models.store import ModelStore

    monkeypatch.setenv("LLMSH_HOME", str(daemon_process.home))
    monkeypatch.setenv("LLMSH_MODEL_WORKERS", "process")
    add_model("tiny-llama", build_llama(tmp_path / "tiny-llama"), ModelStore())
    data = tmp_path / "data.jsonl"
    data.write_text(
        "".join(json.dumps({"prompt": f"q{i}", "completion": f"a{i}"}) + "\n" for i in range(4))
    )
    train = {"model": "tiny-llama", "data": str(data), "steps": 100000, "rank": 2,
             "checkpoint_every": 1000}  # fmt: skip

    daemon = daemon_process.start()
    kernel = await connect(daemon_process.socket, session="crash")
    try:
        sleeper = await kernel.submit(JobSpec("sleep", args={"seconds": 600}))
        job = await kernel.submit(JobSpec("finetune", ("finetune",), train, device="cpu"))
        proc = await until(kernel, job.pid, lambda p: p.progress.done >= 2)
        worker = proc.metrics["worker_pid"]
        assert psutil.Process(worker).ppid() == daemon.pid  # the daemon's child, not itself

        os.kill(worker, signal.SIGSEGV)
        [failed] = await kernel.wait([job.pid], timeout=120)
        assert failed.state is JobState.FAILED
        assert failed.reason == "model worker crashed (SIGSEGV); the job was lost"
        assert daemon.poll() is None and not psutil.pid_exists(worker)  # up, and reaped
        assert (await kernel.get(sleeper.pid)).state is JobState.RUNNING

        spec = JobSpec("generate", ("generate",), {"prompt": "hi", "model": "tiny-llama",
                                                   "max_tokens": 8}, device="cpu")  # fmt: skip
        [again] = await kernel.wait([(await kernel.submit(spec)).pid], timeout=120)
        assert again.state is JobState.DONE, again.reason
        fresh = again.metrics["worker_pid"]
        assert fresh != worker and psutil.Process(fresh).ppid() == daemon.pid
    finally:
        await kernel.close()

    # The daemon dies without a chance to clean up: its worker must not live on.
    os.kill(daemon.pid, signal.SIGKILL)
    daemon.wait(10)
    deadline = asyncio.get_running_loop().time() + 60
    while not exited(fresh):
        assert asyncio.get_running_loop().time() < deadline, "the worker outlived its daemon"
        await asyncio.sleep(0.05)
