"""Memory estimates for model jobs, computed from files alone (no torch).

The scheduler calls `estimate_job(kind, args)` before placing a job; the pool
calls `resident_bytes(name)` before loading a model. Every number comes from
`config.json`, the manifest's parameter count and the tokenizer's file size:

* weights      = parameters x bytes per element of the runtime dtype
* KV cache     = layers x KV heads x head dim x 2 (K and V) x bytes x tokens x batch
* activations  = the largest live tensors of one forward pass (logits, MLP, attention)
* fine-tuning adds the LoRA weights, their gradients, Adam's two fp32 moments per
  trainable parameter, and the activations kept for the backward pass
* margin       = the tokenizer in memory plus a share of the weights for the
  allocator and framework; calibrated against measured RSS (see tests/models).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from llmsh.models.manifest import Manifest, ModelKind
from llmsh.models.store import ModelStore

DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
MiB = 1024 * 1024
FIXED_OVERHEAD = 16 * MiB  # per loaded model: module objects, caches, allocator slack
WEIGHT_SLACK = 0.05  # share of the weights the allocator and framework add on top
TOKENIZER_FACTOR = 12  # in-memory size of a fast tokenizer vs its tokenizer.json
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")  # what finetune adapts


@dataclass(frozen=True)
class ModelShape:
    """The numbers of a model that memory depends on."""

    parameters: int
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    max_positions: int
    tokenizer_bytes: int = 0
    causal: bool = True  # decoders keep a KV cache; encoders do not


@dataclass(frozen=True)
class MemoryEstimate:
    weights: int = 0
    kv_cache: int = 0
    activations: int = 0
    lora: int = 0
    gradients: int = 0
    optimizer: int = 0
    margin: int = 0

    @property
    def total(self) -> int:
        return sum(asdict(self).values())

    def as_dict(self) -> dict[str, int]:
        return {**asdict(self), "total": self.total}


def _config(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / "config.json").read_text("utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def shape_from_config(
    config: dict[str, Any], parameters: int = 0, tokenizer_bytes: int = 0, causal: bool = True
) -> ModelShape:
    hidden = int(config.get("hidden_size") or config.get("n_embd") or 0)
    heads = int(config.get("num_attention_heads") or config.get("n_head") or 1)
    layers = int(config.get("num_hidden_layers") or config.get("n_layer") or 0)
    inter = int(config.get("intermediate_size") or 4 * hidden)
    vocab = int(config.get("vocab_size") or 0)
    if not parameters:  # no weight files to count: the usual transformer formula
        parameters = vocab * hidden + layers * (4 * hidden * hidden + 3 * hidden * inter)
    return ModelShape(
        parameters=parameters,
        layers=layers,
        hidden=hidden,
        heads=heads,
        kv_heads=int(config.get("num_key_value_heads") or heads),
        head_dim=int(config.get("head_dim") or (hidden // heads if heads else 0)),
        intermediate=inter,
        vocab=vocab,
        max_positions=int(config.get("max_position_embeddings") or 2048),
        tokenizer_bytes=tokenizer_bytes,
        causal=causal,
    )


def model_shape(name: str, store: ModelStore | None = None) -> ModelShape:
    """Shape of a stored model; an adapter counts its base plus its own weights."""
    store = store or ModelStore()
    manifest = store.get(name)
    base: Manifest = store.get(manifest.base) if manifest.is_adapter and manifest.base else manifest
    folder = store.path(base.name)
    tokenizer = folder / "tokenizer.json"
    params = base.parameters + (manifest.parameters if manifest is not base else 0)
    return shape_from_config(
        _config(folder),
        parameters=params,
        tokenizer_bytes=tokenizer.stat().st_size if tokenizer.is_file() else 0,
        causal=base.kind is ModelKind.GENERATE,
    )


def _margin(shape: ModelShape, weights: int) -> int:
    return FIXED_OVERHEAD + TOKENIZER_FACTOR * shape.tokenizer_bytes + int(WEIGHT_SLACK * weights)


def kv_cache_bytes(shape: ModelShape, tokens: int, batch: int = 1, dtype: str = "float32") -> int:
    if not shape.causal:
        return 0
    per_token = shape.layers * shape.kv_heads * shape.head_dim * 2 * DTYPE_BYTES[dtype]
    return per_token * tokens * batch


def forward_activation_bytes(shape: ModelShape, tokens: int, batch: int, dtype: str) -> int:
    """Largest tensors alive at once in one layer of a forward pass, plus the logits."""
    nbytes = DTYPE_BYTES[dtype]
    per_layer = batch * tokens * (4 * shape.hidden + 2 * shape.intermediate) * nbytes
    attention = batch * shape.heads * tokens * tokens * nbytes
    logits = batch * (tokens if not shape.causal else 1) * shape.vocab * 4
    return per_layer + attention + (logits if shape.causal else 0)


def resident_bytes(name: str, store: ModelStore | None = None, dtype: str = "float32") -> int:
    """What keeping the model loaded costs: weights plus its margin (no job running)."""
    shape = model_shape(name, store)
    weights = shape.parameters * DTYPE_BYTES[dtype]
    return weights + _margin(shape, weights)


def estimate_inference(
    shape: ModelShape, tokens: int, batch: int = 1, dtype: str = "float32"
) -> MemoryEstimate:
    """generate / chat / embed / classify: weights + KV cache for `tokens` + activations."""
    weights = shape.parameters * DTYPE_BYTES[dtype]
    tokens = min(tokens, shape.max_positions)
    return MemoryEstimate(
        weights=weights,
        kv_cache=kv_cache_bytes(shape, tokens, batch, dtype),
        activations=forward_activation_bytes(shape, tokens, batch, dtype),
        margin=_margin(shape, weights),
    )


def lora_parameters(shape: ModelShape, rank: int) -> int:
    """A and B matrices (rank x in, out x rank) for q, k, v, o in every layer."""
    q_out = shape.heads * shape.head_dim
    kv_out = shape.kv_heads * shape.head_dim
    per_layer = rank * ((shape.hidden + q_out) * 2 + (shape.hidden + kv_out) * 2)
    return shape.layers * per_layer


def estimate_finetune(
    shape: ModelShape, rank: int = 8, seq_len: int = 256, batch: int = 1, dtype: str = "float32"
) -> MemoryEstimate:
    """LoRA training with Adam: frozen weights, fp32 adapter + grads + 2 moments, activations."""
    weights = shape.parameters * DTYPE_BYTES[dtype]
    lora = lora_parameters(shape, rank)
    tokens = batch * seq_len
    # Saved for backward: roughly a dozen hidden-sized tensors per layer plus the MLP
    # intermediates and attention scores; the loss keeps logits, their softmax and grad.
    per_layer = (
        tokens * (12 * shape.hidden + 3 * shape.intermediate) + batch * shape.heads * seq_len**2
    )
    activations = (shape.layers * per_layer + 3 * tokens * shape.vocab) * 4
    return MemoryEstimate(
        weights=weights,
        activations=activations,
        lora=lora * 4,
        gradients=lora * 4,
        optimizer=lora * 2 * 4,
        margin=_margin(shape, weights),
    )


def _tokens_of(text: Any) -> int:
    """A cheap upper bound on token count: about one token per 3 characters."""
    return len(str(text or "")) // 3 + 16


def estimate_job(
    kind: str,
    args: dict[str, Any],
    store: ModelStore | None = None,
    shape: ModelShape | None = None,
    backend: str | None = None,
) -> MemoryEstimate:
    """Memory a job of `kind` (generate, chat, embed, classify, finetune, eval) will need.

    `args` are the job's JSON arguments; the model defaults as in `jobs.DEFAULT_MODELS`.
    `shape` and `backend`, when the caller has resolved them (`resolve`), are not
    looked up again.
    """
    from llmsh.models.jobs import default_model

    name = str(args.get("model") or default_model(kind))
    shape = shape or model_shape(name, store)
    dtype = str(args.get("dtype") or "float32")
    if kind == "finetune":
        rank = int(args.get("rank", 8))
        return estimate_finetune(
            shape, rank, int(args.get("max_length", 256)), int(args.get("batch_size", 1)), dtype
        )
    if kind == "eval":
        return estimate_inference(shape, int(args.get("max_length", 512)), 1, dtype)
    if kind in ("embed", "classify"):
        texts = args.get("texts") or [args.get("text", "")]
        labels = args.get("labels") or []
        batch = len(texts) + (
            len(labels) if isinstance(labels, list) else str(labels).count(",") + 1
        )
        longest = max(_tokens_of(t) for t in texts)
        return estimate_inference(shape, min(longest, 512), max(batch, 1), dtype)
    if backend == "llama.cpp" or (backend is None and _runs_on_llama_cpp(name, args)):
        return estimate_llama_cpp(shape, ModelStore() if store is None else store, name)
    messages = args.get("messages") or [{"content": args.get("prompt", "")}]
    prompt = sum(_tokens_of(m.get("content")) for m in messages if isinstance(m, dict)) + 32
    return estimate_inference(shape, prompt + int(args.get("max_tokens", 128)), 1, dtype)


def _runs_on_llama_cpp(name: str, args: dict[str, Any]) -> bool:
    if str(args.get("device") or "auto") not in ("auto", "cpu"):
        return False
    from llmsh.engine.registry import LLAMA_CPP, choose_backend
    from llmsh.models.errors import ModelError

    backend = args.get("backend")
    try:
        return choose_backend(name, "cpu", str(backend) if backend else None) == LLAMA_CPP
    except ModelError:
        return False  # the job fails with that reason when it runs


def estimate_llama_cpp(shape: ModelShape, store: ModelStore, name: str) -> MemoryEstimate:
    """A model on llama.cpp: its GGUF (mapped), the context's KV cells for every sequence
    (allocated up front, F16), the logits buffer of one batch, plus the HF tokenizer."""
    from llmsh.engine.config import EngineConfig

    config = EngineConfig.from_env()
    gguf = store.gguf_file(name)
    weights = gguf.stat().st_size if gguf is not None else shape.parameters * 2
    sequences = min(config.caches, 64)  # as llamacpp.LlamaCppBackend sizes its context
    kv = kv_cache_bytes(shape, config.context, sequences, "float16")
    logits = max(512, config.max_batch) * shape.vocab * 4
    return MemoryEstimate(weights=weights, kv_cache=kv, activations=logits,
                          margin=_margin(shape, weights))  # fmt: skip
