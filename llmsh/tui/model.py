"""What the monitor shows, independent of any widget: jobs, filter, sort and history."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from llmsh.kernel import Process

from .views import DeviceView, JobView, job_view

LINGER_SECONDS = 3.0  # a job that just ended stays on screen this long (htop does the same)
HISTORY_POINTS = 180  # samples kept for the sparklines: 3 minutes at the default 1 s
INTERVALS = (1.0, 2.0, 5.0, 0.5)  # what `d` cycles through


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int | None  # None: as wide as the content
    right: bool = False
    descending: bool = False  # first click sorts biggest first (htop does for numbers)


COLUMNS: tuple[Column, ...] = (
    Column("pid", "PID", 5, right=True),
    Column("session", "SESSION", 7),
    Column("state", "STATE", 10),
    Column("pri", "PRI", 3, right=True),
    Column("device", "DEVICE", 6),
    Column("mem", "MEM", 6, right=True, descending=True),
    Column("kind", "KIND", 8),
    Column("rate", "RATE", 11, right=True, descending=True),
    Column("progress", "PROGRESS", 19, descending=True),
    Column("time", "TIME", 7, right=True, descending=True),
    Column("command", "COMMAND", None),
)
_BY_KEY = {c.key: c for c in COLUMNS}

STATE_RANK = {
    "running": 0,
    "loading": 1,
    "paused": 2,
    "queued": 3,
    "failed": 4,
    "killed": 5,
    "interrupted": 6,
    "done": 7,
}

_NUM = -1.0
SORT_KEYS: dict[str, Callable[[JobView], Any]] = {
    "pid": lambda v: v.pid,
    "session": lambda v: (v.session, v.pid),
    "state": lambda v: (STATE_RANK.get(v.state, 9), v.queue_pos or 0, v.pid),
    "pri": lambda v: (v.priority, v.pid),
    "device": lambda v: (v.device, v.pid),
    "mem": lambda v: (v.mem if v.mem is not None else _NUM, -v.pid),
    "kind": lambda v: (v.kind, v.pid),
    "rate": lambda v: (v.rate if v.rate is not None else _NUM, -v.pid),
    "progress": lambda v: (v.fraction if v.fraction is not None else _NUM, -v.pid),
    "time": lambda v: (v.elapsed if v.elapsed is not None else _NUM, -v.pid),
    "command": lambda v: (v.command, v.pid),
}


def column(key: str) -> Column:
    return _BY_KEY[key]


def next_interval(current: float) -> float:
    """What `d` moves to: the next of INTERVALS, or the first above a custom one."""
    if current in INTERVALS:
        return INTERVALS[(INTERVALS.index(current) + 1) % len(INTERVALS)]
    return next((i for i in sorted(INTERVALS) if i > current), INTERVALS[0])


def matches(view: JobView, needle: str) -> bool:
    if not needle:
        return True
    hay = f"{view.pid} {view.command} {view.kind} {view.state} {view.session} {view.device}"
    return needle.lower() in hay.lower()


class JobsModel:
    """The jobs known to the monitor, and the rules for which to show in what order."""

    def __init__(self) -> None:
        self.jobs: dict[int, Process] = {}
        self.queue: dict[int, int] = {}  # pid -> 1-based position in the run queue
        self.show_finished = False
        self.filter = ""
        self.sort = "pid"
        self.reverse = False

    def replace(self, procs: Iterable[Process]) -> None:
        self.jobs = {p.pid: p for p in procs}

    def apply(self, proc: Process) -> None:
        self.jobs[proc.pid] = proc

    def set_queue(self, order: Iterable[int]) -> None:
        self.queue = {pid: i for i, pid in enumerate(order, 1)}

    def set_sort(self, key: str) -> None:
        """Sort by `key`; choosing the current column again flips the order."""
        if key == self.sort:
            self.reverse = not self.reverse
        else:
            self.sort, self.reverse = key, column(key).descending

    def visible(self, now: float) -> list[JobView]:
        """The rows to show, filtered and sorted; drops finished jobs no longer shown."""
        views = []
        gone = []
        for pid, proc in self.jobs.items():
            if proc.finished and not self.show_finished:
                ended = proc.ended or 0.0
                if now - ended > LINGER_SECONDS:
                    gone.append(pid)
                    continue
            view = job_view(proc, now, self.queue.get(pid))
            if matches(view, self.filter):
                views.append(view)
        for pid in gone:
            del self.jobs[pid]
        views.sort(key=SORT_KEYS[self.sort], reverse=self.reverse)
        return views

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for proc in self.jobs.values():
            out[proc.state.value] = out.get(proc.state.value, 0) + 1
        return out


class History:
    """Recent samples for the sparklines."""

    def __init__(self, points: int = HISTORY_POINTS) -> None:
        self.cpu: deque[float] = deque(maxlen=points)
        self.gpu: deque[float] = deque(maxlen=points)
        self.mem: deque[float] = deque(maxlen=points)
        self.tokens: deque[float] = deque(maxlen=points)

    def sample(self, devices: list[DeviceView], tokens_per_s: float) -> None:
        cpu = next((d for d in devices if d.kind == "cpu"), None)
        gpus = [d.util for d in devices if d.kind != "cpu" and d.util is not None]
        self.cpu.append(cpu.util if cpu and cpu.util is not None else 0.0)
        self.gpu.append(sum(gpus) / len(gpus) if gpus else 0.0)
        frac = cpu.mem_fraction if cpu else None
        self.mem.append(100.0 * frac if frac is not None else 0.0)
        self.tokens.append(tokens_per_s)
