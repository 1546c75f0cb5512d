"""Loaded models shared by the jobs on each device, for every backend.

One pool per process holds every resident model, whatever runs it: an entry is
keyed by (model, backend, device) and names its backend ("torch", "llama.cpp";
a LoRA adapter on a base is one more loader), so `free`, `top`, `unload`,
keep-alive and eviction see all of them. Each backend brings its own loader
(`PoolBackend`); the default pool knows torch and llama.cpp.

A model is loaded once per backend and device and handed out by reference count: a job
`acquire`s it (loading it if needed) and `release`s it when done. A model no job
holds stays resident for `keep_alive` seconds, so a burst of jobs pays for one
load; after that `reap` unloads it. When a load needs memory, `make_room` evicts
idle models least recently used first. `pin` keeps a model resident whatever
its idleness (the `load` command); `unpin` ends that (`unload`).

Thread-safe: jobs run in worker threads. Loading happens outside the lock, so
one slow load does not stall jobs using other models; two jobs asking for the
same model wait for the one load.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmsh.models.errors import ModelError

if TYPE_CHECKING:
    from llmsh.models.loader import LoadedModel

Loader = Callable[[str, str], "LoadedModel"]
Clock = Callable[[], float]
Key = tuple[str, str, str]  # (model, backend, device)
DEFAULT_KEEP_ALIVE = 300.0
TORCH, LLAMA_CPP = "torch", "llama.cpp"  # as `llmsh.engine.registry` names them


@dataclass(frozen=True)
class PoolBackend:
    """How the pool loads a model for one backend, and what loading it will take."""

    loader: Loader
    estimate: Callable[[str], int]  # bytes resident once loaded (for making room)


@dataclass
class _Entry:
    name: str
    device: str
    backend: str = TORCH
    lm: LoadedModel | None = None  # None while loading
    refs: int = 0
    pinned: bool = False
    last_used: float = 0.0
    nbytes: int = 0


@dataclass(frozen=True)
class ResidentModel:
    """One row of `snapshot()`: what is loaded where, for `free`, `top`, `models show`."""

    name: str
    device: str
    nbytes: int
    refs: int
    pinned: bool
    idle_seconds: float
    loading: bool
    backend: str = TORCH

    def as_row(self) -> dict[str, Any]:
        """The JSON row `free --json`, `top` and the worker's residency report carry."""
        return {
            "name": self.name,
            "backend": self.backend,
            "device": self.device,
            "nbytes": self.nbytes,
            "refs": self.refs,
            "pinned": self.pinned,
            "idle_seconds": round(self.idle_seconds, 1),
            "loading": self.loading,
        }


@dataclass
class ModelHandle:
    """What `acquire` returns; give it back with `release` (or use `pool.use`)."""

    pool: ModelPool
    entry: _Entry
    released: bool = False

    @property
    def lm(self) -> LoadedModel:
        assert self.entry.lm is not None
        return self.entry.lm

    def release(self) -> None:
        self.pool.release(self)


def _default_loader(name: str, device: str) -> LoadedModel:
    from llmsh.models.loader import load_model

    return load_model(name, device)


def _default_estimate(name: str) -> int:
    from llmsh.models.estimate import resident_bytes

    return resident_bytes(name)


def _llama_loader(name: str, device: str) -> LoadedModel:
    from llmsh.engine.llamacpp import load_llama

    loaded: LoadedModel = load_llama(name, device)
    return loaded


def _gguf_bytes(name: str) -> int:
    from llmsh.models.store import ModelStore

    found = ModelStore().gguf_file(name)
    return found.stat().st_size if found else 0


def system_free_bytes(device: str) -> int:
    """Free memory on a device: available RAM for cpu, free GPU memory for cuda:N."""
    if device.startswith("cuda") and "torch" in sys.modules:
        import torch

        free, _total = torch.cuda.mem_get_info(torch.device(device))
        return int(free)
    import psutil

    return int(psutil.virtual_memory().available)


