"""Loaded models shared by the jobs on each device.

A model is loaded once per device and handed out by reference count: a job
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
DEFAULT_KEEP_ALIVE = 300.0


@dataclass
class _Entry:
    name: str
    device: str
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
    ) -> None:
        self._loader = loader or _default_loader
        self._estimate = estimate or _default_estimate
        self._free = free_bytes
        self.keep_alive = keep_alive
        self._clock = clock
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._cond = threading.Condition()
        self._reaper: threading.Thread | None = None
        self._stop = threading.Event()

    # -- handing models out ------------------------------------------------

    def acquire(self, name: str, device: str) -> ModelHandle:
        """The model `name` loaded on `device`, loading it if no job has it yet."""
        key = (name, device)
        with self._cond:
            while True:
                entry = self._entries.get(key)
                if entry is None:
                    entry = _Entry(name, device)
                    self._entries[key] = entry  # a placeholder others wait on
                    break
                if entry.lm is not None:
                    entry.refs += 1
                    entry.last_used = self._clock()
                    return ModelHandle(self, entry)
                self._cond.wait()  # another thread is loading it
        try:
            self.make_room(device, self._estimate(name), exclude=key)
            lm = self._loader(name, device)
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
    def use(self, name: str, device: str) -> Iterator[LoadedModel]:
        handle = self.acquire(name, device)
        try:
            yield handle.lm
        finally:
            handle.release()

    # -- load / unload commands ----------------------------------------

    def pin(self, name: str, device: str) -> ResidentModel:
        """Load `name` on `device` and keep it resident until `unpin`."""
        handle = self.acquire(name, device)
        with self._cond:
            handle.entry.pinned = True
        handle.release()
        return self._row(handle.entry, self._clock())

    def unpin(self, name: str, device: str | None = None) -> list[str]:
        """End a pin; unloads at once where no job holds it. Returns the devices unloaded."""
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
                    gone.append(self._entries.pop((entry.name, entry.device)))
        self._finalise(gone)
        return [e.device for e in gone]

    def in_use(self, name: str) -> bool:
        """Whether any device holds `name` (loaded, loading or pinned): `models rm` refuses then."""
        with self._cond:
            return any(e.name == name for e in self._entries.values())

    # -- freeing memory ----------------------------------------------------

    def make_room(self, device: str, nbytes: int, exclude: tuple[str, str] | None = None) -> bool:
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
                gone.append(self._entries.pop((victim.name, victim.device)))
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
        return ResidentModel(e.name, e.device, e.nbytes, e.refs, e.pinned, idle, e.lm is None)

    def snapshot(self) -> list[ResidentModel]:
        now = self._clock()
        with self._cond:
            return sorted(
                (self._row(e, now) for e in self._entries.values()),
                key=lambda r: (r.device, r.name),
            )

    def resident_bytes(self, device: str | None = None) -> int:
        with self._cond:
            return sum(e.nbytes for e in self._entries.values() if device in (None, e.device))

    def describe(self) -> dict[str, Any]:
        return {"keep_alive": self.keep_alive, "models": [r.__dict__ for r in self.snapshot()]}
