"""ModelPool with a scripted loader and clock: no torch, no real models."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from llmsh.models.pool import ModelPool


@dataclass
class FakeModel:
    name: str
    device: str
    nbytes: int = 100
    model: Any = None
    tokenizer: Any = None


@dataclass
class Rig:
    now: float = 0.0
    free: int = 1000
    loads: list[str] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def loader(self, name: str, device: str) -> FakeModel:
        self.loads.append(name)
        return FakeModel(name, device)


def make(rig: Rig, keep_alive: float = 300.0, **kw: Any) -> ModelPool:
    return ModelPool(
        loader=rig.loader,  # type: ignore[arg-type]
        keep_alive=keep_alive,
        clock=rig.clock,
        free_bytes=lambda device: rig.free,
        estimate=lambda name: 100,
        **kw,
    )


def test_shared_and_refcounted() -> None:
    rig = Rig()
    pool = make(rig)
    a = pool.acquire("m", "cpu")
    b = pool.acquire("m", "cpu")
    assert rig.loads == ["m"] and a.lm is b.lm
    assert pool.snapshot()[0].refs == 2
    a.release()
    a.release()  # idempotent
    assert pool.snapshot()[0].refs == 1
    b.release()
    row = pool.snapshot()[0]
    assert row.refs == 0 and row.nbytes == 100 and not row.loading


def test_keep_alive_then_unload() -> None:
    rig = Rig()
    pool = make(rig, keep_alive=10)
    with pool.use("m", "cpu"):
        rig.now = 100  # held by a job: never reaped
        assert pool.reap() == []
    rig.now = 105
    assert pool.reap() == [] and pool.snapshot()[0].idle_seconds == 5
    rig.now = 111
    assert pool.reap() == ["m@cpu"] and pool.snapshot() == []
    with pool.use("m", "cpu"):
        pass
    assert rig.loads == ["m", "m"]


def test_pin_and_unpin() -> None:
    rig = Rig()
    pool = make(rig, keep_alive=1)
    pool.pin("m", "cpu")
    rig.now = 1000
    assert pool.reap() == [] and pool.snapshot()[0].pinned
    assert pool.in_use("m")
    assert pool.unpin("m") == ["cpu"] and pool.snapshot() == []
    assert not pool.in_use("m")


def test_make_room_evicts_lru_idle_only() -> None:
    rig = Rig()
    pool = make(rig)
    for t, name in enumerate(["old", "mid", "new"]):
        rig.now = t
        pool.acquire(name, "cpu").release()
    busy = pool.acquire("busy", "cpu")
    pool.acquire("gpu-model", "cuda:0").release()
    pool.pin("pinned", "cpu")
    rig.free = 0

    evicted: list[str] = []
    original = pool._finalise

    def track(gone: list[Any]) -> None:
        evicted.extend(e.name for e in gone)
        rig.free += 100 * len(gone)
        original(gone)

    pool._finalise = track  # type: ignore[method-assign]
    assert pool.make_room("cpu", 150)
    assert evicted == ["old", "mid"]
    assert not pool.make_room("cpu", 10_000)  # only busy/pinned/other-device left
    assert {r.name for r in pool.snapshot()} == {"busy", "gpu-model", "pinned"}
    busy.release()


def test_concurrent_acquire_loads_once() -> None:
    rig = Rig()
    gate = threading.Event()

    def slow_loader(name: str, device: str) -> FakeModel:
        gate.wait(5)
        return rig.loader(name, device)

    pool = ModelPool(
        loader=slow_loader,  # type: ignore[arg-type]
        free_bytes=lambda d: 10**12,
        estimate=lambda n: 0,
    )
    handles: list[Any] = []
    threads = [
        threading.Thread(target=lambda: handles.append(pool.acquire("m", "cpu"))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.1)
    assert pool.snapshot()[0].loading
    gate.set()
    for thread in threads:
        thread.join(5)
    assert rig.loads == ["m"] and len(handles) == 4 and pool.snapshot()[0].refs == 4


def test_failed_load_is_forgotten() -> None:
    calls = []

    def broken(name: str, device: str) -> FakeModel:
        calls.append(name)
        raise RuntimeError("disk on fire")

    pool = ModelPool(
        loader=broken,  # type: ignore[arg-type]
        free_bytes=lambda d: 10**12,
        estimate=lambda n: 0,
    )
    for _ in range(2):
        with pytest.raises(RuntimeError):
            pool.acquire("m", "cpu")
    assert calls == ["m", "m"] and pool.snapshot() == []


def test_reaper_thread() -> None:
    pool = ModelPool(
        loader=Rig().loader,  # type: ignore[arg-type]
        keep_alive=0,
        free_bytes=lambda d: 10**12,
        estimate=lambda n: 0,
    )
    pool.acquire("m", "cpu").release()
    pool.start_reaper(interval=0.02)
    try:
        deadline = time.monotonic() + 3
        while pool.snapshot() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert pool.snapshot() == []
    finally:
        pool.stop_reaper()
