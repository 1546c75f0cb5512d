"""Devices and GPU memory errors; the CUDA tests skip themselves without a GPU."""

from __future__ import annotations

import pytest
import torch

from llmsh.kernel.control import JobFailed, NullControl
from llmsh.models.errors import ModelError
from llmsh.models.jobs import run_job
from llmsh.models.pool import ModelPool
from llmsh.models.runtime import oom_guard, resolve_device
from llmsh.models.store import ModelStore

from .controls import text

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_resolve_device() -> None:
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda:0" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ModelError, match="bad device"):
        resolve_device("tpu")
    with pytest.raises(ModelError, match="no such device cuda:99"):
        resolve_device("cuda:99")


def test_oom_becomes_job_failed() -> None:
    with pytest.raises(JobFailed, match="out of GPU memory on cuda:0") as err:
        with oom_guard("cuda:0"):
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
    assert "\n" not in str(err.value)


@pytest.mark.gpu
@needs_cuda
def test_generate_and_embed_on_gpu(store: ModelStore, pool: ModelPool) -> None:
    ctl = NullControl(device="cuda:0")
    assert (
        run_job(
            "generate",
            {"model": "tiny-llama", "prompt": "Hi", "temperature": 0, "max_tokens": 5},
            ctl,
            pool,
        )
        == 0
    )
    cpu = NullControl()
    run_job(
        "generate",
        {"model": "tiny-llama", "prompt": "Hi", "temperature": 0, "max_tokens": 5},
        cpu,
        pool,
    )
    assert text(ctl) == text(cpu)
    assert {r.device for r in pool.snapshot()} == {"cpu", "cuda:0"}
    ctl = NullControl(device="cuda:0")
    assert run_job("embed", {"model": "tiny-bert", "text": "a cat"}, ctl, pool) == 0


@pytest.mark.gpu
@needs_cuda
def test_real_oom_reports_numbers() -> None:
    free, total = torch.cuda.mem_get_info(0)
    with pytest.raises(JobFailed, match=r"out of GPU memory on cuda:0: .* MiB free of \d+ MiB"):
        with oom_guard("cuda:0"):
            torch.empty(int(total) * 2, dtype=torch.uint8, device="cuda:0")
    torch.cuda.synchronize()
    assert torch.cuda.memory_allocated(0) < free  # the failed allocation left nothing behind


@pytest.mark.gpu
@needs_cuda
def test_finetune_on_gpu(store: ModelStore, pool: ModelPool, tmp_path: object) -> None:
    from pathlib import Path

    data = Path(str(tmp_path)) / "d.jsonl"
    data.write_text('{"text": "The capital of France is Paris."}\n' * 4)
    ctl = NullControl(device="cuda:0")
    args = {"model": "tiny-llama", "data": str(data), "steps": 4, "out": "gpu-ft", "rank": 2}
    assert run_job("finetune", args, ctl, pool) == 0
    assert store.get("gpu-ft").base == "tiny-llama"
