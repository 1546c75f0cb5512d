"""Kernel settings, with the defaults a single-user machine wants."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .devices import NA, DeviceSnapshot
from .scheduler import DeviceCapacity

EXECUTOR_ENV = "LLMSH_EXECUTOR"
WORKERS_ENV = "LLMSH_MODEL_WORKERS"  # the older name: "thread" is the inline executor
WORKER_ALIASES = {"thread": "inline"}


def executor_from_environment() -> str:
    """$LLMSH_EXECUTOR, else $LLMSH_MODEL_WORKERS by its older names, else "" (unset)."""
    name = os.environ.get(EXECUTOR_ENV) or os.environ.get(WORKERS_ENV) or ""
    return WORKER_ALIASES.get(name, name)


@dataclass
class KernelConfig:
    state_dir: Path | None = None
    """Where the job store lives; default `llmsh.paths.state_dir()`."""
    cpu_slots: int = 2
    """Jobs that may run on the CPU at once."""
    gpu_slots: int = 4
    """Jobs that may run on each GPU at once."""
    max_queue: int = 1024
    """Queued jobs beyond which submit is refused."""
    aging_seconds: float = 10.0
    """A waiting job gains one priority level per this many seconds."""
    cpu_memory_fraction: float = 0.8
    """Share of RAM that job reservations may take."""
    gpu_memory_fraction: float = 0.92
    """Share of each GPU's memory that job reservations may take."""
    capacities: list[DeviceCapacity] | None = None
    """Fixed device capacities instead of probing the machine (tests, benchmarks)."""
    nvml: Any = "auto"
    """The NVML module to read GPUs with; "auto" loads pynvml, None means no GPUs."""
    kill_grace: float = 1.0
    """Seconds a killed job's worker has to stop before it is waited for harder."""
    history_limit: int = 20000
    """Finished jobs kept in memory; older ones are read back from the store."""
    clock: Callable[[], float] = time.time
    executor: str = field(default_factory=executor_from_environment)
    """Where model jobs run, by executor name (`llmsh.runtime.EXECUTORS`): "process" (model
    worker processes, one per model and device, so a crash in torch or llama.cpp fails only
    that worker's jobs) or "inline" (threads of the kernel process). Empty: $LLMSH_EXECUTOR
    or $LLMSH_MODEL_WORKERS ("thread" meaning inline), else ``[executor] kind`` in
    config.toml, else "process". The kernel never reads it: the runtime builds the
    executor it names."""

    def __post_init__(self) -> None:
        if self.cpu_slots < 1 or self.gpu_slots < 1:
            raise ValueError("slot counts must be at least 1")
        if self.max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        if self.aging_seconds <= 0:
            raise ValueError("aging_seconds must be positive")
        for name in ("cpu_memory_fraction", "gpu_memory_fraction"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in (0, 1]")


def capacities_for(snapshots: list[DeviceSnapshot], config: KernelConfig) -> list[DeviceCapacity]:
    """What the scheduler may hand out on each device: a share of its memory, and slots."""
    caps = []
    for snap in snapshots:
        total = snap.mem_total if snap.mem_total is not NA else 0
        if snap.kind == "cpu":
            caps.append(
                DeviceCapacity("cpu", int(total * config.cpu_memory_fraction), config.cpu_slots)
            )
        else:
            caps.append(
                DeviceCapacity(snap.id, int(total * config.gpu_memory_fraction), config.gpu_slots)
            )
    return caps
