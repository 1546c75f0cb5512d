"""The kernel's side of one job in a model worker: the job kind's coroutine.

It routes the job to its worker (starting one if needed), forwards the kernel's
pause and resume as they happen and renice with the worker's next batch of reports
(within `PRIORITY_POLL` when it sends none), and turns the worker's `JobEnd` back into what an in-thread job would have done: a status,
`JobKilled`, `JobFailed` with the same one-line reason, or `MemoryError`. Kill
arrives as the task's cancellation: the worker is told at once, and the runner
waits for the job to leave as `run_blocking` waits for a thread.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmsh.kernel.control import JobFailed, JobKilled
from llmsh.workers.manager import worker_manager
from llmsh.workers.messages import Control, JobEnd, Outcome, StartJob
from llmsh.workers.process import Binding, WorkerProcess
from llmsh.workers.routing import worker_key

if TYPE_CHECKING:
    from llmsh.kernel.context import JobContext

PRIORITY_POLL = 0.25  # renice reaches a worker that reports nothing this fast


@dataclass(frozen=True)
class WorkerJob:
    """What one kernel job runs in a worker."""

    kind: str
    model: str  # with the job's device, picks the worker
    args: dict[str, Any]
    target: str | None = None  # "module:function(args, ctl, pool)"; None: the model kind
    need: int = 0  # memory estimate in bytes, to make room among idle workers


def result_of(end: JobEnd) -> int:
    if end.outcome is Outcome.DONE:
        return end.status
    if end.outcome is Outcome.KILLED:
        raise JobKilled()
    if end.outcome is Outcome.OUT_OF_MEMORY:
        raise MemoryError(end.reason)
    raise JobFailed(end.reason)


async def _started(worker: WorkerProcess) -> None:
    """Wait for the worker's Ready; a kill meanwhile leaves the worker for the next job."""
    try:
        await asyncio.shield(asyncio.wrap_future(worker.ready))
    except asyncio.CancelledError:
        worker.unreserve()
        raise
    except RuntimeError as exc:  # it died while starting
        worker.unreserve()
        raise JobFailed(str(exc)) from None


async def run_in_worker(ctx: JobContext, job: WorkerJob) -> int:
    worker = worker_manager().worker_for(worker_key(job.model, ctx.device), job.need)
    await _started(worker)
    binding = Binding(ctx.pid, ctx)
    # From here to the hooks nothing awaits, so a pause cannot fall between them.
    msg = StartJob(ctx.pid, job.kind, job.args, ctx.device, binding.priority, ctx.spec.parent,
                   job.target, paused=ctx.paused_event.is_set())  # fmt: skip
    worker.start(binding, msg)
    ctx.annotate(worker_pid=worker.pid)

    def pause() -> None:
        worker.control(ctx.pid, Control.PAUSE)

    def resume() -> None:
        worker.control(ctx.pid, Control.RESUME)

    ctx.pause_hooks.append(pause)
    ctx.resume_hooks.append(resume)
    end = asyncio.wrap_future(binding.end)
    try:
        while not (await asyncio.wait([end], timeout=PRIORITY_POLL))[0]:
            worker.sync_priority(binding)
    except asyncio.CancelledError:
        worker.control(ctx.pid, Control.KILL)
        await asyncio.wait([end], timeout=ctx.config.kill_grace * 5)
        raise
    finally:
        binding.detach()
        ctx.pause_hooks.remove(pause)
        ctx.resume_hooks.remove(resume)
    return result_of(end.result())
