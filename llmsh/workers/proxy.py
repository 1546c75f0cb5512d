"""JobProxy: the `JobControl` a job sees inside a model worker.

`check()` runs once per token or training step, so it must not talk to the
kernel: kill, pause and priority are plain attributes here, set by the worker's
reader thread when the kernel's control messages arrive. Everything the job
reports (`write`, `progress`, `set_memory`, `annotate`, `mark_running`) goes to the
`Outbox`, which coalesces it into batches for the kernel.
"""

from __future__ import annotations

import threading
from typing import Any

from llmsh.kernel.control import JobKilled
from llmsh.workers.messages import ProgressCall
from llmsh.workers.outbox import Outbox


class JobProxy:
    def __init__(
        self, pid: int, device: str, priority: int, outbox: Outbox, paused: bool = False
    ) -> None:
        self.pid = pid
        self.device = device
        self.priority = priority  # read by the engine's slot policy; follows renice
        self.killed = False  # read without a lock by check() and by the engine's wait loop
        self.paused_event = threading.Event()  # the engine parks a paused job's sequence
        self._paused = False  # check()'s fast path reads a plain attribute
        self._gate = threading.Event()  # set while the job may run
        self._gate.set()
        self._outbox = outbox
        if paused:
            self.pause()

    # -- JobControl (the job's thread) -----------------------------------------------

    def check(self) -> None:
        if self.killed:
            raise JobKilled()
        if self._paused:
            self._gate.wait()
            if self.killed:
                raise JobKilled()

    def write(self, text: str) -> None:
        if text:
            self._outbox.text(self.pid, text)

    def progress(
        self,
        done: float,
        total: float | None = None,
        unit: str = "",
        rate: float | None = None,
        **extra: Any,
    ) -> None:
        self._outbox.progress(self.pid, ProgressCall(done, total, unit, rate, extra))

    def set_memory(self, nbytes: int) -> None:
        self._outbox.memory(self.pid, int(nbytes))

    def annotate(self, **values: Any) -> None:
        self._outbox.annotate(self.pid, values)

    def mark_running(self) -> None:
        self._outbox.running(self.pid)

    # -- control (the worker's reader thread) ------------------------------------------

    def kill(self) -> None:
        self.killed = True
        self._gate.set()  # a paused job wakes to find itself killed

    def pause(self) -> None:
        self._gate.clear()
        self._paused = True
        self.paused_event.set()

    def resume(self) -> None:
        self.paused_event.clear()
        self._paused = False
        self._gate.set()
