"""The kernel's handle on one worker process: start it, talk to it, notice its death.

A reader thread per worker applies each batch to the jobs' kernel contexts (whose
methods are safe from any thread) and resolves a job's `end` future on `JobEnd`.
When the pipe reaches EOF the worker is gone: the reader reaps it (no zombie) and
ends every job still bound to it with the reason its exit status gives, e.g.
"model worker crashed (SIGSEGV); the job was lost".
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from llmsh.kernel.ending import Ending, EndKind
from llmsh.workers.channel import Channel, ChannelClosed, channel_pair
from llmsh.workers.messages import (
    Batch,
    Control,
    ControlJob,
    JobEnd,
    JobUpdate,
    Ready,
    Resident,
    Shutdown,
    StartJob,
    Unpin,
    UnpinDone,
)
from llmsh.workers.routing import WorkerKey

REAP_WAIT = 10.0  # seconds a worker whose pipe closed has to exit before it is killed


def exit_reason(returncode: int) -> str:
    """Why a worker's jobs were lost, from its exit status."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"model worker crashed ({name}); the job was lost"
    return f"model worker exited unexpectedly (status {returncode}); the job was lost"


def lost(pid: int, reason: str) -> JobEnd:
    """The end of a job whose worker is gone (crashed, stopped, never started)."""
    return JobEnd(pid, Ending(EndKind.FAILED, 1, reason))


class Binding:
    """A kernel job bound to a worker: where its reports go, and its end."""

    def __init__(self, pid: int, ctl: Any) -> None:
        self.pid = pid
        self.ctl = ctl  # the kernel's JobContext
        self.end: Future[JobEnd] = Future()
        self._lock = threading.Lock()
        self._attached = True

    def apply(self, update: JobUpdate) -> None:
        with self._lock:  # never after detach: the context's log is closed by then
            if not self._attached:
                return
            if update.text:
                self.ctl.write("".join(update.text))
            for call in update.progress:
                self.ctl.progress(call.done, call.total, call.unit, call.rate, **call.extra)
            if update.memory is not None:
                self.ctl.set_memory(update.memory)
            if update.annotate:
                self.ctl.annotate(**update.annotate)
            if update.running:
                self.ctl.mark_running()

    def finish(self, end: JobEnd) -> None:
        if not self.end.done():
            self.end.set_result(end)

    def detach(self) -> None:
        with self._lock:
            self._attached = False


