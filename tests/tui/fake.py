"""A `KernelAPI` double with fixed jobs and devices, for tests, snapshots and benchmarks.

It implements the kernel's typed contract (`llmsh.kernel.api.KernelAPI`, checked by
mypy below) over a dict of `Process` records, so the monitor can be driven with
deterministic data: fixed times, fixed CPU numbers, fake GPUs, fixed resident models.
Job submission is not part of what it fakes: those calls refuse with a kernel error.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from llmsh.errors import KernelError, NoSuchJob
from llmsh.kernel import (
    DeviceCapacity,
    DeviceSnapshot,
    EventType,
    JobSpec,
    JobState,
    Process,
    Progress,
    Subscription,
)
from llmsh.kernel.api import KernelAPI, ResidentRow
from llmsh.kernel.events import EventBus

if TYPE_CHECKING:
    from llmsh.kernel import Plan

T0 = 1_700_000_000.0  # a fixed "now" for deterministic screens


class FakeKernel:
    def __init__(
        self,
        jobs: Iterable[Process],
        devices: Iterable[DeviceSnapshot],
        outputs: dict[int, str] | None = None,
        now: float = T0,
        resident: Iterable[ResidentRow] = (),
    ) -> None:
        self.table = {p.pid: p for p in jobs}
        self.models = list(resident)
        self._devices = list(devices)
        self.outputs = dict(outputs or {})
        self.now = now
        self.bus = EventBus()  # the kernel's own event bus: subscriptions behave as real ones
        self.calls: list[tuple[str, int]] = []

    def clock(self) -> float:
        return self.now

    # -- the kernel's public API -------------------------------------------------------

    @property
    def started(self) -> bool:
        return True

    async def close(self) -> None:
        self.bus.close()

    async def submit(self, spec: JobSpec) -> Process:
        raise KernelError("the fake kernel runs no new jobs")

    async def explain(self, spec: JobSpec) -> Plan:
        raise KernelError("the fake kernel runs no new jobs")

    async def restart(self, pid: int, session: str | None = None) -> Process:
        raise KernelError("the fake kernel runs no new jobs")

    async def wait(
        self, pids: Iterable[int], timeout: float | None = None
    ) -> builtins.list[Process]:
        return [await self.get(pid) for pid in pids]

    async def resident(self) -> builtins.list[ResidentRow]:
        return [{**row, "source": "models"} for row in self.models]

    async def kind_names(self) -> builtins.list[str]:
        return sorted({p.kind for p in self.table.values()})

    async def flush(self) -> None:
        return None

    async def list(
        self,
        states: Iterable[JobState] | None = None,
        device: str | None = None,
        include_finished: bool = False,
        session: str | None = None,
    ) -> list[Process]:
        return sorted(
            (p for p in self.table.values() if include_finished or not p.finished),
            key=lambda p: p.pid,
        )

    async def get(self, pid: int) -> Process:
        if pid not in self.table:
            raise NoSuchJob(pid)
        return self.table[pid]

    async def devices(self) -> builtins.list[DeviceSnapshot]:
        return list(self._devices)

    async def output(self, pid: int) -> str:
        return self.outputs.get(pid, "")

    def subscribe(
        self, pids: Iterable[int] | None = None, types: Iterable[EventType] | None = None
    ) -> Subscription:
        return self.bus.subscribe(pids, types)

    def queue_order(self) -> builtins.list[int]:
        return [
            p.pid
            for p in sorted(self.table.values(), key=lambda p: (p.priority, p.pid))
            if p.state == JobState.QUEUED
        ]

    def capacities(self) -> builtins.list[DeviceCapacity]:
        return []

    async def kill(self, pid: int, reason: str = "killed") -> Process:
        return self._set(
            pid, "kill", state=JobState.KILLED, ended=self.now, exit_status=137, reason=reason
        )

    async def pause(self, pid: int) -> Process:
        return self._set(pid, "pause", state=JobState.PAUSED)

    async def resume(self, pid: int) -> Process:
        return self._set(pid, "resume", state=JobState.RUNNING)

    async def renice(self, pid: int, priority: int) -> Process:
        return self._set(pid, "renice", priority=priority)

    # -- driving it ----------------------------------------------------------------------

    def publish(
        self, type: EventType, pid: int, process: Process | None = None, text: str = ""
    ) -> None:
        self.bus.publish(type, pid, process, text)

    def write(self, pid: int, text: str) -> None:
        self.outputs[pid] = self.outputs.get(pid, "") + text
        self.publish(EventType.OUTPUT, pid, text=text)

    def churn(self, step: float = 1.0) -> None:
        """Advance every running job's progress by `step` seconds of work."""
        self.now += step
        for pid, proc in list(self.table.items()):
            if proc.state != JobState.RUNNING:
                continue
            prog = proc.progress
            rate = (prog.rate or 10.0) * (0.9 + 0.2 * ((pid * 7 + int(self.now)) % 10) / 10)
            done = prog.done + rate * step
            if prog.total:
                done %= prog.total
            new = proc.evolve(progress=Progress(done, prog.total, prog.unit, rate))
            self.table[pid] = new
            self.publish(EventType.PROGRESS, pid, new)

    def _set(self, pid: int, verb: str, **changes: Any) -> Process:
        self.calls.append((verb, pid))
        new = self.table[pid].evolve(**changes)
        self.table[pid] = new
        kind = EventType.STATE if "state" in changes else EventType.PROGRESS
        self.publish(kind, pid, new)
        return new


def _contract(kernel: FakeKernel) -> KernelAPI:
    return kernel  # mypy: the double implements the whole contract
