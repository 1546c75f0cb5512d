"""The store's writer process: what flush() promises, and what a dead kernel leaves."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import psutil
import pytest

from llmsh.kernel import JobSpec, JobState, Kernel, KernelConfig, KernelError, writer_handle
from llmsh.kernel.store import SCHEMA
from llmsh.kernel.writer import frame, serve
from llmsh.kernel.writer_handle import Writer

from .conftest import caps


def config(path: Path) -> KernelConfig:
    return KernelConfig(state_dir=path, nvml=None, capacities=caps(), max_queue=5000)


def stored(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(f"file:{path / 'jobs.db'}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


async def test_flush_means_every_record_and_transition_is_committed(tmp_path: Path) -> None:
    async with Kernel(config(tmp_path)) as kernel:
        procs = [await kernel.submit(JobSpec("noop")) for _ in range(3000)]
        await kernel.wait([p.pid for p in procs])
        await kernel.flush()
        # Read through a connection of our own: what the writer process committed.
        rows = stored(tmp_path, "SELECT pid, state FROM jobs")
        assert sorted(rows) == [(p.pid, "done") for p in procs]
        moves = stored(tmp_path, "SELECT pid, old, new FROM transitions ORDER BY pid, id")
        assert moves == [
            (p.pid, old, new)
            for p in procs
            for old, new in ((None, "queued"), ("queued", "running"), ("running", "done"))
        ]


def _serve_one_batch(path: Path, alive: bool) -> None:
    sqlite3.connect(path).executescript(SCHEMA)
    rfd, wfd = os.pipe()
    ack_r, ack_w = os.pipe()
    thread = threading.Thread(target=serve, args=(str(path), rfd, ack_w, lambda: alive))
    thread.start()
    row = (7, None, "queued", 1.0, "submitted")
    sql = "INSERT INTO transitions(pid, old, new, at, reason) VALUES (?,?,?,?,?)"
    os.write(wfd, frame(("write", ((sql, [row]),))) + frame(("stop",)))
    thread.join()
    os.close(wfd)
    os.close(ack_r)


def test_the_writer_commits_nothing_once_its_kernel_is_gone(tmp_path: Path) -> None:
    _serve_one_batch(tmp_path / "live.db", alive=True)
    _serve_one_batch(tmp_path / "dead.db", alive=False)
    count = "SELECT COUNT(*) FROM transitions"
    assert sqlite3.connect(tmp_path / "live.db").execute(count).fetchone() == (1,)
    # A dead kernel's last batch could land after a recovery marked its jobs: dropped.
    assert sqlite3.connect(tmp_path / "dead.db").execute(count).fetchone() == (0,)


def test_frames_larger_than_the_pipe_arrive_whole_and_in_order(tmp_path: Path) -> None:
    path = tmp_path / "big.db"
    sqlite3.connect(path).executescript(SCHEMA)
    writer = Writer(path)
    sql = "INSERT INTO transitions(pid, old, new, at, reason) VALUES (?,?,?,?,?)"
    reason = "x" * 200  # 3 frames of ~5 MB: most of each waits for the sender thread
    for batch in range(3):
        rows = [(batch * 20_000 + i, None, "queued", 1.0, reason) for i in range(20_000)]
        writer.send(frame(("write", ((sql, rows),))))
    assert writer.sync(60)
    writer.close()
    got = sqlite3.connect(path).execute("SELECT pid FROM transitions ORDER BY id").fetchall()
    assert [pid for (pid,) in got] == list(range(60_000))


async def test_flush_reports_a_writer_that_died(tmp_path: Path) -> None:
    async with Kernel(config(tmp_path)) as kernel:
        writer = kernel._store._writer._proc
        assert writer is not None
        writer.kill()
        writer.wait()
        with pytest.raises(KernelError, match="writer exited"):
            await kernel.submit(JobSpec("noop"))  # it could not be acknowledged
        with pytest.raises(KernelError, match="writer exited"):
            await kernel.submit(JobSpec("noop"))  # refused at once now
        with pytest.raises(KernelError, match="writer exited"):
            await kernel.flush()


async def test_without_a_writer_process_a_thread_does_the_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_processes(*args: object, **kwargs: object) -> None:
        raise OSError("no interpreter here")

    monkeypatch.setattr(writer_handle.subprocess, "Popen", no_processes)
    async with Kernel(config(tmp_path)) as kernel:
        assert kernel._store._writer._proc is None
        proc = await kernel.submit(JobSpec("noop"))
        await kernel.wait([proc.pid])
        await kernel.flush()
        assert stored(tmp_path, "SELECT pid, state FROM jobs") == [(proc.pid, "done")]


async def test_close_waits_for_the_writer_process_to_commit_and_exit(tmp_path: Path) -> None:
    kernel = await Kernel(config(tmp_path)).start()
    writer = kernel._store._writer._proc
    assert writer is not None and writer.poll() is None
    await kernel.wait([(await kernel.submit(JobSpec("noop"))).pid])
    await kernel.close()
    assert writer.returncode == 0
    assert stored(tmp_path, "SELECT state FROM jobs") == [("done",)]


CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from llmsh.kernel import Kernel, KernelConfig, JobSpec

    async def main():
        k = await Kernel(KernelConfig(state_dir=Path(sys.argv[1]), nvml=None)).start()
        job = await k.submit(JobSpec("sleep", ("sleep", "60"), {"seconds": 60}))
        await k.flush()
        print(job.pid, flush=True)
        await asyncio.sleep(120)

    asyncio.run(main())
    """
)


def test_the_writer_process_leaves_when_its_kernel_is_killed(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    pid = int(child.stdout.readline())
    [writer] = psutil.Process(child.pid).children()  # the store's writer process
    child.kill()
    child.wait()
    _, alive = psutil.wait_procs([writer], timeout=30)  # it sees its pipe close
    assert not alive

    async def recover() -> None:
        async with Kernel(config(tmp_path)) as kernel:
            assert (await kernel.get(pid)).state is JobState.INTERRUPTED

    asyncio.run(recover())