class WorkerProcess:
    def __init__(
        self,
        key: WorkerKey,
        log: Path,
        on_exit: Callable[[WorkerProcess], None],
        env: dict[str, str] | None = None,
    ) -> None:
        self.key = key
        self.log = log
        self.env = dict(os.environ) if env is None else env  # the manager's
        self.ready: Future[None] = Future()
        self.pid = 0
        self.rows: list[dict[str, Any]] = []  # its pool, as last reported
        self.rows_at = 0.0
        self.closing = False  # we asked it to exit: its exit is no crash
        self.exited = False
        self.returncode: int | None = None
        self.idle_since = time.monotonic()
        self.pending = 0  # jobs routed here that have not started yet (see `reserve`)
        self._jobs: dict[int, Binding] = {}
        self._unpins: dict[int, Future[UnpinDone]] = {}
        self._requests = itertools.count(1)
        self._lock = threading.Lock()
        self._on_exit = on_exit
        self._channel: Channel | None = None
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def alive(self) -> bool:
        return not self.exited and not self.closing

    @property
    def busy(self) -> bool:
        return bool(self._jobs) or self.pending > 0

    def reserve(self) -> None:
        """A job is on its way (waiting for `ready`): idle keep-alive must not close us now."""
        with self._lock:
            self.pending += 1

    def unreserve(self) -> None:
        """The job on its way was killed before it started."""
        with self._lock:
            self.pending -= 1
            if not self._jobs and not self.pending:
                self.idle_since = time.monotonic()

    @property
    def pinned(self) -> bool:
        return any(row.get("pinned") for row in self.rows)

    def spawn(self) -> None:
        """Start the process (called on the manager's long-lived spawner thread)."""
        from llmsh import paths

        channel, child = channel_pair()
        try:
            paths.private_dir(self.log.parent)
            if self.log.exists():  # keep the last worker's log: it may hold a crash
                self.log.replace(self.log.with_name(self.log.name + ".1"))
            with open(self.log, "ab", opener=paths.private_opener) as log:
                cmd = [sys.executable, "-m", "llmsh.workers.main", str(child.fileno())]
                self._popen = subprocess.Popen(
                    [*cmd, str(os.getpid())], pass_fds=(child.fileno(),), env=self.env,
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                )  # fmt: skip
        except BaseException as exc:
            child.close()
            channel.close()
            self.exited = True
            self.ready.set_exception(RuntimeError(f"cannot start a model worker: {exc}"))
            self._on_exit(self)
            return
        child.close()  # the worker has its copy: EOF now means the worker is gone
        self._channel = channel
        threading.Thread(target=self._read, name=f"llmsh-worker-{self.key}", daemon=True).start()

    # -- talking to it (any thread) ----------------------------------------------------

    def start(self, binding: Binding, msg: StartJob) -> None:
        """Run a reserved job here; a worker gone meanwhile ends it at once."""
        with self._lock:
            self.pending -= 1
            if self.exited:
                binding.finish(lost(msg.pid, self._lost()))
                return
            self._jobs[msg.pid] = binding
        self._send(msg)

    def control(self, pid: int, action: Control, value: int = 0) -> None:
        self._send(ControlJob(pid, action, value))

    def unpin(self, model: str) -> Future[UnpinDone]:
        found: Future[UnpinDone] = Future()
        with self._lock:
            if self.exited:
                found.set_result(UnpinDone(0, [], 0))
                return found
            request = next(self._requests)
            self._unpins[request] = found
        self._send(Unpin(request, model))
        return found

    def close(self) -> None:
        """Ask it to exit; the reader thread reaps it."""
        self.closing = True
        self._send(Shutdown())

    def kill(self) -> None:
        self.closing = True
        if self._popen is not None and self._popen.poll() is None:
            self._popen.kill()

    def wait(self, timeout: float) -> bool:
        if self._popen is None:
            return True
        try:
            self._popen.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def _send(self, msg: Any) -> None:
        if self._channel is None:
            return
        try:
            self._channel.send(msg)
        except ChannelClosed:  # it died: the reader thread is about to say so
            pass

    # -- the reader thread -------------------------------------------------------------

    def _read(self) -> None:
        assert self._channel is not None
        try:
            while True:
                self._dispatch(self._channel.recv())
        except ChannelClosed:
            pass
        finally:
            self._exited()

    def _dispatch(self, msg: Any) -> None:
        if isinstance(msg, Ready):
            self.pid = msg.pid
            self.ready.set_result(None)
        elif isinstance(msg, Batch):
            for update in msg.updates:
                binding = self._jobs.get(update.pid)
                if binding is not None:
                    binding.apply(update)
            for item in msg.ordered:
                self._ordered(item)

    def _ordered(self, item: Resident | UnpinDone | JobEnd) -> None:
        if isinstance(item, Resident):
            self.rows, self.rows_at = item.rows, item.at
        elif isinstance(item, UnpinDone):
            with self._lock:
                found = self._unpins.pop(item.request, None)
            if found is not None:
                found.set_result(item)
        else:
            with self._lock:
                binding = self._jobs.pop(item.pid, None)
                if not self._jobs and not self.pending:
                    self.idle_since = time.monotonic()
            if binding is not None:
                binding.finish(item)

    def _exited(self) -> None:
        assert self._popen is not None
        try:
            returncode = self._popen.wait(REAP_WAIT)
        except subprocess.TimeoutExpired:  # closed its pipe but lives on: end it
            self._popen.kill()
            returncode = self._popen.wait()
        with self._lock:
            self.exited = True
            self.returncode = returncode
            jobs, self._jobs = list(self._jobs.values()), {}
            unpins, self._unpins = list(self._unpins.values()), {}
        if self._channel is not None:
            self._channel.close()
        reason = self._lost()
        if not self.ready.done():
            self.ready.set_exception(
                RuntimeError(f"the model worker did not start (exit status {returncode}); "
                             f"see {self.log}")
            )  # fmt: skip
        for binding in jobs:
            binding.finish(lost(binding.pid, reason))
        for found in unpins:
            found.set_result(UnpinDone(0, [], 0))
        self.rows = []
        self._on_exit(self)

    def _lost(self) -> str:
        if self.closing or self.returncode is None:
            return "the model worker was stopped; the job was lost"
        return exit_reason(self.returncode)
