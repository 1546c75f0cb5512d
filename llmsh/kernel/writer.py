"""The job store's writer: a separate process that commits batches of rows to SQLite.

A writer thread inside the kernel fought the event loop for the GIL on every row
(sqlite3 drops and retakes it per statement), which cost the loop about half its
throughput. In its own process the writer has its own interpreter. The kernel sends
it marshalled frames over a pipe:

    ("write", ((sql, rows), ...))   executemany each, in order, in one transaction
    ("sync", n)                     reply n once everything before it is committed
    ("stop",)                       commit what came before, then exit

Frames that arrive together are committed together. This file imports only the
standard library and runs as a script (`python -I -S writer.py DB KERNEL_OS_PID`),
so starting the writer costs an interpreter start, not an llmsh import.
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
ACK = struct.Struct("<q")
READ_CHUNK = PIPE_SIZE = 1 << 20  # a batch of a few thousand jobs fits the pipe at once
T = TypeVar("T")


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
        conn.execute("ROLLBACK")
        raise


def _read_frames(fd: int, buf: bytearray) -> list[Any] | None:
    """Block for input, then return every complete frame; None at end of input."""
    while True:
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


def serve(path: str, rfd: int, wfd: int, alive: Callable[[], bool]) -> None:
    """Commit frames from rfd until `stop` or end of input; acknowledge syncs on wfd."""
    conn = connect(path)
    buf = bytearray()
    try:
        while True:
            frames = _read_frames(rfd, buf)
            if frames is None:
                return  # the pipe closed without `stop`: the kernel died
            writes = [w for f in frames if f[0] == "write" for w in f[1]]
            if writes:
                retry_locked(functools.partial(_commit, conn, writes, alive))
            for f in frames:
                if f[0] == "sync":
                    os.write(wfd, ACK.pack(f[1]))
            if any(f[0] == "stop" for f in frames):
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


class Writer:
    """The kernel's handle on its writer process: send frames, wait for syncs, stop.

    A frame goes straight into the pipe (made large, and non-blocking) when it has
    room; what does not fit waits in a backlog that a sender thread drains as the
    writer catches up, so a slow writer (or one waiting for another kernel's lock)
    never blocks the event loop, and a quick one costs no thread switch.
    """

    def __init__(self, path: Path) -> None:
        self._cond = threading.Condition()  # guards the backlog, _gone and _closing
        self._backlog: collections.deque[memoryview] = collections.deque()
        self._gone = self._closing = False
        self._sync_lock = threading.Lock()
        self._sync_sent = self._synced = 0
        self._acks = b""
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-S", __file__, str(path), str(os.getpid())],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                start_new_session=True,  # Ctrl-C and job-control signals are not for it
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

    def sync(self, timeout: float) -> bool:
        """Wait until everything sent so far is committed; False at timeout."""
        with self._sync_lock:
            self._sync_sent += 1
            wanted = self._sync_sent
            self.send(frame(("sync", wanted)))
            deadline = time.monotonic() + timeout
            while self._synced < wanted:
                left = deadline - time.monotonic()
                if left <= 0 or not _wait_for(self._ackfd, select.POLLIN, left):
                    return False
                data = os.read(self._ackfd, 4096)
                if not data:
                    raise WriterGone("the job store's writer exited (see its error above)")
                self._acks += data
                whole = len(self._acks) - len(self._acks) % ACK.size
                for (n,) in ACK.iter_unpack(self._acks[:whole]):
                    self._synced = max(self._synced, n)
                self._acks = self._acks[whole:]
            return True

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
