"""View rows: plain, immutable records of what the widgets show.

Built from the kernel's snapshots (`Process`, `DeviceSnapshot`) by the functions
here; a widget never holds a kernel object. `NA` metrics become None.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from llmsh.kernel import NA, DeviceSnapshot, Process

TOKEN_UNITS = frozenset({"tok", "token", "tokens"})


@dataclass(frozen=True)
class DeviceView:
    id: str
    kind: str
    name: str
    util: float | None  # percent; None when unreadable
    mem_used: int | None
    mem_total: int | None
    temperature: float | None = None
    power: float | None = None
    power_limit: float | None = None
    per_core: tuple[float, ...] = ()

    @property
    def mem_fraction(self) -> float | None:
        if self.mem_used is None or not self.mem_total:
            return None
        return self.mem_used / self.mem_total


@dataclass(frozen=True)
class ResidentModel:
    name: str
    device: str
    mem: int | None = None


@dataclass(frozen=True)
class JobView:
    pid: int
    session: str
    state: str
    priority: int
    device: str
    mem: int | None
    mem_estimated: bool
    kind: str
    rate: float | None
    unit: str
    done: float
    total: float | None
    fraction: float | None
    eta: float | None
    elapsed: float | None
    command: str
    queue_pos: int | None
    finished: bool
    created: float = 0.0
    started: float | None = None
    ended: float | None = None
    reason: str = ""
    exit_status: int | None = None
    loss: tuple[tuple[float, float], ...] = ()

    @property
    def tokens_per_s(self) -> float:
        if self.finished or self.unit not in TOKEN_UNITS:
            return 0.0
        return self.rate or 0.0


def _metric(value: Any) -> Any:
    return None if value is NA else value


def device_view(snap: DeviceSnapshot) -> DeviceView:
    return DeviceView(
        id=snap.id,
        kind=snap.kind,
        name=snap.name,
        util=_metric(snap.utilization),
        mem_used=_metric(snap.mem_used),
        mem_total=_metric(snap.mem_total),
        temperature=_metric(snap.temperature),
        power=_metric(snap.power),
        power_limit=_metric(snap.power_limit),
        per_core=tuple(snap.per_core),
    )


def _loss_points(metrics: dict[str, Any]) -> tuple[tuple[float, float], ...]:
    points = metrics.get("loss_history") or ()
    out = []
    for point in points:
        try:
            step, loss = point
            out.append((float(step), float(loss)))
        except (TypeError, ValueError):
            continue
    return tuple(out)


def job_view(proc: Process, now: float, queue_pos: int | None = None) -> JobView:
    prog = proc.progress
    fraction = prog.fraction
    eta = None
    if not proc.finished and prog.total and prog.rate:
        eta = max(0.0, (prog.total - prog.done) / prog.rate)
    elapsed = None if proc.started is None else proc.elapsed(now)
    measured = proc.mem_measured
    return JobView(
        pid=proc.pid,
        session=proc.session,
        state=proc.state.value,
        priority=proc.priority,
        device=proc.device or proc.device_request,
        kind=proc.kind,
        mem=measured if measured is not None else (proc.mem_estimate or None),
        mem_estimated=measured is None,
        rate=prog.rate,
        unit=prog.unit,
        done=prog.done,
        total=prog.total,
        fraction=fraction,
        eta=eta,
        elapsed=elapsed,
        command=proc.command,
        queue_pos=queue_pos,
        finished=proc.finished,
        created=proc.created,
        started=proc.started,
        ended=proc.ended,
        reason=proc.reason,
        exit_status=proc.exit_status,
        loss=_loss_points(proc.metrics),
    )


def resident_models(items: Iterable[Any]) -> list[ResidentModel]:
    """Resident entries (objects or dicts with name, device and mem, mem_bytes or
    nbytes) as view rows."""
    out = []
    for item in items:
        get = item.get if isinstance(item, dict) else (lambda k, o=item: getattr(o, k, None))
        mem = get("mem")
        if mem is None:
            mem = get("mem_bytes")
        if mem is None:
            mem = get("nbytes")
        out.append(
            ResidentModel(
                str(get("name")),
                str(get("device") or "cpu"),
                int(mem) if isinstance(mem, (int, float)) else None,
            )
        )
    return out
