"""The job store's writer: a separate process that commits batches of rows to SQLite.

A writer thread inside the kernel fought the event loop for the GIL on every row
(sqlite3 drops and retakes it per statement), which cost the loop about half its
throughput. In its own process the writer has its own interpreter. The kernel sends
it marshalled frames over a pipe:

    ("write", ((sql, rows), ...), n)   executemany each, in order; report n once committed
    ("sync", n)                        report n once everything before it is committed
    ("stop",)                          commit what came before, then exit

Frames that arrive together are committed together, in one transaction: while the
writer commits, the next batches gather in the pipe, so many acknowledgements wait on
one commit (group commit, as PostgreSQL does it). The writer reports back in frames
too: ("ok", n) after a commit, ("failing", why) once when the disk starts refusing
writes (full). It then keeps what it holds and tries again until the disk takes it.

This file imports only the standard library and runs as a script (`python -I -S
writer.py DB KERNEL_OS_PID`), so starting the writer costs an interpreter start, not
an llmsh import.
"""

from __future__ import annotations

import contextlib
import functools
import marshal
import os
import select
import sqlite3
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

FRAME = struct.Struct("<Q")  # a frame is its length, then the marshalled tuple
READ_CHUNK = PIPE_SIZE = 1 << 20  # a batch of a few thousand jobs fits the pipe at once
T = TypeVar("T")
SQLITE_IOERR, SQLITE_FULL = 10, 13  # primary result codes
RETRY_INTERVAL = 0.25  # seconds between tries while the disk refuses writes
STOP_PATIENCE = 5.0  # seconds a stopping writer keeps trying a refusing disk


def connect(path: str | Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def retry_locked(fn: Callable[[], T], attempts: int = 50) -> T:
    """Run fn, retrying while another process holds the write lock."""
    for attempt in range(attempts):
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            time.sleep(min(0.5, 0.01 * (attempt + 1)))
    return fn()


def frame(message: tuple[Any, ...]) -> bytes:
    body = marshal.dumps(message)
    return FRAME.pack(len(body)) + body


# -- the writer's side ---------------------------------------------------------------


class KernelGone(Exception):
    """The kernel died: what it sent last must not land after a recovery of its jobs."""


def unwritable(exc: BaseException) -> str | None:
    """Why the disk refuses writes for now (full, I/O error), or None for other errors.

    These pass: the writer keeps what it holds and tries again, where any other error
    is a bug that ends it.
    """
    if not isinstance(exc, sqlite3.Error):
        return None
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF  # extended codes keep the primary low
    if code == SQLITE_FULL or "disk is full" in str(exc):
        return "disk full"
    if code == SQLITE_IOERR or "disk I/O error" in str(exc):
        return "disk I/O error"
    return None


def _commit(conn: sqlite3.Connection, writes: list[Any], alive: Callable[[], bool]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        for sql, rows in writes:
            conn.executemany(sql, rows)
        # Checked while holding the write lock: a recovery by another kernel needs that
        # lock and counts this kernel live until it has exited, so either this commit
        # lands before any recovery or the kernel is gone and nothing is written.
        if not alive():
            raise KernelGone()
        conn.execute("COMMIT")
    except BaseException:
        # A COMMIT that fails for a full disk may have rolled back already: a second
        # rollback would raise "no transaction is active" over the real error.
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise


def wait_for(fd: int, event: int, timeout: float) -> bool:
    """Whether fd became ready (poll, not select: a busy daemon's fds pass 1024)."""
    poller = select.poll()
    poller.register(fd, event)
    return bool(poller.poll(timeout * 1000))


def _read_frames(fd: int, buf: bytearray, timeout: float | None = None) -> list[Any] | None:
    """Every complete frame once one has arrived; None at end of input, [] at timeout."""
    while True:
        if timeout is not None and not wait_for(fd, select.POLLIN, timeout):
            return []
        chunk = os.read(fd, READ_CHUNK)
        if not chunk:
            return None
        buf += chunk
        frames, at = [], 0
        with memoryview(buf) as view:
            while len(buf) - at >= FRAME.size:
                (size,) = FRAME.unpack_from(view, at)
                start = at + FRAME.size
                if len(buf) - start < size:
                    break
                frames.append(marshal.loads(view[start : start + size]))
                at = start + size
        del buf[:at]
        if frames:
            return frames


def _report(wfd: int, message: tuple[Any, ...]) -> None:
    try:
        os.write(wfd, frame(message))
    except BrokenPipeError:
        raise KernelGone() from None  # nobody reads: the kernel died


def serve(path: str, rfd: int, wfd: int, alive: Callable[[], bool]) -> None:
    """Commit frames from rfd until `stop` or end of input; report on wfd.

    Reports are frames too: ("ok", n) once every frame numbered up to n is committed,
    ("failing", why) once when commits start failing for the disk (full, I/O error).
    Failed writes are kept, in order, with what arrives meanwhile, and tried again
    every RETRY_INTERVAL until they commit: nothing is acknowledged before that.
    """
    conn = connect(path)
    buf = bytearray()
    writes: list[Any] = []  # sent, not yet committed: one transaction when it lands
    wanted = reported = -1  # the highest frame number received, and acknowledged
    failing: str | None = None
    retry_at = 0.0
    stop_by: float | None = None  # set by `stop`: give up on a failing disk by then
    ended = False  # the input closed (after `stop`, a clean close; else the kernel died)
    try:
        while True:
            if not ended:
                wait = None if failing is None else max(0.0, retry_at - time.monotonic())
                frames = _read_frames(rfd, buf, wait)
                if frames is None:
                    if stop_by is None:
                        return  # the pipe closed without `stop`: the kernel died
                    ended, frames = True, []
                for f in frames:
                    if f[0] == "write":
                        writes.extend(f[1])
                        if len(f) > 2:
                            wanted = max(wanted, f[2])
                    elif f[0] == "sync":
                        wanted = max(wanted, f[1])
                    elif f[0] == "stop":
                        stop_by = time.monotonic() + STOP_PATIENCE
            if failing is not None:
                if not alive():
                    return  # nobody is left to tell; a recovery takes over
                left = retry_at - time.monotonic()
                if left > 0:
                    if ended:
                        time.sleep(left)
                    continue  # gather more; the next try is at retry_at
            if writes:
                try:
                    retry_locked(functools.partial(_commit, conn, writes, alive))
                except sqlite3.Error as exc:
                    why = unwritable(exc)
                    if why is None:
                        raise
                    if stop_by is not None and time.monotonic() >= stop_by:
                        print(
                            f"llmsh store writer: {why}: the last {len(writes)} write(s) "
                            "were not saved (none was acknowledged)",
                            file=sys.stderr,
                        )
                        return
                    if why != failing:
                        _report(wfd, ("failing", why))  # once per change, not per try
                    failing, retry_at = why, time.monotonic() + RETRY_INTERVAL
                    continue
                writes = []
            failing = None
            if wanted > reported:
                _report(wfd, ("ok", wanted))
                reported = wanted
            if stop_by is not None:
                return
    except KernelGone:
        return
    finally:
        conn.close()
        os.close(rfd)
        os.close(wfd)


def main() -> None:
    path, kernel_pid = sys.argv[1], int(sys.argv[2])
    serve(path, sys.stdin.fileno(), sys.stdout.fileno(), lambda: os.getppid() == kernel_pid)


if __name__ == "__main__":
    main()
