"""`models add` takes only regular files from inside the folder, capped in size,
and refuses absurd safetensors headers and names with one line (issue 14, 5 and 12)."""

from __future__ import annotations

import json
import os
import stat
import struct
from pathlib import Path

import pytest

from llmsh.models.errors import ModelError
from llmsh.models.importer import add_model
from llmsh.models.intake import copy_capped
from llmsh.models.store import ModelStore

from .conftest import store_files

WEIGHT = {"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}


def safetensors(path: Path, header: object = WEIGHT, data: bytes = b"\0" * 16) -> Path:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)
    return path


def model_dir(root: Path, name: str = "src") -> Path:
    """A minimal model folder (config + one 2x2 tensor): no torch needed."""
    folder = root / name
    folder.mkdir()
    (folder / "config.json").write_text('{"architectures": ["LlamaForCausalLM"]}')
    safetensors(folder / "model.safetensors")
    return folder


@pytest.fixture
def empty_store(home: Path) -> ModelStore:
    return ModelStore()


def refused(store: ModelStore, path: Path, match: str, name: str = "bad") -> str:
    before = store_files(store)
    with pytest.raises(ModelError, match=match) as err:
        add_model(name, path, store)
    message = str(err.value)
    assert "\n" not in message and len(message) < 300
    assert store_files(store) == before
    return message


def test_plain_folder_is_added(empty_store: ModelStore, tmp_path: Path) -> None:
    manifest = add_model("ok", model_dir(tmp_path), empty_store)
    assert manifest.parameters == 4
    assert (empty_store.path("ok") / "model.safetensors").is_file()


