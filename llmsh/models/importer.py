"""`models add NAME PATH`: register a local model folder, GGUF file or LoRA adapter.

Files are validated before anything is copied (see `safety`), and the copy is
built in a staging folder that the store renames into place, so a refused or
failed add leaves the store unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from llmsh.models.errors import ModelError
from llmsh.models.intake import Limits, collect, copy_files, fmt_gib
from llmsh.models.manifest import Manifest, ModelFormat, ModelKind
from llmsh.models.safety import check_model_dir, check_weight_file, is_pickle, refuse_pickle
from llmsh.models.store import ModelStore, dir_size, validate_name


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


def copy_model_files(src: Path, dst: Path, limits: Limits | None = None) -> int:
    """Copy a model folder's regular files into `dst`; returns the checked parameter count.

    `collect` refuses links out of the folder, devices, fifos and oversized files
    and leaves out pickles and VCS/cache folders; the weights are checked before
    the copy (a quick refusal) and again as copied (what the store will hold)."""
    limits = limits or Limits.from_config()
    files = collect(src, limits)
    check_model_dir(src)
    copy_files(files, dst, limits)
    return check_model_dir(dst)


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
    base_manifest = store.get(base_name)

    def build(tmp: Path) -> Manifest:
        params = copy_model_files(src, tmp)
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
    kind = kind_of(src)

    def build(tmp: Path) -> Manifest:
        params = copy_model_files(src, tmp)
        return Manifest(
            name=name, kind=kind, format=ModelFormat.SAFETENSORS, source=f"local:{src}",
            parameters=params, size_bytes=dir_size(tmp),
        )  # fmt: skip

    return store.install(name, build)


def _add_gguf(store: ModelStore, name: str, src: Path) -> Manifest:
    cap = Limits.from_config().max_file
    if src.stat().st_size > cap:
        raise ModelError(f"refusing {src.name}: over the per-file cap of {fmt_gib(cap)} "
                         "(config.toml [store] max_file_gib)")  # fmt: skip
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
    validate_name(name)
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
    # Refuse links out, devices and oversized files before reading even config.json.
    collect(src, Limits.from_config())
    if (src / "adapter_config.json").is_file():
        return _add_adapter(store, name, src, base)
    return _add_folder(store, name, src)
