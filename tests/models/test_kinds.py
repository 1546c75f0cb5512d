"""Model jobs through a real kernel: states, streaming, kill, pool sharing, restart."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from llmsh.kernel import EventType, JobSpec, JobState, Kernel, KernelConfig, KernelError
from llmsh.models import kinds as model_kinds
from llmsh.models.store import ModelStore
from llmsh.runtime import make_kernel


@pytest.fixture
async def kernel(store: ModelStore, tmp_path: Path) -> Kernel:
    k = make_kernel(KernelConfig(state_dir=tmp_path / "state", nvml=None))
    await k.start()
    yield k  # type: ignore[misc]
    await k.close()
    if model_kinds._POOL is not None:
        model_kinds._POOL.clear()


def generate(prompt: str, **args: object) -> JobSpec:
    return JobSpec(
        "generate",
        ("generate", prompt),
        {"prompt": prompt, "model": "tiny-llama", "temperature": 0, **args},
    )


async def test_generate_streams_through_loading_and_running(kernel: Kernel) -> None:
    sub = kernel.subscribe()
    proc = await kernel.submit(generate("hello", max_tokens=8))
    assert proc.state is JobState.LOADING and proc.mem_estimate > 0
    [done] = await kernel.wait([proc.pid], timeout=60)
    assert done.state is JobState.DONE, done.reason
    assert done.progress.unit == "tok" and done.progress.done > 0
    events = []
    while (event := await sub.get(timeout=0.1)) is not None:
        events.append(event)
    states = [e.process.state for e in events if e.type is EventType.STATE and e.process]
    assert states == [JobState.QUEUED, JobState.LOADING, JobState.RUNNING, JobState.DONE]
    streamed = "".join(e.text for e in events if e.type is EventType.OUTPUT)
    assert streamed and streamed == await kernel.output(proc.pid)


async def test_jobs_on_one_model_share_the_pool_and_it_is_reported(kernel: Kernel) -> None:
    a = await kernel.submit(generate("one", max_tokens=4))
    b = await kernel.submit(generate("two", max_tokens=4))
    await kernel.wait([a.pid, b.pid], timeout=60)
    resident = await kernel.resident()
    assert [(r["name"], r["device"], r["source"]) for r in resident] == [
        ("tiny-llama", "cpu", "models")
    ]


async def test_kill_of_a_running_generate_frees_its_slot_quickly(kernel: Kernel) -> None:
    proc = await kernel.submit(generate("go on", max_tokens=100000))
    while (await kernel.get(proc.pid)).progress.done < 2:
        await asyncio.sleep(0.01)
    start = time.monotonic()
    killed = await kernel.kill(proc.pid)
    assert killed.state is JobState.KILLED
    assert time.monotonic() - start < 1.0
    assert all(c.slots_used == 0 for c in kernel.capacities())


async def test_unknown_model_is_refused_at_submit(kernel: Kernel) -> None:
    with pytest.raises(KernelError, match="nope"):
        await kernel.submit(JobSpec("generate", args={"prompt": "x", "model": "nope"}))


async def test_load_pins_and_unload_releases(kernel: Kernel) -> None:
    load = await kernel.submit(JobSpec("load", args={"model": "tiny-bert"}))
    await kernel.wait([load.pid], timeout=60)
    assert [r["pinned"] for r in await kernel.resident()] == [True]
    unload = await kernel.submit(JobSpec("unload", args={"model": "tiny-bert"}))
    [done] = await kernel.wait([unload.pid], timeout=60)
    assert done.state is JobState.DONE
    assert "tiny-bert released on cpu" in await kernel.output(unload.pid)
    again = await kernel.submit(JobSpec("unload", args={"model": "tiny-bert"}))
    [failed] = await kernel.wait([again.pid], timeout=60)
    assert failed.state is JobState.FAILED and "not loaded" in failed.reason


async def test_restarted_finetune_resumes_from_the_interrupted_jobs_checkpoint(
    store: ModelStore, tmp_path: Path
) -> None:
    data = tmp_path / "data.jsonl"
    data.write_text(
        "".join(json.dumps({"prompt": f"q{i}", "completion": f"a{i}"}) + "\n" for i in range(4))
    )
    args = {
        "model": "tiny-llama",
        "data": str(data),
        "steps": 400,
        "checkpoint_every": 2,
        "lr": 1e-3,
        "rank": 2,
    }
    config = KernelConfig(state_dir=tmp_path / "state", nvml=None)
    k = make_kernel(config)
    await k.start()
    proc = await k.submit(JobSpec("finetune", ("finetune", "tiny-llama"), args))
    while (await k.get(proc.pid)).progress.done < 5:
        await asyncio.sleep(0.02)
    await k.close()  # as if the kernel stopped: the job is interrupted
    assert k.table[proc.pid].state is JobState.INTERRUPTED
    k2 = make_kernel(config)
    await k2.start()
    try:
        new = await k2.restart(proc.pid)
        assert new.parent == proc.pid
        while (await k2.get(new.pid)).progress.done == 0:
            await asyncio.sleep(0.02)
        first_step = (await k2.get(new.pid)).progress.done
        assert first_step >= 2  # continued from a checkpoint, not from step 0
        await k2.kill(new.pid)
    finally:
        await k2.close()
