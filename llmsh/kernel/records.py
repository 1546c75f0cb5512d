"""Process records: what a job is, what state it is in, and how states may move."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class JobState(str, enum.Enum):
    QUEUED = "queued"
    LOADING = "loading"
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"
    FAILED = "failed"
    KILLED = "killed"
    INTERRUPTED = "interrupted"

    @property
    def finished(self) -> bool:
        return self in FINISHED

    def __str__(self) -> str:
        return self.value


FINISHED = frozenset({JobState.DONE, JobState.FAILED, JobState.KILLED, JobState.INTERRUPTED})
ACTIVE = frozenset({JobState.LOADING, JobState.RUNNING, JobState.PAUSED})

# Every legal move. A paused job goes back to `queued` when it was paused before it
# ever started (held in the queue), or to `running` when it was paused mid-work.
TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.QUEUED: frozenset(
        {
            JobState.LOADING,
            JobState.RUNNING,
            JobState.PAUSED,
            JobState.FAILED,
            JobState.KILLED,
            JobState.INTERRUPTED,
        }
    ),
    JobState.LOADING: frozenset(
        {
            JobState.RUNNING,
            JobState.PAUSED,
            JobState.DONE,
            JobState.FAILED,
            JobState.KILLED,
            JobState.INTERRUPTED,
        }
    ),
    JobState.RUNNING: frozenset(
        {JobState.PAUSED, JobState.DONE, JobState.FAILED, JobState.KILLED, JobState.INTERRUPTED}
    ),
    JobState.PAUSED: frozenset(
        {
            JobState.QUEUED,
            JobState.LOADING,
            JobState.RUNNING,
            JobState.DONE,
            JobState.FAILED,
            JobState.KILLED,
            JobState.INTERRUPTED,
        }
    ),
    JobState.DONE: frozenset(),
    JobState.FAILED: frozenset(),
    JobState.KILLED: frozenset(),
    JobState.INTERRUPTED: frozenset(),
}


class IllegalTransition(Exception):
    pass


def check_transition(old: JobState, new: JobState) -> None:
    if new not in TRANSITIONS[old]:
        raise IllegalTransition(f"a job cannot go from {old.value} to {new.value}")


PRIORITY_NAMES = {"high": -10, "normal": 0, "low": 10}
NICE_MIN, NICE_MAX = -20, 19


def parse_priority(value: str | int) -> int:
    """`high`/`normal`/`low` or an integer nice value -20..19."""
    if isinstance(value, int):
        nice = value
    else:
        text = value.strip().lower()
        if text in PRIORITY_NAMES:
            return PRIORITY_NAMES[text]
        try:
            nice = int(text)
        except ValueError:
            raise ValueError(
                f"invalid priority {value!r}: use high, normal, low or an integer -20..19"
            ) from None
    if not NICE_MIN <= nice <= NICE_MAX:
        raise ValueError(f"invalid priority {value!r}: must be between -20 and 19")
    return nice


def priority_name(nice: int) -> str:
    for name, value in PRIORITY_NAMES.items():
        if value == nice:
            return name
    return str(nice)


@dataclass(frozen=True)
class JobSpec:
    """What to run: the request, as the user typed it and as parsed."""

    kind: str
    argv: tuple[str, ...] = ()
    args: dict[str, Any] = field(default_factory=dict)
    device: str = "auto"
    priority: int = 0
    session: str = ""
    parent: int | None = None  # the job this one continues (resume of an interrupted job)


@dataclass(frozen=True)
class Progress:
    done: float = 0.0
    total: float | None = None
    unit: str = ""
    rate: float | None = None  # unit per second

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return max(0.0, min(1.0, self.done / self.total))


@dataclass(frozen=True)
class Process:
    """One row of the process table: an immutable snapshot."""

    pid: int
    kind: str
    argv: tuple[str, ...]
    args: dict[str, Any]
    state: JobState
    priority: int
    device_request: str
    device: str | None = None
    mem_estimate: int = 0
    mem_measured: int | None = None
    progress: Progress = Progress()
    metrics: dict[str, Any] = field(default_factory=dict)
    created: float = 0.0
    started: float | None = None
    ended: float | None = None
    exit_status: int | None = None
    reason: str = ""
    session: str = ""
    parent: int | None = None
    kernel_id: str = ""

    @property
    def command(self) -> str:
        return " ".join(self.argv) if self.argv else self.kind

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def elapsed(self, now: float) -> float:
        if self.started is None:
            return 0.0
        return (self.ended if self.ended is not None else now) - self.started

    def evolve(self, **changes: Any) -> Process:
        # dataclasses.replace re-runs __init__; cloning the dict is ~10x faster, and the
        # kernel evolves records several times per job.
        fields = self.__dict__.copy()
        fields.update(changes)
        new = object.__new__(Process)
        object.__setattr__(new, "__dict__", fields)
        return new

    def to_json(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "kind": self.kind,
            "argv": list(self.argv),
            "args": self.args,
            "state": self.state.value,
            "priority": self.priority,
            "device_request": self.device_request,
            "device": self.device,
            "mem_estimate": self.mem_estimate,
            "mem_measured": self.mem_measured,
            "progress": {
                "done": self.progress.done,
                "total": self.progress.total,
                "unit": self.progress.unit,
                "rate": self.progress.rate,
            },
            "metrics": self.metrics,
            "created": self.created,
            "started": self.started,
            "ended": self.ended,
            "exit_status": self.exit_status,
            "reason": self.reason,
            "session": self.session,
            "parent": self.parent,
            "kernel_id": self.kernel_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Process:
        prog = data.get("progress") or {}
        return cls(
            pid=int(data["pid"]),
            kind=data["kind"],
            argv=tuple(data.get("argv") or ()),
            args=dict(data.get("args") or {}),
            state=JobState(data["state"]),
            priority=int(data.get("priority", 0)),
            device_request=data.get("device_request", "auto"),
            device=data.get("device"),
            mem_estimate=int(data.get("mem_estimate") or 0),
            mem_measured=data.get("mem_measured"),
            progress=Progress(
                done=float(prog.get("done") or 0.0),
                total=prog.get("total"),
                unit=prog.get("unit") or "",
                rate=prog.get("rate"),
            ),
            metrics=dict(data.get("metrics") or {}),
            created=float(data.get("created") or 0.0),
            started=data.get("started"),
            ended=data.get("ended"),
            exit_status=data.get("exit_status"),
            reason=data.get("reason") or "",
            session=data.get("session") or "",
            parent=data.get("parent"),
            kernel_id=data.get("kernel_id") or "",
        )
