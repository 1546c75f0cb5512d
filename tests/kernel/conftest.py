"""Kernel fixtures: temporary stores, fixed device capacities, and a job kind the test drives."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from llmsh.kernel import DeviceCapacity, JobKind, Kernel, KernelConfig, KindRegistry
from llmsh.kernel.builtin_kinds import register_builtin_kinds
from llmsh.kernel.context import JobContext

GiB = 1024**3


class Gates:
    """A `gated` job kind that runs until the test opens its gate (or fails it)."""

    def __init__(self) -> None:
        self.events: dict[int, asyncio.Event] = {}
        self.outcome: dict[int, int | Exception] = {}

    def _event(self, pid: int) -> asyncio.Event:
        return self.events.setdefault(pid, asyncio.Event())

    def complete(self, pid: int, outcome: int | Exception = 0) -> None:
        self.outcome[pid] = outcome
        self._event(pid).set()

    async def run(self, ctx: JobContext) -> int:
        await self._event(ctx.pid).wait()
        await ctx.checkpoint()
        outcome = self.outcome.get(ctx.pid, 0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def registry_with(gates: Gates) -> KindRegistry:
    kinds = KindRegistry()
    register_builtin_kinds(kinds)
    kinds.register(
        JobKind(
            "gated",
            gates.run,
            estimate=lambda s: int(s.args.get("mem", 0)),
            devices=("cpu", "cuda"),
        )
    )
    return kinds


def caps(
    cpu_gib: float = 16, gpus: tuple[float, ...] = (), cpu_slots: int = 2, gpu_slots: int = 2
) -> list[DeviceCapacity]:
    out = [DeviceCapacity("cpu", int(cpu_gib * GiB), cpu_slots)]
    out += [DeviceCapacity(f"cuda:{i}", int(g * GiB), gpu_slots) for i, g in enumerate(gpus)]
    return out


@pytest.fixture
def gates() -> Gates:
    return Gates()


@pytest.fixture
async def kernel(tmp_path: Path, gates: Gates) -> AsyncIterator[Kernel]:
    k = Kernel(
        KernelConfig(state_dir=tmp_path, nvml=None, capacities=caps()), kinds=registry_with(gates)
    )
    await k.start()
    yield k
    await k.close()


async def settle(n: int = 3) -> None:
    for _ in range(n):
        await asyncio.sleep(0)
