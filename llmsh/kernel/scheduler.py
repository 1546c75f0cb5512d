"""Which queued job runs next, and where.

Priority with aging: a job's effective nice value improves by one level for every
`aging_seconds` it waits. Comparing two waiting jobs at the same instant, the
"now" term cancels, so the heap key `nice + enqueued_at / aging_seconds` orders
jobs exactly as their effective priorities do and never needs re-sorting.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import PlacementError


def fmt_bytes(n: int | float) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


@dataclass
class DeviceCapacity:
    id: str  # "cpu" or "cuda:N"
    mem_budget: int  # bytes jobs may reserve
    slots: int  # jobs that may hold the device at once
    mem_reserved: int = 0
    slots_used: int = 0

    @property
    def kind(self) -> str:
        return self.id.split(":", 1)[0]

    @property
    def mem_free(self) -> int:
        return self.mem_budget - self.mem_reserved

    def can_take(self, mem: int, slots: int) -> bool:
        return self.slots_used + slots <= self.slots and self.mem_reserved + mem <= self.mem_budget


@dataclass
class Waiting:
    pid: int
    nice: int
    mem: int
    slots: int
    candidates: tuple[str, ...]
    enqueued_at: float
    version: int = 0


# Heap entries are plain tuples (key, seq, pid, version): tuple comparison is far
# cheaper than a dataclass's generated __lt__.
_HeapEntry = tuple[float, int, int, int]


@dataclass(frozen=True)
class Placement:
    pid: int
    device: str


class Scheduler:
    def __init__(
        self,
        devices: Iterable[DeviceCapacity],
        aging_seconds: float = 10.0,
        backfill_scan: int = 64,
    ) -> None:
        self.devices: dict[str, DeviceCapacity] = {d.id: d for d in devices}
        self.aging_seconds = aging_seconds
        self.backfill_scan = backfill_scan
        self._waiting: dict[int, Waiting] = {}
        self._heap: list[_HeapEntry] = []
        self._seq = itertools.count()
        self._holding: dict[int, tuple[str, int, int]] = {}  # pid -> (device, mem, slots)
        self._candidates: dict[tuple[str, tuple[str, ...]], tuple[str, ...]] = {}

    # -- placement rules -------------------------------------------------------------

    def candidates(self, request: str, kinds: tuple[str, ...]) -> tuple[str, ...]:
        """Devices a job may use, in order of preference; raises for impossible requests."""
        key = (request, kinds)
        found = self._candidates.get(key)
        if found is None:  # the devices never change, so neither does the answer
            found = self._candidates[key] = self._find_candidates(request or "auto", kinds)
        return found

    def _find_candidates(self, request: str, kinds: tuple[str, ...]) -> tuple[str, ...]:
        if request == "auto":
            gpus = [d for d in self.devices.values() if d.kind == "cuda"] if "cuda" in kinds else []
            gpus.sort(key=lambda d: -d.mem_budget)
            cpu = [d for d in self.devices.values() if d.kind == "cpu"] if "cpu" in kinds else []
            found = tuple(d.id for d in gpus + cpu)
        elif request == "cuda":
            if "cuda" not in kinds:
                raise PlacementError(f"this job runs only on {', '.join(kinds)}")
            found = tuple(d.id for d in self.devices.values() if d.kind == "cuda")
            if not found:
                raise PlacementError("no GPU on this machine (use --device cpu or auto)")
        else:
            kind = request.split(":", 1)[0]
            if kind not in ("cpu", "cuda"):
                raise PlacementError(f"invalid device {request!r}: use auto, cpu, cuda or cuda:N")
            if kind not in kinds:
                raise PlacementError(f"this job runs only on {', '.join(kinds)}")
            if request not in self.devices:
                have = ", ".join(self.devices) or "none"
                raise PlacementError(f"no device {request} on this machine (devices: {have})")
            found = (request,)
        if not found:
            raise PlacementError(f"no device of kind {', '.join(kinds)} on this machine")
        return found

    def admit(self, mem: int, slots: int, candidates: tuple[str, ...]) -> None:
        """Refuse a job that could never fit on any of its devices."""
        for c in candidates:
            dev = self.devices[c]
            if mem <= dev.mem_budget and slots <= dev.slots:
                return
        largest = max((self.devices[c] for c in candidates), key=lambda d: d.mem_budget)
        raise PlacementError(
            f"needs {fmt_bytes(mem)} but the largest device that can run it "
            f"({largest.id}) has {fmt_bytes(largest.mem_budget)} for jobs"
        )

    def place_now(self, pid: int, mem: int, slots: int, candidates: tuple[str, ...]) -> str | None:
        """Reserve a device for a new job at once if none waits (as a queue pass would)."""
        if self._waiting:
            return None  # they go first, or backfill decides: take the queue
        device = self.choose(mem, slots, candidates)
        if device is not None:
            self.reserve(pid, device, mem, slots)
        return device

    # -- the queue -------------------------------------------------------------------

    def enqueue(self, job: Waiting) -> None:
        self._waiting[job.pid] = job
        self._push(job)

    def _push(self, job: Waiting) -> None:
        key = job.nice + job.enqueued_at / self.aging_seconds
        heapq.heappush(self._heap, (key, next(self._seq), job.pid, job.version))

    def remove(self, pid: int) -> bool:
        return self._waiting.pop(pid, None) is not None

    def renice(self, pid: int, nice: int) -> None:
        job = self._waiting.get(pid)
        if job is not None:
            job.nice = nice
            job.version += 1
            self._push(job)

    def is_waiting(self, pid: int) -> bool:
        return pid in self._waiting

    def __len__(self) -> int:
        return len(self._waiting)

    def effective_priority(self, pid: int, now: float) -> float:
        job = self._waiting[pid]
        return job.nice - (now - job.enqueued_at) / self.aging_seconds

    def order(self) -> list[int]:
        """Waiting pids in the order they would be considered (for queue positions)."""
        jobs = sorted(
            self._waiting.values(), key=lambda j: j.nice + j.enqueued_at / self.aging_seconds
        )
        return [j.pid for j in jobs]

    def _free_slot_anywhere(self) -> bool:
        for d in self.devices.values():  # a plain loop: any() over a generator is slower
            if d.slots_used < d.slots:
                return True
        return False

    def choose(self, mem: int, slots: int, candidates: tuple[str, ...]) -> str | None:
        for dev_id in candidates:
            if self.devices[dev_id].can_take(mem, slots):
                return dev_id
        return None

    def next_placements(self) -> list[Placement]:
        """Pop every job that can start now, reserving its device.

        A job blocked for memory does not block smaller jobs behind it (backfill),
        within `backfill_scan` entries; aging still brings it to the front.
        """
        if not self._heap:
            return []
        placed: list[Placement] = []
        skipped: list[_HeapEntry] = []
        scanned = 0
        while self._heap and scanned < self.backfill_scan and self._free_slot_anywhere():
            entry = heapq.heappop(self._heap)
            job = self._waiting.get(entry[2])
            if job is None or job.version != entry[3]:
                continue  # stale entry: removed or reniced
            device = self.choose(job.mem, job.slots, job.candidates)
            if device is None:
                skipped.append(entry)
                scanned += 1
                continue
            del self._waiting[job.pid]
            self.reserve(job.pid, device, job.mem, job.slots)
            placed.append(Placement(job.pid, device))
        for entry in skipped:
            heapq.heappush(self._heap, entry)
        return placed

    # -- reservations ----------------------------------------------------------------

    def reserve(self, pid: int, device: str, mem: int, slots: int) -> None:
        dev = self.devices[device]
        dev.mem_reserved += mem
        dev.slots_used += slots
        self._holding[pid] = (device, mem, slots)

    def release(self, pid: int) -> None:
        held = self._holding.pop(pid, None)
        if held is None:
            return
        device, mem, slots = held
        dev = self.devices[device]
        dev.mem_reserved -= mem
        dev.slots_used -= slots

    def holding(self, pid: int) -> bool:
        return pid in self._holding
