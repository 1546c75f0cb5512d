"""Use a kernel daemon as if it were an embedded `Kernel`.

    kernel = await connect()            # $LLMSH_KERNEL, else <runtime dir>/kernel.sock
    proc = await kernel.submit(JobSpec("sleep", ("sleep", "5"), {"seconds": 5}))
    await kernel.wait([proc.pid])
    await kernel.close()                # detaches; the daemon keeps running the jobs

`RemoteKernel` has the kernel's public methods with the same signatures, results and
errors (`NoSuchJob`, `PlacementError`, `QueueFull`, `InvalidRequest`, ... are raised
with the kernel's one-line message; a `wait` timeout raises `asyncio.TimeoutError`).
`capacities()` and `queue_order()` stay synchronous: they return the scheduler state
the daemon pushes after every change (at most `SCHED_INTERVAL` old); `await refresh()`
reads it now. `close()` only hangs up: use `stop()` to stop the daemon.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable
from typing import Any

from llmsh.errors import one_line

from ..kernel import (
    DeviceCapacity,
    DeviceSnapshot,
    EventType,
    JobSpec,
    JobState,
    KernelError,
    Plan,
    Process,
    Subscription,
)
from .channel import Channel, DaemonUnavailable
from .security import TCP_PREFIX, TOKEN_ENV, default_socket, parse_hostport, socket_owner
from .wire import capacity_from_json, plan_from_json, spec_to_json


def default_address() -> str:
    """$LLMSH_KERNEL (a socket path or tcp://HOST:PORT), else the default socket path."""
    env = os.environ.get("LLMSH_KERNEL", "").strip()
    return env if env.startswith(TCP_PREFIX) else str(default_socket())


def tcp_address(address: str) -> tuple[str, int]:
    """HOST and PORT of `tcp://HOST:PORT`; DaemonUnavailable naming the mistake."""
    try:
        return parse_hostport(address[len(TCP_PREFIX) :])
    except ValueError:
        raise DaemonUnavailable(
            f"bad kernel daemon address {address!r}: write tcp://HOST:PORT (no spaces)"
        ) from None


async def _open(address: str, timeout: float) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    try:
        if address.startswith(TCP_PREFIX):
            host, port = tcp_address(address)
            return await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        return await asyncio.wait_for(asyncio.open_unix_connection(address), timeout)
    except FileNotFoundError:
        why = "no socket there"
    except ConnectionRefusedError:
        why = "nothing listens there"
    except PermissionError:
        owner = socket_owner(address)
        if owner is not None and owner != os.getuid():
            raise DaemonUnavailable(
                f"the kernel daemon at {address} belongs to uid {owner}: "
                "only its own user may connect"
            ) from None
        raise DaemonUnavailable(
            f"permission denied: cannot open the kernel daemon at {address}"
        ) from None
    except (asyncio.TimeoutError, TimeoutError):
        why = "it did not answer"
    except (OSError, ValueError) as exc:
        why = one_line(exc)
    raise DaemonUnavailable(
        f"no kernel daemon is running at {address} ({why}); start one with `llmsh kernel serve`"
    )


async def connect(
    path: str | os.PathLike[str] | None = None,
    *,
    token: str | None = None,
    session: str = "",
    client: str = "llmsh",
    timeout: float = 5.0,
) -> RemoteKernel:
    """Connect to a kernel daemon; raises DaemonUnavailable when none answers."""
    address = os.fspath(path) if path is not None else default_address()
    reader, writer = await _open(address, timeout)
    kernel = RemoteKernel(Channel(reader, writer, address))
    if token is None:
        token = os.environ.get(TOKEN_ENV)
    try:
        hello = await asyncio.wait_for(
            kernel.channel.call(
                "hello", token=token, session=session, client=client, pid=os.getpid()
            ),
            timeout,
        )
    except DaemonUnavailable:
        await kernel.close()
        raise
    except (KernelError, asyncio.TimeoutError, TimeoutError) as exc:
        await kernel.close()
        why = str(exc) or "it did not answer"
        raise DaemonUnavailable(
            f"the kernel daemon at {address} refused the connection: {why}"
        ) from None
    kernel.id = str(hello.get("kernel_id", ""))
    kernel.server_pid = int(hello.get("pid") or 0)
    kernel._set_sched(hello.get("sched") or {})
    return kernel


class RemoteKernel:
    """The kernel API, served by a daemon. Build it with `connect()`."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.address = channel.address
        self.id = ""
        self.server_pid = 0
        self._capacities: list[DeviceCapacity] = []
        self._queue: list[int] = []
        channel.on_sched = self._set_sched

    # -- life cycle ------------------------------------------------------------------

    @property
    def started(self) -> bool:
        return not self.channel.closed

    async def start(self) -> RemoteKernel:
        return self

    async def close(self) -> None:
        """Hang up. Jobs keep running in the daemon."""
        await self.channel.close()

    async def __aenter__(self) -> RemoteKernel:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def status(self) -> dict[str, Any]:
        """The daemon's pid, uptime, job counts by state and number of clients."""
        result: dict[str, Any] = await self.channel.call("status")
        return result

    async def stop(self, timeout: float | None = None, wait: bool = True) -> None:
        """Stop the daemon gracefully; with `wait`, return once it has hung up."""
        await self.channel.call("stop", timeout=timeout)
        if wait:
            await self.channel.wait_closed()

    # -- the kernel API --------------------------------------------------------------

    async def submit(self, spec: JobSpec) -> Process:
        return Process.from_json(await self.channel.call("submit", spec=spec_to_json(spec)))

    async def explain(self, spec: JobSpec) -> Plan:
        return plan_from_json(await self.channel.call("explain", spec=spec_to_json(spec)))

    async def kill(self, pid: int, reason: str = "killed") -> Process:
        return Process.from_json(await self.channel.call("kill", pid=pid, reason=reason))

    async def pause(self, pid: int) -> Process:
        return Process.from_json(await self.channel.call("pause", pid=pid))

    async def resume(self, pid: int) -> Process:
        return Process.from_json(await self.channel.call("resume", pid=pid))

    async def restart(self, pid: int, session: str | None = None) -> Process:
        return Process.from_json(await self.channel.call("restart", pid=pid, session=session))

    async def renice(self, pid: int, priority: int) -> Process:
        return Process.from_json(await self.channel.call("renice", pid=pid, priority=priority))

    async def wait(self, pids: Iterable[int], timeout: float | None = None) -> list[Process]:
        """Wait until every job given has finished; asyncio.TimeoutError after `timeout`."""
        found = await self.channel.call("wait", pids=[int(p) for p in pids], timeout=timeout)
        return [Process.from_json(p) for p in found]

    async def get(self, pid: int) -> Process:
        return Process.from_json(await self.channel.call("get", pid=pid))

    def subscribe(
        self, pids: Iterable[int] | None = None, types: Iterable[EventType] | None = None
    ) -> Subscription:
        return self.channel.subscribe(pids, types)

    async def devices(self) -> list[DeviceSnapshot]:
        return [DeviceSnapshot.from_json(d) for d in await self.channel.call("devices")]

    async def resident(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.channel.call("resident")
        return result

    async def kind_names(self) -> list[str]:
        result: list[str] = await self.channel.call("kind_names")
        return result

    def capacities(self) -> list[DeviceCapacity]:
        """Device reservations as last pushed by the daemon (see `refresh`)."""
        return [
            DeviceCapacity(c.id, c.mem_budget, c.slots, c.mem_reserved, c.slots_used)
            for c in self._capacities
        ]

    def queue_order(self) -> list[int]:
        """Waiting pids in scheduling order, as last pushed by the daemon."""
        return list(self._queue)

    async def refresh(self) -> None:
        """Read the scheduler state now instead of waiting for the next push."""
        caps, queue = await asyncio.gather(
            self.channel.call("capacities"), self.channel.call("queue_order")
        )
        self._set_sched({"capacities": caps, "queue": queue})

    def _set_sched(self, sched: dict[str, Any]) -> None:
        try:
            self._capacities = [capacity_from_json(c) for c in sched.get("capacities", [])]
            self._queue = [int(p) for p in sched.get("queue", [])]
        except (KeyError, TypeError, ValueError):
            pass  # a malformed push leaves the last good state

    async def output(self, pid: int) -> str:
        return str(await self.channel.call("output", pid=pid))

    async def flush(self) -> None:
        await self.channel.call("flush")

    async def list(
        self,
        states: Iterable[JobState] | None = None,
        device: str | None = None,
        include_finished: bool = False,
        session: str | None = None,
    ) -> list[Process]:
        found = await self.channel.call(
            "list",
            states=None if states is None else [JobState(s).value for s in states],
            device=device,
            include_finished=include_finished,
            session=session,
        )
        return [Process.from_json(p) for p in found]
