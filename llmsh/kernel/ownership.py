"""Which kernel owns which jobs: a lock file per kernel, held (flock) for its whole life.

A kernel's jobs are its own while it holds `kernels/<id>.lock` beside the store. The
kernel takes the lock before it registers, and the lock goes with the last open
descriptor when the process dies, even while nobody has reaped it (a zombie), which
a pid check cannot tell from a live process. The store's writer process shares the
descriptor, so the lock is free only once no write of that kernel can still land:
a kernel that gets a registered kernel's lock owns its unfinished jobs, and
`recover` marks them interrupted. Several live kernels may share one store (two
shells, a shell and a daemon): each keeps its own jobs.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import sqlite3
import time
from pathlib import Path

import psutil

from .commits import refusing
from .records import FINISHED, JobState, Process
from .rows import COLUMNS, INSERT_JOB, INSERT_TRANSITION, from_row, to_row
from .writer import retry_locked

LOCK_DIR = "kernels"
# A dead kernel's lock is free once its writer has seen the pipe close (milliseconds);
# a kernel whose process is gone or a zombie is given this long to get there.
DEAD_PATIENCE = 5.0


def lock_path(store: Path, kernel_id: str) -> Path:
    return store.parent / LOCK_DIR / f"{kernel_id}.lock"


class KernelLock:
    """The running kernel's own lock (exclusive flock) on `path`, holding its pid."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def fd(self) -> int:
        assert self._fd is not None, "the lock is not held"
        return self._fd

    def acquire(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a fresh id: nobody else has it
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        """Remove the file, then drop the lock (a stopped kernel leaves nothing to recover)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
            os.close(self._fd)
            self._fd = None


def _gone(os_pid: int) -> bool:
    try:
        status: str = psutil.Process(os_pid).status()
        return bool(status == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False


def take_if_dead(path: Path, os_pid: int) -> int | None:
    """The lock of a kernel that is dead (an fd holding it), or None while it lives.

    A kernel whose process is gone or a zombie gets DEAD_PATIENCE for its writer to
    let go; one whose process runs is alive as long as it holds the lock. Raises
    FileNotFoundError for a kernel without a lock file (one of an older llmsh).
    """
    fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    deadline: float | None = None
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            pass
        if deadline is None:
            deadline = time.monotonic() + DEAD_PATIENCE if _gone(os_pid) else 0.0
        if time.monotonic() >= deadline:
            os.close(fd)
            return None
        time.sleep(0.02)


# -- the kernels table and crash recovery ---------------------------------------


def _proc_started(os_pid: int) -> float:
    try:
        return float(psutil.Process(os_pid).create_time())
    except (psutil.Error, OSError):
        return -1.0


def register(conn: sqlite3.Connection, kernel_id: str) -> None:
    os_pid = os.getpid()
    with refusing():
        retry_locked(
            lambda: conn.execute(
                "INSERT OR REPLACE INTO kernels VALUES (?, ?, ?, ?, ?)",
                (kernel_id, os_pid, socket.gethostname(), _proc_started(os_pid), time.time()),
            )
        )


def unregister(conn: sqlite3.Connection, kernel_id: str) -> None:
    # A row left behind (a full disk) is harmless: the lock says this kernel is gone.
    with contextlib.suppress(sqlite3.Error):
        retry_locked(lambda: conn.execute("DELETE FROM kernels WHERE id=?", (kernel_id,)))


def _live_kernels(conn: sqlite3.Connection, store: Path, taken: dict[str, int]) -> set[str]:
    """The registered kernels still alive; the locks of dead ones go into `taken`."""
    live = set()
    host = socket.gethostname()
    for kid, os_pid, khost, started, _ in conn.execute("SELECT * FROM kernels"):
        if khost != host:
            live.add(kid)  # cannot check another host's processes: assume alive
            continue
        try:
            fd = take_if_dead(lock_path(store, kid), int(os_pid))
        except FileNotFoundError:  # registered by an llmsh without kernel locks
            if abs(_proc_started(int(os_pid)) - float(started)) < 1.0:
                live.add(kid)
            continue
        if fd is None:
            live.add(kid)
        else:
            taken[kid] = fd
    return live


def recover(conn: sqlite3.Connection, store: Path, reason: str) -> list[Process]:
    """Mark unfinished jobs of kernels that are no longer alive as interrupted.

    A kernel is alive while it holds its lock (see ownership.py); this one takes
    the locks of dead kernels while it recovers their jobs, then removes them.
    """
    taken: dict[str, int] = {}

    def run() -> list[Process]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            live = _live_kernels(conn, store, taken)
            finished = tuple(s.value for s in FINISHED)
            rows = conn.execute(
                f"SELECT {COLUMNS} FROM jobs WHERE state NOT IN ({','.join('?' * len(finished))})",
                finished,
            ).fetchall()
            now = time.time()
            recovered = []
            for row in rows:
                proc = from_row(row)
                if proc.kernel_id in live:
                    continue
                why = f"{reason} while the job was {proc.state.value}"
                new = proc.evolve(
                    state=JobState.INTERRUPTED, ended=now, reason=why, exit_status=None
                )
                conn.execute(INSERT_JOB, to_row(new))
                conn.execute(
                    INSERT_TRANSITION, (new.pid, proc.state.value, new.state.value, now, why)
                )
                recovered.append(new)
            conn.execute(
                f"DELETE FROM kernels WHERE id NOT IN ({','.join('?' * len(live)) or 'NULL'})",
                tuple(live),
            )
            conn.execute("COMMIT")
            return recovered
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            for kid, fd in taken.items():
                if not conn.in_transaction:  # committed: nothing is left to recover
                    with contextlib.suppress(OSError):
                        lock_path(store, kid).unlink()
                os.close(fd)
            taken.clear()

    with refusing():
        return retry_locked(run)
