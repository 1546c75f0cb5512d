"""Worker fixtures: one home with tiny models for every test here, one runtime on it
whose process executor's workers are reused from test to test (and closed when the
tests end), and kernels on that runtime or, inline, on runtimes of their own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from llmsh.kernel import JobKind, JobSpec, JobState, Kernel, KernelConfig
from llmsh.models.kinds import model_runner
from llmsh.runtime import Runtime, make_kernel, make_runtime
from tests.models.conftest import build_bert, build_llama

TEST_KINDS = ("probe", "crash", "echo")


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


@pytest.fixture(scope="package")
def worker_runtime(worker_home: Path) -> Iterator[Runtime]:
    """The process executor's runtime on the shared home (its workers start with it)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LLMSH_HOME", str(worker_home))
        runtime = make_runtime(KernelConfig(executor="process", nvml=None))
    for kind in probe_kinds():
        runtime.kinds.register(kind)
    yield runtime
    # The workers go with this package's tests: later tests must not see their models.
    runtime.close()


@pytest.fixture(autouse=True)
def llmsh_home(worker_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Overrides the suite's fresh home per test: these tests share one, and its workers."""
    monkeypatch.setenv("LLMSH_HOME", str(worker_home))
    return worker_home


def probe_kinds() -> list[JobKind]:
    return [
        JobKind(name, model_runner(name, f"tests.workers.jobs:{name}", default="tiny-llama"),
                devices=("cpu",), loads_model=True)
        for name in TEST_KINDS
    ]  # fmt: skip


KernelMaker = Callable[..., Kernel]


@pytest.fixture
def new_kernel(worker_runtime: Runtime) -> Iterator[KernelMaker]:
    """`new_kernel(state, executor="process")`: a kernel on the shared runtime, or for
    "inline" one on a runtime of its own (the process's pool is emptied after the test)."""
    inline = False

    def make(state: Path, executor: str = "process") -> Kernel:
        nonlocal inline
        config = KernelConfig(state_dir=state, nvml=None, cpu_slots=4, executor=executor)
        if executor == "process":
            return worker_runtime.kernel(config)
        inline = True
        kernel = make_kernel(config)
        for kind in probe_kinds():
            kernel.kinds.register(kind)
        return kernel

    yield make
    if inline:
        from llmsh.models import kinds as model_kinds

        if model_kinds._POOL is not None:
            model_kinds._POOL.clear()


@pytest.fixture
async def kernel(tmp_path: Path, new_kernel: KernelMaker) -> AsyncIterator[Kernel]:
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
