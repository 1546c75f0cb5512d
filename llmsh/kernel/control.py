"""The contract between the kernel and the code a job runs.

Model work runs in worker threads; it talks to the kernel only through a
`JobControl`. Cancellation and pausing are cooperative: the worker calls
`check()` between tokens or steps, which blocks while the job is paused and
raises `JobKilled` once it has been killed.
"""

from __future__ import annotations

from typing import Any, Protocol


class JobKilled(Exception):
    """Raised inside a job's worker by `JobControl.check()` after `kill`."""


class JobFailed(Exception):
    """A job's own failure: the message becomes the job's one-line reason."""


class JobControl(Protocol):
    pid: int
    device: str

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


class NullControl:
    """A JobControl for running job code outside the kernel (tests, benches)."""

    def __init__(self, device: str = "cpu") -> None:
        self.pid = 0
        self.device = device
        self.output: list[str] = []
        self.events: list[dict[str, Any]] = []
        self.killed = False

    def check(self) -> None:
        if self.killed:
            raise JobKilled()

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