class ModelPool:
    def __init__(
        self,
        loader: Loader | None = None,
        keep_alive: float = DEFAULT_KEEP_ALIVE,
        clock: Clock = time.monotonic,
        free_bytes: Callable[[str], int] = system_free_bytes,
        estimate: Callable[[str], int] | None = None,
        backends: dict[str, PoolBackend] | None = None,
    ) -> None:
        """`loader` and `estimate` are torch's; `backends` adds or replaces others."""
        self.backends: dict[str, PoolBackend] = {
            TORCH: PoolBackend(loader or _default_loader, estimate or _default_estimate),
            LLAMA_CPP: PoolBackend(_llama_loader, _gguf_bytes),
            **(backends or {}),
        }
        self._free = free_bytes
        self.keep_alive = keep_alive
        self._clock = clock
        self._entries: dict[Key, _Entry] = {}
        self._cond = threading.Condition()
        self._reaper: threading.Thread | None = None
        self._stop = threading.Event()

    # -- handing models out ------------------------------------------------

    def _backend(self, backend: str) -> PoolBackend:
        found = self.backends.get(backend)
        if found is None:
            raise ModelError(f"the model pool cannot load models for backend {backend!r}")
        return found

    def acquire(
        self, name: str, device: str, backend: str = TORCH, need: int | None = None
    ) -> ModelHandle:
        """The model `name` loaded on `device` by `backend`, loading it if no job has it yet.

        `need` is what loading it will take (the job's resolved estimate); without it the
        backend's own estimate reads the model's files.
        """
        key = (name, backend, device)
        spec = self._backend(backend)
        with self._cond:
            while True:
                entry = self._entries.get(key)
                if entry is None:
                    entry = _Entry(name, device, backend)
                    self._entries[key] = entry  # a placeholder others wait on
                    break
                if entry.lm is not None:
                    entry.refs += 1
                    entry.last_used = self._clock()
                    return ModelHandle(self, entry)
                self._cond.wait()  # another thread is loading it
        try:
            self.make_room(device, spec.estimate(name) if need is None else need, exclude=key)
            lm = spec.loader(name, device)
        except BaseException:
            with self._cond:
                del self._entries[key]
                self._cond.notify_all()
            raise
        with self._cond:
            entry.lm, entry.nbytes, entry.refs = lm, lm.nbytes, 1
            entry.last_used = self._clock()
            self._cond.notify_all()
        return ModelHandle(self, entry)

    def release(self, handle: ModelHandle) -> None:
        with self._cond:
            if handle.released:
                return
            handle.released = True
            handle.entry.refs -= 1
            handle.entry.last_used = self._clock()

    @contextmanager
    def use(
        self, name: str, device: str, backend: str = TORCH, need: int | None = None
    ) -> Iterator[LoadedModel]:
        handle = self.acquire(name, device, backend, need)
        try:
            yield handle.lm
        finally:
            handle.release()

    # -- load / unload commands ----------------------------------------

    def pin(
        self, name: str, device: str, backend: str = TORCH, need: int | None = None
    ) -> ResidentModel:
        """Load `name` on `device` with `backend` and keep it resident until `unpin`."""
        handle = self.acquire(name, device, backend, need)
        with self._cond:
            handle.entry.pinned = True
        handle.release()
        return self._row(handle.entry, self._clock())

    def unpin(self, name: str, device: str | None = None) -> list[str]:
        """End a pin (every backend's); unloads at once where no job holds it.

        Returns the devices it was unloaded from."""
        with self._cond:
            matches = [
                e for e in self._entries.values() if e.name == name and (device in (None, e.device))
            ]
            if not matches:
                raise ModelError(
                    f"model {name!r} is not loaded" + (f" on {device}" if device else "")
                )
            gone = []
            for entry in matches:
                entry.pinned = False
                if entry.refs == 0 and entry.lm is not None:
                    gone.append(self._entries.pop(self._key(entry)))
        self._finalise(gone)
        return list(dict.fromkeys(e.device for e in gone))

    def in_use(self, name: str) -> bool:
        """Whether any device holds `name` (loaded, loading or pinned): `models rm` refuses then."""
        with self._cond:
            return any(e.name == name for e in self._entries.values())

    # -- freeing memory ----------------------------------------------------

    @staticmethod
    def _key(entry: _Entry) -> Key:
        return entry.name, entry.backend, entry.device

    def make_room(self, device: str, nbytes: int, exclude: Key | None = None) -> bool:
        """Unload idle models on `device`, least recently used first, until `nbytes` fit."""
        gone: list[_Entry] = []
        while self._free(device) < nbytes:
            with self._cond:
                idle = [
                    e for k, e in self._entries.items()
                    if e.device == device and e.refs == 0 and not e.pinned
                    and e.lm is not None and k != exclude
                ]  # fmt: skip
                if not idle:
                    break
                victim = min(idle, key=lambda e: e.last_used)
                gone.append(self._entries.pop(self._key(victim)))
            self._finalise([gone[-1]])
        return self._free(device) >= nbytes

    def reap(self) -> list[str]:
        """Unload models idle past keep-alive; returns 'name@device' of each unloaded."""
        now = self._clock()
        with self._cond:
            expired = [
                k for k, e in self._entries.items()
                if e.refs == 0 and not e.pinned and e.lm is not None
                and now - e.last_used >= self.keep_alive
            ]  # fmt: skip
            gone = [self._entries.pop(k) for k in expired]
        self._finalise(gone)
        return [f"{e.name}@{e.device}" for e in gone]

    def clear(self) -> None:
        """Unload everything no job holds (shutdown, tests)."""
        with self._cond:
            keys = [k for k, e in self._entries.items() if e.refs == 0 and e.lm is not None]
            gone = [self._entries.pop(k) for k in keys]
        self._finalise(gone)

    def _finalise(self, gone: list[_Entry]) -> None:
        if not gone:
            return
        devices = {e.device for e in gone}
        for entry in gone:
            entry.lm = None  # drop the last reference the pool held
        gc.collect()
        if any(d.startswith("cuda") for d in devices) and "torch" in sys.modules:
            import torch

            torch.cuda.empty_cache()

    def start_reaper(self, interval: float = 5.0) -> None:
        """Run `reap` every `interval` seconds in a daemon thread."""
        if self._reaper is not None:
            return

        def loop() -> None:
            while not self._stop.wait(interval):
                self.reap()

        self._reaper = threading.Thread(target=loop, name="llmsh-model-reaper", daemon=True)
        self._reaper.start()

    def stop_reaper(self) -> None:
        self._stop.set()
        if self._reaper is not None:
            self._reaper.join(timeout=5)
            self._reaper = None

    # -- what is resident -----------------------------------------------------

    def _row(self, e: _Entry, now: float) -> ResidentModel:
        idle = now - e.last_used if e.refs == 0 and e.lm is not None else 0.0
        return ResidentModel(
            e.name, e.device, e.nbytes, e.refs, e.pinned, idle, e.lm is None, e.backend
        )

    def resident(self, name: str, device: str, backend: str = TORCH) -> bool:
        """Whether `name` is loaded (or loading) on `device` by `backend`: a job on it then
        adds only its own memory, not the weights."""
        with self._cond:
            return (name, backend, device) in self._entries

    def snapshot(self) -> list[ResidentModel]:
        now = self._clock()
        with self._cond:
            return sorted(
                (self._row(e, now) for e in self._entries.values()),
                key=lambda r: (r.device, r.name, r.backend),
            )

    def resident_bytes(self, device: str | None = None) -> int:
        with self._cond:
            return sum(e.nbytes for e in self._entries.values() if device in (None, e.device))

    def describe(self) -> dict[str, Any]:
        return {"keep_alive": self.keep_alive, "models": [r.as_row() for r in self.snapshot()]}
