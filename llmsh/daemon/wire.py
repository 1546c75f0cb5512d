"""Kernel values to and from their JSON form on the wire.

`Process` and `DeviceSnapshot` bring their own `to_json`/`from_json`; this module adds
job specs, events, plans and device capacities. Decoders of what clients send
(`spec_from_json`, the `arg_*` readers) check types and raise `InvalidRequest` with a
one-line reason, so a malformed request is refused like any other bad request.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ..kernel import (
    DeviceCapacity,
    Event,
    EventType,
    InvalidRequest,
    JobSpec,
    JobState,
    Plan,
    Process,
)

T = TypeVar("T")
_MISSING: Any = object()
_INT_LIMIT = 1 << 63  # what SQLite and the process table can hold


def _type_name(types: type | tuple[type, ...]) -> str:
    names = {
        int: "an integer",
        float: "a number",
        str: "a string",
        bool: "true or false",
        list: "a list",
        dict: "an object",
    }
    seq = types if isinstance(types, tuple) else (types,)
    return " or ".join(names.get(t, t.__name__) for t in seq)


def arg(
    args: dict[str, Any], key: str, types: type | tuple[type, ...], default: Any = _MISSING
) -> Any:
    """args[key] checked against `types` (None allowed only as an explicit default)."""
    if key not in args or (args[key] is None and default is None):
        if default is _MISSING:
            raise InvalidRequest(f"missing argument {key!r}")
        return default
    value = args[key]
    seq = types if isinstance(types, tuple) else (types,)
    if isinstance(value, bool) and bool not in seq:
        raise InvalidRequest(f"argument {key!r} must be {_type_name(types)}")
    if float in seq and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, seq):
        raise InvalidRequest(f"argument {key!r} must be {_type_name(types)}")
    if isinstance(value, int) and not -_INT_LIMIT <= value < _INT_LIMIT:
        raise InvalidRequest(f"argument {key!r} is out of range")
    return value


def int_list(args: dict[str, Any], key: str, default: Any = _MISSING) -> list[int] | None:
    value = arg(args, key, list, default)
    if value is None:
        return None
    if not all(
        isinstance(v, int) and not isinstance(v, bool) and -_INT_LIMIT <= v < _INT_LIMIT
        for v in value
    ):
        raise InvalidRequest(f"argument {key!r} must be a list of integers")
    return list(value)


def _enum_list(args: dict[str, Any], key: str, enum: type[T]) -> list[T] | None:
    value = arg(args, key, list, None)
    if value is None:
        return None
    try:
        return [enum(v) for v in value]  # type: ignore[call-arg]
    except (ValueError, TypeError):
        allowed = ", ".join(e.value for e in enum)  # type: ignore[attr-defined]
        raise InvalidRequest(f"argument {key!r} must list values among: {allowed}") from None


def states_arg(args: dict[str, Any]) -> list[JobState] | None:
    return _enum_list(args, "states", JobState)


def types_arg(args: dict[str, Any]) -> list[EventType] | None:
    return _enum_list(args, "types", EventType)


def spec_to_json(spec: JobSpec) -> dict[str, Any]:
    return {
        "kind": spec.kind,
        "argv": list(spec.argv),
        "args": spec.args,
        "device": spec.device,
        "priority": spec.priority,
        "session": spec.session,
        "parent": spec.parent,
    }


def spec_from_json(data: Any) -> JobSpec:
    if not isinstance(data, dict):
        raise InvalidRequest("argument 'spec' must be an object")
    argv = arg(data, "argv", list, [])
    if not all(isinstance(a, str) for a in argv):
        raise InvalidRequest("argument 'argv' must be a list of strings")
    return JobSpec(
        kind=arg(data, "kind", str),
        argv=tuple(argv),
        args=dict(arg(data, "args", dict, {})),
        device=arg(data, "device", str, "auto"),
        priority=arg(data, "priority", int, 0),
        session=arg(data, "session", str, ""),
        parent=arg(data, "parent", int, None),
    )


def event_to_json(event: Event) -> dict[str, Any]:
    return {
        "type": event.type.value,
        "pid": event.pid,
        "process": event.process.to_json() if event.process is not None else None,
        "text": event.text,
        "seq": event.seq,
    }


def event_from_json(data: dict[str, Any]) -> Event:
    proc = data.get("process")
    return Event(
        EventType(data["type"]),
        int(data["pid"]),
        Process.from_json(proc) if proc else None,
        data.get("text") or "",
        int(data.get("seq") or 0),
    )


def plan_to_json(plan: Plan) -> dict[str, Any]:
    return {
        "kind": plan.kind,
        "mem_estimate": plan.mem_estimate,
        "candidates": list(plan.candidates),
        "device_now": plan.device_now,
        "fits": plan.fits,
        "reason": plan.reason,
        "jobs_ahead": plan.jobs_ahead,
    }


def plan_from_json(data: dict[str, Any]) -> Plan:
    return Plan(
        data["kind"],
        int(data["mem_estimate"]),
        tuple(data["candidates"]),
        data.get("device_now"),
        bool(data["fits"]),
        data.get("reason") or "",
        int(data.get("jobs_ahead") or 0),
    )


def capacity_to_json(cap: DeviceCapacity) -> dict[str, Any]:
    return {
        "id": cap.id,
        "mem_budget": cap.mem_budget,
        "slots": cap.slots,
        "mem_reserved": cap.mem_reserved,
        "slots_used": cap.slots_used,
    }


def capacity_from_json(data: dict[str, Any]) -> DeviceCapacity:
    return DeviceCapacity(
        data["id"],
        int(data["mem_budget"]),
        int(data["slots"]),
        int(data.get("mem_reserved") or 0),
        int(data.get("slots_used") or 0),
    )
