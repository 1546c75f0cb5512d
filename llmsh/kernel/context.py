"""JobContext: the kernel's side of `JobControl`, handed to each running job.

Its control (kill, pause, resume, renice and their listeners) is `ControlCore`'s,
the same code a model worker's `JobProxy` runs. What is the kernel's own is where
reports go: job code may call it from any thread, and updates are coalesced: a
thread that reports progress per token schedules at most one callback on the event
loop at a time, so a fast generator cannot flood the loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Executor as ThreadPool
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from .control import ControlCore
from .records import JobSpec, Progress

if TYPE_CHECKING:
    from .config import KernelConfig
    from .ending import Ending
    from .execution import JobRunner
    from .executor import Executor, Work

T = TypeVar("T")
HISTORY_POINTS = 2000  # metric history kept per job (loss curves); older points are thinned


class JobContext(ControlCore):
    def __init__(
        self,
        kernel: JobRunner,  # the part of the kernel that runs jobs: it takes the callbacks
        pid: int,
        spec: JobSpec,
        device: str,
        output_dir: Path,
        threads: ThreadPool,
    ) -> None:
        super().__init__(pid, device, spec.priority)
        self.spec = spec
        self.args = spec.args
        self._kernel = kernel
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._threads = threads
        self._output_dir = output_dir
        self._out: IO[str] | None = None
        self._lock = threading.Lock()
        # Created on first use: most jobs are never paused, and these events cost more
        # than the rest of a short job's bookkeeping.
        self._resumed_ev: asyncio.Event | None = None
        self._paused_ev: asyncio.Event | None = None
        self._pending_text: list[str] = []
        self._pending_progress: tuple[Progress, dict[str, Any]] | None = None
        self._metrics: dict[str, Any] = {}
        self._flush_scheduled = False

    # -- reports (any thread) ---------------------------------------------------------

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
        """Set while paused, for job kinds that wait on the loop (e.g. sleep)."""
        return self._paused_async

    @property
    def _resumed(self) -> asyncio.Event:
        if self._resumed_ev is None:
            self._resumed_ev = asyncio.Event()
            self._resumed_ev.set()
        return self._resumed_ev

    @property
    def _paused_async(self) -> asyncio.Event:
        if self._paused_ev is None:
            self._paused_ev = asyncio.Event()
        return self._paused_ev

    @property
    def config(self) -> KernelConfig:
        """The kernel's settings (`kill_grace`, for executors)."""
        return self._kernel.config

    @property
    def executor(self) -> Executor:
        """Where this kernel runs model work (`unload` asks it to release pins)."""
        return self._kernel.executor

    async def execute(self, work: Work) -> Ending:
        """Run model work on the kernel's executor; kill arrives as task cancellation."""
        return await self._kernel.executor.run(self, work)

    async def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking job code in a worker thread; kill stops it at its next check()."""
        future = self._loop.run_in_executor(self._threads, fn, *args)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            self.kill()
            # Wait for the worker to leave so no thread outlives its job.
            await asyncio.wait([future], timeout=self._kernel.config.kill_grace * 5)
            raise

    # -- kernel side (loop thread) ---------------------------------------------------

    def pause(self) -> None:
        super().pause()
        self._resumed.clear()
        self._paused_async.set()

    def resume(self) -> None:
        self._paused_async.clear()
        self._resumed.set()
        super().resume()

    def kill(self) -> None:
        super().kill()
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
