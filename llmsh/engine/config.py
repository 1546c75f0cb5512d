"""Engine settings: batch size, aging, look-ahead; defaults overridable from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class EngineConfig:
    max_batch: int = 8
    """Sequences decoded together in one step; more jobs wait, ordered by priority."""
    aging_seconds: float = 10.0
    """A waiting job gains one priority level per this many seconds (as in the kernel)."""
    preempt_margin: float = 1.0
    """Levels a waiting job must be ahead of a running one to take its slot (no thrashing)."""
    max_ahead: int = 16
    """Tokens a job may have unread before the engine stops decoding for it (back-pressure)."""
    spare_caches: int = 4
    """KV caches kept beyond `max_batch` for sequences out of the batch (paused, outranked).
    Past that, the lowest-priority parked cache is dropped and later rebuilt from its tokens."""
    context: int = 2048
    """Tokens per sequence for backends that size their cache up front (llama.cpp)."""
    threads: int = 0
    """CPU threads for backends that take a count (llama.cpp); 0 means one per core."""
    poll_seconds: float = 0.05
    """How often an idle engine re-checks paused jobs, and a waiting job checks for kill."""

    @property
    def caches(self) -> int:
        """Sequences that may hold a KV cache at once."""
        return self.max_batch + self.spare_caches

    def __post_init__(self) -> None:
        if self.max_batch < 1 or self.spare_caches < 0:
            raise ValueError("need max_batch >= 1 and spare_caches >= 0")
        if self.aging_seconds <= 0 or self.poll_seconds <= 0:
            raise ValueError("aging_seconds and poll_seconds must be positive")
        if self.max_ahead < 1 or self.context < 16 or self.threads < 0:
            raise ValueError("max_ahead >= 1, context >= 16 and threads >= 0 are required")

    @classmethod
    def from_env(cls, **overrides: object) -> EngineConfig:
        """Defaults, then `LLMSH_ENGINE_<FIELD>` variables, then `overrides`."""
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = os.environ.get(f"LLMSH_ENGINE_{f.name.upper()}")
            if raw:
                values[f.name] = float(raw) if f.type in ("float", float) else int(raw)
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
