"""Generation jobs through a real kernel share one engine: pause, kill and output per job."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import torch

from llmsh.engine.torch_backend import TorchBackend
from llmsh.kernel import JobSpec, JobState, Kernel, KernelConfig
from llmsh.models import kinds as model_kinds
from llmsh.models.importer import add_model
from llmsh.models.store import ModelStore
from llmsh.runtime import make_kernel

PROMPTS = ["Hello! How are you", "The capital of France", "A cat is a small", "I loved"]


@pytest.fixture
async def kernel(tiny_llama_dir: Path, tmp_path: Path) -> AsyncIterator[Kernel]:
    add_model("tiny-llama", tiny_llama_dir, ModelStore())
    k = make_kernel(KernelConfig(state_dir=tmp_path / "state", nvml=None, cpu_slots=8))
    await k.start()
    yield k
    await k.close()
    if model_kinds._POOL is not None:
        model_kinds._POOL.clear()


@pytest.fixture
def batch_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sizes: list[int] = []
    real = TorchBackend.decode

    def decode(self: TorchBackend, seqs: list[Any]) -> torch.Tensor:
        sizes.append(len(seqs))
        return real(self, seqs)

    monkeypatch.setattr(TorchBackend, "decode", decode)
    return sizes


def spec(prompt: str, tokens: int, **args: Any) -> JobSpec:
    return JobSpec(
        "generate",
        ("generate", prompt),
        {"prompt": prompt, "model": "tiny-llama", "raw": True, "temperature": 0,
         "max_tokens": tokens, "backend": "torch", **args},
    )  # fmt: skip


async def outputs(kernel: Kernel, pids: list[int]) -> list[str]:
    done = await kernel.wait(pids, timeout=120)
    assert all(p.state is JobState.DONE for p in done), [p.reason for p in done]
    return [await kernel.output(pid) for pid in pids]


async def solo_outputs(kernel: Kernel, tokens: int) -> list[str]:
    texts = []
    for prompt in PROMPTS:
        proc = await kernel.submit(spec(prompt, tokens))
        texts += await outputs(kernel, [proc.pid])
    return texts


async def test_concurrent_jobs_share_one_batch(kernel: Kernel, batch_sizes: list[int]) -> None:
    alone = await solo_outputs(kernel, 24)
    assert max(batch_sizes) == 1
    pids = [(await kernel.submit(spec(p, 24))).pid for p in PROMPTS]
    assert await outputs(kernel, pids) == alone
    assert max(batch_sizes) > 1
    final = await kernel.get(pids[0])
    assert final.progress.unit == "tok" and final.progress.rate and final.progress.rate > 0


async def wait_tokens(kernel: Kernel, pid: int, count: int) -> None:
    while (await kernel.get(pid)).progress.done < count:
        await asyncio.sleep(0.005)


async def test_pause_and_kill_one_job_of_a_batch(kernel: Kernel, batch_sizes: list[int]) -> None:
    alone = await solo_outputs(kernel, 150)
    a, b, c = [(await kernel.submit(spec(p, 150))).pid for p in PROMPTS[:3]]
    await wait_tokens(kernel, b, 5)
    paused = await kernel.pause(b)
    await wait_tokens(kernel, c, 10)
    await kernel.kill(c)
    [done_a] = await kernel.wait([a], timeout=120)
    assert done_a.state is JobState.DONE
    held = (await kernel.get(b)).progress.done
    await asyncio.sleep(0.2)
    assert (await kernel.get(b)).state is JobState.PAUSED
    assert (await kernel.get(b)).progress.done == held  # nothing decoded for it while paused
    assert paused.state is JobState.PAUSED and (await kernel.get(c)).state is JobState.KILLED
    await kernel.resume(b)
    assert await outputs(kernel, [a, b]) == [alone[0], alone[1]]


async def test_renice_through_the_kernel_moves_a_job_ahead_in_the_engine(
    kernel: Kernel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One batch slot: a waiting job reniced to high takes the slot from a running one."""
    monkeypatch.setenv("LLMSH_ENGINE_MAX_BATCH", "1")
    monkeypatch.setenv("LLMSH_ENGINE_SPARE_CACHES", "2")
    a = (await kernel.submit(spec(PROMPTS[0], 200))).pid
    await wait_tokens(kernel, a, 3)
    b = (await kernel.submit(spec(PROMPTS[1], 20))).pid
    await asyncio.sleep(0.1)
    assert (await kernel.get(b)).progress.done == 0  # equal priority: b waits for the slot
    await kernel.renice(b, -10)
    [done_b] = await kernel.wait([b], timeout=120)
    assert done_b.state is JobState.DONE
    still = await kernel.get(a)
    assert still.state is JobState.RUNNING and still.progress.done < 200
    [done_a] = await kernel.wait([a], timeout=120)
    assert done_a.state is JobState.DONE
