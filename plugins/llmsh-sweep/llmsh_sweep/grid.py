"""The parameter grid of a sweep: value lists, their combinations, run names."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

MAX_RUNS = 64  # a typo like --lr 1e-4,...(100 values) should not flood the queue


@dataclass(frozen=True)
class Run:
    """One fine-tune of the sweep: its parameters and the model name it will save."""

    lr: float
    rank: int
    out: str

    def params(self) -> dict[str, float | int]:
        return {"lr": self.lr, "rank": self.rank}


def floats(values: tuple[str, ...], what: str) -> list[float]:
    out = []
    for text in values:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"invalid {what} '{text}': expected numbers like 1e-4,2e-4") from None
        if not value > 0 or value == float("inf"):
            raise ValueError(f"invalid {what} '{text}': must be a positive number")
        out.append(value)
    return list(dict.fromkeys(out))


def ints(values: tuple[str, ...], what: str) -> list[int]:
    out = []
    for text in values:
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"invalid {what} '{text}': expected integers like 4,8") from None
        if value < 1:
            raise ValueError(f"invalid {what} '{text}': must be at least 1")
        out.append(value)
    return list(dict.fromkeys(out))


def fmt_lr(lr: float) -> str:
    """``1e-04`` -> ``1e-4``; ``0.0005`` -> ``5e-4``: short and stable in names."""
    mantissa, _, exponent = f"{lr:.3e}".partition("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def runs(model: str, sweep_id: int, lrs: list[float], ranks: list[int]) -> list[Run]:
    """Every (lr, rank) combination, lr varying slowest, as in a Slurm job array."""
    combos = list(itertools.product(lrs, ranks))
    if len(combos) > MAX_RUNS:
        raise ValueError(f"{len(combos)} combinations: at most {MAX_RUNS} per sweep")
    base = model.replace("/", "-").replace(":", "-")
    return [Run(lr, rank, f"{base}-sweep{sweep_id}-lr{fmt_lr(lr)}-r{rank}") for lr, rank in combos]
