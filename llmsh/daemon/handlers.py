"""The kernel API ops: check a request's arguments, call the kernel, shape the result.

Each handler takes the kernel and the request's `args` and returns a JSON-ready value;
refusals are `KernelError`s (bad arguments are `InvalidRequest`). Connection-level ops
(hello, subscribe, unsubscribe, cancel, status, stop) live in `server.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ..kernel import InvalidRequest, Kernel
from .wire import (
    arg,
    capacity_to_json,
    int_list,
    plan_to_json,
    spec_from_json,
    states_arg,
)

Handler = Callable[[Kernel, dict[str, Any]], Awaitable[Any]]

# Ops refused once the daemon is stopping: they would start or restart work.
STARTS_WORK = frozenset({"submit", "resume", "restart"})


async def op_submit(kernel: Kernel, args: dict[str, Any]) -> Any:
    return (await kernel.submit(spec_from_json(arg(args, "spec", dict)))).to_json()


async def op_explain(kernel: Kernel, args: dict[str, Any]) -> Any:
    return plan_to_json(await kernel.explain(spec_from_json(arg(args, "spec", dict))))


async def op_kill(kernel: Kernel, args: dict[str, Any]) -> Any:
    reason = arg(args, "reason", str, "killed")
    return (await kernel.kill(arg(args, "pid", int), reason)).to_json()


async def op_pause(kernel: Kernel, args: dict[str, Any]) -> Any:
    return (await kernel.pause(arg(args, "pid", int))).to_json()


async def op_resume(kernel: Kernel, args: dict[str, Any]) -> Any:
    return (await kernel.resume(arg(args, "pid", int))).to_json()


async def op_restart(kernel: Kernel, args: dict[str, Any]) -> Any:
    session = arg(args, "session", str, None)
    return (await kernel.restart(arg(args, "pid", int), session)).to_json()


async def op_resident(kernel: Kernel, args: dict[str, Any]) -> Any:
    return await kernel.resident()


async def op_kind_names(kernel: Kernel, args: dict[str, Any]) -> Any:
    return await kernel.kind_names()


async def op_renice(kernel: Kernel, args: dict[str, Any]) -> Any:
    return (await kernel.renice(arg(args, "pid", int), arg(args, "priority", int))).to_json()


async def op_wait(kernel: Kernel, args: dict[str, Any]) -> Any:
    pids = int_list(args, "pids")
    timeout = arg(args, "timeout", float, None)
    if timeout is not None and not timeout >= 0:
        raise InvalidRequest("argument 'timeout' must be a number >= 0")
    return [p.to_json() for p in await kernel.wait(pids or [], timeout)]


async def op_get(kernel: Kernel, args: dict[str, Any]) -> Any:
    return (await kernel.get(arg(args, "pid", int))).to_json()


async def op_list(kernel: Kernel, args: dict[str, Any]) -> Any:
    procs = await kernel.list(
        states=states_arg(args),
        device=arg(args, "device", str, None),
        include_finished=arg(args, "include_finished", bool, False),
        session=arg(args, "session", str, None),
    )
    return [p.to_json() for p in procs]


async def op_devices(kernel: Kernel, args: dict[str, Any]) -> Any:
    return [d.to_json() for d in await kernel.devices()]


async def op_output(kernel: Kernel, args: dict[str, Any]) -> Any:
    return await kernel.output(arg(args, "pid", int))


async def op_capacities(kernel: Kernel, args: dict[str, Any]) -> Any:
    return [capacity_to_json(c) for c in kernel.capacities()]


async def op_queue_order(kernel: Kernel, args: dict[str, Any]) -> Any:
    return kernel.queue_order()


async def op_flush(kernel: Kernel, args: dict[str, Any]) -> Any:
    await kernel.flush()
    return None


def sched_state(kernel: Kernel) -> dict[str, Any]:
    """What clients cache for the sync `capacities()` and `queue_order()`."""
    return {
        "capacities": [capacity_to_json(c) for c in kernel.capacities()],
        "queue": kernel.queue_order(),
    }


HANDLERS: dict[str, Handler] = {
    "submit": op_submit,
    "explain": op_explain,
    "kill": op_kill,
    "pause": op_pause,
    "resume": op_resume,
    "renice": op_renice,
    "restart": op_restart,
    "resident": op_resident,
    "kind_names": op_kind_names,
    "wait": op_wait,
    "get": op_get,
    "list": op_list,
    "devices": op_devices,
    "output": op_output,
    "capacities": op_capacities,
    "queue_order": op_queue_order,
    "flush": op_flush,
}