def test_symlink_to_a_file_outside_refused(empty_store: ModelStore, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("root:HASH:19000::::::\n")
    folder = model_dir(tmp_path)
    (folder / "notes.txt").symlink_to(secret)
    message = refused(empty_store, folder, "refusing notes.txt: .*symbolic link out")
    assert "HASH" not in message


def test_symlink_to_dev_zero_refused(empty_store: ModelStore, tmp_path: Path) -> None:
    folder = model_dir(tmp_path)
    (folder / "tokenizer.json").symlink_to("/dev/zero")
    refused(empty_store, folder, "refusing tokenizer.json")


def test_config_json_linked_out_refused_before_it_is_read(
    empty_store: ModelStore, tmp_path: Path
) -> None:
    folder = model_dir(tmp_path)
    (folder / "config.json").unlink()
    (folder / "config.json").symlink_to("/dev/zero")  # reading it would never end
    refused(empty_store, folder, "refusing config.json")


def test_symlinked_folder_outside_refused(empty_store: ModelStore, tmp_path: Path) -> None:
    outside = tmp_path / "etc"
    outside.mkdir()
    (outside / "passwd").write_text("x")
    folder = model_dir(tmp_path)
    (folder / "extra").symlink_to(outside)
    refused(empty_store, folder, "refusing extra")


def test_fifo_refused(empty_store: ModelStore, tmp_path: Path) -> None:
    folder = model_dir(tmp_path)
    os.mkfifo(folder / "vocab.txt")
    refused(empty_store, folder, "refusing vocab.txt: not a regular file")


def test_links_inside_the_folder_are_copied(empty_store: ModelStore, tmp_path: Path) -> None:
    folder = model_dir(tmp_path)
    (folder / "real.txt").write_text("hello")
    (folder / "alias.txt").symlink_to("real.txt")
    (folder / "broken.txt").symlink_to("missing.txt")
    add_model("ok", folder, empty_store)
    stored = empty_store.path("ok")
    assert (stored / "alias.txt").read_text() == "hello"
    assert not (stored / "alias.txt").is_symlink()
    assert not (stored / "broken.txt").exists()


def test_hugging_face_snapshot_links_into_blobs(empty_store: ModelStore, tmp_path: Path) -> None:
    repo = tmp_path / "models--org--tiny"
    blobs, snap = repo / "blobs", repo / "snapshots" / "abc123"
    blobs.mkdir(parents=True)
    snap.mkdir(parents=True)
    real = model_dir(tmp_path, "real")
    for name in ("config.json", "model.safetensors"):
        (real / name).rename(blobs / f"sha-{name}")
        (snap / name).symlink_to(Path("../../blobs") / f"sha-{name}")
    assert add_model("hf", snap, empty_store).parameters == 4


def test_size_caps_from_config(empty_store: ModelStore, tmp_path: Path, home: Path) -> None:
    folder = model_dir(tmp_path)
    (folder / "big.txt").write_bytes(b"x" * 4096)
    home.mkdir(parents=True, exist_ok=True)
    config = home / "config.toml"
    config.write_text("[store]\nmax_file_gib = 0.000002\n")  # ~2 KiB
    refused(empty_store, folder, "refusing big.txt: .*per-file cap.*max_file_gib")
    config.write_text("[store]\nmax_total_gib = 0.000003\n")  # ~3 KiB, files total ~4.2 KiB
    refused(empty_store, folder, "max_total_gib")
    config.write_text("[store]\nmax_total_gib = -1\n")
    refused(empty_store, folder, "must be a positive number")


def test_copy_stops_at_the_cap_when_a_file_grew(tmp_path: Path) -> None:
    src = tmp_path / "growing.bin"
    src.write_bytes(b"y" * 10_000)  # checked at 1,000 bytes, then it grew
    dst = tmp_path / "out" / "growing.bin"
    with pytest.raises(ModelError, match="grew past the size cap"):
        copy_capped(src, dst, 1000, Path("growing.bin"))
    assert dst.stat().st_size <= 1000


def test_copy_refuses_a_fifo_swapped_in(tmp_path: Path) -> None:
    fifo = tmp_path / "swapped"
    os.mkfifo(fifo)
    with pytest.raises(ModelError, match="not a regular file"):
        copy_capped(fifo, tmp_path / "dst", 1000, Path("swapped"))  # no writer: must not block


@pytest.mark.parametrize(
    "shape",
    [[-1, -4], [-2, -2, 4], [1 << 62, 0], [True, 16], [[2], [2]], ["2", "2"]],
)
def test_absurd_shapes_refused(empty_store: ModelStore, tmp_path: Path, shape: object) -> None:
    folder = model_dir(tmp_path)
    safetensors(
        folder / "model.safetensors",
        {"w": {"dtype": "F32", "shape": shape, "data_offsets": [0, 16]}},
    )
    refused(empty_store, folder, "corrupt safetensors file model.safetensors: tensor w")


def test_unknown_dtype_is_named(empty_store: ModelStore, tmp_path: Path) -> None:
    folder = model_dir(tmp_path)
    safetensors(
        folder / "model.safetensors",
        {"w": {"dtype": "F128", "shape": [2, 2], "data_offsets": [0, 16]}},
    )
    refused(empty_store, folder, "unknown dtype 'F128'")


@pytest.mark.parametrize("depth", [50, 200_000])
def test_nested_header_is_one_line(empty_store: ModelStore, tmp_path: Path, depth: int) -> None:
    folder = model_dir(tmp_path)
    nested = b"[" * depth + b"]" * depth
    safetensors(folder / "model.safetensors", b'{"w": ' + nested + b"}", b"")
    refused(empty_store, folder, "corrupt safetensors file model.safetensors: header nests")


def test_brackets_inside_names_do_not_count(empty_store: ModelStore, tmp_path: Path) -> None:
    folder = model_dir(tmp_path)
    name = 'w[[[[[[[[[[\\"{{{{{{{{{{'
    header = {json.loads(f'"{name}"'): WEIGHT["w"]}
    safetensors(folder / "model.safetensors", header)
    assert add_model("ok", folder, empty_store).parameters == 4


def test_long_model_name_is_one_line(empty_store: ModelStore, tmp_path: Path) -> None:
    name = "m" * 300
    refused(empty_store, model_dir(tmp_path), "model name too long \\(300 characters", name)
    assert not empty_store.exists(name)
    for action in (empty_store.get, empty_store.remove, empty_store.checkpoints):
        with pytest.raises(ModelError, match="too long"):
            action(name)


def test_device_file_refused(empty_store: ModelStore, tmp_path: Path) -> None:
    folder = model_dir(tmp_path)
    try:  # a character device like /dev/zero, inside the folder (needs root)
        os.mknod(folder / "zero.txt", stat.S_IFCHR | 0o600, os.makedev(1, 5))
    except PermissionError:
        pytest.skip("creating a device file needs root")
    refused(empty_store, folder, "refusing zero.txt: not a regular file")


def test_gguf_over_the_cap_refused_before_parsing(
    empty_store: ModelStore, tmp_path: Path, home: Path
) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text("[store]\nmax_file_gib = 0.000001\n")  # ~1 KiB
    gguf = tmp_path / "big.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 4096)
    refused(empty_store, gguf, "refusing big.gguf: over the per-file cap")
