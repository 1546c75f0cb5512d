"""The model store: one folder per model under `llmsh.paths.model_store()`.

Each folder holds the weights (safetensors only, after any conversion), the
tokenizer and config files, and a `manifest.json`. Every write goes through
`install`, which builds the folder under a temporary name inside the store and
renames it into place at the end, so a failure part-way leaves the store as it
was. Names are checked before any path is built from them, so nothing is ever
written outside the store.
"""

from __future__ import annotations

import builtins
import json
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from llmsh import paths
from llmsh.models.errors import ModelError, did_you_mean
from llmsh.models.manifest import MANIFEST, Manifest, read_manifest, write_manifest

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_TMP_PREFIX = ".tmp-"
CHECKPOINTS = ".checkpoints"
GGUF_COPIES = ".gguf"  # <root>/.gguf/NAME/FILE.gguf: the GGUF a model was converted from


MAX_NAME = 128  # well under the 255 bytes a file name may have, with room for suffixes


def validate_name(name: str) -> str:
    """The one check of a model name (add, pull, rm, finetune --out, show, load...)."""
    if not isinstance(name, str):
        raise ModelError(f"bad model name {name!r}")
    if len(name) > MAX_NAME:
        raise ModelError(
            f"model name too long ({len(name)} characters; at most {MAX_NAME}): {name[:24]}..."
        )
    if not _NAME.match(name) or ".." in name:
        raise ModelError(
            f"bad model name {name!r}: use letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def valid_name(name: str) -> bool:
    try:
        validate_name(name)
    except ModelError:
        return False
    return True


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class ModelStore:
    """List, inspect, install and remove stored models."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else paths.model_store()

    # -- reading ---------------------------------------------------------

    def path(self, name: str) -> Path:
        return self.root / validate_name(name)

    def exists(self, name: str) -> bool:
        return valid_name(name) and (self.root / name / MANIFEST).is_file()

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        # Staging folders (".tmp-*") get their manifest just before the rename: skip them.
        return sorted(
            p.name
            for p in self.root.iterdir()
            if not p.name.startswith(".") and (p / MANIFEST).is_file()
        )

    def list(self) -> list[Manifest]:
        out = []
        for name in self.names():
            try:
                out.append(self.get(name))
            except ModelError:
                continue  # a damaged entry must not hide the others; `show` reports it
        return out

    def get(self, name: str) -> Manifest:
        validate_name(name)
        folder = self.root / name
        if not (folder / MANIFEST).is_file():
            raise ModelError(f"unknown model {name!r}{self._hint(name)}")
        try:
            return read_manifest(folder)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"damaged manifest for {name!r}: {exc}") from None

    def _hint(self, name: str) -> str:
        from llmsh.models.catalogue import load_catalogue  # late: keeps import cycles out

        stored = self.names()
        hint = did_you_mean(name, stored)
        if hint:
            return hint
        try:
            catalogue = load_catalogue()
        except ModelError:
            catalogue = {}
        if name in catalogue:
            return f" (not pulled yet: models pull {name})"
        return did_you_mean(name, catalogue) or (
            f"; stored: {', '.join(stored)}" if stored else "; the store is empty"
        )

    def show(self, name: str) -> dict[str, Any]:
        """Manifest fields plus where the files are and the model's config summary."""
        manifest = self.get(name)
        folder = self.path(name)
        details = manifest.to_json()
        details["path"] = str(folder)
        details["files"] = sorted(
            str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()
        )
        config = folder / "config.json"
        if config.is_file():
            try:
                cfg = json.loads(config.read_text("utf-8"))
                keys = ("model_type", "hidden_size", "num_hidden_layers", "vocab_size")
                details["config"] = {k: cfg[k] for k in keys if k in cfg}
            except (OSError, ValueError):
                details["config"] = {}
        return details

    def adapters_of(self, name: str) -> builtins.list[str]:
        return [m.name for m in self.list() if m.base == name]

    # -- writing ---------------------------------------------------------

    @contextmanager
    def staging(self, name: str) -> Iterator[Path]:
        """A temporary folder inside the store, removed whatever happens."""
        validate_name(name)
        paths.private_dir(self.root)
        tmp = Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{name}-", dir=self.root))
        try:
            yield tmp
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def install(
        self, name: str, build: Callable[[Path], Manifest], replace: bool = False
    ) -> Manifest:
        """Build a model folder with `build(tmp)` and move it into place atomically."""
        validate_name(name)
        if self.exists(name) and not replace:
            raise ModelError(f"model {name!r} already exists; remove it first (models rm {name})")
        with self.staging(name) as tmp:
            manifest = build(tmp)
            manifest.name = name
            write_manifest(tmp, manifest)
            paths.private_tree(tmp)  # copies keep their sources' modes
            final = self.root / name
            if final.exists():
                # Swap: move the old folder aside first so the rename below is atomic.
                old = tmp.with_name(tmp.name + "-old")
                final.rename(old)
                tmp.rename(final)
                shutil.rmtree(old, ignore_errors=True)
            else:
                tmp.rename(final)
        return manifest

    def update_manifest(self, manifest: Manifest) -> None:
        self.get(manifest.name)
        write_manifest(self.path(manifest.name), manifest)

    def remove(self, name: str, in_use: bool = False) -> None:
        """Delete a model; refused while loaded/in use or while adapters depend on it."""
        self.get(name)
        if in_use:
            raise ModelError(f"model {name!r} is loaded or in use; unload it or wait for its jobs")
        dependants = self.adapters_of(name)
        if dependants:
            raise ModelError(
                f"model {name!r} is the base of {', '.join(dependants)}; remove those first"
            )
        folder = self.path(name)
        # Rename first so a half-deleted folder never looks like a model.
        trash = Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}rm-", dir=self.root))
        folder.rename(trash / name)
        gguf = self.root / GGUF_COPIES / name
        if gguf.is_dir():
            gguf.rename(trash / f"{name}.gguf")
        shutil.rmtree(trash, ignore_errors=True)

    def checkpoints(self, run: str) -> Path:
        """Where a fine-tune named `run` keeps its resumable checkpoints."""
        return self.root / CHECKPOINTS / validate_name(run)

    def gguf_file(self, name: str) -> Path | None:
        """The original GGUF of a converted model, kept for GGUF runtimes (llama.cpp).

        It lives beside the model folder, not in it, so torch loads never parse it.
        """
        found = sorted((self.root / GGUF_COPIES / validate_name(name)).glob("*.gguf"))
        return found[0] if found else None

    def keep_gguf(self, name: str, filename: str, write: Callable[[Path], None]) -> Path:
        """Store the GGUF of model `name`: `write(tmp)` fills a temporary file, renamed after."""
        self.get(name)
        if Path(filename).name != filename or not filename.endswith(".gguf"):
            raise ModelError(f"bad GGUF file name {filename!r}")
        folder = self.root / GGUF_COPIES / name
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f"{_TMP_PREFIX}{filename}.part"
        try:
            write(tmp)
            tmp.replace(folder / filename)
        finally:
            tmp.unlink(missing_ok=True)
        return folder / filename

    def cleanup(self) -> None:
        """Remove leftovers of interrupted writes (a crashed process cannot clean up)."""
        if self.root.is_dir():
            for tmp in self.root.glob(f"{_TMP_PREFIX}*"):
                shutil.rmtree(tmp, ignore_errors=True)
