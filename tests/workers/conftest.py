"""Worker fixtures: one home with tiny models for every test here (its environment
picks the workers, so they are reused from test to test), kernels in process mode,
and the process's workers closed when the tests end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from llmsh.kernel import JobKind, JobSpec, JobState, Kernel, KernelConfig
from llmsh.models.kinds import model_runner
from llmsh.runtime import make_kernel
from tests.models.conftest import build_bert, build_llama

TEST_KINDS = ("probe", "crash")


@pytest.fixture(scope="package")
def worker_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from llmsh.models.importer import add_model
    from llmsh.models.store import ModelStore

    home = tmp_path_factory.mktemp("worker-home")
    src = tmp_path_factory.mktemp("worker-models")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LLMSH_HOME", str(home))
        add_model("tiny-llama", build_llama(src / "tiny-llama"), ModelStore())
        add_model("tiny-bert", build_bert(src / "tiny-bert"), ModelStore())
    yield home
    # The workers go with this package's tests: later tests must not see their models.
    from llmsh.workers.manager import existing_manager

    manager = existing_manager()
    if manager is not None:
        manager.close()


@pytest.fixture(autouse=True)
def llmsh_home(worker_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Overrides the suite's fresh home per test: these tests share one, and its workers."""
    monkeypatch.setenv("LLMSH_HOME", str(worker_home))
    monkeypatch.setenv("LLMSH_MODEL_WORKERS", "process")
    return worker_home


def probe_kinds() -> list[JobKind]:
    return [
        JobKind(name, model_runner(name, f"tests.workers.jobs:{name}", default="tiny-llama"),
                devices=("cpu",), loads_model=True)
        for name in TEST_KINDS
    ]  # fmt: skip


def new_kernel(state: Path, mode: str = "process") -> Kernel:
    config = KernelConfig(state_dir=state, nvml=None, cpu_slots=4, model_workers=mode)
    kernel = make_kernel(config)
    for kind in probe_kinds():
        kernel.kinds.register(kind)
    return kernel


@pytest.fixture
async def kernel(tmp_path: Path) -> AsyncIterator[Kernel]:
    k = new_kernel(tmp_path / "state")
    await k.start()
    yield k
    await k.close()


def generate(prompt: str, model: str = "tiny-llama", **args: object) -> JobSpec:
    return JobSpec(
        "generate", ("generate", prompt),
        {"prompt": prompt, "model": model, "temperature": 0, **args}, device="cpu",
    )  # fmt: skip


def probe(**args: object) -> JobSpec:
    return JobSpec("probe", ("probe",), dict(args), device="cpu")


async def until(kernel: Any, pid: int, test: Any, timeout: float = 120.0) -> Any:
    """Poll job `pid` until `test(proc)` holds; fails if it ends first or time runs out."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        proc = await kernel.get(pid)
        if test(proc):
            return proc
        assert not proc.finished, f"job {pid} ended first: {proc.state.value} {proc.reason}"
        assert asyncio.get_running_loop().time() < deadline, f"job {pid} never got there: {proc}"
        await asyncio.sleep(0.02)


def running(proc: Any) -> bool:
    return proc.state is JobState.RUNNING and proc.progress.done >= 2


def reaped(pid: int) -> bool:
    """The process is gone and waited for: not even a zombie is left."""
    return not psutil.pid_exists(pid)


async def eventually(test: Any, timeout: float = 60.0) -> None:
    """Wait until `test()` holds (things another process or thread does)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not test():
        assert asyncio.get_running_loop().time() < deadline, "it never happened"
        await asyncio.sleep(0.05)
