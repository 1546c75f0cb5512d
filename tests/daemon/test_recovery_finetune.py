"""SIGKILL a real daemon during a fine-tune of a tiny model; after a restart, `restart`
continues the interrupted run from its last checkpoint."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import pytest

from llmsh.daemon import DaemonUnavailable, connect
from llmsh.kernel import JobSpec, JobState
from tests.models.conftest import build_llama

from .conftest import DaemonProcess

pytestmark = pytest.mark.timeout(180)


async def progress_at_least(kernel: object, pid: int, steps: float, timeout: float = 90) -> float:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        proc = await kernel.get(pid)  # type: ignore[attr-defined]
        assert proc.state in (JobState.LOADING, JobState.RUNNING), proc.reason
        if proc.progress.done >= steps:
            return float(proc.progress.done)
        assert asyncio.get_running_loop().time() < deadline, "the fine-tune made no progress"
        await asyncio.sleep(0.05)


async def test_sigkill_during_finetune_then_resume_from_checkpoint(
    daemon_process: DaemonProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmsh.models.importer import add_model
    from llmsh.models.store import ModelStore

    monkeypatch.setenv("LLMSH_HOME", str(daemon_process.home))
    add_model("tiny-llama", build_llama(tmp_path / "tiny-llama"), ModelStore())
    data = tmp_path / "data.jsonl"
    data.write_text(
        "".join(json.dumps({"prompt": f"q{i}", "completion": f"a{i}"}) + "\n" for i in range(4))
    )
    args = {
        "model": "tiny-llama",
        "data": str(data),
        "steps": 2000,
        "checkpoint_every": 2,
        "rank": 2,
        "lr": 1e-3,
    }

    proc = daemon_process.start()
    kernel = await connect(daemon_process.socket, session="s1")
    job = await kernel.submit(JobSpec("finetune", ("finetune", "tiny-llama"), args, device="cpu"))
    await progress_at_least(kernel, job.pid, 5)
    await kernel.flush()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    with pytest.raises(DaemonUnavailable):
        await kernel.list()
    await kernel.close()

    daemon_process.start()
    kernel = await connect(daemon_process.socket, session="s2")
    try:
        old = await kernel.get(job.pid)
        assert old.state is JobState.INTERRUPTED and "crashed or killed" in old.reason
        new = await kernel.restart(job.pid)
        assert new.parent == job.pid
        first = await progress_at_least(kernel, new.pid, 1)
        assert first >= 2  # it continued from a checkpoint instead of starting at step 0
        await kernel.kill(new.pid)
    finally:
        await kernel.close()
