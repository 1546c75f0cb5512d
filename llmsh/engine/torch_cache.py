"""Padded batches of KV caches for the torch backend, and the model call it makes.

A batch is left-padded: every row's cache ends at the same column, so one new
column per step serves all rows; the attention mask hides each row's padding.
A sequence's own cache outside the batch is a list of per-layer (keys, values)
tensors of shape [1, heads, length, dim].
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.cache_utils import DynamicCache, DynamicLayer

KV = list[tuple[torch.Tensor, torch.Tensor]]
_SPARE = 64  # columns allocated ahead, so most steps write in place
# Causal LMs whose logits are exactly `lm_head(last hidden state)`: for these the head
# runs as W @ h.T, which MKL does ~3x faster than h @ W.T for a few rows and a big vocab.
PLAIN_HEADS = frozenset({
    "LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM",
    "SmolLM3ForCausalLM", "Olmo2ForCausalLM", "Phi3ForCausalLM", "GemmaForCausalLM",
})  # fmt: skip


class BatchLayer(DynamicLayer):  # type: ignore[no-untyped-call]
    """A cache layer over a preallocated buffer: a step writes one column in place."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        batch, heads, length, dim = keys.shape
        self._k = keys.new_zeros(batch, heads, length + _SPARE, dim)
        self._v = values.new_zeros(batch, heads, length + _SPARE, dim)
        self._k[:, :, :length] = keys
        self._v[:, :, :length] = values
        self.dtype, self.device, self.is_initialized = keys.dtype, keys.device, True
        self._view(length)

    def _view(self, length: int) -> None:
        self.length = length
        self.keys = self._k[:, :, :length]
        self.values = self._v[:, :, :length]

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        end = self.length + key_states.shape[-2]
        if end > self._k.shape[-2]:
            pad = (0, 0, 0, max(_SPARE, end - self._k.shape[-2]))
            self._k = torch.nn.functional.pad(self._k, pad)
            self._v = torch.nn.functional.pad(self._v, pad)
        self._k[:, :, self.length : end] = key_states
        self._v[:, :, self.length : end] = value_states
        self._view(end)
        return self._k[:, :, :end], self._v[:, :, :end]


def batchable(model: Any) -> bool:
    """Whether the model's cache is plain per-layer tensors (no sliding windows)."""
    return all(type(layer) is DynamicLayer for layer in DynamicCache(config=model.config).layers)


_CACHE_ARG: dict[type, str] = {}


def cache_argument(model: Any) -> str:
    """The forward argument that takes the KV cache: `cache` in newer transformers, which
    deprecates `past_key_values`; older releases know only the latter."""
    kind = type(model)
    if kind not in _CACHE_ARG:
        import inspect

        params = inspect.signature(model.forward).parameters
        _CACHE_ARG[kind] = "cache" if "cache" in params else "past_key_values"
    return _CACHE_ARG[kind]


def last_logits(model: Any, **inputs: Any) -> torch.Tensor:
    """Next-token logits [batch, vocab] (fp32) after the inputs' last position; the KV
    cache is passed as `cache=`."""
    if "cache" in inputs:
        inputs[cache_argument(model)] = inputs.pop("cache")
    head = getattr(model, "lm_head", None)
    if type(model).__name__ in PLAIN_HEADS and isinstance(head, torch.nn.Linear):
        hidden: torch.Tensor = model.model(**inputs).last_hidden_state[:, -1]
        logits = (head.weight @ hidden.T).T
        return (logits if head.bias is None else logits + head.bias).float()
    out: torch.Tensor = model(**inputs, logits_to_keep=1).logits[:, -1]
    return out.float()


def left_padded(rows: list[list[int]], device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(input ids, attention mask) for token lists of different lengths, left-padded."""
    width = max(len(r) for r in rows)
    ids = torch.zeros(len(rows), width, dtype=torch.long, device=device)
    mask = torch.zeros(len(rows), width, dtype=torch.long, device=device)
    for i, row in enumerate(rows):
        ids[i, width - len(row) :] = torch.tensor(row, device=device)
        mask[i, width - len(row) :] = 1
    return ids, mask


def row_caches(cache: DynamicCache, lengths: list[int | None]) -> list[KV | None]:
    """Each row's own cache as views into a left-padded batch cache (None: skip the row)."""
    layers: list[Any] = list(cache.layers)
    width = layers[0].keys.shape[-2]
    out: list[KV | None] = []
    for row, length in enumerate(lengths):
        if length is None:
            out.append(None)
            continue
        start = width - length
        out.append([
            (layer.keys[row : row + 1, :, start:], layer.values[row : row + 1, :, start:])
            for layer in layers
        ])  # fmt: skip
    return out


def batch_cache(caches: list[KV], device: str) -> tuple[DynamicCache, torch.Tensor]:
    """One left-padded batch cache (and its attention mask) from per-sequence caches."""
    lengths = [kv[0][0].shape[2] for kv in caches]
    width = max(lengths)
    layers = []
    for index in range(len(caches[0])):
        k0, v0 = caches[0][index]
        keys = k0.new_zeros(len(caches), k0.shape[1], width, k0.shape[3])
        values = v0.new_zeros(len(caches), v0.shape[1], width, v0.shape[3])
        for row, kv in enumerate(caches):
            k, v = kv[index]
            keys[row, :, width - k.shape[2] :] = k[0]
            values[row, :, width - v.shape[2] :] = v[0]
        layers.append(BatchLayer(keys, values))
    mask = torch.zeros(len(caches), width, dtype=torch.long, device=device)
    for row, length in enumerate(lengths):
        mask[row, width - length :] = 1
    cache = DynamicCache()
    cache.layers = layers  # type: ignore[assignment]
    return cache, mask


def prefill_groups(lengths: list[int], slack: float = 1.25, cap: int = 4096) -> list[list[int]]:
    """Indices grouped for batched prefill: similar lengths, padding within `slack` of the
    real tokens and at most `cap` padded tokens per group."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    groups: list[list[int]] = []
    for i in order:
        group = groups[-1] if groups else []
        trial = len(group) + 1
        real = sum(lengths[j] for j in group) + lengths[i]
        if group and (lengths[i] * trial > slack * real or lengths[i] * trial > cap):
            group = []
        if not group:
            groups.append(group)
        group.append(i)
    return groups
