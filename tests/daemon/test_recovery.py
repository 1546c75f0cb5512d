"""A daemon killed with SIGKILL, restarted on the same state dir: jobs it ran are interrupted.

The daemon runs as a real subprocess (`python -m llmsh.daemon serve --foreground`).
Fine-tune resume from a checkpoint is in test_recovery_finetune.py.
"""

from __future__ import annotations

import os
import signal
import sqlite3

import psutil
import pytest

from llmsh.daemon import DaemonUnavailable, connect
from llmsh.kernel import JobSpec, JobState

from .conftest import DaemonProcess
from .test_clients import reach, sleep, system

DEAD = "the kernel that ran it stopped (crashed or killed) while the job was running"


def transitions(home: object, pid: int) -> list[str]:
    conn = sqlite3.connect(f"file:{home}/jobs.db?mode=ro", uri=True)
    try:
        return [r[0] for r in conn.execute("SELECT new FROM transitions WHERE pid=?", (pid,))]
    finally:
        conn.close()


async def test_sigkill_during_jobs_then_restart(daemon_process: DaemonProcess) -> None:
    proc = daemon_process.start()
    kernel = await connect(daemon_process.socket, session="s1")
    finished = await kernel.submit(system("echo kept"))
    await kernel.wait([finished.pid], 10)
    sleeper = await kernel.submit(sleep(30))
    command = await kernel.submit(JobSpec("system", ("!sleep 30",), {"command": "sleep 30"}))
    running = {sleeper.pid, command.pid}
    for pid in running:
        await reach(kernel, pid, JobState.RUNNING)
    await kernel.flush()  # the store holds `running` (else recovery says `queued`)
    children = psutil.Process(proc.pid).children(recursive=True)

    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    with pytest.raises(DaemonUnavailable):
        await kernel.list()
    await kernel.close()
    for child in children:  # a system job's process group outlives a SIGKILLed kernel
        if child.is_running():
            child.kill()

    daemon_process.start()
    kernel = await connect(daemon_process.socket, session="s2")
    for pid in running:
        job = await kernel.get(pid)
        assert job.state == JobState.INTERRUPTED
        assert job.reason == DEAD
        assert job.exit_status is None and job.ended is not None
    kept = await kernel.get(finished.pid)
    assert (kept.state, kept.exit_status, kept.reason) == (JobState.DONE, 0, "")
    assert await kernel.output(finished.pid) == "kept\n"

    before = await kernel.list(include_finished=True)
    assert [p.pid for p in before] == sorted({finished.pid, *running})
    new = await kernel.submit(sleep(0))
    assert new.pid > max(p.pid for p in before)
    await kernel.wait([new.pid], 10)
    await kernel.stop(timeout=0)
    assert daemon_process.proc is not None and daemon_process.proc.wait(10) == 0

    for pid in running:
        assert transitions(daemon_process.home, pid) == ["queued", "running", "interrupted"]

    daemon_process.start()  # a clean restart changes nothing
    kernel = await connect(daemon_process.socket)
    after = await kernel.list(include_finished=True)
    assert [p.to_json() for p in after] == [
        p.to_json() for p in before + [await kernel.get(new.pid)]
    ]
    await kernel.close()


async def test_sigterm_is_a_graceful_stop(daemon_process: DaemonProcess) -> None:
    proc = daemon_process.start("--stop-timeout", "1.5")
    kernel = await connect(daemon_process.socket)
    short = await kernel.submit(sleep(0.3))
    long = await kernel.submit(system("sleep 30"))
    await reach(kernel, long.pid, JobState.RUNNING)
    proc.send_signal(signal.SIGTERM)
    assert await kernel.channel.wait_closed(20)
    assert proc.wait(10) == 0
    assert not daemon_process.socket.exists()
    daemon_process.start()
    kernel = await connect(daemon_process.socket)
    assert (await kernel.get(short.pid)).state == JobState.DONE
    stopped = await kernel.get(long.pid)
    assert stopped.state == JobState.INTERRUPTED
    # The kernel records running jobs it cancels on close as "the kernel stopped" (its
    # close reason applies to queued ones): either way the reason says who stopped it.
    assert stopped.reason.startswith("the kernel")
    await kernel.close()
