"""The contract between the kernel and the code a job runs, and its one implementation
of job control.

Model work runs in threads (of the kernel, or of a model worker process); it talks
to the kernel only through a `JobControl`. Cancellation and pausing are
cooperative: the job calls `check()` between tokens or steps, which blocks while
the job is paused and raises `JobKilled` once it has been killed.

`ControlCore` is that behaviour, written once: the killed flag, the pause gate,
the live priority and the listeners that carry kill, pause, resume and renice on
to whatever runs the job (a subprocess to signal, a model worker to message).
The kernel's `JobContext` and a model worker's `JobProxy` are both a
`ControlCore`; they differ only in where a job's reports (`write`, `progress`) go.
Control changes are pushed through the listeners as they happen; nothing polls.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


class JobKilled(Exception):
    """Raised inside a job's worker by `JobControl.check()` after `kill`."""


class JobFailed(Exception):
    """A job's own failure: the message becomes the job's one-line reason."""


class JobControl(Protocol):
    """What job code (and the generation engine) may use of its job's control."""

    pid: int
    device: str

    @property
    def killed(self) -> bool:
        """Whether the job has been killed (a cheap read; `check()` raises on it)."""

    @property
    def paused(self) -> bool:
        """Whether the job is paused now (the engine parks a paused job's sequence)."""

    @property
    def priority(self) -> int:
        """The job's nice value now: it follows renice."""

    def check(self) -> None:
        """Block while paused; raise JobKilled if the job was killed."""

    def write(self, text: str) -> None:
        """Append text to the job's output (streamed to followers)."""

    def progress(
        self,
        done: float,
        total: float | None = None,
        unit: str = "",
        rate: float | None = None,
        **extra: Any,
    ) -> None:
        """Report progress (e.g. 12 of 64 tokens) and throughput in unit/s.

        `extra` carries kind-specific metrics, e.g. ``loss=1.23`` for fine-tunes;
        numeric extras are kept as a history (the loss curve).
        """

    def set_memory(self, nbytes: int) -> None:
        """Record the measured memory the job holds."""


@dataclass(frozen=True, eq=False)  # compared by identity: `listen` removes this one
class Listener:
    """Callbacks for a job's control changes, each optional. They run in the thread
    that makes the change (the kernel's event loop, a worker's reader thread), so
    they must be quick: send a message, signal a process."""

    on_kill: Callable[[], None] | None = None
    on_pause: Callable[[], None] | None = None
    on_resume: Callable[[], None] | None = None
    on_renice: Callable[[int], None] | None = None


class ControlCore:
    """Kill, pause, resume and renice of one job, and the `check()` that obeys them.

    `check()` runs once per token or step: it reads plain attributes and touches
    the pause gate only while the job is paused. The report methods (`write`,
    `progress`, `set_memory`, `annotate`, `mark_running`) are the subclass's.
    """

    def __init__(self, pid: int, device: str, priority: int = 0) -> None:
        self.pid = pid
        self.device = device
        # Plain attributes, not properties: the job and the engine read them per token.
        # Only the control methods below change them.
        self.killed = False
        self.paused = False
        self.priority = priority
        # Made on the first pause: most jobs are never paused.
        self._gate: threading.Event | None = None
        self._listeners: list[Listener] = []

    def check(self) -> None:
        if self.killed:
            raise JobKilled()
        if self.paused:
            gate = self._gate
            if gate is not None:
                gate.wait()
            if self.killed:
                raise JobKilled()

    # -- control (the kernel's loop, or a worker's reader thread) --------------------

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Add `listener`; returns the function that removes it again."""
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    def kill(self) -> None:
        self.killed = True
        if self._gate is not None:
            self._gate.set()  # a paused job wakes to find itself killed
        for listener in list(self._listeners):
            if listener.on_kill is not None:
                listener.on_kill()

    def pause(self) -> None:
        if self._gate is None:
            self._gate = threading.Event()
        self._gate.clear()  # before the flag: check() finds a closed gate behind it
        self.paused = True
        for listener in list(self._listeners):
            if listener.on_pause is not None:
                listener.on_pause()

    def resume(self) -> None:
        self.paused = False
        if self._gate is not None:
            self._gate.set()
        for listener in list(self._listeners):
            if listener.on_resume is not None:
                listener.on_resume()

    def renice(self, priority: int) -> None:
        if priority == self.priority:
            return
        self.priority = priority
        for listener in list(self._listeners):
            if listener.on_renice is not None:
                listener.on_renice(priority)


class NullControl(ControlCore):
    """A JobControl for running job code outside the kernel (tests, benches)."""

    def __init__(self, device: str = "cpu", priority: int = 0) -> None:
        super().__init__(0, device, priority)
        self.output: list[str] = []
        self.events: list[dict[str, Any]] = []

    def write(self, text: str) -> None:
        self.output.append(text)

    def progress(
        self,
        done: float,
        total: float | None = None,
        unit: str = "",
        rate: float | None = None,
        **extra: Any,
    ) -> None:
        self.events.append({"done": done, "total": total, "unit": unit, "rate": rate, **extra})

    def set_memory(self, nbytes: int) -> None:
        self.events.append({"memory": nbytes})

    def annotate(self, **values: Any) -> None:
        self.events.append({"annotate": values})

    def mark_running(self) -> None:
        self.events.append({"running": True})
