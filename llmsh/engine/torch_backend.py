"""The torch backend: a transformers causal LM decoding a padded batch.

New sequences are prefilled together when their prompts have similar lengths
(left-padded, with a mask and per-row positions), which gives each its KV cache.
The running sequences share one batched cache, left-padded so that every
row ends at the same column: a step feeds each row's pending token with an
attention mask that hides the padding and the row's own position id, so a
sequence computes what it would compute alone (up to float rounding). The batch
is re-assembled only when its membership changes; a sequence leaving it
(paused, outranked) keeps its cache rows as separate tensors until it rejoins.

Models whose caches are not plain per-layer tensors (sliding-window layers)
still share the loop, but each sequence is decoded as a batch of one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import torch
from transformers.cache_utils import DynamicCache

from llmsh.engine.config import EngineConfig
from llmsh.engine.registry import ENGINES, TORCH, ModelRuntime
from llmsh.engine.request import Sequence
from llmsh.engine.torch_cache import (
    KV,
    batch_cache,
    batchable,
    last_logits,
    left_padded,
    prefill_groups,
    row_caches,
)
from llmsh.models.errors import ModelError
from llmsh.models.manifest import ModelKind
from llmsh.models.sampling import stop_ids

if TYPE_CHECKING:
    from llmsh.models.loader import LoadedModel
    from llmsh.models.pool import ModelPool


class TorchBackend:
    name = TORCH

    def __init__(self, model: Any, device: str, caches: int = 12) -> None:
        self.model = model
        self.device = device
        self.caches = caches
        self.batchable = batchable(model)
        self._parked: dict[int, KV] = {}  # caches of sequences outside the batch
        self._solo: dict[int, DynamicCache] = {}  # unbatchable models: a cache per sequence
        self._lengths: dict[int, int] = {}  # tokens in each sequence's cache
        self._rows: list[Sequence] = []
        self._cache: DynamicCache | None = None
        self._mask: torch.Tensor | None = None

    # -- Backend -------------------------------------------------------------------

    def free_caches(self) -> int:
        return self.caches - len(self._lengths)

    @torch.inference_mode()
    def prefill(self, seqs: list[Sequence]) -> torch.Tensor:
        tokens = [s.cache_tokens for s in seqs]
        rows: list[torch.Tensor] = [torch.empty(0)] * len(seqs)
        groups = prefill_groups([len(t) for t in tokens]) if self.batchable else []
        for group in groups or [[i] for i in range(len(seqs))]:
            ids, mask = left_padded([tokens[i] for i in group], self.device)
            cache = DynamicCache(config=self.model.config)
            inputs: dict[str, Any] = {"input_ids": ids, "cache": cache, "use_cache": True}
            if len(group) > 1:
                inputs["attention_mask"] = mask
                inputs["position_ids"] = (mask.cumsum(-1) - 1).clamp(min=0)
            logits = last_logits(self.model, **inputs)
            views = row_caches(cache, [len(tokens[i]) for i in group]) if self.batchable else []
            for row, i in enumerate(group):
                if self.batchable:
                    self._parked[seqs[i].id] = views[row]  # type: ignore[assignment]
                else:
                    self._solo[seqs[i].id] = cache
                self._lengths[seqs[i].id] = len(tokens[i])
                rows[i] = logits[row]
        return torch.stack(rows)

    @torch.inference_mode()
    def decode(self, seqs: list[Sequence]) -> torch.Tensor:
        if not self.batchable:
            return torch.cat([self._decode_solo(seq) for seq in seqs])
        if [s.id for s in seqs] != [s.id for s in self._rows]:
            self._assemble(seqs)
        assert self._cache is not None and self._mask is not None
        ids = torch.tensor([[s.pending] for s in seqs], device=self.device)
        positions = torch.tensor([[self._lengths[s.id]] for s in seqs], device=self.device)
        mask = torch.cat([self._mask, self._mask.new_ones(len(seqs), 1)], dim=1)
        logits = last_logits(
            self.model,
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            cache=self._cache,
            use_cache=True,
        )
        self._mask = mask
        for seq in seqs:
            self._lengths[seq.id] += 1
        return logits

    def release(self, seq: Sequence) -> None:
        self._parked.pop(seq.id, None)
        self._solo.pop(seq.id, None)
        self._lengths.pop(seq.id, None)  # a row in the batch goes at the next re-assembly

    def close(self) -> None:
        self._parked.clear()
        self._solo.clear()
        self._lengths.clear()
        self._rows, self._cache, self._mask = [], None, None

    # -- internals -----------------------------------------------------------------

    def _decode_solo(self, seq: Sequence) -> torch.Tensor:
        ids = torch.tensor([[seq.pending]], device=self.device)
        position = torch.tensor([[self._lengths[seq.id]]], device=self.device)
        cache = self._solo[seq.id]
        logits = last_logits(
            self.model, input_ids=ids, position_ids=position, cache=cache, use_cache=True
        )
        self._lengths[seq.id] += 1
        return logits

    def _assemble(self, seqs: list[Sequence]) -> None:
        """Rebuild the batched cache for exactly `seqs`, parking rows that leave."""
        current: dict[int, KV] = {}
        if self._cache is not None:
            views = row_caches(self._cache, [self._lengths.get(s.id) for s in self._rows])
            current = {s.id: kv for s, kv in zip(self._rows, views, strict=True) if kv is not None}
        wanted = {s.id for s in seqs}
        for sid, kv in current.items():
            if sid not in wanted:
                self._parked[sid] = [(k.clone(), v.clone()) for k, v in kv]
        caches = [current[s.id] if s.id in current else self._parked.pop(s.id) for s in seqs]
        self._cache, self._mask = batch_cache(caches, self.device)
        self._rows = list(seqs)


@contextmanager
def torch_runtime(lm: LoadedModel, config: EngineConfig | None = None) -> Iterator[ModelRuntime]:
    """A loaded model's shared engine, for one job (the caller holds the model)."""
    if lm.kind is not ModelKind.GENERATE:
        raise ModelError(f"model {lm.name!r} is an {lm.kind.value} model; it cannot generate text")
    config = config or EngineConfig.from_env()
    key = (TORCH, lm.name, lm.device)

    def make() -> TorchBackend:
        return TorchBackend(lm.model, lm.device, config.caches)

    with ENGINES.use(key, make, config, owner=lm.model) as engine:
        yield ModelRuntime(
            name=lm.name,
            backend=TORCH,
            kind=lm.kind,
            tokenizer=lm.tokenizer,
            context_length=int(getattr(lm.model.config, "max_position_embeddings", 2048)),
            stop_ids=frozenset(stop_ids(lm.model, lm.tokenizer)),
            engine=engine,
        )


@contextmanager
def open_torch(
    name: str, device: str, pool: ModelPool, config: EngineConfig, need: int | None = None
) -> Iterator[ModelRuntime]:
    with pool.use(name, device, TORCH, need) as lm, torch_runtime(lm, config) as runtime:
        yield runtime
