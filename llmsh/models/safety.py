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
import re
import struct
from pathlib import Path
from typing import Any

from llmsh.errors import one_line
from llmsh.models.errors import ModelError

PICKLE_SUFFIXES = frozenset({".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt"})
WEIGHT_SUFFIXES = frozenset({".safetensors", ".gguf"})
_MAX_HEADER = 100 * 1024 * 1024  # the format's own limit
# Real headers hold one flat entry per tensor (depth 3: object, entry, shape list).
_MAX_DEPTH = 8
# Larger than any real tensor dimension or model (a 1T-weight model has 2**40),
# small enough that a product of shapes cannot become an absurd number.
MAX_DIM = 1 << 40
MAX_ELEMENTS = 1 << 44
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


def json_too_deep(raw: bytes, limit: int = _MAX_DEPTH) -> bool:
    """Whether arrays/objects in JSON text nest deeper than `limit` (or do not pair up).

    `json.loads` recurses once per level, so a header of a million "[" ends in
    RecursionError. This check runs first, in C-speed passes: drop the strings and
    everything but brackets, then peel innermost pairs off `limit` times."""
    text = _STRINGS.sub(b"", raw).translate(None, delete=_NOT_BRACKETS)
    for _ in range(limit):
        if not text:
            return False
        text = text.replace(b"[]", b"").replace(b"{}", b"")
    return bool(text)


_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))


def _tensor_size(name: str, info: object) -> tuple[int, int, int]:
    """(begin, stop, elements) of one header entry, refusing absurd values."""
    if not isinstance(info, dict):
        raise ValueError(f"tensor {name} is not described by an object")
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if dtype not in DTYPE_BYTES:
        raise ValueError(f"tensor {name} has unknown dtype {str(dtype)[:20]!r}")
    if not isinstance(shape, list) or not all(_is_int(d) for d in shape):
        raise ValueError(f"tensor {name} has a malformed shape")
    if any(d < 0 or d > MAX_DIM for d in shape):
        raise ValueError(f"tensor {name} has an impossible shape {shape[:8]}")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(map(_is_int, offsets)):
        raise ValueError(f"tensor {name} has malformed data_offsets")
    elements = math.prod(shape)
    if elements > MAX_ELEMENTS:
        raise ValueError(f"tensor {name} has an impossible shape {shape[:8]}")
    begin, stop = offsets
    if begin < 0 or stop < begin or stop - begin != elements * DTYPE_BYTES[dtype]:
        raise ValueError(f"tensor {name} lies outside the file (truncated?)")
    return begin, stop, elements


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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
            text = fh.read(length)
        if json_too_deep(text):
            raise ValueError("header nests too deeply to be a tensor list")
        header = json.loads(text)
        if not isinstance(header, dict):
            raise ValueError("header is not an object")
        data_size = size - 8 - length
        end = 0
        for name, info in header.items():
            if name == "__metadata__":
                continue
            _, stop, _ = _tensor_size(name[:80], info)
            if stop > data_size:
                raise ValueError(f"tensor {name[:80]} lies outside the file (truncated?)")
            end = max(end, stop)
        if end != data_size:
            raise ValueError(f"{data_size - end} stray bytes after the tensors")
        return header
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError) as exc:
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
        reason = one_line(exc, 120)
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
