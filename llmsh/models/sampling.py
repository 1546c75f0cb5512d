"""Sampling settings and the token-by-token decode loop (with a KV cache).

The loop is written out instead of calling `model.generate` so the job can call
`ctl.check()` between tokens: that is where `kill` and `pause` take effect.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch

from llmsh.kernel.control import JobControl
from llmsh.models.errors import ModelError
from llmsh.models.runtime import seeded_generator


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


@torch.inference_mode()
def decode_tokens(
    model: Any,
    input_ids: list[int],
    params: SamplingParams,
    ctl: JobControl,
    stop: set[int],
    device: str,
) -> Iterator[int]:
    """Yield new token ids one at a time, reusing the KV cache between steps."""
    generator = seeded_generator(params.seed, device)
    ids = torch.tensor([input_ids], device=device)
    out = model(input_ids=ids, use_cache=True, logits_to_keep=1)
    for _ in range(params.max_tokens):
        ctl.check()  # pause blocks here; kill raises JobKilled
        token = pick_token(out.logits[0, -1], params, generator)
        if token in stop:
            return
        yield token
        step = torch.tensor([[token]], device=device)
        out = model(input_ids=step, past_key_values=out.past_key_values, use_cache=True)


class TextStream:
    """Turns a growing list of token ids into text deltas, never splitting a character."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.ids: list[int] = []
        self.sent = 0

    def push(self, token: int) -> str:
        self.ids.append(token)
        text = str(self.tokenizer.decode(self.ids, skip_special_tokens=True))
        if text.endswith("\ufffd"):  # an incomplete UTF-8 sequence: wait for more bytes
            return ""
        delta, self.sent = text[self.sent :], len(text)
        return delta

    @property
    def text(self) -> str:
        return str(self.tokenizer.decode(self.ids, skip_special_tokens=True))
