"""The llama.cpp backend: GGUF models on the CPU through llama-cpp-python's C API.

One llama.cpp context per engine holds every job's KV cache, each job under
its own sequence id; a step is one `llama_decode` call
whose batch carries one token per running sequence (multi-sequence batching),
so eight jobs cost little more than one. New jobs are prefilled together in
one call too. Each sequence id has its own KV stream of `context` cells (not
one unified buffer): attention then never mixes sequences' cells, which keeps
batched greedy output equal to solo output. A sequence out of the batch (paused,
outranked) keeps its stream; the engine drops parked caches when it needs ids.

It runs the F16 GGUF the store keeps beside a model pulled as GGUF (the same weights
torch runs, see `llmsh.models.gguf_f16`). Optional: without `llama_cpp` installed,
`registry.choose_backend` never picks it.
The loaded model (weights, plus the Hugging Face tokenizer used for chat templates
and text, whose ids match the GGUF vocabulary) is an entry of the process's one
`ModelPool` under the ``llama.cpp`` backend, so `free`, `unload`, keep-alive and
eviction treat it like any other; the context lives as long as the model.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from llmsh.engine.config import EngineConfig
from llmsh.engine.registry import ENGINES, LLAMA_CPP, ModelRuntime
from llmsh.engine.request import Sequence
from llmsh.models.errors import ModelError
from llmsh.models.pool import ModelPool


def _lib() -> Any:
    import llama_cpp

    logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)
    return llama_cpp


@dataclass
class LlamaModel:
    """Weights loaded by llama.cpp plus what jobs need around them."""

    pointer: Any  # llama_model*
    path: str
    tokenizer: Any  # Hugging Face tokenizer (chat template, decoding)
    stop_ids: frozenset[int]
    n_vocab: int
    n_ctx_train: int
    free: Any = None  # llama_model_free, held so that freeing works during shutdown
    _contexts: dict[tuple[int, ...], Any] = field(default_factory=dict)

    def context(self, n_seq: int, per_seq: int, threads: int, n_batch: int) -> Any:
        """A context for these settings, made once: its KV buffer is large, and every engine
        on this model (one at a time) reuses it, emptied."""
        key = (n_seq, per_seq, threads, n_batch)
        if key not in self._contexts:
            lib = _lib()
            params = lib.llama_context_default_params()
            # One KV stream per sequence (not one unified buffer): a sequence's attention then
            # never depends on the others, so batched greedy output equals solo output.
            params.n_ctx = per_seq * n_seq
            params.n_batch = params.n_ubatch = n_batch
            params.n_seq_max = n_seq
            params.kv_unified = False
            params.n_threads = params.n_threads_batch = threads
            ctx = lib.llama_init_from_model(self.pointer, params)
            if not ctx:
                raise ModelError("llama.cpp could not create a context")
            self._contexts[key] = (ctx, lib.llama_free)
        ctx = self._contexts[key][0]
        # Metadata only: zeroing the KV buffer (hundreds of MB) would cost every new engine
        # a memset, and freed cells are masked out anyway (their old values are finite).
        _lib().llama_memory_clear(_lib().llama_get_memory(ctx), False)
        return ctx

    def __del__(self) -> None:
        for ctx, free_ctx in self._contexts.values():
            free_ctx(ctx)
        self._contexts.clear()
        if self.pointer and self.free is not None:
            self.free(self.pointer)
            self.pointer = None


def load_llama(name: str, device: str = "cpu") -> Any:
    """Pool loader: the stored model's kept GGUF, via llama.cpp (a `LoadedModel`)."""
    from transformers import AutoConfig, AutoTokenizer, GenerationConfig

    from llmsh.models.loader import LoadedModel
    from llmsh.models.sampling import stop_ids
    from llmsh.models.store import ModelStore

    store = ModelStore()
    manifest = store.get(name)
    path = store.gguf_file(name)
    if path is None:
        raise ModelError(f"no GGUF file is kept for {name!r}")
    lib = _lib()
    lib.llama_backend_init()
    params = lib.llama_model_default_params()
    params.n_gpu_layers = 0
    pointer = lib.llama_model_load_from_file(str(path).encode(), params)
    if not pointer:
        raise ModelError(f"llama.cpp could not load {path.name}")
    folder = store.path(name)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    try:
        generation = GenerationConfig.from_pretrained(folder)
    except OSError:
        generation = None
    holder = type("Holder", (), {"config": AutoConfig.from_pretrained(folder)})()
    holder.generation_config = generation
    vocab = lib.llama_model_get_vocab(pointer)
    ends = set(stop_ids(holder, tokenizer))
    ends.update(t for t in (lib.llama_vocab_eos(vocab), lib.llama_vocab_eot(vocab)) if t >= 0)
    n_layer, n_head = lib.llama_model_n_layer(pointer), max(1, lib.llama_model_n_head(pointer))
    head_dim = lib.llama_model_n_embd(pointer) // n_head
    kv_per_token = n_layer * 2 * lib.llama_model_n_head_kv(pointer) * head_dim * 2  # K+V, f16
    config = EngineConfig.from_env()
    model = LlamaModel(
        pointer=pointer,
        path=str(path),
        tokenizer=tokenizer,
        stop_ids=frozenset(ends),
        n_vocab=lib.llama_vocab_n_tokens(vocab),
        n_ctx_train=lib.llama_model_n_ctx_train(pointer),
        free=lib.llama_model_free,
    )
    threads = config.threads or len(os.sched_getaffinity(0))
    n_seq = min(config.caches, 64)
    model.context(n_seq, config.context, threads, max(512, config.max_batch))  # made up front
    kv_bytes = kv_per_token * n_seq * config.context
    return LoadedModel(name, manifest, model, tokenizer, device, path.stat().st_size + kv_bytes)


