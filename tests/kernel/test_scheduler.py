from __future__ import annotations

import pytest

from llmsh.kernel.errors import PlacementError
from llmsh.kernel.scheduler import Scheduler, Waiting

from .conftest import GiB, caps


def sched(**kw: object) -> Scheduler:
    return Scheduler(caps(**kw), aging_seconds=10.0)  # type: ignore[arg-type]


def job(
    pid: int, nice: int = 0, mem: float = 0, at: float = 0.0, cands: tuple[str, ...] = ("cpu",)
) -> Waiting:
    return Waiting(pid, nice, int(mem * GiB), 1, cands, at)


def test_auto_prefers_the_largest_gpu_then_cpu() -> None:
    s = sched(gpus=(8, 24))
    assert s.candidates("auto", ("cpu", "cuda")) == ("cuda:1", "cuda:0", "cpu")
    assert s.candidates("auto", ("cpu",)) == ("cpu",)


def test_explicit_devices_are_honoured_or_refused_with_a_reason() -> None:
    s = sched(gpus=(8,))
    assert s.candidates("cuda:0", ("cpu", "cuda")) == ("cuda:0",)
    assert s.candidates("cuda", ("cpu", "cuda")) == ("cuda:0",)
    with pytest.raises(PlacementError, match=r"no device cuda:3 on this machine"):
        s.candidates("cuda:3", ("cpu", "cuda"))
    with pytest.raises(PlacementError, match="runs only on cpu"):
        s.candidates("cuda:0", ("cpu",))
    with pytest.raises(PlacementError, match="invalid device 'tpu'"):
        s.candidates("tpu", ("cpu",))
    with pytest.raises(PlacementError, match="no GPU"):
        sched().candidates("cuda", ("cpu", "cuda"))


def test_admission_refuses_a_job_that_fits_nowhere_naming_need_and_capacity() -> None:
    s = sched(cpu_gib=16, gpus=(8,))
    s.admit(12 * GiB, 1, ("cuda:0", "cpu"))  # fits the CPU: admitted
    with pytest.raises(PlacementError, match=r"needs 20.0 GiB .*cpu.* has 16.0 GiB"):
        s.admit(20 * GiB, 1, ("cuda:0", "cpu"))


def test_placement_by_memory_fit_prefers_gpu_and_falls_back_to_cpu() -> None:
    s = sched(cpu_gib=16, gpus=(8,))
    s.enqueue(job(1, mem=6, cands=("cuda:0", "cpu")))
    s.enqueue(job(2, mem=6, cands=("cuda:0", "cpu"), at=1))
    placed = s.next_placements()
    assert [(p.pid, p.device) for p in placed] == [(1, "cuda:0"), (2, "cpu")]
    assert s.devices["cuda:0"].mem_reserved == 6 * GiB
    s.release(1)
    assert s.devices["cuda:0"].mem_reserved == 0


def test_slots_limit_concurrency_per_device() -> None:
    s = sched(cpu_slots=2)
    for pid in range(1, 5):
        s.enqueue(job(pid, at=pid))
    assert [p.pid for p in s.next_placements()] == [1, 2]
    assert s.next_placements() == []
    s.release(1)
    assert [p.pid for p in s.next_placements()] == [3]


def test_priority_order_and_renice() -> None:
    s = sched(cpu_slots=1)
    s.enqueue(job(1, nice=0, at=0))
    s.enqueue(job(2, nice=-10, at=1))
    s.enqueue(job(3, nice=10, at=2))
    assert s.order() == [2, 1, 3]
    s.renice(3, -20)
    assert s.order() == [3, 2, 1]
    assert [p.pid for p in s.next_placements()] == [3]


def test_aging_lets_a_low_priority_job_overtake_newer_high_ones() -> None:
    s = sched(cpu_slots=1)
    s.enqueue(job(1, nice=10, at=0.0))  # low, waiting since t=0
    # A high-priority job arriving 150 s later: the old job aged 15 levels (one per 10 s).
    s.enqueue(job(2, nice=-10, at=150.0))
    assert s.effective_priority(1, now=150.0) == pytest.approx(-5.0)
    assert s.order() == [2, 1]
    s.enqueue(job(3, nice=-10, at=250.0))  # the old job has now aged past a fresh -10
    assert s.effective_priority(1, now=250.0) == pytest.approx(-15.0)
    assert s.effective_priority(3, now=250.0) == pytest.approx(-10.0)
    assert s.order() == [2, 1, 3]
    assert [p.pid for p in s.next_placements()] == [2]


def test_backfill_runs_small_jobs_past_one_blocked_for_memory() -> None:
    s = sched(cpu_gib=16, cpu_slots=4)
    s.enqueue(job(1, mem=10, at=0))
    s.enqueue(job(2, mem=10, at=1))  # does not fit while 1 runs
    s.enqueue(job(3, mem=2, at=2))
    assert [p.pid for p in s.next_placements()] == [1, 3]
    assert s.is_waiting(2)
    s.release(1)
    assert [p.pid for p in s.next_placements()] == [2]


def test_removed_and_reniced_entries_are_not_started_twice() -> None:
    s = sched(cpu_slots=4)
    s.enqueue(job(1))
    s.enqueue(job(2))
    s.renice(2, 5)
    s.renice(2, -5)
    assert s.remove(1)
    assert [p.pid for p in s.next_placements()] == [2]
    assert s.next_placements() == [] and len(s) == 0


def test_place_now_starts_a_new_job_only_when_nothing_waits() -> None:
    s = sched(cpu_gib=16, cpu_slots=1)
    assert s.place_now(1, 2 * GiB, 1, ("cpu",)) == "cpu" and s.holding(1)
    assert s.place_now(2, 2 * GiB, 1, ("cpu",)) is None  # the slot is taken
    s.enqueue(job(2, mem=2))
    s.release(1)
    assert s.place_now(3, 2 * GiB, 1, ("cpu",)) is None  # job 2 waited first
    assert [p.pid for p in s.next_placements()] == [2]
