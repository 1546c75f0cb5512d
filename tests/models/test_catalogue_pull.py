"""Catalogue as data, and pull from a wheel in the cache (no network)."""

from __future__ import annotations

import json
import sys
import types
import zipfile
from pathlib import Path
from typing import Any

import pytest

from llmsh.models.catalogue import load_catalogue, resolve
from llmsh.models.errors import ModelError
from llmsh.models.manifest import ModelKind
from llmsh.models.pull import pull
from llmsh.models.store import ModelStore

from .conftest import store_files


def test_builtin_entries() -> None:
    entries = load_catalogue()
    assert (
        entries["smollm2"].kind is ModelKind.GENERATE and entries["smollm2"].format.value == "gguf"
    )
    assert entries["minilm"].kind is ModelKind.EMBED and entries["minilm"].paths


def test_unknown_catalogue_name(home: Path) -> None:
    with pytest.raises(ModelError, match="did you mean smollm2"):
        resolve("smolm2")


def make_wheel(cache: Path, folder: Path, package: str = "tiny_pkg") -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    wheel = cache / f"{package}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(f"{package}/__init__.py", "")
        for path in folder.iterdir():
            zf.write(path, f"{package}/model/{path.name}")
        zf.writestr(f"{package}/model/pytorch_model.bin", b"pickle")  # must be left out
    return wheel


def add_entry(home: Path, name: str, **entry: Any) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "catalogue.json").write_text(json.dumps({name: entry}))


def test_user_entry_pulled_from_cached_wheel(
    home: Path, tiny_dirs: dict[str, Path], tmp_path: Path
) -> None:
    make_wheel(tmp_path / "wheels", tiny_dirs["bert"])
    add_entry(home, "tiny-enc", kind="embed", package="tiny-pkg", version="1.0",
              paths=["tiny_pkg/model/"], description="a tiny encoder")  # fmt: skip
    assert "tiny-enc" in load_catalogue()  # an entry needs no code
    events: list[tuple[str, int, int | None]] = []
    result = pull("tiny-enc", progress=lambda *e: events.append(e))
    manifest = result.manifest
    assert manifest.kind is ModelKind.EMBED and manifest.source == "pypi:tiny-pkg==1.0"
    assert manifest.parameters > 0 and not result.already
    phases = [e[0] for e in events]
    assert "extract" in phases and "verify" in phases
    done, total = events[phases.index("verify") - 1][1:]
    assert done == total  # extraction reached its total
    folder = ModelStore().path("tiny-enc")
    assert (folder / "model.safetensors").is_file() and not (folder / "pytorch_model.bin").exists()
    assert pull("tiny-enc").already


def test_pull_missing_file_leaves_store_unchanged(
    home: Path, tiny_dirs: dict[str, Path], tmp_path: Path
) -> None:
    make_wheel(tmp_path / "wheels", tiny_dirs["bert"])
    add_entry(home, "broken", kind="embed", package="tiny-pkg", version="1.0",
              files=["tiny_pkg/model/missing.gguf"], format="gguf")  # fmt: skip
    store = ModelStore()
    before = store_files(store)
    with pytest.raises(ModelError, match="lacks tiny_pkg/model/missing.gguf"):
        pull("broken")
    assert store_files(store) == before


def test_bad_catalogue_entry(home: Path) -> None:
    add_entry(home, "odd", kind="dance", package="x", files=["a"])
    with pytest.raises(ModelError, match="bad catalogue entry 'odd'"):
        load_catalogue()


def test_hf_source_without_huggingface_hub(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # import now fails
    with pytest.raises(ModelError, match="huggingface_hub"):
        pull("hf:someorg/some-model")
    with pytest.raises(ModelError, match="bad Hugging Face id"):
        pull("hf:nope")


def test_hf_source_with_fake_hub(
    home: Path, tiny_dirs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    def snapshot_download(repo_id: str, local_dir: str, allow_patterns: list[str]) -> str:
        assert repo_id == "someorg/Tiny-Llama"
        shutil.copytree(tiny_dirs["llama"], local_dir)
        return local_dir

    fake = types.ModuleType("huggingface_hub")
    fake.snapshot_download = snapshot_download  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "huggingface_hub", fake)
    manifest = pull("hf:someorg/Tiny-Llama").manifest
    assert manifest.name == "tiny-llama" and manifest.kind is ModelKind.GENERATE
    assert manifest.source == "hf:someorg/Tiny-Llama"


def test_pull_as_a_job(home: Path, tiny_dirs: dict[str, Path], tmp_path: Path) -> None:
    from llmsh.kernel.control import NullControl
    from llmsh.models.jobs import run_job
    from llmsh.models.pool import ModelPool

    make_wheel(tmp_path / "wheels", tiny_dirs["bert"])
    add_entry(home, "tiny-enc", kind="embed", package="tiny-pkg", paths=["tiny_pkg/model/"])
    ctl = NullControl()
    assert run_job("pull", {"name": "tiny-enc"}, ctl, ModelPool()) == 0
    assert "pulled tiny-enc" in "".join(ctl.output)
    assert {e["phase"] for e in ctl.events} >= {"extract", "verify"}
