"""The job store: persistence, crash recovery, and several kernels on one store."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil

from llmsh.kernel import JobSpec, JobState, Kernel, KernelConfig

from .conftest import caps

CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from llmsh.kernel import Kernel, KernelConfig, JobSpec

    async def main():
        k = await Kernel(KernelConfig(state_dir=Path(sys.argv[1]), nvml=None)).start()
        done = await k.submit(JobSpec("sleep", ("sleep", "0"), {"seconds": 0}))
        await k.wait([done.pid])
        running = await k.submit(JobSpec("sleep", ("sleep", "60"), {"seconds": 60}))
        # `; true` keeps sh alive, so `sleep` is a grandchild that only the recovery kills.
        system = await k.submit(
            JobSpec("system", ("!sleep 60; true",), {"command": "sleep 60; true"})
        )
        queued = await k.submit(JobSpec("sleep", ("sleep", "60"), {"seconds": 60}))
        while "pgid" not in (await k.get(system.pid)).metrics:
            await asyncio.sleep(0.01)
        await k.flush()
        print(done.pid, running.pid, system.pid, queued.pid, flush=True)
        await asyncio.sleep(120)

    asyncio.run(main())
    """
)


def _in_group(proc: psutil.Process, pgid: int) -> bool:
    try:
        return os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE
    except (ProcessLookupError, psutil.Error):
        return False


def config(path: Path) -> KernelConfig:
    return KernelConfig(state_dir=path, nvml=None, capacities=caps())


async def test_finished_jobs_survive_a_restart(tmp_path: Path) -> None:
    async with Kernel(config(tmp_path)) as k:
        proc = await k.submit(JobSpec("system", ("!echo kept",), {"command": "echo kept"}))
        await k.wait([proc.pid])
    async with Kernel(config(tmp_path)) as k2:
        [again] = await k2.list(include_finished=True)
        assert again.pid == proc.pid and again.state is JobState.DONE
        assert again.argv == ("!echo kept",)
        assert await k2.output(proc.pid) == "kept\n"
        newer = await k2.submit(JobSpec("noop"))
        assert newer.pid > proc.pid  # pids are never reused within one store


async def test_crash_recovery_marks_a_dead_kernels_jobs_interrupted(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert child.stdout is not None
    line = await asyncio.get_running_loop().run_in_executor(None, child.stdout.readline)
    done, running, system, queued = map(int, line.split())
    os.killpg(child.pid, signal.SIGKILL)  # the kernel and its system job's shell die at once
    child.wait()
    async with Kernel(config(tmp_path)) as k:
        assert (await k.get(done)).state is JobState.DONE
        pgid = (await k.get(system)).metrics["pgid"]
        await asyncio.sleep(0.2)
        assert not [p for p in psutil.process_iter() if _in_group(p, pgid)]
        for pid in (running, system, queued):
            proc = await k.get(pid)
            assert proc.state is JobState.INTERRUPTED
            assert "stopped (crashed or killed)" in proc.reason
        assert (await k.get(queued)).reason.endswith("while the job was queued")
        all_jobs = await k.list(include_finished=True)
        assert sorted(p.pid for p in all_jobs) == [done, running, system, queued]
        await k.flush()
        assert k._store.transitions(running)[-1][:2] == ("running", "interrupted")


async def test_a_live_kernels_jobs_are_left_alone(tmp_path: Path) -> None:
    async with Kernel(config(tmp_path)) as first:
        proc = await first.submit(JobSpec("sleep", ("sleep", "30"), {"seconds": 30}))
        await first.flush()
        async with Kernel(config(tmp_path)) as second:
            assert (await second.get(proc.pid)).state is JobState.RUNNING
        assert (await first.get(proc.pid)).state is JobState.RUNNING
        await first.kill(proc.pid)


WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from llmsh.kernel import Kernel, KernelConfig, JobSpec

    async def main():
        async with Kernel(KernelConfig(state_dir=Path(sys.argv[1]), nvml=None,
                                       max_queue=10000)) as k:
            procs = [await k.submit(JobSpec("noop", session=sys.argv[2])) for _ in range(1500)]
            await k.wait([p.pid for p in procs])
            print(" ".join(str(p.pid) for p in procs))

    asyncio.run(main())
    """
)


def test_concurrent_kernels_share_a_store_without_lock_errors(tmp_path: Path) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), f"s{i}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
        assert "locked" not in err
    pids = [int(x) for out, _ in outputs for x in out.split()]
    assert len(pids) == 4500 == len(set(pids))

    async def check() -> None:
        async with Kernel(config(tmp_path)) as k:
            stored = await k.list(include_finished=True)
            assert len(stored) == 4500
            assert {p.state for p in stored} == {JobState.DONE}
            assert {p.session for p in stored} == {"s0", "s1", "s2"}

    asyncio.run(check())
