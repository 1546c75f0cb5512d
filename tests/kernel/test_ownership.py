"""Who owns a job: each kernel's lock file, and whose processes a recovery may kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from llmsh.kernel import JobSpec, JobState, Kernel, KernelConfig, Process
from llmsh.kernel.builtin_kinds import kill_orphans
from llmsh.kernel.ownership import lock_path, take_if_dead

from .conftest import caps

SLEEP = JobSpec("sleep", ("sleep", "60"), {"seconds": 60})


def config(path: Path) -> KernelConfig:
    return KernelConfig(state_dir=path, nvml=None, capacities=caps())


async def test_a_kernel_holds_its_lock_for_its_life(tmp_path: Path) -> None:
    kernel = await Kernel(config(tmp_path)).start()
    path = lock_path(tmp_path / "jobs.db", kernel.id)
    assert path.read_text() == f"{os.getpid()}\n"
    assert take_if_dead(path, os.getpid()) is None  # held: alive
    writer = kernel._store._writer._proc
    assert writer is not None
    # The writer shares the lock: it is free only once no write of this kernel can land.
    assert any(f.path == str(path) for f in psutil.Process(writer.pid).open_files())
    await kernel.close()
    assert not path.exists()  # a kernel that stopped leaves nothing to recover


async def test_two_live_kernels_share_a_store_and_keep_their_jobs(tmp_path: Path) -> None:
    async with Kernel(config(tmp_path)) as first:
        job = await first.submit(SLEEP)
        async with Kernel(config(tmp_path)) as second:
            assert (await second.get(job.pid)).state is JobState.RUNNING
            other = await second.submit(SLEEP)
            assert other.pid != job.pid
            await second.kill(other.pid)
        assert (await first.get(job.pid)).state is JobState.RUNNING
        await first.kill(job.pid)


def test_a_dead_holders_lock_is_taken(tmp_path: Path) -> None:
    path = tmp_path / "k.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import fcntl,os,time; fd=os.open({str(path)!r}, os.O_RDWR|"
            "os.O_CREAT); fcntl.flock(fd, fcntl.LOCK_EX); print(1, flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
    )
    assert holder.stdout is not None and holder.stdout.readline() == b"1\n"
    assert take_if_dead(path, holder.pid) is None
    holder.kill()  # not reaped yet: a zombie, whose pid still looks taken
    while psutil.Process(holder.pid).status() != psutil.STATUS_ZOMBIE:
        time.sleep(0.01)
    fd = take_if_dead(path, holder.pid)
    assert fd is not None
    os.close(fd)
    holder.wait()
    with pytest.raises(FileNotFoundError):
        take_if_dead(tmp_path / "none.lock", holder.pid)


def _session_leader() -> subprocess.Popen[bytes]:
    return subprocess.Popen(["sleep", "60"], start_new_session=True)


def test_recovery_kills_only_the_session_it_recorded(tmp_path: Path) -> None:
    ours, recycled = _session_leader(), _session_leader()
    try:
        started = psutil.Process(ours.pid).create_time()
        jobs = [
            _interrupted(1, ours.pid, started),
            # The same pid with another start time: someone else's session now.
            _interrupted(2, recycled.pid, psutil.Process(recycled.pid).create_time() - 60),
        ]
        assert kill_orphans(jobs) == 1
        assert ours.wait(10) == -signal.SIGKILL
        assert recycled.poll() is None
    finally:
        for proc in (ours, recycled):
            proc.kill()
            proc.wait()


def _interrupted(pid: int, pgid: int, started: float) -> Process:
    return Process(
        pid,
        "system",
        (),
        {},
        JobState.INTERRUPTED,
        0,
        "cpu",
        metrics={"pgid": pgid, "pgid_started": started},
    )
