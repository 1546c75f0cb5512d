"""Running model work in this process: the inline executor, and what a worker runs.

`run_here` is the one way model work runs, whichever process it is in: against
this process's model pool, its end turned into an `Ending` by the kernel's rules.
The model worker's host calls it for each job it gets; the `InlineExecutor` calls
it in a thread of the kernel process (``[executor] kind = "inline"``, the older
LLMSH_MODEL_WORKERS=thread): no process to start, but a crash in torch or
llama.cpp takes the kernel with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llmsh.kernel.control import JobControl
from llmsh.kernel.ending import Ending, run_to_end
from llmsh.kernel.executor import Work

if TYPE_CHECKING:
    from llmsh.kernel.context import JobContext


def _call(work: Work, ctl: JobControl) -> int:
    from llmsh.models.kinds import run_model_job, shared_pool

    return run_model_job(work.kind, dict(work.args), ctl, shared_pool(), work.parent, work.target)


def run_here(work: Work, ctl: JobControl) -> Ending:
    """Run `work` to its end in the calling thread (nothing escapes)."""
    return run_to_end(_call, work, ctl)


def local_resident() -> list[dict[str, Any]]:
    from llmsh.models.kinds import local_resident_models

    return local_resident_models()


def local_unpin(model: str) -> list[str]:
    """End the pins of `model` in this process's pool (none there: nothing released)."""
    from llmsh.models.errors import ModelError
    from llmsh.models.kinds import existing_pool

    pool = existing_pool()
    if pool is None:
        return []
    try:
        return pool.unpin(model)
    except ModelError:  # not loaded here
        return []


class InlineExecutor:
    """Model work in threads of the kernel process; every job shares its one pool."""

    name = "inline"

    async def run(self, job: JobContext, work: Work) -> Ending:
        # Kill: the kernel's control raises JobKilled at the job's next check();
        # run_blocking waits for the thread to leave before the cancellation goes on.
        return await job.run_blocking(run_here, work, job)

    def resident(self) -> list[dict[str, Any]]:
        return local_resident()

    def unpin(self, model: str) -> list[str]:
        return local_unpin(model)

    def close(self) -> None:
        pass  # the pool is the process's; its keep-alive reaper unloads idle models
