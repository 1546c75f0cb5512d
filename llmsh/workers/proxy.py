"""JobProxy: the `JobControl` a job sees inside a model worker.

Its control is the kernel's own `ControlCore`: the worker's reader thread calls
`kill`, `pause`, `resume` and `renice` as the kernel's control messages arrive, so
`check()` per token reads plain attributes, as it does in the kernel. Everything
the job reports (`write`, `progress`, `set_memory`, `annotate`, `mark_running`)
goes to the `Outbox`, which coalesces it into batches for the kernel.
"""

from __future__ import annotations

from typing import Any

from llmsh.kernel.control import ControlCore
from llmsh.workers.messages import ProgressCall
from llmsh.workers.outbox import Outbox


class JobProxy(ControlCore):
    def __init__(
        self, pid: int, device: str, priority: int, outbox: Outbox, paused: bool = False
    ) -> None:
        super().__init__(pid, device, priority)
        self._outbox = outbox
        if paused:
            self.pause()

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
