"""The kernel's public API as one typed contract.

The embedded `Kernel`, the daemon client (`llmsh.daemon.client.RemoteKernel`) and every
test double implement `KernelAPI`; the shell, the commands and `top` only ever hold a
`KernelAPI`. mypy checks each implementation against it (see the `_check_*` assignments
where each implementation is defined), so a method that one side lacks or spells
differently fails `make lint`, not a user.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .devices import DeviceSnapshot
from .events import Event, EventType
from .records import JobSpec, JobState, Process
from .scheduler import DeviceCapacity

if TYPE_CHECKING:
    from .kernel import Plan

__all__ = ["KernelAPI", "ResidentRow", "SubscriptionAPI"]

# One row of `resident()`: what a resource (the model pool) holds. Keys every row has:
# "name", "device" and "source"; pools add their own (memory, backend, pinned, jobs...).
# A plain JSON-able mapping, since it crosses the daemon's wire as it is.
ResidentRow = dict[str, Any]


@runtime_checkable
class SubscriptionAPI(Protocol):
    """A stream of kernel events, local (`events.Subscription`) or over the daemon."""

    def __aiter__(self) -> AsyncIterator[Event]: ...

    async def __anext__(self) -> Event: ...

    async def get(self, timeout: float | None = None) -> Event | None: ...

    def close(self) -> None: ...


@runtime_checkable
class KernelAPI(Protocol):
    """Everything a client may ask of a kernel."""

    @property
    def started(self) -> bool: ...

    async def close(self) -> None: ...

    # -- jobs ------------------------------------------------------------------------
    async def submit(self, spec: JobSpec) -> Process: ...

    async def explain(self, spec: JobSpec) -> Plan: ...

    async def restart(self, pid: int, session: str | None = None) -> Process: ...

    async def kill(self, pid: int, reason: str = "killed") -> Process: ...

    async def pause(self, pid: int) -> Process: ...

    async def resume(self, pid: int) -> Process: ...

    async def renice(self, pid: int, priority: int) -> Process: ...

    async def wait(
        self, pids: Iterable[int], timeout: float | None = None
    ) -> builtins.list[Process]: ...

    async def get(self, pid: int) -> Process: ...

    async def list(
        self,
        states: Iterable[JobState] | None = None,
        device: str | None = None,
        include_finished: bool = False,
        session: str | None = None,
    ) -> builtins.list[Process]: ...

    async def output(self, pid: int) -> str: ...

    def subscribe(
        self, pids: Iterable[int] | None = None, types: Iterable[EventType] | None = None
    ) -> SubscriptionAPI: ...

    # -- resources -------------------------------------------------------------------
    async def devices(self) -> builtins.list[DeviceSnapshot]: ...

    async def resident(self) -> builtins.list[ResidentRow]: ...

    async def kind_names(self) -> builtins.list[str]: ...

    def capacities(self) -> builtins.list[DeviceCapacity]: ...

    def queue_order(self) -> builtins.list[int]: ...

    async def flush(self) -> None: ...
