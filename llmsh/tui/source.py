"""The monitor's data layer: kernel snapshots in, plain view rows out.

Widgets see only the view records of `views` (`JobView`, `DeviceView`, `ResidentModel`);
they never hold a `Process` or a `DeviceSnapshot`. A `Source` is what the screen
talks to; `KernelSource` adapts anything with the kernel's public API (an embedded
`Kernel`, the daemon client, or a test double), and `DetachedSource` is what
`llmsh top` uses when no kernel runs: devices only.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any, Protocol

from llmsh.kernel import EventType, Process

from .views import DeviceView, ResidentModel, device_view, resident_models

WATCHED = (EventType.STATE, EventType.PROGRESS)


def _process(value: Any) -> Process | None:
    """The record a kernel call returned (a daemon client may return none)."""
    return value if isinstance(value, Process) else None


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


class Source(Protocol):
    """What the screen needs; everything returns plain values or kernel snapshots."""

    attached: bool
    label: str

    def now(self) -> float: ...
    async def jobs(self, include_finished: bool) -> list[Process]: ...
    async def devices(self) -> list[DeviceView]: ...
    async def queue_order(self) -> list[int]: ...
    async def models(self) -> list[ResidentModel]: ...
    def events(
        self, pids: Iterable[int] | None = None, output: bool = False
    ) -> AsyncIterator[Any]: ...
    async def output(self, pid: int) -> str: ...
    async def kill(self, pid: int) -> Process | None: ...
    async def pause(self, pid: int) -> Process | None: ...
    async def resume(self, pid: int) -> Process | None: ...
    async def renice(self, pid: int, priority: int) -> Process | None: ...


class KernelSource:
    """A source over anything with the kernel's public API.

    Expects: async list/get/kill/pause/resume/renice/devices/output,
    subscribe(pids, types) -> async-iterable subscription with close(), and
    queue_order() (sync or async). `pool`, when given, is the model pool: its
    `snapshot()` (sync or async) yields entries with `name`, `device` and `mem`.
    """

    attached = True

    def __init__(
        self, kernel: Any, label: str = "embedded kernel", pool: Any = None, clock: Any = time.time
    ) -> None:
        self.kernel = kernel
        self.label = label
        self.pool = pool
        self._clock = clock

    def now(self) -> float:
        return float(self._clock())

    async def jobs(self, include_finished: bool) -> list[Process]:
        return list(await self.kernel.list(include_finished=include_finished))

    async def devices(self) -> list[DeviceView]:
        return [device_view(s) for s in await self.kernel.devices()]

    async def queue_order(self) -> list[int]:
        order = getattr(self.kernel, "queue_order", None)
        return list(await _maybe_await(order())) if order else []

    async def models(self) -> list[ResidentModel]:
        if self.pool is not None:
            return resident_models(await _maybe_await(self.pool.snapshot()))
        resident = getattr(self.kernel, "resident", None)  # the kernel's resource reports
        return resident_models(await resident()) if resident is not None else []

    async def events(
        self, pids: Iterable[int] | None = None, output: bool = False
    ) -> AsyncIterator[Any]:
        types = (EventType.OUTPUT,) if output else WATCHED
        sub = await _maybe_await(self.kernel.subscribe(pids, types))
        try:
            async for event in sub:
                yield event
        finally:
            await _maybe_await(sub.close())

    async def output(self, pid: int) -> str:
        return str(await self.kernel.output(pid))

    async def kill(self, pid: int) -> Process | None:
        return _process(await self.kernel.kill(pid))

    async def pause(self, pid: int) -> Process | None:
        return _process(await self.kernel.pause(pid))

    async def resume(self, pid: int) -> Process | None:
        return _process(await self.kernel.resume(pid))

    async def renice(self, pid: int, priority: int) -> Process | None:
        return _process(await self.kernel.renice(pid, priority))


class DetachedSource(KernelSource):
    """No kernel is running: show the local devices and say so."""

    attached = False

    def __init__(self, reason: str = "no kernel is running") -> None:
        from llmsh.kernel import Kernel, KernelConfig

        # An unstarted kernel touches no state; its devices() is a plain probe.
        super().__init__(Kernel(KernelConfig()), label=reason)

    async def jobs(self, include_finished: bool) -> list[Process]:
        return []

    async def queue_order(self) -> list[int]:
        return []

    async def events(
        self, pids: Iterable[int] | None = None, output: bool = False
    ) -> AsyncIterator[Any]:
        if False:  # pragma: no cover - an empty async generator
            yield None

    async def output(self, pid: int) -> str:
        return ""

    async def kill(self, pid: int) -> Process | None:
        raise RuntimeError(self.label)

    pause = resume = kill

    async def renice(self, pid: int, priority: int) -> Process | None:
        raise RuntimeError(self.label)
