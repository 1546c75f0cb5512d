"""Sampling settings, picking one token from logits, and a model's end-of-sequence ids.

The decode loop itself is the engine's (`llmsh.engine`), which calls `ctl.check()`
between tokens: that is where `kill` and `pause` take effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from llmsh.models.errors import ModelError


@dataclass(frozen=True)
class SamplingParams:
    max_tokens: int = 128  # new tokens at most
    temperature: float = 0.7  # 0 means greedy (always the most likely token)
    top_p: float = 0.95  # nucleus: sample among the smallest set holding this probability
    seed: int | None = None  # same seed + same prompt -> same text

    def __post_init__(self) -> None:
        if self.max_tokens < 1:
            raise ModelError(f"max_tokens must be at least 1, got {self.max_tokens}")
        if self.temperature < 0:
            raise ModelError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ModelError(f"top_p must be in (0, 1], got {self.top_p}")

    @classmethod
    def from_args(cls, args: dict[str, Any]) -> SamplingParams:
        try:
            seed = args.get("seed")
            return cls(
                max_tokens=int(args.get("max_tokens", cls.max_tokens)),
                temperature=float(args.get("temperature", cls.temperature)),
                top_p=float(args.get("top_p", cls.top_p)),
                seed=None if seed is None else int(seed),
            )
        except (TypeError, ValueError) as exc:
            raise ModelError(f"bad sampling argument: {exc}") from None


def pick_token(
    logits: torch.Tensor, params: SamplingParams, generator: torch.Generator | None
) -> int:
    """Choose the next token from one row of logits."""
    if params.temperature == 0:
        return int(torch.argmax(logits).item())
    probs = torch.softmax(logits.float() / params.temperature, dim=-1)
    if params.top_p < 1:
        sorted_probs, order = torch.sort(probs, descending=True)
        # Keep tokens until the cumulative mass reaches top_p (always keep the first).
        outside = torch.cumsum(sorted_probs, dim=-1) - sorted_probs > params.top_p
        sorted_probs[outside] = 0
        choice = torch.multinomial(sorted_probs, 1, generator=generator)
        return int(order[choice].item())
    return int(torch.multinomial(probs, 1, generator=generator).item())


def stop_ids(model: Any, tokenizer: Any) -> set[int]:
    ids: set[int] = set()
    for source in (getattr(model, "generation_config", None), model.config, tokenizer):
        value = getattr(source, "eos_token_id", None) if source is not None else None
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, (list, tuple)):
            ids.update(int(v) for v in value)
    return ids
