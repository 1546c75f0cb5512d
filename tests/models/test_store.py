"""Store: add, list, get, show, remove; names; atomic writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmsh.models.errors import ModelError
from llmsh.models.importer import add_model
from llmsh.models.manifest import ModelFormat, ModelKind
from llmsh.models.store import ModelStore

from .conftest import store_files


def test_add_records_manifest(store: ModelStore, home: Path) -> None:
    llama = store.get("tiny-llama")
    assert llama.kind is ModelKind.GENERATE and llama.format is ModelFormat.SAFETENSORS
    assert llama.parameters > 0 and llama.size_bytes > 0 and llama.source.startswith("local:")
    assert store.get("tiny-bert").kind is ModelKind.EMBED
    assert [m.name for m in store.list()] == ["tiny-bert", "tiny-llama"]
    assert store.root == home / "models"  # $LLMSH_HOME is respected
    on_disk = json.loads((store.root / "tiny-llama" / "manifest.json").read_text())
    assert on_disk["name"] == "tiny-llama" and on_disk["kind"] == "generate"


def test_show_details(store: ModelStore) -> None:
    details = store.show("tiny-llama")
    assert details["config"]["model_type"] == "llama"
    assert "model.safetensors" in details["files"] and details["path"].endswith("tiny-llama")


def test_unknown_model_suggests(store: ModelStore) -> None:
    with pytest.raises(ModelError, match="did you mean tiny-llama") as err:
        store.get("tiny-lama")
    assert "\n" not in str(err.value)


def test_catalogue_model_not_pulled_hint(store: ModelStore) -> None:
    with pytest.raises(ModelError, match="models pull smollm2"):
        store.get("smollm2")


@pytest.mark.parametrize("name", ["../evil", ".hidden", "a/b", "a..b", "", "-x", "a b"])
def test_bad_names_refused(store: ModelStore, tiny_dirs: dict[str, Path], name: str) -> None:
    before = store_files(store)
    with pytest.raises(ModelError, match="bad model name"):
        add_model(name, tiny_dirs["llama"], store)
    assert store_files(store) == before


def test_add_existing_refused(store: ModelStore, tiny_dirs: dict[str, Path]) -> None:
    with pytest.raises(ModelError, match="already exists"):
        add_model("tiny-llama", tiny_dirs["llama"], store)


def test_remove(store: ModelStore) -> None:
    with pytest.raises(ModelError, match="in use"):
        store.remove("tiny-bert", in_use=True)
    assert store.exists("tiny-bert")
    store.remove("tiny-bert")
    assert not store.exists("tiny-bert") and store.names() == ["tiny-llama"]
    assert not any(p.name.startswith(".tmp") for p in store.root.iterdir())


def test_failed_install_leaves_store_unchanged(store: ModelStore) -> None:
    before = store_files(store)

    def build(tmp: Path) -> object:
        (tmp / "half-written").write_text("x")
        raise ModelError("boom")

    with pytest.raises(ModelError, match="boom"):
        store.install("new-model", build)  # type: ignore[arg-type]
    assert store_files(store) == before


def test_lora_adapter_records_base(
    store: ModelStore, tiny_dirs: dict[str, Path], tmp_path: Path
) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_dirs["llama"])
    lora = get_peft_model(model, LoraConfig(r=2, target_modules=["q_proj", "v_proj"]))
    lora.peft_config["default"].base_model_name_or_path = "tiny-llama"
    lora.save_pretrained(str(tmp_path / "adapter"))
    manifest = add_model("tiny-lora", tmp_path / "adapter", store)
    assert manifest.format is ModelFormat.LORA and manifest.base == "tiny-llama"
    with pytest.raises(ModelError, match="base of tiny-lora"):
        store.remove("tiny-llama")
    # An adapter whose base is not stored needs --base.
    lora.peft_config["default"].base_model_name_or_path = "someone/unknown"
    lora.save_pretrained(str(tmp_path / "adapter2"))
    with pytest.raises(ModelError, match="base model"):
        add_model("tiny-lora2", tmp_path / "adapter2", store)
    assert (
        add_model("tiny-lora2", tmp_path / "adapter2", store, base="tiny-llama").base
        == "tiny-llama"
    )


def test_damaged_manifest_is_one_line(store: ModelStore) -> None:
    (store.root / "tiny-bert" / "manifest.json").write_text("{not json")
    with pytest.raises(ModelError, match="damaged manifest") as err:
        store.get("tiny-bert")
    assert "\n" not in str(err.value)
    assert [m.name for m in store.list()] == ["tiny-llama"]
