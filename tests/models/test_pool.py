"""ModelPool with a scripted loader and clock: no torch, no real models."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from llmsh.models.errors import ModelError
from llmsh.models.pool import ModelPool, PoolBackend


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


def test_every_backend_in_one_pool_keyed_by_backend() -> None:
    """torch and llama.cpp copies of one model are separate entries, each naming its
    backend; `unpin` ends both, eviction and `in_use` see both."""
    rig, llama_loads = Rig(), []

    def llama(name: str, device: str) -> FakeModel:
        llama_loads.append(name)
        return FakeModel(name, device, nbytes=40)

    pool = make(rig, backends={"llama.cpp": PoolBackend(llama, lambda name: 40)})  # type: ignore[arg-type]
    pool.pin("m", "cpu")
    with pool.use("m", "cpu", "llama.cpp") as lm:
        assert lm.nbytes == 40
    assert rig.loads == ["m"] and llama_loads == ["m"]
    rows = {(r.name, r.backend): r for r in pool.snapshot()}
    assert set(rows) == {("m", "torch"), ("m", "llama.cpp")}
    assert rows["m", "llama.cpp"].as_row()["backend"] == "llama.cpp"
    assert pool.resident("m", "cpu", "llama.cpp") and not pool.resident("m", "cuda:0")
    assert pool.resident_bytes("cpu") == 140 and pool.in_use("m")
    with pool.use("m", "cpu", "llama.cpp"):
        assert llama_loads == ["m"]  # shared, not loaded again
        assert pool.unpin("m") == ["cpu"]  # the pinned torch copy goes at once
        assert [(r.backend, r.refs) for r in pool.snapshot()] == [("llama.cpp", 1)]
    rig.free = 0
    assert not pool.make_room("cpu", 1) and pool.snapshot() == []  # idle llama.cpp evicted
    with pytest.raises(ModelError, match="cannot load models for backend 'vllm'"):
        pool.acquire("m", "cpu", "vllm")


def test_a_resolved_need_replaces_the_estimate() -> None:
    """A job carries what loading takes (resolved at submit): the pool reads no files."""
    rig, asked = Rig(), []
    pool = ModelPool(
        loader=rig.loader,  # type: ignore[arg-type]
        clock=rig.clock,
        free_bytes=lambda device: rig.free,
        estimate=lambda name: asked.append(name) or 100,
    )
    pool.acquire("old", "cpu").release()
    rig.free = 500
    pool.acquire("m", "cpu", need=600).release()  # 600 > 500 free: "old" is evicted
    assert asked == ["old"] and [r.name for r in pool.snapshot()] == ["m"]
