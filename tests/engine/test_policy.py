"""Who runs when slots are short: priority, aging, no thrashing; and the engine obeying it."""

from __future__ import annotations

import threading
import time
from typing import Any

import torch

from llmsh.engine.config import EngineConfig
from llmsh.engine.engine import Engine
from llmsh.engine.policy import Candidate, choose
from llmsh.engine.request import GenRequest, Sequence
from llmsh.models.sampling import SamplingParams

from .conftest import run_threads


def cand(key: int, nice: int, running: bool = False, since: float = 0.0) -> Candidate:
    return Candidate(key, nice, running, waiting_since=since, arrived=float(key))


def test_lower_nice_first_then_arrival() -> None:
    cands = [cand(1, 0), cand(2, 10), cand(3, -10), cand(4, 0)]
    assert choose(cands, 2, now=0.0) == [3, 1]
    assert choose(cands, 4, now=0.0) == [3, 1, 4, 2]


def test_high_priority_takes_a_running_slot_at_once_equal_priority_waits() -> None:
    running = cand(1, 0, running=True)
    assert choose([running, cand(2, 0, since=0.0)], 1, now=5.0) == [1]  # not a level ahead yet
    assert choose([running, cand(2, -10, since=5.0)], 1, now=5.0) == [2]


def test_aging_lets_a_low_priority_job_in() -> None:
    running = cand(1, 0, running=True)
    low = cand(2, 10, since=0.0)
    assert choose([running, low], 1, now=50.0, aging_seconds=10.0) == [1]
    assert choose([running, low], 1, now=115.0, aging_seconds=10.0) == [2]  # 11.5 levels gained


class ScriptedBackend:
    """Logits that always pick token 1; records which sequences each step decoded."""

    name = "scripted"
    device = "cpu"

    def __init__(self, step_seconds: float = 0.002) -> None:
        self.steps: list[list[int]] = []
        self.prefilled: list[int] = []
        self.step_seconds = step_seconds

    def _logits(self, n: int) -> torch.Tensor:
        logits = torch.zeros(n, 4)
        logits[:, 1] = 1.0
        return logits

    def prefill(self, seqs: list[Sequence]) -> torch.Tensor:
        self.prefilled.extend(s.id for s in seqs)
        return self._logits(len(seqs))

    def decode(self, seqs: list[Sequence]) -> torch.Tensor:
        self.steps.append([s.id for s in seqs])
        time.sleep(self.step_seconds)
        return self._logits(len(seqs))

    def release(self, seq: Sequence) -> None:
        pass

    def free_caches(self) -> int | None:
        return None

    def close(self) -> None:
        pass


def request(nice: list[int], tokens: int) -> GenRequest:
    return GenRequest(
        [0, 1], SamplingParams(max_tokens=tokens, temperature=0), priority=lambda: nice[0]
    )


def drain(seq: Any) -> int:
    count = 0
    while seq.next(0.05) is not None:
        count += 1
    return count


def test_priority_decides_who_waits_when_slots_are_full() -> None:
    backend = ScriptedBackend()
    engine = Engine(backend, EngineConfig(max_batch=1))
    hold = threading.Event()
    blocker = GenRequest(
        [0], SamplingParams(max_tokens=3, temperature=0), paused=lambda: not hold.is_set()
    )
    first = engine.submit(blocker)  # holds nothing while "paused": lets us queue the others
    low = engine.submit(request([10], 20))
    time.sleep(0.05)  # the low job is running alone now
    high = engine.submit(request([-10], 20))
    normal = engine.submit(request([0], 20))
    hold.set()
    assert run_threads([lambda s=s: drain(s) for s in (first, low, high, normal)]) == [
        3,
        20,
        20,
        20,
    ]
    order = [ids[0] for ids in backend.steps]
    assert order.index(high.id) < order.index(normal.id)  # high first, then normal
    last_high = len(order) - 1 - order[::-1].index(high.id)
    assert last_high < order.index(normal.id)  # normal waited for high to finish
    assert order[-1] == low.id  # low, outranked, finished last
    assert order.count(low.id) == 19  # its first token came from its prefill


def test_renice_takes_effect_between_steps() -> None:
    backend = ScriptedBackend(step_seconds=0.005)
    engine = Engine(backend, EngineConfig(max_batch=1))
    nice_a, nice_b = [0], [0]
    a = engine.submit(request(nice_a, 40))
    b = engine.submit(request(nice_b, 40))
    time.sleep(0.03)
    nice_b[0] = -10  # renice b to high while a runs
    assert run_threads([lambda: drain(a), lambda: drain(b)]) == [40, 40]
    order = [ids[0] for ids in backend.steps]
    first_b = order.index(b.id)
    assert order[first_b : first_b + 39] == [b.id] * 39  # b ran to the end once reniced
