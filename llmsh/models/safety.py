"""Checks that weights are safe to load before anything reads them.

Only safetensors and GGUF are accepted: both are plain data. Pickle-based
checkpoints (`.bin`, `.pt`, ...) can run arbitrary code when loaded, so they are
refused by name and never opened. A safetensors file is checked against its own
header (every tensor's bytes lie inside the file and the file has no missing
tail) and a GGUF file is parsed by the `gguf` reader, so corrupt or truncated
weights give a one-line `ModelError` instead of a crash deep inside a loader.
None of this imports torch.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

from llmsh.models.errors import ModelError

PICKLE_SUFFIXES = frozenset({".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt"})
WEIGHT_SUFFIXES = frozenset({".safetensors", ".gguf"})
_MAX_HEADER = 100 * 1024 * 1024  # the format's own limit
DTYPE_BYTES = {
    "F64": 8, "I64": 8, "U64": 8, "F32": 4, "I32": 4, "U32": 4, "F16": 2, "BF16": 2,
    "I16": 2, "U16": 2, "I8": 1, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1,
}  # fmt: skip


def is_pickle(path: Path) -> bool:
    return path.suffix.lower() in PICKLE_SUFFIXES


def refuse_pickle(path: Path) -> ModelError:
    return ModelError(
        f"refusing {path.name}: pickle checkpoints ({path.suffix}) can run code when loaded; "
        "convert it to safetensors or GGUF first"
    )


def safetensors_header(path: Path) -> dict[str, Any]:
    """The validated header of a safetensors file (tensor name -> dtype/shape/offsets)."""
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            raw = fh.read(8)
            if len(raw) < 8:
                raise ValueError("file too short for a header")
            (length,) = struct.unpack("<Q", raw)
            if length > min(_MAX_HEADER, size - 8):
                raise ValueError("header length past the end of the file")
            header = json.loads(fh.read(length))
        if not isinstance(header, dict):
            raise ValueError("header is not an object")
        data_size = size - 8 - length
        end = 0
        for name, info in header.items():
            if name == "__metadata__":
                continue
            begin, stop = info["data_offsets"]
            need = math.prod(info["shape"]) * DTYPE_BYTES[info["dtype"]]
            if stop - begin != need or begin < 0 or stop > data_size:
                raise ValueError(f"tensor {name} lies outside the file (truncated?)")
            end = max(end, stop)
        if end != data_size:
            raise ValueError(f"{data_size - end} stray bytes after the tensors")
        return header
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ModelError(f"corrupt safetensors file {path.name}: {exc}") from None


def safetensors_parameters(path: Path) -> int:
    header = safetensors_header(path)
    return sum(math.prod(v["shape"]) for k, v in header.items() if k != "__metadata__")


def gguf_parameters(path: Path) -> int:
    """Validate a GGUF file by parsing it fully; returns its parameter count."""
    try:
        with path.open("rb") as fh:
            if fh.read(4) != b"GGUF":
                raise ValueError("missing GGUF magic")
        from gguf import GGUFReader  # numpy-only, imported lazily: it is slow to import

        reader = GGUFReader(str(path))
        if not reader.tensors:
            raise ValueError("no tensors")
        return sum(int(t.n_elements) for t in reader.tensors)
    except ImportError:
        raise ModelError("reading GGUF needs the 'gguf' package (pip install gguf)") from None
    except Exception as exc:  # the reader raises many types on bad input
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise ModelError(f"corrupt GGUF file {path.name}: {reason}") from None


def check_weight_file(path: Path) -> int:
    """Validate one weight file; returns its parameter count."""
    if is_pickle(path):
        raise refuse_pickle(path)
    if path.suffix == ".safetensors":
        return safetensors_parameters(path)
    if path.suffix == ".gguf":
        return gguf_parameters(path)
    raise ModelError(f"unsupported weight file {path.name}: expected .safetensors or .gguf")


def weight_files(directory: Path) -> list[Path]:
    """The safetensors/GGUF files of a model folder; refuses folders holding only pickles."""
    found = sorted(p for p in directory.rglob("*") if p.suffix in WEIGHT_SUFFIXES and p.is_file())
    if not found:
        pickles = sorted(p for p in directory.rglob("*") if is_pickle(p))
        if pickles:
            raise refuse_pickle(pickles[0])
        raise ModelError(f"no .safetensors or .gguf weights in {directory}")
    return found


def check_model_dir(directory: Path) -> int:
    """Validate every weight file under a folder; returns the total parameter count."""
    return sum(check_weight_file(p) for p in weight_files(directory))
