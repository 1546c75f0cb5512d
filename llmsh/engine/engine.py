"""One decode loop per (model, device): continuous batching over a backend.

The engine thread repeats one step: drop sequences that left, let the policy pick
the sequences that run (priority with aging, at most `max_batch`), prefill the
chosen ones that have no cache yet (their first token is sent at once), then
decode one token for every chosen sequence in one batched call, sample each
row with its own settings and hand each token to its job. A sequence that is
paused, too far ahead of its reader, or outranked stays out of the batch and
keeps its cache; it rejoins when chosen again. The thread ends when no sequence
is left and starts again with the next request.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol

import torch

from llmsh.engine.config import EngineConfig
from llmsh.engine.policy import Candidate, choose
from llmsh.engine.request import FinishReason, GenRequest, SeqState, Sequence
from llmsh.models.runtime import seeded_generator
from llmsh.models.sampling import pick_token


class Backend(Protocol):
    """What an engine drives. All methods are called from the engine thread only."""

    name: str
    device: str

    def prefill(self, seqs: list[Sequence]) -> torch.Tensor:
        """Build each sequence's cache from its prompt; logits of the next token, one row each."""

    def decode(self, seqs: list[Sequence]) -> torch.Tensor:
        """Feed each sequence's `pending` token; next-token logits, one row per sequence."""

    def release(self, seq: Sequence) -> None:
        """Forget a sequence's cache (unknown sequences are ignored)."""

    def free_caches(self) -> int | None:
        """How many more sequences may hold a cache (None: no fixed limit)."""

    def close(self) -> None:
        """Free everything (the engine is being dropped)."""


class EngineClosed(RuntimeError):
    pass


