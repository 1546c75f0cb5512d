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

import collections
import contextlib
import fcntl
import functools
import marshal
import os
import select
import sqlite3
import struct
import subprocess
import sys
import threading
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


def _read_frames(fd: int, buf: bytearray, timeout: float | None = None) -> list[Any] | None:
    """Every complete frame once one has arrived; None at end of input, [] at timeout."""
    while True:
        if timeout is not None and not _wait_for(fd, select.POLLIN, timeout):
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


# -- the kernel's side ---------------------------------------------------------------


def _wait_for(fd: int, event: int, timeout: float) -> bool:
    """Whether fd became ready (poll, not select: a busy daemon's fds pass 1024)."""
    poller = select.poll()
    poller.register(fd, event)
    return bool(poller.poll(timeout * 1000))


class WriterGone(Exception):
    """The writer exited before confirming a sync (its error went to stderr)."""


class StoreFailing(Exception):
    """The writer holds batches the disk refuses (str: why, e.g. "disk full")."""


class Writer:
    """The kernel's handle on its writer process: send batches, learn what is committed.

    A frame goes straight into the pipe (made large, and non-blocking) when it has
    room; what does not fit waits in a backlog that a sender thread drains as the
    writer catches up, so a slow writer (or one waiting for another kernel's lock)
    never blocks the event loop, and a quick one costs no thread switch. `drain()`
    takes the writer's reports without blocking (the event loop calls it when
    `ack_fd` is readable; no thread, so no fight for the GIL): `committed` (the
    highest batch number in the store) and `failing` (why the disk refuses writes,
    None while it takes them).

    `keep_fd` (the kernel's ownership lock) is shared with the writer process, so the
    lock is held until both have exited: no recovery starts while a write may land.
    """

    def __init__(self, path: Path, keep_fd: int | None = None) -> None:
        self._cond = threading.Condition()  # guards the backlog, _gone and _closing
        self._backlog: collections.deque[memoryview] = collections.deque()
        self._gone = self._closing = False
        self._state = threading.Lock()  # guards reading the reports and what they said
        self._reports = bytearray()
        self._next = 0  # the number the next batch gets (batches are sent by one thread)
        self.committed = -1
        self.failing: str | None = None
        self.exited = False
        import logging  # here, not at the top: the writer process never logs

        self._log = logging.getLogger("llmsh.kernel.store")
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-S", __file__, str(path), str(os.getpid())],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                start_new_session=True,  # Ctrl-C and job-control signals are not for it
                pass_fds=() if keep_fd is None else (keep_fd,),
            )
            assert self._proc.stdin is not None and self._proc.stdout is not None
            self._wfd, self._ackfd = self._proc.stdin.fileno(), self._proc.stdout.fileno()
        except OSError:  # no interpreter to start (embedded Python): a thread will do
            rfd, self._wfd = os.pipe()
            self._ackfd, ack_w = os.pipe()
            self._thread = threading.Thread(
                target=serve, args=(str(path), rfd, ack_w, lambda: True), daemon=True
            )
            self._thread.start()
        with contextlib.suppress(OSError, AttributeError):  # Linux only; a hint
            fcntl.fcntl(self._wfd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        os.set_blocking(self._wfd, False)
        self._sender = threading.Thread(target=self._send_loop, name="llmsh-store", daemon=True)
        self._sender.start()
        os.set_blocking(self._ackfd, False)

    @property
    def ack_fd(self) -> int:
        """Readable when the writer has reported something: call drain()."""
        return self._ackfd

    @property
    def sent(self) -> int:
        """The number of the last batch sent (-1 before the first)."""
        return self._next - 1

    def write(self, batch: tuple[Any, ...]) -> int:
        """Send a batch of (sql, rows) pairs; returns the number `committed` will reach."""
        number = self._next
        self._next += 1
        self.send(frame(("write", batch, number)))
        return number

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        with self._cond:
            if self._gone:
                return  # nothing can take it: sync() reports the loss
            if not self._backlog:  # nothing ahead of it: straight into the pipe
                try:
                    view = view[os.write(self._wfd, view) :]
                except BlockingIOError:
                    pass
                except OSError:
                    self._gone = True
                    return
                if not view:
                    return
            self._backlog.append(view)
            self._cond.notify()

    def _send_loop(self) -> None:
        """Drain the backlog as the pipe makes room, in order."""
        while True:
            with self._cond:
                while not self._backlog and not self._closing:
                    self._cond.wait()
                if not self._backlog:
                    return
                view = self._backlog[0]  # stays queued while written: send() keeps order
            _wait_for(self._wfd, select.POLLOUT, 1.0)
            try:
                written = os.write(self._wfd, view)
            except BlockingIOError:
                written = 0
            except OSError:  # the writer exited
                with self._cond:
                    self._gone = True
                    self._backlog.clear()
                return
            with self._cond:
                if written == len(view):
                    self._backlog.popleft()
                else:
                    self._backlog[0] = view[written:]

    def drain(self) -> None:
        """Take the reports that have arrived (any thread; never blocks).

        Logs each change of the disk's condition once, not each failed try.
        """
        with self._state:
            while not self.exited:
                try:
                    chunk = os.read(self._ackfd, READ_CHUNK)
                except BlockingIOError:
                    return
                except OSError:
                    chunk = b""
                if not chunk:
                    self.exited = True
                    return
                self._reports += chunk
                at = 0
                while len(self._reports) - at >= FRAME.size:
                    (size,) = FRAME.unpack_from(self._reports, at)
                    if len(self._reports) - at - FRAME.size < size:
                        break
                    start = at + FRAME.size
                    self._take(marshal.loads(self._reports[start : start + size]))
                    at = start + size
                del self._reports[:at]

    def _take(self, report: tuple[Any, ...]) -> None:
        if report[0] == "ok":
            self.committed = max(self.committed, report[1])
            if self.failing is not None:
                self._log.warning("the job store is writable again: new jobs are accepted")
            self.failing = None
        elif report[0] == "failing":
            self._log.warning(
                "the job store cannot be written (%s): new jobs are refused until it can "
                "(what was accepted is kept, and saved then)",
                report[1],
            )
            self.failing = report[1]

    def sync(self, timeout: float) -> bool:
        """Wait until every batch sent so far is committed; False at timeout.

        Raises WriterGone if the writer has exited, StoreFailing while the disk
        refuses the writes. Reads the reports itself: the event loop may be the
        caller, blocked here.
        """
        wanted = self.sent
        deadline = time.monotonic() + timeout
        while True:
            self.drain()
            if self.exited:  # even with nothing to wait for: nothing more can be saved
                raise WriterGone("the job store's writer exited (see its error above)")
            if self.committed >= wanted:
                return True
            if self.failing is not None:
                raise StoreFailing(self.failing)
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            # Short waits: a report may be taken by another drain between ours and poll.
            _wait_for(self._ackfd, select.POLLIN, min(left, 0.05))

    def close(self, timeout: float = 30.0) -> None:
        """Commit what was sent, then stop the writer."""
        self.send(frame(("stop",)))
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._sender.join(timeout)
        if self._proc is not None:
            assert self._proc.stdin is not None and self._proc.stdout is not None
            if self._sender.is_alive():  # the writer is stuck: stop it, and the sender with it
                self._proc.kill()
                self._sender.join()
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc.stdout.close()
        elif self._thread is not None and not self._sender.is_alive():
            os.close(self._wfd)
            self._thread.join(timeout)
            os.close(self._ackfd)


if __name__ == "__main__":
    main()
