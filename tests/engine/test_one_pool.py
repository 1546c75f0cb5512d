"""One model pool for every backend, with the real smollm2 on its default backend.

On the CPU with llama-cpp-python installed a pulled smollm2 runs on llama.cpp: after a
generate, `free --json` must list it with its backend and memory, `unload` must free it
(in a model worker, the worker's memory goes back), and `load` + `generate` must keep
one copy. Both with model work in kernel threads and in model worker processes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from llmsh.engine.registry import LLAMA_CPP, llama_cpp_installed
from llmsh.kernel import KernelConfig
from llmsh.models import kinds
from llmsh.runtime import make_kernel
from llmsh.shell.session import Shell
from tests.shell.test_interpreter import make_shell, sh

pytestmark = [
    pytest.mark.real_model,
    pytest.mark.skipif(not llama_cpp_installed(), reason="llama-cpp-python not installed"),
]
MiB = 2**20


@pytest.fixture(params=["inline", "process"])
async def shell(
    request: pytest.FixtureRequest, real_env: Path, tmp_path: Path
) -> AsyncIterator[tuple[Shell, str]]:
    mode = str(request.param)
    config = KernelConfig(state_dir=tmp_path / "state", nvml=None, executor=mode)
    kernel = make_kernel(config)  # owns its runtime: closing it ends its workers
    await kernel.start()
    yield make_shell(kernel), mode
    await kernel.close()
    if kinds._POOL is not None:
        kinds._POOL.clear()


async def models(shell: Shell) -> list[dict[str, Any]]:
    result = await sh(shell, "free --json")
    assert result.status == 0, result.err
    rows: list[dict[str, Any]] = json.loads(result.out)["models"]
    return rows


async def ok(shell: Shell, line: str) -> str:
    result = await sh(shell, line)
    assert result.status == 0, result.err
    return result.out


def rss_after_exit(pid: int) -> int:
    """The worker's RSS once it has settled: 0 when unloading closed it."""
    try:
        proc = psutil.Process(pid)
        gone, _ = psutil.wait_procs([proc], timeout=30)
        return 0 if gone else int(proc.memory_info().rss)
    except psutil.NoSuchProcess:
        return 0


async def test_generate_free_unload_and_load_keep_one_copy(shell: tuple[Shell, str]) -> None:
    sh_, mode = shell
    await ok(sh_, 'generate "hi" --max-tokens 4')
    [row] = await models(sh_)
    assert (row["name"], row["backend"], row["device"]) == ("smollm2", LLAMA_CPP, "cpu")
    assert row["nbytes"] > 100 * MiB and row["refs"] == 0 and not row["pinned"]
    assert "llama.cpp" in await ok(sh_, "free")  # the table names the backend too
    worker = int(row["worker_pid"]) if mode == "process" else 0
    before = psutil.Process(worker).memory_info().rss if worker else 0

    assert "smollm2 released on cpu" in await ok(sh_, "unload smollm2")
    assert await models(sh_) == []
    if worker:  # the worker held the weights: its memory goes back to the system
        assert before - rss_after_exit(worker) > row["nbytes"] // 2

    out = await ok(sh_, "load smollm2")
    assert "with llama.cpp" in out  # what generation will use, not the torch weights
    await ok(sh_, 'generate "hi" --max-tokens 4')
    [row] = await models(sh_)  # one copy: the pinned one served the generate
    assert (row["name"], row["backend"], row["pinned"]) == ("smollm2", LLAMA_CPP, True)
    await ok(sh_, "unload smollm2")
    assert await models(sh_) == []
