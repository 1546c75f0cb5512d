"""Who gets the batch's slots: priority with aging, and a margin against thrashing.

Each candidate's score is its nice value (lower runs first). A waiting sequence
gains one level per `aging_seconds` waited, so a low-priority job is never starved;
a running one keeps its nice value less `margin`, so a waiting job must be that
many levels ahead to take its slot. With equal nice values the batch therefore
rotates about every `aging_seconds * margin` seconds when more jobs want slots
than there are; a `high` job (-10) takes a `normal` job's (0) slot at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    key: int
    nice: int
    running: bool  # holds a slot now
    waiting_since: float  # when it last started waiting for a slot
    arrived: float  # submission time: first come, first served among equals


def score(c: Candidate, now: float, aging_seconds: float, margin: float) -> float:
    if c.running:
        return c.nice - margin
    return c.nice - max(0.0, now - c.waiting_since) / aging_seconds


def choose(
    candidates: Iterable[Candidate],
    slots: int,
    now: float,
    aging_seconds: float = 10.0,
    margin: float = 1.0,
) -> list[int]:
    """Keys of the candidates that run the next step, best first."""
    ranked = sorted(
        candidates,
        key=lambda c: (score(c, now, aging_seconds, margin), not c.running, c.arrived, c.key),
    )
    return [c.key for c in ranked[:slots]]
