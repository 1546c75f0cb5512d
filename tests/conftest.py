"""Shared fixtures: every test gets its own LLMSH_HOME; `kernel` is a started kernel."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from llmsh.kernel import Kernel, KernelConfig

# torch's OpenMP workers must sleep, not spin, while they wait: on 2 shared cores
# spinning threads starve each other (set before any test imports torch).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# No test may reach a model hub: the machines have none, and peft would try.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Model jobs run in kernel threads here: every test has a home of its own, and a model
# worker process (a torch import) per test would cost minutes. tests/workers and
# tests/daemon/test_worker_crash.py choose process mode themselves; run any other
# directory with LLMSH_MODEL_WORKERS=process to put it through model workers.
os.environ.setdefault("LLMSH_MODEL_WORKERS", "thread")


@pytest.fixture(autouse=True)
def llmsh_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("llmsh-home")
    monkeypatch.setenv("LLMSH_HOME", str(home))
    return home


@pytest.fixture
async def kernel(tmp_path: Path) -> AsyncIterator[Kernel]:
    k = Kernel(KernelConfig(state_dir=tmp_path / "state", nvml=None))
    await k.start()
    yield k
    await k.close()
