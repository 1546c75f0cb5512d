"""The kernel: a process table of model jobs, scheduled on the local devices.

Its public API is a small set of async methods (submit, kill, pause, resume,
renice, wait, list, get, subscribe, devices, output, explain) so that an embedded
shell and the socket daemon expose exactly the same behaviour. Each job runs as
its own task: one job failing never touches another.

This module is the API: life cycle, checking requests, answering queries. How a
job is started, ended and stopped lives in `execution` (`JobRunner`, its base).
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmsh.errors import one_line

from .. import paths
from .builtin_kinds import kill_orphans, register_builtin_kinds
from .config import KernelConfig, capacities_for
from .devices import DeviceProbe, DeviceSnapshot
from .errors import (
    InvalidRequest,
    KernelError,
    NoSuchJob,
    PlacementError,
    QueueFull,
    StoreUnwritable,
)
from .events import EventBus, EventType, Subscription
from .execution import KILLED_STATUS, JobRunner
from .executor import Executor
from .kinds import JobKind, KindRegistry
from .records import JobSpec, JobState, Process
from .scheduler import DeviceCapacity, Scheduler, Waiting
from .store import JobStore
from .table import ProcessTable

__all__ = ["KILLED_STATUS", "Kernel", "Plan"]

_BLANK = Process(0, "", (), {}, JobState.QUEUED, 0, "auto")


@dataclass(frozen=True)
class Plan:
    """What submitting a spec would do, without doing it (the `explain` command)."""

    kind: str
    mem_estimate: int
    candidates: tuple[str, ...]
    device_now: str | None  # where it would start right now, if it could
    fits: bool
    reason: str
    jobs_ahead: int


class Kernel(JobRunner):
    """The process table's API; `JobRunner` holds the running jobs beneath it."""

    def __init__(
        self,
        config: KernelConfig | None = None,
        kinds: KindRegistry | None = None,
        resources: dict[str, Callable[[], builtins.list[dict[str, Any]]]] | None = None,
        executor: Executor | None = None,
        owns_executor: bool = False,
    ) -> None:
        """`resources` report what holds device memory outside jobs (resident models);
        `executor` runs model work (see `llmsh.runtime`), closed with the kernel if it
        `owns_executor`."""
        if kinds is None:
            kinds = KindRegistry()
            register_builtin_kinds(kinds)
        super().__init__(config or KernelConfig(), kinds, EventBus(), executor)
        self.owns_executor = owns_executor
        self.resources = dict(resources or {})
        self.id = uuid.uuid4().hex[:12]
        self.probe = DeviceProbe(self.config.nvml)
        self.started = False

    # -- life cycle ------------------------------------------------------------------

    async def start(self) -> Kernel:
        state_dir = self.config.state_dir or paths.state_dir()
        # The store takes this kernel's lock (see ownership.py) before it registers.
        store = JobStore(Path(state_dir) / "jobs.db", self.id)
        try:
            store.register_kernel(self.id)
            recovered = store.recover("the kernel that ran it stopped (crashed or killed)")
        except BaseException:
            store.unregister_kernel(self.id)
            store.close()
            raise
        self.store = store
        kill_orphans(recovered)
        self._table = ProcessTable(
            self.store, self.bus, self.config.clock, self.config.history_limit
        )
        capacities = self.config.capacities or capacities_for(self.probe.snapshot(), self.config)
        self.scheduler = Scheduler(
            [DeviceCapacity(c.id, c.mem_budget, c.slots) for c in capacities],
            self.config.aging_seconds,
        )
        self.started = True
        return self

    async def close(self, reason: str = "the kernel stopped", grace: float = 0.0) -> None:
        """Stop every unfinished job (recorded as interrupted) and close the store.

        With `grace`, running jobs first get that many seconds to finish on their own
        (queued jobs are not started meanwhile).
        """
        if not self.started:
            return
        await self._stop_all(reason, grace)
        self.bus.close()
        assert self.store is not None
        # The final records reach the store while this kernel is still registered, so
        # no other kernel's recovery takes them for a crashed kernel's jobs meanwhile.
        with contextlib.suppress(KernelError):  # a dead writer: nothing more can be saved
            self.store.flush()
        self.store.unregister_kernel(self.id)
        self.store.close()
        self._threads.shutdown(wait=False, cancel_futures=True)
        if self.owns_executor:
            await asyncio.get_running_loop().run_in_executor(None, self._close_executor)
        self.started = False

    async def __aenter__(self) -> Kernel:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- the public API --------------------------------------------------------------

    async def _prepare(self, spec: JobSpec) -> tuple[JobKind, tuple[str, ...], int, JobSpec]:
        kind = self.kinds.validate(spec)
        if not -20 <= spec.priority <= 19:
            raise InvalidRequest(f"invalid priority {spec.priority}: must be -20..19")
        candidates = self._sched.candidates(spec.device, kind.devices)
        try:
            if kind.resolve is not None:  # reads files: off the event loop, once per job
                spec = await asyncio.to_thread(kind.resolve, spec)
            if kind.resident_estimate is not None:
                mem = int(kind.resident_estimate(spec, self._resident_rows()))
            else:
                mem = int(kind.estimate(spec))
        except KernelError:
            raise
        except Exception as exc:  # an estimator's complaint is about the request
            raise InvalidRequest(one_line(exc)) from None
        return kind, candidates, mem, spec

    async def submit(self, spec: JobSpec) -> Process:
        """Queue a job; returns once it is in the store (committed), so it survives a
        crash of the kernel from then on. Raises KernelError for requests refused."""
        kind, candidates, mem, spec = await self._prepare(spec)  # resolved off the loop
        proc = self._submit(spec, kind, candidates, mem)
        try:
            await self._store.durable()
        except KernelError:
            # Refused, so it must not run: it ends, and the store has that once it can.
            current = self._procs.records.get(proc.pid)
            if current is not None and not current.finished:
                await self._kill(proc.pid, "refused: the job store could not record it")
            raise
        return proc  # as committed (an inline job is over already)

    def _submit(
        self, spec: JobSpec, kind: JobKind, candidates: tuple[str, ...], mem: int
    ) -> Process:
        """Record and queue a prepared job, with no await: nothing can come between."""
        sched, procs = self._sched, self._procs  # once: they are checked properties
        self._store.check_writable()
        if spec.parent is not None:
            # Checked here, with no await before the new job is recorded, so two restarts
            # cannot both pass: a fine-tune continued twice would train twice on one folder.
            self._refuse_second_continuation(spec.parent)
        if len(sched) >= self.config.max_queue:
            raise QueueFull(
                f"the queue is full ({self.config.max_queue} jobs waiting); "
                "try again when some have started"
            )
        now = self.config.clock()
        # Evolving a blank record is several times cheaper than the dataclass __init__.
        proc = _BLANK.evolve(
            pid=self._store.allocate_pid(),
            kind=spec.kind,
            argv=tuple(spec.argv),
            args=dict(spec.args),
            state=JobState.QUEUED,
            priority=spec.priority,
            device_request=spec.device or "auto",
            mem_estimate=mem,
            created=now,
            session=spec.session,
            parent=spec.parent,
            kernel_id=self.id,
        )
        procs.add(proc)
        try:
            sched.admit(mem, kind.slots, candidates)
        except PlacementError as exc:
            self._finish(proc.pid, JobState.FAILED, 1, str(exc))
            return procs.records[proc.pid]
        if not self._draining:
            device = sched.place_now(proc.pid, mem, kind.slots, candidates)
            if device is not None:  # nothing waits: start it without a trip through the queue
                self._start(proc.pid, device, kind)
                return procs.records.get(proc.pid, proc)  # an inline job is over, maybe evicted
        self._queue(Waiting(proc.pid, spec.priority, mem, kind.slots, candidates, now))
        return procs.records.get(proc.pid, proc)

    async def restart(self, pid: int, session: str | None = None) -> Process:
        """Run a finished job again as a new job linked to it (`parent`).

        Job kinds that checkpoint (fine-tuning) find the old job's checkpoint through
        the parent pid and continue from it; others simply start over.
        """
        old = await self.get(pid)
        if not old.finished:
            raise KernelError(f"job {pid} has not finished ({old.state.value}): nothing to restart")
        if old.state is JobState.DONE:
            raise KernelError(f"job {pid} completed: nothing to restart")
        self._refuse_second_continuation(pid)  # at once; _submit checks again
        spec = JobSpec(
            old.kind,
            old.argv,
            dict(old.args),
            old.device_request,
            old.priority,
            old.session if session is None else session,
            parent=pid,
        )
        return await self.submit(spec)

    def _refuse_second_continuation(self, pid: int) -> None:
        for proc in self.table.values():
            if proc.parent == pid and not proc.finished:
                raise KernelError(
                    f"job {pid} is already continued by job {proc.pid} ({proc.state.value})"
                )

    async def explain(self, spec: JobSpec) -> Plan:
        kind, candidates, mem, spec = await self._prepare(spec)
        try:
            self._sched.admit(mem, kind.slots, candidates)
        except PlacementError as exc:
            return Plan(kind.name, mem, candidates, None, False, str(exc), len(self._sched))
        device = self._sched.choose(mem, kind.slots, candidates)
        ahead = len(self._sched)
        reason = (
            f"would start now on {device}"
            if device and not ahead
            else f"would wait in the queue behind {ahead} job(s)"
        )
        return Plan(kind.name, mem, candidates, device, True, reason, ahead)

    async def kill(self, pid: int, reason: str = "killed") -> Process:
        proc = await self._kill(pid, reason)
        await self._acknowledge(pid, "killed")
        return proc

    async def _kill(self, pid: int, reason: str) -> Process:
        proc = self._require_live(pid, "kill")
        if pid not in self._tasks:  # queued, or paused before it started
            self._drop(pid, JobState.KILLED, KILLED_STATUS, reason)
            return self.table[pid]
        await self._kill_task(pid)
        return self.table.get(pid, proc)

    async def pause(self, pid: int) -> Process:
        proc = self._require_live(pid, "pause")
        if proc.state == JobState.PAUSED:
            raise KernelError(f"job {pid} is already paused")
        self._hold(pid, proc.state)
        paused = self.table[pid]
        await self._acknowledge(pid, "paused")
        return paused

    async def resume(self, pid: int) -> Process:
        proc = self._require_live(pid, "resume")
        if proc.state != JobState.PAUSED:
            raise KernelError(f"job {pid} is not paused (it is {proc.state.value})")
        self._release(pid, proc)
        resumed = self.table.get(pid, proc)
        await self._acknowledge(pid, "resumed")
        return resumed

    async def renice(self, pid: int, priority: int) -> Process:
        self._require_live(pid, "renice")
        if not -20 <= priority <= 19:
            raise InvalidRequest(f"invalid priority {priority}: must be -20..19")
        self._procs.update(pid, priority=priority)
        self._sched.renice(pid, priority)
        self._reniced(pid, priority)
        self._schedule()
        reniced = self.table[pid]
        await self._acknowledge(pid, "reniced")
        return reniced

    async def _acknowledge(self, pid: int, done: str) -> None:
        """Reply to a change only once the store has it; say what happened if it cannot."""
        try:
            await self._store.durable()
        except StoreUnwritable as exc:
            raise StoreUnwritable(f"job {pid} {done}, but not yet recorded: {exc}") from None

    async def wait(
        self, pids: Iterable[int], timeout: float | None = None
    ) -> builtins.list[Process]:
        """Wait until every job given has finished; returns their final records."""
        pids = builtins.list(pids)
        final: dict[int, Process] = {}
        futures: dict[int, asyncio.Future[Process]] = {}
        for pid in pids:
            proc = self._procs.lookup(pid)
            if proc is None:
                raise NoSuchJob(pid)
            if proc.finished:
                final[pid] = proc  # no future for a job that is already over
            elif pid not in futures:
                futures[pid] = self._procs.waiter(pid)
        if futures:
            done, _ = await asyncio.wait(futures.values(), timeout=timeout)
            if len(done) != len(futures):
                raise asyncio.TimeoutError()
            final.update((pid, f.result()) for pid, f in futures.items())
        return [final[pid] for pid in pids]

    async def get(self, pid: int) -> Process:
        proc = self._procs.lookup(pid)
        if proc is None:
            raise NoSuchJob(pid)
        return proc

    async def list(
        self,
        states: Iterable[JobState] | None = None,
        device: str | None = None,
        include_finished: bool = False,
        session: str | None = None,
    ) -> builtins.list[Process]:
        return self._procs.select(states, device, include_finished, session)

    def subscribe(
        self, pids: Iterable[int] | None = None, types: Iterable[EventType] | None = None
    ) -> Subscription:
        return self.bus.subscribe(pids, types)

    async def devices(self) -> builtins.list[DeviceSnapshot]:
        return await asyncio.get_running_loop().run_in_executor(None, self.probe.snapshot)

    async def resident(self) -> builtins.list[dict[str, Any]]:
        """What resources (e.g. the model pool) hold, each row tagged with its source."""
        return self._resident_rows()

    def _resident_rows(self) -> builtins.list[dict[str, Any]]:
        rows: builtins.list[dict[str, Any]] = []
        for source, snapshot in self.resources.items():
            try:
                found = snapshot()
            except Exception:  # a broken report must not break `free` or `top`
                continue
            rows.extend({**row, "source": source} for row in found)
        return rows

    async def kind_names(self) -> builtins.list[str]:
        """The job kinds this kernel can run (plugins add theirs)."""
        return self.kinds.names()

    def capacities(self) -> builtins.list[DeviceCapacity]:
        return [
            DeviceCapacity(d.id, d.mem_budget, d.slots, d.mem_reserved, d.slots_used)
            for d in self._sched.devices.values()
        ]

    def queue_order(self) -> builtins.list[int]:
        return self._sched.order()

    async def output(self, pid: int) -> str:
        await self.get(pid)
        path = self._store.output_path(pid)
        if pid in self._contexts:
            self._contexts[pid].flush()
        try:
            # newline="": a job's output comes back byte for byte ("\r" stays "\r")
            with path.open(encoding="utf-8", errors="replace", newline="") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    async def flush(self) -> None:
        """Wait until the store holds everything recorded so far."""
        self._store.send()
        await asyncio.get_running_loop().run_in_executor(None, self._store.sync)

    # -- checking requests -----------------------------------------------------------

    def _require_live(self, pid: int, verb: str) -> Process:
        proc = self._procs.lookup(pid)
        if proc is None:
            raise NoSuchJob(pid)
        if proc.finished:
            raise KernelError(
                f"cannot {verb} job {pid}: it has already finished ({proc.state.value})"
            )
        if pid not in self.table:
            raise KernelError(f"cannot {verb} job {pid}: it belongs to another kernel")
        return proc
