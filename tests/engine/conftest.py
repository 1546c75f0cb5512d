"""Fixtures for engine tests: a tiny random-weight llama, controls that pause and kill."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from llmsh.kernel.control import NullControl
from tests.models.conftest import build_llama, real_env, real_home  # noqa: F401 - fixtures

PROMPTS = [
    "Hello! How are you",
    "The capital of France",
    "A cat is a small",
    "Cars drive on roads and trains",
    "I loved this film",
]


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    """(model, tokenizer) of a tiny random-weight llama, fp32 on the CPU."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = build_llama(tmp_path_factory.mktemp("engine") / "tiny-llama")
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    return model, AutoTokenizer.from_pretrained(folder)


@pytest.fixture(scope="session")
def tiny_llama_dir(tiny_llama: tuple[Any, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("engine-dir") / "tiny-llama"
    model, tokenizer = tiny_llama
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


class Control(NullControl):
    """A JobControl that can be paused (check() blocks) and killed from another thread:
    the kernel's own `ControlCore`, as JobContext and a worker's JobProxy have it."""

    def __init__(self, priority: int = 0) -> None:
        super().__init__(priority=priority)


def run_threads(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run each callable in its own thread (like kernel workers); results or exceptions."""
    results: list[Any] = [None] * len(jobs)

    def call(i: int) -> None:
        try:
            results[i] = jobs[i]()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            results[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


@pytest.fixture
def collect() -> Iterator[Callable[..., list[int]]]:
    """Read a sequence to its end: its token ids."""

    def read(seq: Any, on_token: Callable[[int], None] | None = None) -> list[int]:
        out = []
        while (token := seq.next(0.05)) is not None:
            out.append(token)
            if on_token is not None:
                on_token(len(out))
        return out

    yield read
