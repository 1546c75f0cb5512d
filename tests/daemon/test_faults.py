"""Fault injection on a real daemon (`python -m llmsh.daemon serve --foreground`).

SIGKILL right after a reply, a killed daemon nobody reaps (a zombie), what a killed
daemon's system jobs leave behind, and a full disk under the daemon's store (more
disk-full cases are in tests/kernel/test_writer_faults.py).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
from pathlib import Path

import psutil
import pytest

from llmsh.daemon import RemoteKernel, connect
from llmsh.kernel import JobSpec, JobState, KernelError
from tests.kernel.test_writer_faults import fill, small_tmpfs

from .conftest import DaemonProcess
from .test_clients import reach, sleep, system

NOOP = JobSpec("noop")

DEAD = "the kernel that ran it stopped (crashed or killed) while the job was"


def stored_states(home: object) -> dict[int, str]:
    conn = sqlite3.connect(f"file:{home}/jobs.db?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT pid, state FROM jobs").fetchall())
    finally:
        conn.close()


async def session_of(kernel: RemoteKernel, pid: int, command: str) -> list[psutil.Process]:
    """The processes of a running system job (its session: see builtin_kinds), leader
    first, once `command` runs in it."""
    await reach(kernel, pid, JobState.RUNNING)
    deadline = asyncio.get_running_loop().time() + 10
    while "pgid" not in (job := await kernel.get(pid)).metrics:
        assert asyncio.get_running_loop().time() < deadline, "no process group recorded"
        await asyncio.sleep(0.02)
    sid = job.metrics["pgid"]
    while True:
        members = []
        for proc in psutil.process_iter(["cmdline"]):
            try:
                if os.getsid(proc.pid) == sid:
                    members.append(proc)
            except OSError:
                continue
        if any(" ".join(p.info["cmdline"] or ()) == command for p in members):
            return sorted(members, key=lambda p: p.pid != sid)
        assert asyncio.get_running_loop().time() < deadline, f"{command!r} never ran"
        await asyncio.sleep(0.02)


def survivors(procs: list[psutil.Process], timeout: float = 10.0) -> list[psutil.Process]:
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    left = [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]
    for proc in left:  # clean up after a failure
        proc.kill()
    return left


async def test_a_submit_acknowledged_before_sigkill_is_in_the_store(
    daemon_process: DaemonProcess,
) -> None:
    proc = daemon_process.start()
    kernel = await connect(daemon_process.socket)
    # Pipelined, as many shells would send them: all replies may come from one batch.
    jobs = await asyncio.gather(*(kernel.submit(sleep(30)) for _ in range(20)))
    os.kill(proc.pid, signal.SIGKILL)  # at once: no flush, no time for a timer
    proc.wait(10)
    await kernel.close()
    rows = stored_states(daemon_process.home)
    assert [job.pid for job in jobs if job.pid not in rows] == []

    daemon_process.start()
    kernel = await connect(daemon_process.socket)
    for job in jobs:
        after = await kernel.get(job.pid)
        assert after.state is JobState.INTERRUPTED and after.reason.startswith(DEAD)
    await kernel.close()


async def test_a_killed_daemon_nobody_reaped_does_not_keep_its_jobs(
    daemon_process: DaemonProcess,
) -> None:
    zombie = daemon_process.start()  # this test is its parent, and does not wait()
    kernel = await connect(daemon_process.socket)
    job = await kernel.submit(sleep(30))
    await reach(kernel, job.pid, JobState.RUNNING)
    await kernel.flush()  # the store says `running`
    await kernel.close()
    zombie.kill()
    deadline = asyncio.get_running_loop().time() + 10
    while psutil.Process(zombie.pid).status() != psutil.STATUS_ZOMBIE:
        assert asyncio.get_running_loop().time() < deadline, "the daemon did not die"
        await asyncio.sleep(0.02)
    try:
        daemon_process.start()  # at once: the dead daemon's pid is still taken
        kernel = await connect(daemon_process.socket)
        recovered = await kernel.get(job.pid)
        assert recovered.state is JobState.INTERRUPTED, recovered
        assert recovered.reason == f"{DEAD} running"
        with pytest.raises(KernelError, match="already finished"):
            await kernel.kill(job.pid)  # not "belongs to another kernel"
        await kernel.close()
    finally:
        zombie.wait()


async def test_system_jobs_die_with_a_killed_daemon(daemon_process: DaemonProcess) -> None:
    proc = daemon_process.start()
    kernel = await connect(daemon_process.socket)
    single = await kernel.submit(system("sleep 301"))
    # `; true` keeps sh waiting, so `sleep` is the command's own child, not its shell.
    nested = await kernel.submit(system("sleep 302; true"))
    members = await session_of(kernel, single.pid, "sleep 301")
    members += await session_of(kernel, nested.pid, "sleep 302")
    await kernel.close()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert survivors(members) == []


async def test_recovery_kills_what_a_crash_left_of_a_system_job(
    daemon_process: DaemonProcess,
) -> None:
    proc = daemon_process.start()
    kernel = await connect(daemon_process.socket)
    job = await kernel.submit(system("sleep 303; true"))
    members = await session_of(kernel, job.pid, "sleep 303")
    await kernel.flush()  # the recorded group is in the store
    await kernel.close()
    # The kernel and the job's leader die at once: nothing ran the leader's trap, so
    # `sleep` is left to init, as after a crash of the whole machine's process tree.
    leader, *rest = members
    os.kill(leader.pid, signal.SIGSTOP)  # its parent-death signal waits, then dies with it
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    leader.kill()
    assert survivors([leader]) == []
    assert rest and all(p.is_running() for p in rest)

    daemon_process.start()  # its recovery kills the recorded session's members
    kernel = await connect(daemon_process.socket)
    assert (await kernel.get(job.pid)).state is JobState.INTERRUPTED
    await kernel.close()
    assert survivors(rest) == []


async def test_a_full_disk_is_a_one_line_refusal_and_nothing_acknowledged_is_lost(
    short_dir: Path,
) -> None:
    with small_tmpfs("16m") as home:
        (home / "daemon.err").symlink_to(short_dir / "daemon.err")  # the log has room
        daemon = DaemonProcess(home)
        proc = daemon.start()
        try:
            kernel = await connect(daemon.socket)
            acknowledged = [(await kernel.submit(NOOP)).pid for _ in range(50)]
            fill(home / "filler")
            refusals = []
            for _ in range(5000):  # the WAL's free pages take some before it refuses
                try:
                    acknowledged.append((await kernel.submit(NOOP)).pid)
                except KernelError as exc:
                    refusals.append(str(exc))
                    if len(refusals) == 20:
                        break
            assert len(refusals) == 20
            assert all(r.startswith("the job store") and "\n" not in r for r in refusals)
            assert "disk is full" in refusals[-1]
            (home / "filler").unlink()
            deadline = asyncio.get_running_loop().time() + 30
            while True:
                try:
                    acknowledged.append((await kernel.submit(NOOP)).pid)
                    break
                except KernelError:
                    assert asyncio.get_running_loop().time() < deadline, "never writable"
                    await asyncio.sleep(0.05)
            acknowledged += [(await kernel.submit(NOOP)).pid for _ in range(20)]
            await kernel.close()
        finally:
            os.kill(proc.pid, signal.SIGKILL)  # no clean stop: what was acknowledged is in
            proc.wait(10)
        rows = stored_states(home)
        assert [pid for pid in acknowledged if rows.get(pid) != "done"] == []
    log = (short_dir / "daemon.err").read_text()
    assert "Traceback" not in log
    assert log.count("cannot be written (disk full)") == 1, log  # once, not per failure
    assert log.count("writable again") == 1