class Engine:
    def __init__(
        self,
        backend: Backend,
        config: EngineConfig | None = None,
        name: str = "",
        owner: object = None,
    ) -> None:
        self.backend = backend
        self.owner = owner  # what the backend runs (the loaded model); engines are per owner
        self.config = config or EngineConfig()
        self.name = name or backend.name
        self._cond = threading.Condition()
        self._seqs: dict[int, Sequence] = {}
        self._running: set[int] = set()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.steps = 0  # decode steps run
        self.tokens = 0  # tokens produced (prefill first tokens included)
        self.batch_sizes: list[int] = []  # recent decode batch sizes (tests, snapshots)

    # -- jobs' side ----------------------------------------------------------------

    def submit(self, request: GenRequest) -> Sequence:
        seq = Sequence(request, self.wake, max_ahead=self.config.max_ahead)
        seq.generator = seeded_generator(request.params.seed, self.backend.device)
        with self._cond:
            if self._closed:
                raise EngineClosed(f"engine {self.name} is closed")
            self._seqs[seq.id] = seq
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name=f"llmsh-engine-{self.name}", daemon=True
                )
                self._thread.start()
            self._cond.notify()
        return seq

    def wake(self) -> None:
        with self._cond:
            self._cond.notify()

    def busy(self) -> bool:
        with self._cond:
            return bool(self._seqs)

    def snapshot(self) -> dict[str, Any]:
        with self._cond:
            seqs = list(self._seqs.values())
            return {
                "engine": self.name,
                "backend": self.backend.name,
                "running": len(self._running),
                "waiting": sum(s.state is SeqState.WAITING for s in seqs),
                "parked": sum(
                    s.state is SeqState.ACTIVE and s.id not in self._running for s in seqs
                ),
                "steps": self.steps,
                "tokens": self.tokens,
            }

    def close(self, timeout: float = 5.0) -> None:
        """Stop taking requests, fail the ones in flight, free the backend."""
        with self._cond:
            self._closed = True
            for seq in self._seqs.values():
                seq.close(FinishReason.ERROR, EngineClosed(f"engine {self.name} was closed"))
            self._cond.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self.backend.close()

    # -- the engine thread ---------------------------------------------------------

    def _loop(self) -> None:
        try:
            while (plan := self._plan()) is not None:
                starting, running = plan
                if starting:
                    self._run(starting, self.backend.prefill, first=True)
                rows = [s for s in running + starting if s.live and s.state is SeqState.ACTIVE]
                if rows:
                    self._run(rows, self.backend.decode, first=False)
                    self.steps += 1
                    self.batch_sizes = (self.batch_sizes + [len(rows)])[-256:]
        except BaseException as exc:  # a bug here must not leave jobs waiting forever
            with self._cond:
                for seq in self._seqs.values():
                    seq.close(FinishReason.ERROR, exc)
                self._seqs.clear()
                self._thread = None
            raise

    def _run(self, seqs: list[Sequence], call: Any, first: bool) -> None:
        try:
            logits = call(seqs)
        except Exception as exc:
            for seq in seqs:
                seq.close(FinishReason.ERROR, exc)
            return
        emit = seqs
        if first:
            # A sequence whose cache was dropped (to make room) is rebuilt from its
            # tokens; its next token is already known, so nothing new is sampled.
            emit = [s for s in seqs if not s.generated]
            for seq in seqs:
                if seq.state is SeqState.WAITING:
                    seq.state = SeqState.ACTIVE
            if len(emit) != len(seqs):
                logits = logits[[i for i, s in enumerate(seqs) if not s.generated]]
        for seq, token in zip(emit, self._sample(emit, logits), strict=True):
            self._emit(seq, token)

    def _sample(self, seqs: list[Sequence], logits: torch.Tensor) -> list[int]:
        greedy = [i for i, s in enumerate(seqs) if s.request.params.temperature == 0]
        picked: list[int] = [0] * len(seqs)
        if greedy:
            rows = logits if len(greedy) == len(seqs) else logits[greedy]
            for i, token in zip(greedy, rows.argmax(dim=-1).tolist(), strict=True):
                picked[i] = int(token)
        for i, seq in enumerate(seqs):
            if seq.request.params.temperature != 0:
                picked[i] = pick_token(logits[i], seq.request.params, seq.generator)
        return picked

    def _emit(self, seq: Sequence, token: int) -> None:
        self.tokens += 1
        if token in seq.request.stop_ids:
            seq.close(FinishReason.STOP)
            return
        seq.push(token)
        if len(seq.generated) >= seq.request.params.max_tokens:
            seq.close(FinishReason.LENGTH)

    def _plan(self) -> tuple[list[Sequence], list[Sequence]] | None:
        """(sequences to prefill, sequences with a cache) for the next step; None: exit."""
        with self._cond:
            while True:
                self._reap()
                if not self._seqs:
                    self._thread = None
                    return None
                now = time.monotonic()
                chosen = self._choose(now)
                if chosen:
                    break
                self._running = set()
                self._cond.wait(self.config.poll_seconds)
            for sid in self._running - {s.id for s in chosen}:
                seq = self._seqs.get(sid)
                if seq is not None:
                    seq.waiting_since = now  # outranked or paused: aging starts afresh
            self._running = {s.id for s in chosen}
        starting = [s for s in chosen if s.state is SeqState.WAITING]
        return starting, [s for s in chosen if s.state is SeqState.ACTIVE]

    def _choose(self, now: float) -> list[Sequence]:
        cands = [
            Candidate(
                key=s.id,
                nice=s.request.priority(),
                running=s.id in self._running,
                waiting_since=s.waiting_since,
                arrived=s.arrived,
            )
            for s in self._seqs.values()
            if s.runnable()
        ]
        keys = choose(
            cands,
            self.config.max_batch,
            now,
            self.config.aging_seconds,
            self.config.preempt_margin,
        )
        return self._make_room([self._seqs[k] for k in keys])

    def _make_room(self, chosen: list[Sequence]) -> list[Sequence]:
        """Drop parked caches (lowest priority first) so the chosen new sequences can start;
        a dropped cache is rebuilt from its tokens when its sequence is chosen again."""
        starting = [s for s in chosen if s.state is SeqState.WAITING]
        free = self.backend.free_caches()
        if free is None or len(starting) <= free:
            return chosen
        keep = {s.id for s in chosen}
        parked = [s for s in self._seqs.values() if s.state is SeqState.ACTIVE and s.id not in keep]
        parked.sort(key=lambda s: (-s.request.priority(), -s.arrived))
        for seq in parked[: len(starting) - free]:
            self.backend.release(seq)
            seq.state = SeqState.WAITING
        free = self.backend.free_caches() or 0
        late = {s.id for s in starting[free:]}  # still no room: they wait for the next step
        return [s for s in chosen if s.id not in late]

    def _reap(self) -> None:
        for sid, seq in list(self._seqs.items()):
            if seq.cancelled or seq.state is SeqState.DONE:
                seq.close(FinishReason.CANCELLED)  # no-op when it finished by itself
                self.backend.release(seq)
                del self._seqs[sid]
                self._running.discard(sid)
