"""Kernel events: state changes, progress and output, fanned out to subscribers."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

from .records import Process


class EventType(str, enum.Enum):
    STATE = "state"  # the job moved to a new state (process is the new record)
    PROGRESS = "progress"  # progress, throughput or metrics changed
    OUTPUT = "output"  # the job wrote text


@dataclass(frozen=True)
class Event:
    type: EventType
    pid: int
    process: Process | None = None
    text: str = ""
    seq: int = 0


class Subscription:
    """An async iterator of events; close it (or use `async with`) when done."""

    def __init__(
        self, bus: EventBus, pids: Iterable[int] | None, types: Iterable[EventType] | None
    ) -> None:
        self._bus = bus
        self.pids = set(pids) if pids is not None else None
        self.types = set(types) if types is not None else None
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue()

    def wants(self, event: Event) -> bool:
        return (self.pids is None or event.pid in self.pids) and (
            self.types is None or event.type in self.types
        )

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        event = await self.queue.get()
        if event is None:
            raise StopAsyncIteration
        return event

    async def get(self, timeout: float | None = None) -> Event | None:
        """The next event, or None at timeout or after close."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except asyncio.TimeoutError:
            return None

    def close(self) -> None:
        self._bus.unsubscribe(self)
        self.queue.put_nowait(None)

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class EventBus:
    def __init__(self) -> None:
        self._subs: list[Subscription] = []
        self._seq = 0

    def subscribe(
        self, pids: Iterable[int] | None = None, types: Iterable[EventType] | None = None
    ) -> Subscription:
        sub = Subscription(self, pids, types)
        self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)

    def publish(
        self, type: EventType, pid: int, process: Process | None = None, text: str = ""
    ) -> None:
        if not self._subs:
            return
        self._seq += 1
        event = Event(type, pid, process, text, self._seq)
        for sub in self._subs:
            if sub.wants(event):
                sub.queue.put_nowait(event)

    def close(self) -> None:
        for sub in list(self._subs):
            sub.close()
