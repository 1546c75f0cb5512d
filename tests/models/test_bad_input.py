"""Bad weights and bad paths: each a one-line ModelError, the store unchanged."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pytest

from llmsh.models.errors import ModelError
from llmsh.models.importer import add_model
from llmsh.models.store import ModelStore

from .conftest import store_files


def refused(store: ModelStore, path: Path, match: str) -> None:
    before = store_files(store)
    with pytest.raises(ModelError, match=match) as err:
        add_model("bad", path, store)
    assert "\n" not in str(err.value) and "Traceback" not in str(err.value)
    assert store_files(store) == before


def test_pickle_file_refused_unopened(store: ModelStore, tmp_path: Path) -> None:
    class Boom:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (print, ("unpickled!",))

    for suffix in (".bin", ".pt", ".pth", ".pkl"):
        path = tmp_path / f"model{suffix}"
        path.write_bytes(pickle.dumps(Boom()))
        refused(store, path, "pickle")


def test_folder_with_only_pickles_refused(
    store: ModelStore, tiny_dirs: dict[str, Path], tmp_path: Path
) -> None:
    folder = tmp_path / "pt-model"
    shutil.copytree(tiny_dirs["llama"], folder)
    (folder / "model.safetensors").unlink()
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x04K\x01.")
    refused(store, folder, "refusing pytorch_model.bin")


def test_pickles_beside_safetensors_are_left_out(
    store: ModelStore, tiny_dirs: dict[str, Path], tmp_path: Path
) -> None:
    folder = tmp_path / "both"
    shutil.copytree(tiny_dirs["llama"], folder)
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x04K\x01.")
    add_model("both", folder, store)
    assert not (store.path("both") / "pytorch_model.bin").exists()


@pytest.mark.parametrize("damage", ["truncate", "garbage", "header"])
def test_corrupt_safetensors(
    store: ModelStore, tiny_dirs: dict[str, Path], tmp_path: Path, damage: str
) -> None:
    folder = tmp_path / damage
    shutil.copytree(tiny_dirs["llama"], folder)
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    if damage == "truncate":
        weights.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        weights.write_bytes(b"\x00" * 64)
    else:
        weights.write_bytes(data[:8] + b"{" * 20 + data[28:])
    refused(store, folder, "corrupt safetensors")


def _tiny_gguf(path: Path) -> Path:
    import numpy as np
    from gguf import GGUFWriter

    writer = GGUFWriter(str(path), "llama")
    writer.add_block_count(1)
    writer.add_tensor("token_embd.weight", np.ones((16, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupt_gguf(store: ModelStore, tmp_path: Path, damage: str) -> None:
    path = _tiny_gguf(tmp_path / "m.gguf")
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) - 200])
    elif damage == "garbage":
        path.write_bytes(b"GGUF" + b"\xff" * 100)
    else:
        path.write_bytes(b"")
    refused(store, path, "corrupt GGUF")


def test_other_bad_paths(store: ModelStore, tmp_path: Path) -> None:
    refused(store, tmp_path / "nope", "no such file")
    (tmp_path / "notes.txt").write_text("hi")
    refused(store, tmp_path / "notes.txt", "expected a model folder")
    (tmp_path / "empty").mkdir()
    refused(store, tmp_path / "empty", "no config.json")


def test_weights_damaged_after_add_fail_at_load(store: ModelStore) -> None:
    from llmsh.models.loader import load_model

    weights = store.path("tiny-llama") / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10])
    with pytest.raises(ModelError, match="corrupt safetensors") as err:
        load_model("tiny-llama", "cpu", store)
    assert "\n" not in str(err.value)
