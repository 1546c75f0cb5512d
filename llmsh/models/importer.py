"""`models add NAME PATH`: register a local model folder, GGUF file or LoRA adapter.

Files are validated before anything is copied (see `safety`), and the copy is
built in a staging folder that the store renames into place, so a refused or
failed add leaves the store unchanged.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from llmsh.models.errors import ModelError
from llmsh.models.manifest import Manifest, ModelFormat, ModelKind
from llmsh.models.safety import check_model_dir, check_weight_file, is_pickle, refuse_pickle
from llmsh.models.store import ModelStore, dir_size

_SKIP_DIRS = {".git", ".cache", "__pycache__"}


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read {path.name}: {exc}") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path.name} must hold a JSON object")
    return data


def kind_of(folder: Path) -> ModelKind:
    """Causal LMs generate; encoders (sentence-transformers, BERT-like) embed."""
    if (folder / "modules.json").is_file():
        return ModelKind.EMBED
    config = read_json(folder / "config.json")
    archs = " ".join(config.get("architectures") or [])
    if "CausalLM" in archs or "LMHead" in archs:
        return ModelKind.GENERATE
    if archs or config.get("model_type") in ("bert", "roberta", "mpnet", "xlm-roberta"):
        return ModelKind.EMBED
    return ModelKind.GENERATE


def copy_model_files(src: Path, dst: Path) -> None:
    """Copy a model folder, leaving out pickle checkpoints and VCS/cache folders."""
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if any(part in _SKIP_DIRS for part in rel.parts) or path.is_symlink() and not path.exists():
            continue
        if path.is_dir():
            (dst / rel).mkdir(parents=True, exist_ok=True)
        elif not is_pickle(path):  # safetensors exist (checked first); never carry pickles
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dst / rel)


def find_base(store: ModelStore, adapter_config: dict[str, Any], base: str | None) -> str:
    """The stored model a LoRA adapter applies to."""
    if base:
        store.get(base)
        return base
    wanted = str(adapter_config.get("base_model_name_or_path") or "")
    if wanted and store.exists(wanted):
        return wanted
    for manifest in store.list():
        if wanted and not manifest.is_adapter and wanted in (manifest.hf_id, manifest.name):
            return manifest.name
    raise ModelError(
        f"cannot tell the base model of this adapter ({wanted or 'not recorded'}); "
        "add or pull the base first, or name it with --base"
    )


def _add_adapter(store: ModelStore, name: str, src: Path, base: str | None) -> Manifest:
    base_name = find_base(store, read_json(src / "adapter_config.json"), base)
    params = check_model_dir(src)
    base_manifest = store.get(base_name)

    def build(tmp: Path) -> Manifest:
        copy_model_files(src, tmp)
        return Manifest(
            name=name, kind=base_manifest.kind, format=ModelFormat.LORA,
            source=f"local:{src}", parameters=params, size_bytes=dir_size(tmp),
            base=base_name, description=f"LoRA adapter on {base_name}",
        )  # fmt: skip

    return store.install(name, build)


def _add_folder(store: ModelStore, name: str, src: Path) -> Manifest:
    if not (src / "config.json").is_file():
        raise ModelError(f"{src} has no config.json: not a Hugging Face model folder")
    if any(src.rglob("*.gguf")):
        raise ModelError(f"{src} holds GGUF weights: add the .gguf file itself")
    params = check_model_dir(src)
    kind = kind_of(src)

    def build(tmp: Path) -> Manifest:
        copy_model_files(src, tmp)
        return Manifest(
            name=name, kind=kind, format=ModelFormat.SAFETENSORS, source=f"local:{src}",
            parameters=params, size_bytes=dir_size(tmp),
        )  # fmt: skip

    return store.install(name, build)


def _add_gguf(store: ModelStore, name: str, src: Path) -> Manifest:
    params = check_weight_file(src)

    def build(tmp: Path) -> Manifest:
        from llmsh.models.convert import gguf_to_safetensors

        seconds = gguf_to_safetensors(src, tmp)
        return Manifest(
            name=name, kind=ModelKind.GENERATE, format=ModelFormat.SAFETENSORS,
            source=f"local:{src}", parameters=params, size_bytes=dir_size(tmp),
            converted_from="gguf", extra={"conversion_seconds": round(seconds, 2)},
        )  # fmt: skip

    return store.install(name, build)


def add_model(
    name: str, path: str | Path, store: ModelStore | None = None, base: str | None = None
) -> Manifest:
    """Register `path` (model folder, `.gguf` file or LoRA adapter folder) as `name`."""
    store = store or ModelStore()
    src = Path(path).expanduser().resolve()
    if store.exists(name):
        raise ModelError(f"model {name!r} already exists; remove it first (models rm {name})")
    if not src.exists():
        raise ModelError(f"no such file or folder: {path}")
    if src.is_file():
        if is_pickle(src):
            raise refuse_pickle(src)
        if src.suffix == ".gguf":
            return _add_gguf(store, name, src)
        raise ModelError(f"cannot add {src.name}: expected a model folder or a .gguf file")
    if (src / "adapter_config.json").is_file():
        return _add_adapter(store, name, src, base)
    return _add_folder(store, name, src)
