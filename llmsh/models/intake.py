"""Which files of a local model folder may enter the store, and copying them.

`models add` copies a folder the user points at, and that folder can hold
anything: a symlink to `/etc/shadow` or `/dev/zero`, a fifo, a file that keeps
growing. Only regular files are taken; a symlink must resolve inside the folder
(or, for a Hugging Face cache snapshot, into that repository's `blobs/`), and
every file and the whole folder are capped in size. The copy itself counts the
bytes it moves, so a file that grows after the check still stops at the cap.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from llmsh import paths
from llmsh.models.errors import ModelError
from llmsh.models.safety import is_pickle

GIB = 1 << 30
DEFAULT_MAX_FILE_GIB = 64  # larger than any single safetensors shard in practice
DEFAULT_MAX_TOTAL_GIB = 256  # a 70B-parameter model in 16 bits is ~140 GiB
SKIP_DIRS = frozenset({".git", ".cache", "__pycache__"})
_CHUNK = 8 << 20


@dataclass(frozen=True)
class Limits:
    """Size caps for one add, from config.toml ``[store] max_file_gib / max_total_gib``."""

    max_file: int = DEFAULT_MAX_FILE_GIB * GIB
    max_total: int = DEFAULT_MAX_TOTAL_GIB * GIB

    @classmethod
    def from_config(cls) -> Limits:
        table = paths.config_section("store")
        return cls(
            max_file=_gib(table, "max_file_gib", DEFAULT_MAX_FILE_GIB),
            max_total=_gib(table, "max_total_gib", DEFAULT_MAX_TOTAL_GIB),
        )


def _gib(table: dict[str, object], key: str, default: float) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ModelError(f"config.toml [store] {key} must be a positive number of GiB")
    return int(value * GIB)


@dataclass(frozen=True)
class SourceFile:
    rel: Path  # where it goes inside the stored model
    real: Path  # the regular file read (a symlink's target)
    size: int


def fmt_gib(n: int) -> str:
    return f"{n / GIB:.3g} GiB"


def _refuse(rel: Path, why: str) -> ModelError:
    return ModelError(f"refusing {rel}: {why}")


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _link_allowed(target: Path, src: Path) -> bool:
    """Inside the folder, or a Hugging Face cache snapshot's link into its blobs/."""
    if _inside(target, src):
        return True
    repo = src.parent.parent
    return src.parent.name == "snapshots" and _inside(target, repo / "blobs")


def _entry(src: Path, path: Path) -> SourceFile | None:
    """The file to copy for `path`, None to leave it out; refuses anything unsafe."""
    rel = path.relative_to(src)
    mode = os.lstat(path).st_mode
    real = path
    if stat.S_ISLNK(mode):
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return None  # a dangling link carries nothing (as before)
        if not _link_allowed(real, src):
            raise _refuse(rel, f"it is a symbolic link out of the folder (to {real})")
        mode = os.stat(real).st_mode
    if stat.S_ISDIR(mode):
        return None  # a link to a folder inside: its files are copied from where they are
    if not stat.S_ISREG(mode):
        raise _refuse(rel, "not a regular file (a device, fifo or socket)")
    if is_pickle(rel):
        return None  # never carry pickle checkpoints (the safetensors are checked first)
    return SourceFile(rel, real, os.stat(real).st_size)


def collect(src: Path, limits: Limits) -> list[SourceFile]:
    """The files of folder `src` to store, checked against `limits` before any copy."""
    src = src.resolve()
    found: list[SourceFile] = []
    total = 0
    for top, dirs, names in os.walk(src, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        here = Path(top)
        # os.walk lists links to folders among `dirs` and never enters them: check them too.
        for name in [*dirs, *sorted(names)]:
            entry = _entry(src, here / name)
            if entry is None:
                continue
            if entry.size > limits.max_file:
                raise _refuse(entry.rel, f"{fmt_gib(entry.size)} is over the per-file cap "
                              f"of {fmt_gib(limits.max_file)} (config.toml [store] max_file_gib)")  # fmt: skip
            total += entry.size
            if total > limits.max_total:
                raise ModelError(f"{src.name} holds over {fmt_gib(limits.max_total)}, the cap "
                                 "for one model (config.toml [store] max_total_gib)")  # fmt: skip
            found.append(entry)
    return found


def copy_capped(src: Path, dst: Path, cap: int, rel: Path) -> int:
    """Copy one regular file, refusing it once more than `cap` bytes have come.

    Opened without following a final symlink and without blocking (a fifo swapped
    in after the check must not hang the add); bytes are counted as they are read,
    so a file that grows during the copy still stops at the cap."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(src, flags)
    except OSError as exc:
        raise _refuse(rel, f"cannot open it ({exc.strerror})") from None
    with open(fd, "rb") as fin:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _refuse(rel, "not a regular file (a device, fifo or socket)")
        dst.parent.mkdir(parents=True, exist_ok=True)
        done = 0
        with open(dst, "xb") as fout:
            while chunk := fin.read(min(_CHUNK, cap - done + 1)):
                done += len(chunk)
                if done > cap:
                    raise _refuse(rel, f"it grew past the size cap of {fmt_gib(cap)} while copied")
                fout.write(chunk)
    return done


def copy_files(files: list[SourceFile], dst: Path, limits: Limits) -> None:
    """Copy what `collect` chose into `dst`, each file and the total still capped."""
    left = limits.max_total
    for entry in files:
        left -= copy_capped(entry.real, dst / entry.rel, min(limits.max_file, left), entry.rel)