class LlamaCppBackend:
    name = LLAMA_CPP
    device = "cpu"

    def __init__(self, model: LlamaModel, config: EngineConfig) -> None:
        lib = self.lib = _lib()
        self.model = model
        self.n_seq = min(config.caches, 64)
        self.n_batch = max(512, config.max_batch)
        threads = config.threads or len(os.sched_getaffinity(0))
        self.ctx = model.context(self.n_seq, config.context, threads, self.n_batch)
        self.mem = lib.llama_get_memory(self.ctx)
        self.batch = lib.llama_batch_init(self.n_batch, 0, 1)
        self._free_ids = list(range(self.n_seq - 1, -1, -1))
        self._slot: dict[int, tuple[int, Sequence]] = {}  # seq.id -> (llama seq id, seq)
        self._past: dict[int, int] = {}  # tokens in each sequence's cache

    def free_caches(self) -> int:
        return len(self._free_ids)

    def prefill(self, seqs: list[Sequence]) -> torch.Tensor:
        entries: list[tuple[int, int, int, bool]] = []  # token, position, seq_id, logits?
        for seq in seqs:
            if seq.id not in self._slot:
                self._slot[seq.id] = (self._free_ids.pop(), seq)
            sid = self._slot[seq.id][0]
            self.lib.llama_memory_seq_rm(self.mem, sid, -1, -1)
            tokens = seq.cache_tokens
            entries += [(t, p, sid, p == len(tokens) - 1) for p, t in enumerate(tokens)]
            self._past[seq.id] = len(tokens)
        return self._run(entries)

    def decode(self, seqs: list[Sequence]) -> torch.Tensor:
        entries = [(s.pending, self._past[s.id], self._slot[s.id][0], True) for s in seqs]
        logits = self._run(entries)
        for seq in seqs:
            self._past[seq.id] += 1
        return logits

    def release(self, seq: Sequence) -> None:
        slot = self._slot.pop(seq.id, None)
        self._past.pop(seq.id, None)
        if slot is not None:
            self.lib.llama_memory_seq_rm(self.mem, slot[0], -1, -1)
            self._free_ids.append(slot[0])

    def close(self) -> None:
        if self.ctx:
            self.lib.llama_batch_free(self.batch)
            self.lib.llama_memory_clear(self.mem, False)
            self.ctx = None  # the model keeps the context for the next engine
        self._slot.clear()

    # -- internals -----------------------------------------------------------------

    def _run(self, entries: list[tuple[int, int, int, bool]]) -> torch.Tensor:
        rows: list[torch.Tensor] = []
        for start in range(0, len(entries), self.n_batch):
            chunk = entries[start : start + self.n_batch]
            self._fill(chunk)
            status = self.lib.llama_decode(self.ctx, self.batch)
            if status != 0:
                raise ModelError(f"llama.cpp decode failed (status {status})")
            outputs = sum(1 for e in chunk if e[3])
            if outputs:
                pointer = self.lib.llama_get_logits(self.ctx)
                array = np.ctypeslib.as_array(pointer, shape=(outputs, self.model.n_vocab))
                rows.append(torch.from_numpy(array.copy()))
        return torch.cat(rows)

    def _fill(self, chunk: list[tuple[int, int, int, bool]]) -> None:
        batch = self.batch
        batch.n_tokens = len(chunk)
        for i, (token, pos, sid, logits) in enumerate(chunk):
            batch.token[i] = token
            batch.pos[i] = pos
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = sid
            batch.logits[i] = logits


@contextmanager
def open_llama(
    name: str, device: str, pool: ModelPool, config: EngineConfig, need: int | None = None
) -> Iterator[ModelRuntime]:
    with pool.use(name, "cpu", LLAMA_CPP, need) as lm:
        model: LlamaModel = lm.model

        def make() -> LlamaCppBackend:
            return LlamaCppBackend(model, config)

        with ENGINES.use((LLAMA_CPP, name, "cpu"), make, config, owner=model) as engine:
            yield ModelRuntime(
                name=name,
                backend=LLAMA_CPP,
                kind=lm.kind,
                tokenizer=model.tokenizer,
                context_length=min(model.n_ctx_train or config.context, config.context),
                stop_ids=model.stop_ids,
                engine=engine,
            )
