"""A generation request and its sequence: the hand-off between a job and an engine.

The engine thread appends each new token to the sequence; the job's own worker
thread takes them with `next()`. The two never share anything else, so a slow
or paused job holds up only itself: once it has `max_ahead` tokens unread the
engine stops decoding for it (keeping its KV cache) until it catches up.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmsh.models.sampling import SamplingParams

_ids = itertools.count(1)


def _zero() -> int:
    return 0


def _never() -> bool:
    return False


@dataclass
class GenRequest:
    """What one job asks an engine for."""

    prompt: list[int]  # token ids, chat template applied
    params: SamplingParams
    stop_ids: frozenset[int] = frozenset()  # end-of-sequence tokens: finish without emitting
    priority: Callable[[], int] = _zero  # the job's current nice value (-20..19, lower first)
    paused: Callable[[], bool] = _never  # the job is paused: leave the batch, keep the cache
    label: str = ""  # for error messages and snapshots (e.g. "pid 12")


class SeqState(str, Enum):
    WAITING = "waiting"  # no KV cache yet: waits for a slot to be prefilled
    ACTIVE = "active"  # holds a KV cache (in the batch, or parked between steps)
    DONE = "done"


class FinishReason(str, Enum):
    STOP = "stop"  # an end-of-sequence token
    LENGTH = "length"  # max_tokens reached
    CANCELLED = "cancelled"  # the job left: killed, stop string, error in the job
    ERROR = "error"  # the engine failed


@dataclass
class Sequence:
    """Engine-side state of one request, plus the token channel to its job."""

    request: GenRequest
    wake_engine: Callable[[], None]
    id: int = field(default_factory=lambda: next(_ids))
    arrived: float = field(default_factory=time.monotonic)
    waiting_since: float = field(default_factory=time.monotonic)  # for aging; reset on preempt
    state: SeqState = SeqState.WAITING
    generated: list[int] = field(default_factory=list)  # last one not yet in the KV cache
    generator: Any = None  # torch.Generator for seeded sampling (engine thread only)
    finish: FinishReason | None = None
    error: BaseException | None = None
    cancelled: bool = False
    first_token_at: float | None = None
    max_ahead: int = 16  # set by the engine: unread tokens at which it stops decoding for us
    _items: deque[int] = field(default_factory=deque)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    # -- engine thread ------------------------------------------------------------

    @property
    def pending(self) -> int:
        """The token to feed at the next decode step."""
        return self.generated[-1]

    @property
    def cache_tokens(self) -> list[int]:
        """What the KV cache holds once built: the prompt and all but the pending token."""
        return self.request.prompt + self.generated[:-1]

    @property
    def unread(self) -> int:
        return len(self._items)

    def push(self, token: int) -> None:
        with self._cond:
            self.generated.append(token)
            if self.first_token_at is None:
                self.first_token_at = time.monotonic()
            self._items.append(token)
            self._cond.notify()

    def close(self, reason: FinishReason, error: BaseException | None = None) -> None:
        with self._cond:
            if self.state is SeqState.DONE:
                return
            self.state, self.finish, self.error = SeqState.DONE, reason, error
            self._cond.notify_all()

    @property
    def live(self) -> bool:
        return not self.cancelled and self.state is not SeqState.DONE

    def runnable(self) -> bool:
        """May take part in the next step: not paused, not cancelled, not too far ahead."""
        return self.live and len(self._items) < self.max_ahead and not self.request.paused()

    # -- job thread ---------------------------------------------------------------

    def next(self, timeout: float, on_wait: Callable[[], None] | None = None) -> int | None:
        """The next token, or None once the sequence has finished; re-raises engine errors.

        Calls `on_wait` every `timeout` seconds while waiting (to notice a kill).
        """
        while True:
            with self._cond:
                if self._items:
                    backlogged = len(self._items) >= self.max_ahead
                    token = self._items.popleft()
                    break
                if self.state is SeqState.DONE:
                    if self.error is not None:
                        raise self.error
                    return None
                woken = self._cond.wait(timeout)
            if not woken and on_wait is not None:
                on_wait()  # outside the lock: it may block (paused) or raise (killed)
        if backlogged:
            self.wake_engine()  # it may have parked us for being too far ahead
        return token

    def cancel(self) -> None:
        """The job is leaving: the engine frees the cache at its next step."""
        if not self.cancelled and self.state is not SeqState.DONE:
            self.cancelled = True
            self.wake_engine()
