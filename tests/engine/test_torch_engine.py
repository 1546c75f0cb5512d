"""Continuous batching on the torch backend: batched greedy output equals solo output."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import torch

from llmsh.engine.config import EngineConfig
from llmsh.engine.engine import Engine
from llmsh.engine.registry import TORCH, ModelRuntime
from llmsh.engine.request import GenRequest
from llmsh.engine.session import generate_tokens
from llmsh.engine.torch_backend import TorchBackend
from llmsh.kernel.control import JobKilled
from llmsh.models.manifest import ModelKind
from llmsh.models.sampling import SamplingParams

from .conftest import PROMPTS, Control, run_threads

Model = tuple[Any, Any]


def engine_for(tiny: Model, **config: Any) -> Engine:
    return Engine(TorchBackend(tiny[0], "cpu"), EngineConfig(**config), name="test")


def runtime_for(tiny: Model, engine: Engine) -> ModelRuntime:
    return ModelRuntime("tiny", TORCH, ModelKind.GENERATE, tiny[1], 256, frozenset(), engine)


def ids(tiny: Model, text: str) -> list[int]:
    return list(tiny[1](text)["input_ids"])


def greedy(n: int, **kw: Any) -> SamplingParams:
    return SamplingParams(max_tokens=n, temperature=0, **kw)


def hf_greedy(tiny: Model, prompt: str, n: int) -> list[int]:
    model, _ = tiny
    start = torch.tensor([ids(tiny, prompt)])
    out = model.generate(start, max_new_tokens=n, min_new_tokens=n, do_sample=False, pad_token_id=0)
    return [int(t) for t in out[0, start.shape[1] :]]


def solo(
    tiny: Model, prompt: str, params: SamplingParams, collect: Callable[..., list[int]]
) -> list[int]:
    engine = engine_for(tiny)
    return collect(engine.submit(GenRequest(ids(tiny, prompt), params)))


def together(engine: Engine, tiny: Model, params: list[SamplingParams],
             collect: Callable[..., list[int]]) -> list[list[int]]:  # fmt: skip
    seqs = [
        engine.submit(GenRequest(ids(tiny, p), s)) for p, s in zip(PROMPTS, params, strict=False)
    ]
    return run_threads([lambda s=s: collect(s) for s in seqs])


@pytest.mark.parametrize("max_batch", [8, 2])
def test_batched_greedy_equals_solo_and_transformers(
    tiny_llama: Model, collect: Callable[..., list[int]], max_batch: int
) -> None:
    n = 30
    alone = [solo(tiny_llama, p, greedy(n), collect) for p in PROMPTS]
    assert alone == [hf_greedy(tiny_llama, p, n) for p in PROMPTS]
    engine = engine_for(tiny_llama, max_batch=max_batch)
    assert together(engine, tiny_llama, [greedy(n)] * len(PROMPTS), collect) == alone
    assert max(engine.batch_sizes) == min(max_batch, len(PROMPTS))


def test_each_job_keeps_its_own_sampling_settings(
    tiny_llama: Model, collect: Callable[..., list[int]]
) -> None:
    params = [
        SamplingParams(max_tokens=12, temperature=1.0, top_p=0.9, seed=1),
        greedy(5),
        SamplingParams(max_tokens=20, temperature=0.7, seed=2),
        greedy(17),
        SamplingParams(max_tokens=9, temperature=1.3, top_p=0.5, seed=3),
    ]
    alone = [solo(tiny_llama, p, s, collect) for p, s in zip(PROMPTS, params, strict=True)]
    assert [len(a) for a in alone] == [s.max_tokens for s in params]
    assert together(engine_for(tiny_llama), tiny_llama, params, collect) == alone


def test_end_token_stops_only_its_own_sequence(
    tiny_llama: Model, collect: Callable[..., list[int]]
) -> None:
    engine = engine_for(tiny_llama)
    for prompt in PROMPTS:  # a reply in which some token first appears after a few others
        full = solo(tiny_llama, prompt, greedy(20), collect)
        cut_at = next((j for j in range(2, 20) if full[j] not in full[:j]), None)
        if cut_at is not None:
            break
    assert cut_at is not None
    end = frozenset({full[cut_at]})  # an end token for the first job only
    cut = engine.submit(GenRequest(ids(tiny_llama, prompt), greedy(20), end))
    other = engine.submit(GenRequest(ids(tiny_llama, prompt), greedy(20)))
    assert run_threads([lambda: collect(cut), lambda: collect(other)]) == [full[:cut_at], full]


def test_jobs_join_and_leave_mid_batch(
    tiny_llama: Model, collect: Callable[..., list[int]]
) -> None:
    lengths = [60, 8, 25, 3]
    alone = [
        solo(tiny_llama, p, greedy(n), collect) for p, n in zip(PROMPTS, lengths, strict=False)
    ]
    engine = engine_for(tiny_llama)
    first = engine.submit(GenRequest(ids(tiny_llama, PROMPTS[0]), greedy(lengths[0])))
    joined = threading.Event()
    later: list[Any] = []

    def join_late(count: int) -> None:
        if count == 10 and not joined.is_set():  # the long job is under way: others arrive
            joined.set()
            later.extend(
                engine.submit(GenRequest(ids(tiny_llama, p), greedy(n)))
                for p, n in zip(PROMPTS[1:], lengths[1:], strict=False)
            )

    results = run_threads([lambda: collect(first, join_late)])
    results += run_threads([lambda s=s: collect(s) for s in later])
    assert results == alone
    sizes = engine.batch_sizes
    assert sizes[0] == 1 and max(sizes) == 4 and sizes[-1] == 1  # joined, then left


def test_kill_and_pause_leave_the_others_unchanged(tiny_llama: Model) -> None:
    n = 40
    engine = engine_for(tiny_llama)
    runtime = runtime_for(tiny_llama, engine)
    alone = []
    for p in PROMPTS[:4]:
        alone.append(list(generate_tokens(runtime, ids(tiny_llama, p), greedy(n), Control())))
    prefills: list[int] = []
    real_prefill = engine.backend.prefill

    def counting(seqs: list[Any]) -> torch.Tensor:
        prefills.extend(s.id for s in seqs)
        return real_prefill(seqs)

    engine.backend.prefill = counting  # type: ignore[method-assign]
    controls = [Control() for _ in range(4)]
    resumed = threading.Event()

    def job(i: int) -> list[int]:
        out: list[int] = []
        for token in generate_tokens(runtime, ids(tiny_llama, PROMPTS[i]), greedy(n), controls[i]):
            out.append(token)
            if i == 1 and len(out) == 10:
                controls[1].kill()  # killed mid-batch
            if i == 2 and len(out) == 5:
                controls[2].pause()  # paused mid-batch; resumed once job 0 is done
        return out

    def job0() -> list[int]:
        out = job(0)
        controls[2].resume()
        resumed.set()
        return out

    results = run_threads([job0, lambda: job(1), lambda: job(2), lambda: job(3)])
    assert isinstance(results[1], JobKilled)
    assert [results[0], results[2], results[3]] == [alone[0], alone[2], alone[3]]
    assert resumed.is_set() and len(prefills) == len(set(prefills)) == 4  # no re-prefill
    deadline = time.monotonic() + 5
    while engine.busy() and time.monotonic() < deadline:  # the engine reaps on its next turn
        time.sleep(0.01)
    assert not engine.busy()
