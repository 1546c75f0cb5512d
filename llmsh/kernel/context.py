"""JobContext: the kernel's side of `JobControl`, handed to each running job.

Job code may call it from worker threads. Updates are coalesced: a thread that
reports progress per token schedules at most one callback on the event loop at a
time, so a fast generator cannot flood the loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from .control import JobKilled
from .records import JobSpec, Progress

if TYPE_CHECKING:
    from .config import KernelConfig
    from .execution import JobRunner

T = TypeVar("T")
HISTORY_POINTS = 2000  # metric history kept per job (loss curves); older points are thinned


class JobContext:
    def __init__(
        self,
        kernel: JobRunner,  # the part of the kernel that runs jobs: it takes the callbacks
        pid: int,
        spec: JobSpec,
        device: str,
        output_dir: Path,
        executor: Executor,
    ) -> None:
        self.pid = pid
        self.spec = spec
        self.args = spec.args
        self.device = device
        self._kernel = kernel
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._executor = executor
        self._output_dir = output_dir
        self._out: IO[str] | None = None
        self._lock = threading.Lock()
        self.killed = False
        # Created on first use: most jobs are never paused, and these events cost more
        # than the rest of a short job's bookkeeping.
        self._gate: threading.Event | None = None
        self._resumed_ev: asyncio.Event | None = None
        self._paused_ev: asyncio.Event | None = None
        self.pause_hooks: list[Callable[[], None]] = []
        self.resume_hooks: list[Callable[[], None]] = []
        self._pending_text: list[str] = []
        self._pending_progress: tuple[Progress, dict[str, Any]] | None = None
        self._metrics: dict[str, Any] = {}
        self._flush_scheduled = False

    # -- JobControl (any thread) -----------------------------------------------------

    def check(self) -> None:
        if self.killed:
            raise JobKilled()
        gate = self._gate
        if gate is not None and not gate.is_set():
            gate.wait()
            if self.killed:
                raise JobKilled()

    def write(self, text: str) -> None:
        if not text:
            return
        with self._lock:
            if self._out is None:
                from .. import paths

                path = self._output_dir / f"{self.pid}.log"
                # 0600 whatever the umask: a job's output is its user's alone.
                self._out = open(
                    path, "a", encoding="utf-8", newline="", opener=paths.private_opener
                )
            self._out.write(text)
            self._out.flush()
            self._pending_text.append(text)
        self._schedule_flush()

    def progress(
        self,
        done: float,
        total: float | None = None,
        unit: str = "",
        rate: float | None = None,
        **extra: Any,
    ) -> None:
        with self._lock:
            for key, value in extra.items():
                self._metrics[key] = value
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    history = self._metrics.setdefault(f"{key}_history", [])
                    history.append([done, float(value)])
                    if len(history) > HISTORY_POINTS:
                        del history[::2]
            self._pending_progress = (Progress(done, total, unit, rate), dict(self._metrics))
        self._schedule_flush()

    def annotate(self, **values: Any) -> None:
        """Record facts about the job in its metrics (no history), saved at once."""
        with self._lock:
            self._metrics.update(values)
            metrics = dict(self._metrics)
        self._call_in_loop(self._kernel._on_annotate, self.pid, metrics)

    def set_memory(self, nbytes: int) -> None:
        self._call_in_loop(self._kernel._on_memory, self.pid, int(nbytes))

    def mark_running(self) -> None:
        """A job that started in `loading` (model load) is now doing its work."""
        self._call_in_loop(self._kernel._on_running, self.pid)

    # -- async helpers for job kinds that run on the loop ----------------------------

    async def checkpoint(self) -> None:
        """Wait while paused (kill arrives as task cancellation)."""
        await self._resumed.wait()

    @property
    def paused_event(self) -> asyncio.Event:
        return self._paused

    @property
    def _resumed(self) -> asyncio.Event:
        if self._resumed_ev is None:
            self._resumed_ev = asyncio.Event()
            self._resumed_ev.set()
        return self._resumed_ev

    @property
    def _paused(self) -> asyncio.Event:
        if self._paused_ev is None:
            self._paused_ev = asyncio.Event()
        return self._paused_ev

    @property
    def config(self) -> KernelConfig:
        """The kernel's settings (model kinds read `model_workers` and `kill_grace`)."""
        return self._kernel.config

    @property
    def priority(self) -> int:
        """The job's nice value now (follows renice); safe to read from any thread."""
        proc = self._kernel._procs.records.get(self.pid)  # memory only: no store reads here
        return self.spec.priority if proc is None else proc.priority

    async def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking job code in a worker thread; kill stops it at its next check()."""
        future = self._loop.run_in_executor(self._executor, fn, *args)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            self._stop_thread()
            # Wait for the worker to leave so no thread outlives its job.
            await asyncio.wait([future], timeout=self._kernel.config.kill_grace * 5)
            raise

    # -- kernel side (loop thread) ---------------------------------------------------

    def _stop_thread(self) -> None:
        self.killed = True
        if self._gate is not None:
            self._gate.set()

    def pause(self) -> None:
        if self._gate is None:
            self._gate = threading.Event()
        self._gate.clear()
        self._resumed.clear()
        self._paused.set()
        for hook in self.pause_hooks:
            hook()

    def resume(self) -> None:
        self._paused.clear()
        self._resumed.set()
        if self._gate is not None:
            self._gate.set()
        for hook in self.resume_hooks:
            hook()

    def kill(self) -> None:
        self._stop_thread()
        if self._resumed_ev is not None:  # else nothing waits on it
            self._resumed_ev.set()

    def close(self) -> None:
        self.flush()
        if self._out is not None:  # most jobs never write: skip the lock for them
            with self._lock:
                if self._out is not None:
                    self._out.close()
                    self._out = None

    def flush(self) -> None:
        if not (self._flush_scheduled or self._pending_text or self._pending_progress):
            # Nothing to deliver. Read without the lock: a worker that adds something
            # meanwhile finds no flush scheduled and schedules one.
            return
        with self._lock:
            texts, self._pending_text = self._pending_text, []
            progress, self._pending_progress = self._pending_progress, None
            self._flush_scheduled = False
        if texts:
            self._kernel._on_output(self.pid, "".join(texts))
        if progress is not None:
            self._kernel._on_progress(self.pid, progress[0], progress[1])

    def _schedule_flush(self) -> None:
        with self._lock:
            if self._flush_scheduled:
                return
            self._flush_scheduled = True
        if threading.get_ident() == self._loop_thread:
            self._loop.call_soon(self.flush)
        else:
            try:
                self._loop.call_soon_threadsafe(self.flush)
            except RuntimeError:  # loop closed while a worker was finishing
                pass

    def _call_in_loop(self, fn: Callable[..., Any], *args: Any) -> None:
        if threading.get_ident() == self._loop_thread:
            fn(*args)
        else:
            try:
                self._loop.call_soon_threadsafe(fn, *args)
            except RuntimeError:
                pass
