"""Backend, shape and estimate resolved once at submit; weights reserved once per model.

Tiny random-weight models through a real kernel (model work in threads)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from llmsh.engine import registry
from llmsh.kernel import JobSpec, JobState, Kernel, KernelConfig, KernelError
from llmsh.models import estimate, kinds
from llmsh.models.errors import ModelError
from llmsh.models.resolve import ResolvedModel, resolve_model
from llmsh.models.store import ModelStore
from llmsh.runtime import make_kernel


@pytest.fixture
async def kernel(store: ModelStore, tmp_path: Path) -> AsyncIterator[Kernel]:
    k = make_kernel(KernelConfig(state_dir=tmp_path / "state", nvml=None))
    await k.start()
    yield k
    await k.close()
    if kinds._POOL is not None:
        kinds._POOL.clear()


def job(kind: str, **args: Any) -> JobSpec:
    return JobSpec(kind, (kind,), {"model": "tiny-llama", **args}, device="cpu")


def generate(prompt: str) -> JobSpec:
    return job("generate", prompt=prompt, temperature=0, max_tokens=4)


async def run(kernel: Kernel, spec: JobSpec) -> Any:
    proc = await kernel.submit(spec)
    [done] = await kernel.wait([proc.pid], timeout=120)
    assert done.state is JobState.DONE, done.reason
    return proc, done


async def test_resolved_once_per_job_in_a_thread_not_on_the_loop(
    kernel: Kernel, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, bool]] = []

    def counted(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls.append((name, threading.current_thread() is threading.main_thread()))
            return fn(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(estimate, "model_shape", counted("shape", estimate.model_shape))
    monkeypatch.setattr(estimate, "estimate_job", counted("estimate", estimate.estimate_job))
    for name in ("configured_backend", "choose_backend"):
        monkeypatch.setattr(registry, name, counted(name, getattr(registry, name)))
    proc, _ = await run(kernel, generate("Hello"))
    assert sorted(name for name, _ in calls) == [
        "choose_backend", "configured_backend", "estimate", "shape",
    ]  # fmt: skip
    assert not any(on_loop for _, on_loop in calls)  # the loop runs in the main thread
    res = ResolvedModel.from_json(proc.args["resolved"])  # carried on the job
    assert res.model == "tiny-llama" and res.backends == {"cpu": "torch"}


async def test_a_resident_models_weights_are_reserved_once(kernel: Kernel) -> None:
    cold, done = await run(kernel, generate("Hello"))
    res = ResolvedModel.from_json(cold.args["resolved"])
    assert res.resident > 0 and res.extra > 0
    assert cold.mem_estimate == res.resident + res.extra  # it loads the model
    assert done.mem_measured == res.extra  # what it held itself: the weights are the pool's
    [row] = await kernel.resident()
    assert (row["name"], row["backend"], row["refs"]) == ("tiny-llama", "torch", 0)
    warm, done = await run(kernel, generate("Hello"))
    assert warm.args["resolved"] == cold.args["resolved"]
    assert warm.mem_estimate == res.extra and done.mem_measured == res.extra


async def test_load_then_generate_keeps_one_copy_and_unload_frees_it(kernel: Kernel) -> None:
    load, _ = await run(kernel, job("load"))
    assert "tiny-llama loaded on cpu with torch" in await kernel.output(load.pid)
    await run(kernel, generate("Hello"))
    [row] = await kernel.resident()
    assert row["pinned"] and row["backend"] == "torch" and row["nbytes"] > 0
    unload, _ = await run(kernel, job("unload"))
    assert "tiny-llama released on cpu" in await kernel.output(unload.pid)
    assert await kernel.resident() == []


async def test_resolution_errors_are_refused_at_submit(kernel: Kernel) -> None:
    with pytest.raises(KernelError, match="cannot use llama.cpp for tiny-llama"):
        await kernel.submit(job("generate", prompt="x", backend="llama.cpp"))
    with pytest.raises(KernelError, match="unknown backend 'vllm'"):
        await kernel.submit(job("generate", prompt="x", backend="vllm"))


def test_a_backend_per_device_type(store: ModelStore, monkeypatch: pytest.MonkeyPatch) -> None:
    def reason(name: str, device: str) -> str:  # as with a GGUF kept and llama.cpp installed
        return "" if device == "cpu" else "the llama.cpp backend runs on the CPU only"

    monkeypatch.setattr(registry, "llama_cpp_reason", reason)
    res = resolve_model("generate", {"model": "tiny-llama", "backend": "llama.cpp"}, "auto")
    assert res.backends == {"cpu": "llama.cpp"} and res.backend_for("cpu") == "llama.cpp"
    with pytest.raises(ModelError, match="CPU only"):
        res.backend_for("cuda:0")
    embed = resolve_model("embed", {"model": "tiny-bert", "text": "hi"}, "auto")
    assert embed.backends == {"cpu": "torch", "cuda": "torch"} and embed.resident > 0
    tune = resolve_model("finetune", {"model": "tiny-llama"}, "cpu")
    assert tune.resident == 0 and tune.extra > 0  # it trains a copy of its own
