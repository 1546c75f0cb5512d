"""The record kept beside each stored model (`manifest.json`).

Everything the shell and the scheduler need to know about a model without
loading it: what it does, where it came from, how big it is, and for LoRA
adapters which stored model they apply to.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"


class ModelKind(str, Enum):
    GENERATE = "generate"  # causal LM: generate, chat, finetune, eval
    EMBED = "embed"  # encoder: embed, classify


class ModelFormat(str, Enum):
    SAFETENSORS = "safetensors"
    GGUF = "gguf"
    LORA = "lora"  # a peft adapter (safetensors) on top of `base`


@dataclass
class Manifest:
    name: str
    kind: ModelKind
    format: ModelFormat
    source: str  # "pypi:PKG==VER", "hf:ORG/NAME", "local:PATH", "finetune:BASE"
    parameters: int = 0  # weights in the files (for adapters: the adapter's own)
    size_bytes: int = 0
    created: float = field(default_factory=time.time)
    base: str | None = None  # stored base model of a LoRA adapter
    description: str = ""
    converted_from: str | None = None  # "gguf" when pulled as GGUF and converted once
    hf_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. training: loss history

    @property
    def is_adapter(self) -> bool:
        return self.format is ModelFormat.LORA

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        data["format"] = self.format.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["kind"] = ModelKind(known["kind"])
        known["format"] = ModelFormat(known["format"])
        return cls(**known)


def write_manifest(directory: Path, manifest: Manifest) -> None:
    """Write via a temporary file and rename, so readers never see half a manifest."""
    text = json.dumps(manifest.to_json(), indent=2, sort_keys=True)
    tmp = directory / (MANIFEST + ".tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, directory / MANIFEST)


def read_manifest(directory: Path) -> Manifest:
    """Raises ValueError/KeyError/OSError on a bad file; the store turns that into ModelError."""
    data = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    return Manifest.from_json(data)
