"""The process table: in-memory records, mirrored to the store and announced as events.

Every change to a record goes through here, so the table, the store and what
subscribers see can never disagree.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable, Iterable
from typing import Any

from .events import EventBus, EventType
from .records import JobState, Process, Progress, check_transition
from .store import JobStore

PROGRESS_SAVE_INTERVAL = 1.0  # progress is saved at most this often; states always


class ProcessTable:
    def __init__(
        self, store: JobStore, bus: EventBus, clock: Callable[[], float], history_limit: int
    ) -> None:
        self.records: dict[int, Process] = {}
        self._store = store
        self._bus = bus
        self._clock = clock
        self._history_limit = history_limit
        self._finished_order: collections.deque[int] = collections.deque()
        self._waiters: dict[int, list[asyncio.Future[Process]]] = {}
        self._last_progress_save: dict[int, float] = {}

    def __getitem__(self, pid: int) -> Process:
        return self.records[pid]

    def __contains__(self, pid: object) -> bool:
        return pid in self.records

    def lookup(self, pid: int) -> Process | None:
        """A record from memory, else from the store (older or another kernel's jobs)."""
        proc = self.records.get(pid)
        return proc if proc is not None else self._store.load(pid)

    def add(self, proc: Process) -> None:
        self.records[proc.pid] = proc
        self._store.save(proc, transition=True, reason="submitted")
        self._bus.publish(EventType.STATE, proc.pid, proc)

    def update(self, pid: int, **changes: Any) -> Process:
        new = self.records[pid].evolve(**changes)
        self.records[pid] = new
        self._store.save(new)
        self._bus.publish(EventType.PROGRESS, pid, new)
        return new

    def progress(self, pid: int, progress: Progress, metrics: dict[str, Any]) -> None:
        proc = self.records.get(pid)
        if proc is None or proc.finished:
            return
        new = proc.evolve(progress=progress, metrics=metrics)
        self.records[pid] = new
        now = self._clock()
        if now - self._last_progress_save.get(pid, 0.0) >= PROGRESS_SAVE_INTERVAL:
            self._last_progress_save[pid] = now
            self._store.save(new)
        self._bus.publish(EventType.PROGRESS, pid, new)

    def transition(self, pid: int, state: JobState, why: str = "", **changes: Any) -> Process:
        """Move a job to a new state; `why` is logged with the transition."""
        old = self.records[pid]
        return self._move(old, old.evolve(state=state, **changes), why)

    def _move(self, old: Process, new: Process, why: str) -> Process:
        check_transition(old.state, new.state)
        self.records[new.pid] = new
        self._store.save(new, True, old.state, why)
        self._bus.publish(EventType.STATE, new.pid, new)
        return new

    def finish(self, pid: int, state: JobState, status: int | None, reason: str) -> Process:
        old = self.records[pid]
        if old.finished:
            return old
        new = old.evolve(
            state=state,
            exit_status=status,
            ended=self._clock(),
            reason="" if state == JobState.DONE else reason,
        )
        self._move(old, new, reason)
        self._last_progress_save.pop(pid, None)
        for fut in self._waiters.pop(pid, ()):
            if not fut.done():
                fut.set_result(new)
        self._finished_order.append(pid)
        while len(self._finished_order) > self._history_limit:
            self.records.pop(self._finished_order.popleft(), None)
        return new

    def waiter(self, pid: int) -> asyncio.Future[Process]:
        """A future resolved with the job's final record."""
        fut: asyncio.Future[Process] = asyncio.get_running_loop().create_future()
        proc = self.lookup(pid)
        if proc is not None and proc.finished:
            fut.set_result(proc)
        else:
            self._waiters.setdefault(pid, []).append(fut)
        return fut

    def select(
        self,
        states: Iterable[JobState] | None,
        device: str | None,
        include_finished: bool,
        session: str | None,
    ) -> list[Process]:
        procs = list(self.records.values())
        if include_finished:
            procs = self._store.load_all(exclude=self.records.keys()) + procs
            procs.sort(key=lambda p: p.pid)
        wanted = set(states) if states else None
        out = []
        for p in procs:
            if wanted is not None:
                if p.state not in wanted:
                    continue
            elif not include_finished and p.finished:
                continue
            if session is not None and p.session != session:
                continue
            if device and not on_device(p, device):
                continue
            out.append(p)
        return out


def on_device(proc: Process, device: str) -> bool:
    where = proc.device or proc.device_request
    if device == "cuda":
        return where.startswith("cuda")
    return where == device
