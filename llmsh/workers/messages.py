"""What the kernel and a model worker say to each other over the worker's pipe.

Every message is a small dataclass, pickled whole (`multiprocessing.connection`
frames each one). Kernel -> worker: `StartJob`, `ControlJob`, `Unpin`, `Shutdown`.
Worker -> kernel: `Ready` once, then `Batch`es: a batch carries the coalesced
`JobUpdate` of each job that reported something since the last batch, then the
messages that must keep their order (`Resident`, `UnpinDone`, `JobEnd`). A job's
updates always travel before its `JobEnd`, so its output is complete when it ends.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from llmsh.kernel.ending import Ending
from llmsh.kernel.executor import Work


class Control(enum.Enum):
    """What the kernel asks of a running job in the worker."""

    KILL = "kill"
    PAUSE = "pause"
    RESUME = "resume"
    RENICE = "renice"  # `value` is the new nice value


# -- kernel -> worker ---------------------------------------------------------------


@dataclass(frozen=True)
class StartJob:
    pid: int
    work: Work
    device: str
    priority: int
    paused: bool = False  # paused before it reached the worker


@dataclass(frozen=True)
class ControlJob:
    pid: int
    action: Control
    value: int = 0


@dataclass(frozen=True)
class Unpin:
    """End a `load` pin of `model` in this worker's pool (the `unload` job)."""

    request: int
    model: str


@dataclass(frozen=True)
class Shutdown:
    """Stop every job and exit (idle keep-alive ran out, eviction, the kernel closing)."""


# -- worker -> kernel ---------------------------------------------------------------


@dataclass(frozen=True)
class Ready:
    pid: int  # the worker's OS pid


@dataclass(frozen=True)
class ProgressCall:
    done: float
    total: float | None
    unit: str
    rate: float | None
    extra: dict[str, Any]


@dataclass
class JobUpdate:
    """Everything one job reported since the last batch, coalesced.

    Text is concatenated; a progress call without extras replaces the one before it
    (per-token progress), while calls with extras (a loss) all travel, because the
    kernel keeps their history.
    """

    pid: int
    text: list[str] = field(default_factory=list)
    progress: list[ProgressCall] = field(default_factory=list)
    memory: int | None = None
    annotate: dict[str, Any] = field(default_factory=dict)
    running: bool = False

    def add_progress(self, call: ProgressCall) -> None:
        if self.progress and not call.extra and not self.progress[-1].extra:
            self.progress[-1] = call
        else:
            self.progress.append(call)


@dataclass(frozen=True)
class JobEnd:
    pid: int
    ending: Ending  # decided in the worker by `llmsh.kernel.ending`, as in the kernel


@dataclass(frozen=True)
class Resident:
    """The worker's model pool as `resident_models()` rows, taken at wall time `at`."""

    rows: list[dict[str, Any]]
    at: float


@dataclass(frozen=True)
class UnpinDone:
    request: int
    released: list[str]  # devices the model was unloaded from (empty: it was not loaded)
    rows_left: int  # models still resident in the worker after the unpin


@dataclass
class Batch:
    updates: list[JobUpdate]
    ordered: list[Resident | UnpinDone | JobEnd]


ToWorker = StartJob | ControlJob | Unpin | Shutdown
FromWorker = Ready | Batch
