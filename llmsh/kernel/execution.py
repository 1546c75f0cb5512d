"""Running jobs: each job's task or inline runner, its end, and kill/pause/resume.

`JobRunner` is the base class of `Kernel`. The kernel's API methods check a request
and then call in here; this part starts what the scheduler places, turns however a
runner ends (a status, an exception, a kill, a cancelled task) into a final record,
frees the job's slot and carries kill, pause, resume and renice to a job that has
started (its `JobContext`'s listeners carry them on to wherever the job runs). It
also takes the callbacks each job's `JobContext` makes on the event-loop thread.
Model work runs on the `executor` it is given (`llmsh.kernel.executor`).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .config import KernelConfig
from .context import JobContext
from .ending import STOPPED, Ending, EndKind, ending_of_exception, ending_of_status
from .errors import KernelError
from .events import EventBus, EventType
from .executor import Executor, NoExecutor
from .kinds import JobKind, KindRegistry
from .records import JobSpec, JobState, Process, Progress
from .scheduler import Scheduler, Waiting
from .store import JobStore
from .table import ProcessTable

KILLED_STATUS = 137
Outcome = tuple[JobState, int | None, str]  # final state, exit status, reason


class JobRunner:
    """The job-running state under the kernel's API: tasks, contexts, the queue's pump."""

    def __init__(
        self,
        config: KernelConfig,
        kinds: KindRegistry,
        bus: EventBus,
        executor: Executor | None = None,
    ) -> None:
        self.config = config
        self.kinds = kinds
        self.bus = bus
        self.executor: Executor = executor or NoExecutor()
        # Set by `Kernel.start`; the checked properties below refuse to run without them.
        self.store: JobStore | None = None
        self.scheduler: Scheduler | None = None
        self._table: ProcessTable | None = None
        self._contexts: dict[int, JobContext] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._paused_from: dict[int, JobState] = {}
        self._kill_requested: set[int] = set()
        self._enqueued_at: dict[int, float] = {}
        self._threads = ThreadPoolExecutor(max_workers=64, thread_name_prefix="llmsh-job")
        self._draining = False
        self._scheduling = self._reschedule = False  # see _schedule
        self._close_reason = "the kernel stopped"

    @property
    def _sched(self) -> Scheduler:
        if self.scheduler is None:
            raise KernelError("the kernel is not started")
        return self.scheduler

    @property
    def _procs(self) -> ProcessTable:
        if self._table is None:
            raise KernelError("the kernel is not started")
        return self._table

    @property
    def table(self) -> dict[int, Process]:
        """The live records by pid (read-only by convention: change them via the API)."""
        return self._procs.records

    @property
    def _store(self) -> JobStore:
        if self.store is None:
            raise KernelError("the kernel is not started")
        return self.store

    # -- the queue -------------------------------------------------------------------

    def _queue(self, job: Waiting) -> None:
        """Put a job in the queue and start whatever fits now."""
        # Kept apart from the scheduler's entry: a job paused while queued leaves the
        # queue, and on resume it comes back with its first time there (for aging).
        self._enqueued_at[job.pid] = job.enqueued_at
        self._sched.enqueue(job)
        self._schedule()

    def _schedule(self) -> None:
        """Start every queued job that fits.

        A job that finishes inline calls back in here from `_end`; it only asks for
        another pass, so a long run of inline jobs is a loop, not a deep recursion.
        """
        if self._draining:
            return
        if self._scheduling:
            self._reschedule = True
            return
        self._scheduling = self._reschedule = True
        try:
            while self._reschedule:
                self._reschedule = False
                for placement in self._sched.next_placements():
                    self._start(placement.pid, placement.device)
        finally:
            self._scheduling = False

    # -- starting and ending a job ---------------------------------------------------

    def _start(self, pid: int, device: str, kind: JobKind | None = None) -> None:
        procs = self._procs
        proc = procs.records[pid]
        if kind is None:
            kind = self.kinds.get(proc.kind)
        spec = JobSpec(
            proc.kind,
            proc.argv,
            proc.args,
            proc.device_request,
            proc.priority,
            proc.session,
            proc.parent,
        )
        ctx = JobContext(self, pid, spec, device, self._store.output_dir, self._threads)
        self._contexts[pid] = ctx
        state = JobState.LOADING if kind.loads_model else JobState.RUNNING
        procs.transition(pid, state, "started", device=device, started=self.config.clock())
        ending: Ending
        try:
            result = kind.run(ctx)
        except Exception as exc:
            ending = ending_of_exception(exc)
        else:
            if isinstance(result, int) or not inspect.isawaitable(result):
                ending = ending_of_status(result)  # a plain-function runner: already over
            else:
                task = asyncio.get_running_loop().create_task(self._run(pid, ctx, result))
                self._tasks[pid] = task
                task.add_done_callback(lambda t: self._task_done(pid, ctx, result))
                return
        self._end(pid, ctx, *self._final(pid, ending))

    def _final(self, pid: int, ending: Ending) -> Outcome:
        """The one place a job's end becomes its final state, status and reason."""
        if ending.kind is EndKind.STOPPED:
            return self._stopped(pid)
        if ending.kind is EndKind.FAILED:
            return JobState.FAILED, ending.status, ending.reason
        return JobState.DONE, 0, ""

    def _stopped(self, pid: int) -> Outcome:
        """A job stopped from outside: killed on request, else by the kernel closing."""
        if pid in self._kill_requested:
            return JobState.KILLED, KILLED_STATUS, "killed"
        return JobState.INTERRUPTED, None, self._close_reason

    def _task_done(self, pid: int, ctx: JobContext, job: Awaitable[int | Ending]) -> None:
        """A task cancelled before its first step never enters `_run`: finish it here."""
        if self._contexts.get(pid) is ctx:
            if inspect.iscoroutine(job):
                job.close()  # never started: close it, so it is not reported as never awaited
            self._end(pid, ctx, *self._final(pid, STOPPED))

    async def _run(self, pid: int, ctx: JobContext, job: Awaitable[int | Ending]) -> None:
        ending: Ending
        try:
            result = await job
        except asyncio.CancelledError:
            ending = STOPPED
        except Exception as exc:
            ending = ending_of_exception(exc)
        else:
            ending = result if isinstance(result, Ending) else ending_of_status(result)
        self._end(pid, ctx, *self._final(pid, ending))

    def _end(
        self, pid: int, ctx: JobContext, state: JobState, status: int | None, reason: str
    ) -> None:
        ctx.close()
        self._contexts.pop(pid, None)
        self._tasks.pop(pid, None)
        self._kill_requested.discard(pid)
        sched = self._sched
        sched.release(pid)
        self._finish(pid, state, status, reason)
        if len(sched):  # a freed slot matters only to jobs that wait for one
            self._schedule()

    # -- kill, pause, resume, close --------------------------------------------------

    def _drop(self, pid: int, state: JobState, status: int | None, reason: str) -> None:
        """End a job that has no task (queued, or paused before it started)."""
        self._sched.remove(pid)
        self._finish(pid, state, status, reason)

    async def _kill_task(self, pid: int) -> None:
        """Kill a started job: its control raises JobKilled (its listeners tell wherever it
        runs) and its task is cancelled."""
        self._kill_requested.add(pid)
        self._contexts[pid].kill()
        task = self._tasks[pid]
        task.cancel()
        await asyncio.wait([task], timeout=self.config.kill_grace * 5)

    def _hold(self, pid: int, state: JobState) -> None:
        """Pause a job now in `state`: a started one at its next check, else off the queue."""
        self._paused_from[pid] = state
        if pid in self._contexts:
            self._contexts[pid].pause()
        else:
            self._sched.remove(pid)
        self._transition(pid, JobState.PAUSED, why="paused")

    def _release(self, pid: int, proc: Process) -> None:
        """Resume a paused job: a started one where it stopped, else back in the queue."""
        before = self._paused_from.pop(pid, JobState.RUNNING)
        if pid in self._contexts:
            self._contexts[pid].resume()
            self._transition(pid, before, why="resumed")
            return
        self._transition(pid, JobState.QUEUED, why="resumed")
        kind = self.kinds.get(proc.kind)
        candidates = self._sched.candidates(proc.device_request, kind.devices)
        since = self._enqueued_at.get(pid, proc.created)
        self._queue(Waiting(pid, proc.priority, proc.mem_estimate, kind.slots, candidates, since))

    def _reniced(self, pid: int, priority: int) -> None:
        """A renice reaches a started job's control at once (its listeners pass it on)."""
        ctx = self._contexts.get(pid)
        if ctx is not None:
            ctx.renice(priority)

    def _close_executor(self) -> None:
        """Release the executor's workers (blocking: call from a thread)."""
        self.executor.close()

    async def _stop_all(self, reason: str, grace: float) -> None:
        """Start nothing more and end every unfinished job as interrupted (`reason`).

        With `grace`, running jobs first get that many seconds to finish on their own.
        """
        self._draining = True
        self._close_reason = reason
        if grace > 0 and self._tasks:
            await asyncio.wait(list(self._tasks.values()), timeout=grace)
        for pid, proc in list(self.table.items()):
            if proc.state == JobState.QUEUED or (
                proc.state == JobState.PAUSED and pid not in self._tasks
            ):
                self._drop(pid, JobState.INTERRUPTED, None, reason)
        tasks = list(self._tasks.values())
        for pid, ctx in list(self._contexts.items()):
            ctx.kill()
            self._tasks[pid].cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=self.config.kill_grace * 5)
        for pid, proc in list(self.table.items()):
            if not proc.finished:  # a job that ignored its kill for the whole grace
                self._finish(pid, JobState.INTERRUPTED, None, reason)

    # -- callbacks from job contexts (event-loop thread) ------------------------------

    def _on_output(self, pid: int, text: str) -> None:
        self.bus.publish(EventType.OUTPUT, pid, None, text)

    def _on_progress(self, pid: int, progress: Progress, metrics: dict[str, Any]) -> None:
        self._loaded(pid)
        self._procs.progress(pid, progress, metrics)

    def _loaded(self, pid: int) -> None:
        """A loading job that reports memory or progress has its model: it is running."""
        proc = self.table.get(pid)
        if proc is not None and proc.state is JobState.LOADING:
            self._procs.transition(pid, JobState.RUNNING, why="loaded")

    def _on_annotate(self, pid: int, metrics: dict[str, Any]) -> None:
        if pid in self.table and not self.table[pid].finished:
            self._procs.update(pid, metrics=metrics)

    def _on_memory(self, pid: int, nbytes: int) -> None:
        if pid in self.table and not self.table[pid].finished:
            self._loaded(pid)
            self._procs.update(pid, mem_measured=nbytes)

    def _on_running(self, pid: int) -> None:
        proc = self.table.get(pid)
        if proc is not None and proc.state == JobState.LOADING:
            self._procs.transition(pid, JobState.RUNNING, why="loaded")
        elif proc is not None and proc.state == JobState.PAUSED:
            self._paused_from[pid] = JobState.RUNNING  # resume must not put it back in loading

    # -- record keeping --------------------------------------------------------------

    def _transition(self, pid: int, state: JobState, why: str = "", **changes: Any) -> None:
        self._procs.transition(pid, state, why, **changes)

    def _finish(self, pid: int, state: JobState, status: int | None, reason: str) -> None:
        self._procs.finish(pid, state, status, reason)
        self._paused_from.pop(pid, None)
        self._enqueued_at.pop(pid, None)
