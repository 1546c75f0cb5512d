"""The process executor: each model job runs in the worker process for its model and device.

The kernel's side of one job: route it to its worker (starting one if needed),
forward the job's control as its listeners fire (kill, pause, resume, renice: a
message each, as they happen), let the worker's reader thread apply the job's
reports to its context, and return the `Ending` the worker decided, or the one a
crash gives ("model worker crashed (SIGKILL); the job was lost"). Kill also
arrives as the task's cancellation: the worker has been told by then, and the
executor waits for the job to leave as `run_blocking` waits for a thread.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any

from llmsh.kernel.control import JobFailed, Listener
from llmsh.kernel.ending import Ending
from llmsh.kernel.executor import Work
from llmsh.workers.manager import WorkerManager
from llmsh.workers.messages import Control, StartJob
from llmsh.workers.process import Binding, WorkerProcess
from llmsh.workers.routing import WorkerKey

if TYPE_CHECKING:
    from llmsh.kernel.context import JobContext


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


class ProcessExecutor:
    name = "process"

    def __init__(self, manager: WorkerManager) -> None:
        self.manager = manager

    @classmethod
    def here(cls) -> ProcessExecutor:
        """An executor whose workers start with this process's environment as it is now,
        logging to ``<state dir>/workers``."""
        from llmsh import paths

        return cls(WorkerManager(paths.state_dir() / "workers", dict(os.environ)))

    async def run(self, job: JobContext, work: Work) -> Ending:
        worker = self.manager.worker_for(WorkerKey(work.model, job.device), work.need)
        await _started(worker)
        binding = Binding(job.pid, job)
        pid = job.pid
        # From here to `listen` nothing awaits, so no control change falls between them.
        worker.start(binding, StartJob(pid, work, job.device, job.priority, job.paused))
        job.annotate(worker_pid=worker.pid)
        remove = job.listen(
            Listener(
                on_kill=lambda: worker.control(pid, Control.KILL),
                on_pause=lambda: worker.control(pid, Control.PAUSE),
                on_resume=lambda: worker.control(pid, Control.RESUME),
                on_renice=lambda value: worker.control(pid, Control.RENICE, value),
            )
        )
        end = asyncio.wrap_future(binding.end)
        try:
            await asyncio.shield(end)
        except asyncio.CancelledError:
            if not job.killed:  # the kernel kills the control first; this is a fallback
                worker.control(pid, Control.KILL)
            await asyncio.wait([end], timeout=job.config.kill_grace * 5)
            raise
        finally:
            remove()
            binding.detach()
        return end.result().ending

    def resident(self) -> list[dict[str, Any]]:
        return self.manager.resident()

    def unpin(self, model: str) -> list[str]:
        return self.manager.unpin(model)

    def close(self) -> None:
        self.manager.close()
