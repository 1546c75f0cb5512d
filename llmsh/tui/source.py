"""The monitor's data layer: kernel snapshots in, plain view rows out.

Widgets see only the view records of `views` (`JobView`, `DeviceView`, `ResidentModel`);
they never hold a `Process` or a `DeviceSnapshot`. A `Source` is what the screen
talks to; `KernelSource` adapts anything with the kernel's public API (an embedded
`Kernel`, the daemon client, or a test double), and `DetachedSource` is what
`llmsh top` uses when no kernel runs: devices only.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Protocol

from llmsh.kernel import Event, EventType, Process
from llmsh.kernel.api import KernelAPI

from .views import DeviceView, ResidentModel, device_view, resident_models

WATCHED = (EventType.STATE, EventType.PROGRESS)


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
    ) -> AsyncIterator[Event]: ...
    async def output(self, pid: int) -> str: ...
    async def kill(self, pid: int) -> Process | None: ...
    async def pause(self, pid: int) -> Process | None: ...
    async def resume(self, pid: int) -> Process | None: ...
    async def renice(self, pid: int, priority: int) -> Process | None: ...


class KernelSource:
    """A source over any `KernelAPI`: the embedded kernel, the daemon client or a fake."""

    attached = True

    def __init__(
        self,
        kernel: KernelAPI,
        label: str = "embedded kernel",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.kernel = kernel
        self.label = label
        self._clock = clock

    def now(self) -> float:
        return float(self._clock())

    async def jobs(self, include_finished: bool) -> list[Process]:
        return list(await self.kernel.list(include_finished=include_finished))

    async def devices(self) -> list[DeviceView]:
        return [device_view(s) for s in await self.kernel.devices()]

    async def queue_order(self) -> list[int]:
        return list(self.kernel.queue_order())

    async def models(self) -> list[ResidentModel]:
        return resident_models(await self.kernel.resident())

    async def events(
        self, pids: Iterable[int] | None = None, output: bool = False
    ) -> AsyncIterator[Event]:
        types = (EventType.OUTPUT,) if output else WATCHED
        sub = self.kernel.subscribe(pids, types)
        try:
            async for event in sub:
                yield event
        finally:
            sub.close()

    async def output(self, pid: int) -> str:
        return await self.kernel.output(pid)

    async def kill(self, pid: int) -> Process | None:
        return await self.kernel.kill(pid)

    async def pause(self, pid: int) -> Process | None:
        return await self.kernel.pause(pid)

    async def resume(self, pid: int) -> Process | None:
        return await self.kernel.resume(pid)

    async def renice(self, pid: int, priority: int) -> Process | None:
        return await self.kernel.renice(pid, priority)


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

    async def models(self) -> list[ResidentModel]:
        return []  # no kernel: nothing is loaded by one

    async def events(
        self, pids: Iterable[int] | None = None, output: bool = False
    ) -> AsyncIterator[Event]:
        if False:  # pragma: no cover - an empty async generator
            yield

    async def output(self, pid: int) -> str:
        return ""

    async def kill(self, pid: int) -> Process | None:
        raise RuntimeError(self.label)

    pause = resume = kill

    async def renice(self, pid: int, priority: int) -> Process | None:
        raise RuntimeError(self.label)
