"""The kernel's side of the store's writer (writer.py): start it, send, learn what landed.

writer.py runs as a script in its own interpreter and imports only the standard
library; this module is what the kernel imports to drive it.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import marshal
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from . import writer as script
from .writer import FRAME, PIPE_SIZE, READ_CHUNK, frame, serve, wait_for


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
                [sys.executable, "-I", "-S", script.__file__, str(path), str(os.getpid())],
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
            wait_for(self._wfd, select.POLLOUT, 1.0)
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
            wait_for(self._ackfd, select.POLLIN, min(left, 0.05))

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
            self.drain()  # its last reports (the final commit), then the end of its output
            self._proc.stdout.close()
        elif self._thread is not None and not self._sender.is_alive():
            os.close(self._wfd)
            self._thread.join(timeout)
            os.close(self._ackfd)
