"""The store under a disk that refuses writes: refusals, not a dead writer or lost jobs.

Two ways to fill the disk: a writer (in a thread) whose commits fail with SQLite's
own "database or disk is full" while a flag is set, and, where this test may mount
one, a real 16 MB tmpfs holding the store, filled with a file and then freed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import subprocess
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from llmsh.errors import StoreUnwritable
from llmsh.kernel import JobSpec, JobState, Kernel, KernelConfig, KernelError, writer_handle
from llmsh.kernel import writer as writer_module

from .conftest import caps

SLEEP = JobSpec("sleep", ("sleep", "60"), {"seconds": 60})


def config(path: Path) -> KernelConfig:
    return KernelConfig(state_dir=path, nvml=None, capacities=caps(), max_queue=100_000)


def stored(path: Path) -> dict[int, str]:
    conn = sqlite3.connect(f"file:{path / 'jobs.db'}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT pid, state FROM jobs").fetchall())
    finally:
        conn.close()


async def until(predicate: Callable[[], Awaitable[bool]], what: str, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, f"never: {what}"
        await asyncio.sleep(0.05)


class FullDisk:
    """Makes the writer's commits fail as SQLite fails them on a full disk."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.full = False
        self.tries = 0
        real = writer_module._commit

        def commit(conn: sqlite3.Connection, writes: list[Any], alive: Any) -> None:
            if self.full:
                self.tries += 1
                raise sqlite3.OperationalError("database or disk is full")
            real(conn, writes, alive)

        def no_processes(*args: object, **kwargs: object) -> None:
            raise OSError("the writer runs in a thread here, where the patch applies")

        monkeypatch.setattr(writer_module, "_commit", commit)
        monkeypatch.setattr(writer_handle.subprocess, "Popen", no_processes)


async def test_a_full_disk_refuses_submits_and_the_writer_recovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    disk = FullDisk(monkeypatch)
    caplog.set_level(logging.INFO, logger="llmsh.kernel.store")
    async with Kernel(config(tmp_path)) as kernel:
        before = await kernel.submit(SLEEP)  # acknowledged: committed
        assert stored(tmp_path)[before.pid] == "running"
        disk.full = True
        with pytest.raises(StoreUnwritable, match="disk is full"):
            await kernel.submit(SLEEP)  # its batch fails: refused, and it must not run
        refused = max(kernel.table)
        assert kernel.table[refused].state is JobState.KILLED
        for _ in range(20):  # refused at once now, while the writer keeps trying
            with pytest.raises(StoreUnwritable, match="disk is full"):
                await kernel.submit(JobSpec("noop"))
        with pytest.raises(StoreUnwritable, match=f"job {before.pid} killed, but not yet"):
            await kernel.kill(before.pid)  # done, and said so, but not acknowledged
        with pytest.raises(StoreUnwritable):
            await kernel.flush()
        await until(lambda: asyncio.sleep(0, disk.tries >= 3), "three tries")
        disk.full = False

        async def accepted() -> bool:
            try:
                await kernel.submit(JobSpec("noop"))
            except StoreUnwritable:
                return False
            return True

        await until(accepted, "a submit accepted once the disk takes writes")
        after = await kernel.submit(JobSpec("noop"))
        rows = stored(tmp_path)  # read without a flush: what submit acknowledged is in
        assert rows[after.pid] == "done"
        assert rows[before.pid] == "killed"  # kept while the disk was full, then saved
        assert rows[refused] == "killed"
    messages = [r.getMessage() for r in caplog.records if r.name == "llmsh.kernel.store"]
    assert len(messages) == 2, messages  # one per change of condition, not per failure
    assert "cannot be written (disk full)" in messages[0]
    assert "writable again" in messages[1]


def test_a_failed_commit_that_rolled_back_raises_its_own_error(tmp_path: Path) -> None:
    conn = writer_module.connect(tmp_path / "t.db")
    conn.execute("CREATE TABLE t (x INTEGER)")

    def alive() -> bool:
        conn.execute("ROLLBACK")  # as SQLite does itself after some failed COMMITs
        raise sqlite3.OperationalError("database or disk is full")

    with pytest.raises(sqlite3.OperationalError, match="disk is full"):
        writer_module._commit(conn, [("INSERT INTO t VALUES (?)", [(1,)])], alive)
    assert not conn.in_transaction
    assert conn.execute("SELECT COUNT(*) FROM t").fetchone() == (0,)


def test_errors_the_writer_outlasts() -> None:
    full = sqlite3.OperationalError("database or disk is full")
    assert writer_module.unwritable(full) == "disk full"
    assert writer_module.unwritable(sqlite3.OperationalError("disk I/O error")) is not None
    assert writer_module.unwritable(sqlite3.OperationalError("no such table: x")) is None
    assert writer_module.unwritable(ValueError("disk is full")) is None


@contextlib.contextmanager
def small_tmpfs(size: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="llmsh-full-") as where:
        mount = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", where],
            capture_output=True,
            check=False,
        )
        if mount.returncode != 0:
            pytest.skip("cannot mount a tmpfs here (needs root)")
        try:
            yield Path(where)
        finally:
            subprocess.run(["umount", "-l", where], check=False)


def fill(path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with contextlib.suppress(OSError):  # ENOSPC: the disk is full
            while True:
                os.write(fd, b"\0" * 4096)
    finally:
        os.close(fd)


async def test_a_real_full_disk_loses_nothing_acknowledged() -> None:
    with small_tmpfs("16m") as disk:
        state = disk / "state"
        acknowledged: list[int] = []
        refusals = 0
        async with Kernel(config(state)) as kernel:
            for _ in range(200):
                acknowledged.append((await kernel.submit(JobSpec("noop"))).pid)
            fill(disk / "filler")
            for _ in range(5000):  # the WAL's free pages take some before it refuses
                try:
                    acknowledged.append((await kernel.submit(JobSpec("noop"))).pid)
                except StoreUnwritable as exc:
                    assert str(exc).startswith("the job store")
                    refusals += 1
                    if refusals == 50:
                        break
            assert refusals == 50
            (disk / "filler").unlink()

            async def accepted() -> bool:
                try:
                    acknowledged.append((await kernel.submit(JobSpec("noop"))).pid)
                except KernelError:
                    return False
                return True

            await until(accepted, "a submit accepted once space is back")
            for _ in range(100):
                acknowledged.append((await kernel.submit(JobSpec("noop"))).pid)
        rows = stored(state)
        assert [pid for pid in acknowledged if rows.get(pid) != "done"] == []


async def test_a_commit_awaited_while_the_store_closes_is_settled(tmp_path: Path) -> None:
    """A request waiting for its commit when the kernel closes gets its answer (the job is
    committed by the writer's last batch) instead of waiting forever."""
    import asyncio

    from llmsh.kernel.store import JobStore

    store = JobStore(tmp_path / "jobs.db")
    waiter = asyncio.ensure_future(_save_and_wait(store))
    await asyncio.sleep(0)  # the save is made and its batch sent; the commit is awaited
    store.close()  # on the loop thread, as the kernel closes it
    await asyncio.wait_for(waiter, 5)  # settled: committed by the writer's last batch


async def _save_and_wait(store: object) -> None:
    from llmsh.kernel.records import JobState, Process

    proc = Process(1, "noop", ("noop",), {}, JobState.QUEUED, 0, "auto")
    store.save(proc)  # type: ignore[attr-defined]
    await store.durable()  # type: ignore[attr-defined]
