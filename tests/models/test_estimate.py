"""Memory estimates from files alone, and the no-torch import boundary."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from llmsh.models.estimate import (
    estimate_finetune,
    estimate_inference,
    estimate_job,
    kv_cache_bytes,
    lora_parameters,
    model_shape,
    resident_bytes,
    shape_from_config,
)  # fmt: skip
from llmsh.models.store import ModelStore

SMOL = {
    "hidden_size": 576, "num_hidden_layers": 30, "num_attention_heads": 9,
    "num_key_value_heads": 3, "head_dim": 64, "intermediate_size": 1536, "vocab_size": 49152,
}  # fmt: skip


def test_kv_cache_formula() -> None:
    shape = shape_from_config(SMOL, parameters=134_515_008)
    # layers x kv heads x head dim x (K, V) x fp32 bytes x tokens
    assert kv_cache_bytes(shape, 100) == 30 * 3 * 64 * 2 * 4 * 100
    assert kv_cache_bytes(shape, 100, dtype="bfloat16") == 30 * 3 * 64 * 2 * 2 * 100


def test_inference_and_finetune_parts() -> None:
    shape = shape_from_config(SMOL, parameters=134_515_008)
    inf = estimate_inference(shape, 512)
    assert inf.weights == 134_515_008 * 4 and inf.total > inf.weights + inf.kv_cache
    ft = estimate_finetune(shape, rank=8, seq_len=128)
    lora = lora_parameters(shape, 8)
    assert lora == 30 * 8 * ((576 + 576) * 2 + (576 + 192) * 2)
    assert ft.lora == ft.gradients == lora * 4 and ft.optimizer == 2 * lora * 4
    assert ft.activations > 0 and ft.total > inf.weights


def test_from_store(store: ModelStore) -> None:
    shape = model_shape("tiny-llama", store)
    assert shape.layers == 2 and shape.kv_heads == 2 and shape.causal
    assert shape.parameters == store.get("tiny-llama").parameters
    assert not model_shape("tiny-bert", store).causal
    assert resident_bytes("tiny-llama", store) > shape.parameters * 4
    gen = estimate_job("generate", {"model": "tiny-llama", "prompt": "hi", "max_tokens": 10}, store)
    longer = estimate_job(
        "generate", {"model": "tiny-llama", "prompt": "hi", "max_tokens": 100}, store
    )
    assert longer.kv_cache > gen.kv_cache > 0
    ft = estimate_job("finetune", {"model": "tiny-llama", "rank": 4}, store)
    assert (
        ft.optimizer > 0
        and estimate_job(
            "classify", {"model": "tiny-bert", "text": "x", "labels": "a,b"}, store
        ).kv_cache
        == 0
    )


def test_scheduler_imports_need_no_torch() -> None:
    code = (
        "import sys, llmsh.models, llmsh.models.estimate, llmsh.models.store, "
        "llmsh.models.catalogue, llmsh.models.pool, llmsh.models.jobs, llmsh.models.pull, "
        "llmsh.models.importer, llmsh.models.safety\n"
        "bad = [m for m in ('torch', 'transformers', 'peft') if m in sys.modules]\n"
        "assert not bad, bad"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)
