"""smollm2 through the engine on both backends: batched greedy output equals solo output."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmsh.engine.config import EngineConfig
from llmsh.engine.registry import LLAMA_CPP, TORCH, llama_cpp_installed, open_model
from llmsh.engine.session import generate_tokens
from llmsh.kernel.control import JobKilled, NullControl
from llmsh.models.generate import prompt_ids
from llmsh.models.pool import ModelPool
from llmsh.models.sampling import SamplingParams

from .conftest import Control, run_threads

pytestmark = pytest.mark.real_model
QUESTIONS = [
    "What is the capital of France?",
    "Write a haiku about the sea.",
    "Name three colours.",
    "What is two plus two?",
]
needs_llama = pytest.mark.skipif(not llama_cpp_installed(), reason="llama-cpp-python not installed")


@pytest.fixture(scope="module")
def pool() -> Iterator[ModelPool]:
    models = ModelPool()
    yield models
    models.clear()


def replies(runtime: Any, jobs: list[tuple[str, Any]], tokens: int = 24) -> list[Any]:
    def job(question: str, ctl: Any) -> list[int]:
        ids = prompt_ids(runtime.tokenizer, [{"role": "user", "content": question}])
        params = SamplingParams(max_tokens=tokens, temperature=0)
        return list(generate_tokens(runtime, ids, params, ctl))

    return run_threads([lambda q=q, c=c: job(q, c) for q, c in jobs])


@pytest.mark.parametrize("backend", [TORCH, pytest.param(LLAMA_CPP, marks=needs_llama)])
def test_batched_equals_solo(real_env: Path, pool: ModelPool, backend: str) -> None:
    with open_model("smollm2", "cpu", pool, backend, EngineConfig(threads=2)) as runtime:
        assert runtime.backend == backend
        alone = [replies(runtime, [(q, NullControl())])[0] for q in QUESTIONS]
        together = replies(runtime, [(q, NullControl()) for q in QUESTIONS])
    assert together == alone
    assert "Paris" in runtime.tokenizer.decode(alone[0])  # llama.cpp runs the F16 weights


@needs_llama
def test_llama_cpp_kill_and_pause_in_a_batch(real_env: Path, pool: ModelPool) -> None:
    with open_model("smollm2", "cpu", pool, LLAMA_CPP, EngineConfig(threads=2)) as runtime:
        asked = [QUESTIONS[1], QUESTIONS[0], QUESTIONS[2]]  # job 0 has the longest reply
        alone = [replies(runtime, [(q, NullControl())], 40)[0] for q in asked]
        assert len(alone[0]) > 12
        controls = [Control() for _ in range(3)]

        def job(i: int) -> list[int]:
            ids = prompt_ids(runtime.tokenizer, [{"role": "user", "content": asked[i]}])
            out: list[int] = []
            gen = generate_tokens(
                runtime, ids, SamplingParams(max_tokens=40, temperature=0), controls[i]
            )
            try:
                for token in gen:
                    out.append(token)
                    if i == 0 and len(out) == 3:
                        controls[1].kill()
                        controls[2].pause()
                    if i == 0 and len(out) == 12:
                        controls[2].resume()
            finally:
                if i == 0:
                    controls[2].resume()  # a short reply must not leave job 2 paused
            return out

        results = run_threads([lambda i=i: job(i) for i in range(3)])
    assert isinstance(results[1], JobKilled)
    assert results[0] == alone[0] and results[2] == alone[2]
