"""CPU and GPU discovery and point-in-time snapshots.

A metric that cannot be read is the explicit `NA` value, never an exception, so
monitors render "N/A" instead of failing (nvitop does the same). No NVIDIA driver
simply means no GPUs.
"""

from __future__ import annotations

import enum
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, TypeVar

import psutil


class _NotAvailable(enum.Enum):
    NA = "N/A"

    def __str__(self) -> str:
        return "N/A"

    def __bool__(self) -> bool:
        return False


NA = _NotAvailable.NA
Metric = float | _NotAvailable
IntMetric = int | _NotAvailable

T = TypeVar("T")


def _read(fn: Callable[[], T]) -> T | _NotAvailable:
    try:
        return fn()
    except Exception:  # any driver error means "not available", by design
        return NA


def metric_json(value: Any) -> Any:
    return None if value is NA else value


@dataclass(frozen=True)
class DeviceSnapshot:
    id: str  # "cpu" or "cuda:N"
    kind: str  # "cpu" or "cuda"
    name: str
    utilization: Metric  # percent
    mem_used: IntMetric  # bytes
    mem_total: IntMetric
    temperature: Metric = NA  # Celsius
    power: Metric = NA  # watts
    power_limit: Metric = NA
    per_core: tuple[float, ...] = ()
    taken_at: float = field(default_factory=time.time)

    @property
    def mem_free(self) -> IntMetric:
        if self.mem_used is NA or self.mem_total is NA:
            return NA
        return self.mem_total - self.mem_used

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "utilization": metric_json(self.utilization),
            "mem_used": metric_json(self.mem_used),
            "mem_total": metric_json(self.mem_total),
            "temperature": metric_json(self.temperature),
            "power": metric_json(self.power),
            "power_limit": metric_json(self.power_limit),
            "per_core": list(self.per_core),
            "taken_at": self.taken_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeviceSnapshot:
        def m(key: str) -> Any:
            value = data.get(key)
            return NA if value is None else value

        return cls(
            id=data["id"],
            kind=data["kind"],
            name=data.get("name", ""),
            utilization=m("utilization"),
            mem_used=m("mem_used"),
            mem_total=m("mem_total"),
            temperature=m("temperature"),
            power=m("power"),
            power_limit=m("power_limit"),
            per_core=tuple(data.get("per_core") or ()),
            taken_at=data.get("taken_at", 0.0),
        )


def cpu_snapshot() -> DeviceSnapshot:
    mem = psutil.virtual_memory()
    per_core = _read(lambda: tuple(psutil.cpu_percent(percpu=True)))
    cores: tuple[float, ...] = () if per_core is NA else per_core
    util: Metric = sum(cores) / len(cores) if cores else NA
    temp = _read(_cpu_temperature)
    return DeviceSnapshot(
        id="cpu",
        kind="cpu",
        name=_cpu_name(),
        utilization=util,
        mem_used=int(mem.total - mem.available),
        mem_total=int(mem.total),
        temperature=temp,
        per_core=cores,
    )


def _cpu_temperature() -> float:
    temps = psutil.sensors_temperatures()  # type: ignore[attr-defined]
    for entries in temps.values():
        if entries:
            return float(entries[0].current)
    raise LookupError("no sensor")


@functools.cache  # the machine's CPU does not change while the process runs
def _cpu_name() -> str:
    name = f"CPU ({psutil.cpu_count() or '?'} cores)"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return name


def load_nvml() -> ModuleType | None:
    """The real NVML binding, initialised, or None when there is no driver."""
    try:
        import pynvml  # from nvidia-ml-py
    except Exception:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:
        return None
    module: ModuleType = pynvml
    return module


def gpu_snapshots(nvml: Any) -> list[DeviceSnapshot]:
    if nvml is None:
        return []
    count = _read(nvml.nvmlDeviceGetCount)
    if count is NA:
        return []
    snaps = []
    for index in range(int(count)):
        handle = _read(functools.partial(nvml.nvmlDeviceGetHandleByIndex, index))
        if handle is not NA:
            snaps.append(_gpu_snapshot(nvml, index, handle))
    return snaps


def _gpu_snapshot(nvml: Any, index: int, handle: Any) -> DeviceSnapshot:
    name = _read(lambda: nvml.nvmlDeviceGetName(handle))
    if isinstance(name, bytes):
        name = name.decode()
    mem = _read(lambda: nvml.nvmlDeviceGetMemoryInfo(handle))
    return DeviceSnapshot(
        id=f"cuda:{index}",
        kind="cuda",
        name=str(name) if name is not NA else f"GPU {index}",
        utilization=_read(lambda: float(nvml.nvmlDeviceGetUtilizationRates(handle).gpu)),
        mem_used=NA if mem is NA else int(mem.used),
        mem_total=NA if mem is NA else int(mem.total),
        temperature=_read(lambda: float(nvml.nvmlDeviceGetTemperature(handle, 0))),
        power=_read(lambda: nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0),
        power_limit=_read(lambda: nvml.nvmlDeviceGetPowerManagementLimit(handle) / 1000.0),
    )


class DeviceProbe:
    """Snapshots of every device; the NVML module is injectable for tests."""

    def __init__(self, nvml: Any = "auto") -> None:
        self._nvml = load_nvml() if nvml == "auto" else nvml

    def snapshot(self) -> list[DeviceSnapshot]:
        return [cpu_snapshot(), *gpu_snapshots(self._nvml)]
