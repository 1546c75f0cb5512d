"""Fixtures for the `top` tests: deterministic fake data and real kernels with sleep jobs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from llmsh.kernel import JobSpec, Kernel, KernelConfig
from llmsh.tui.app import TopApp
from llmsh.tui.model import History
from llmsh.tui.source import KernelSource

from .fake import FakeKernel
from .samples import sample_kernel

SIZE = (120, 40)


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Clock times in the detail pane do not depend on the machine's zone."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def seeded_history() -> History:
    history = History()
    for i in range(90):
        history.cpu.append(20 + (i * 7) % 50)
        history.gpu.append(40 + (i * 13) % 55)
        history.mem.append(30 + i / 10)
        history.tokens.append(35 + (i * 5) % 17)
    return history


def fake_app(gpus: int = 2, interval: float = 3600.0) -> tuple[TopApp, FakeKernel]:
    """The app over fixed jobs and devices; a long interval keeps the screen still."""
    kernel = sample_kernel(gpus)
    source = KernelSource(kernel, label="fake kernel", clock=kernel.clock)
    return TopApp(source, interval=interval, history=seeded_history()), kernel


@pytest.fixture
def make_fake_app() -> Callable[..., tuple[TopApp, FakeKernel]]:
    return fake_app


async def until(pilot: object, condition: Callable[[], object], timeout: float = 5.0) -> None:
    """Let the app run until `condition()` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.02)  # type: ignore[attr-defined]


@pytest.fixture
async def kernel(tmp_path: Path) -> AsyncIterator[Kernel]:
    """A real kernel, no GPUs, with three sleep jobs: two running, one queued."""
    async with Kernel(KernelConfig(state_dir=tmp_path, nvml=None)) as k:
        for _ in range(3):
            await k.submit(JobSpec("sleep", ("sleep", "30"), {"seconds": 30}, session="t"))
        await asyncio.sleep(0)
        yield k
