"""Executors: where a started model job runs. The kernel knows them only by this interface.

A job kind that needs a model hands its `Work` to the kernel's executor through
`JobContext.execute`. The executor runs it somewhere (threads of this process, a
model worker process, a node of a cluster) and, while it runs:

- carries control to it: it subscribes to the job's `ControlCore` listeners
  (kill, pause, resume, renice), which the kernel fires as requests arrive;
- brings its reports back through the job's context (`write`, `progress`,
  `set_memory`, `annotate`, `mark_running`; callable from any thread);
- returns how it ended as an `Ending`, once: a crash of the executing side is a
  FAILED ending whose reason names the signal;
- reports the models it holds resident (`resident`) and releases pins (`unpin`).

Cancellation of `run`'s task means the job is to stop now (kill, the kernel
closing): the executor stops the job and waits up to the kernel's kill grace for
it before it lets the cancellation through.

Implementations live outside the kernel (`llmsh.workers.inline`,
`llmsh.workers.executor`) and are chosen by name in `llmsh.runtime`; a new one
(a Ray cluster) is one more module there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from .control import JobFailed

if TYPE_CHECKING:
    from .context import JobContext
    from .ending import Ending


@dataclass(frozen=True)
class Work:
    """What one job asks its executor to run."""

    kind: str  # the model job kind ("generate", "finetune", ...)
    model: str  # which model it uses: executors place work per model and device
    args: dict[str, Any] = field(default_factory=dict)
    target: str | None = None  # "module:function(args, ctl, pool)"; None: the kind's own
    need: int = 0  # memory estimate in bytes (to make room among idle workers)
    parent: int | None = None  # a restarted job's predecessor (fine-tune resume)


class Executor(Protocol):
    name: str

    async def run(self, job: JobContext, work: Work) -> Ending:
        """Run `work` for `job` to its end (see the module's contract)."""

    def resident(self) -> list[dict[str, Any]]:
        """The models held resident where this executor runs jobs, as rows with at least
        name, device and nbytes (for `free` and `top`). Must not block for long."""

    def unpin(self, model: str) -> list[str]:
        """End `load` pins of `model`; returns the devices it left. Blocking (a thread)."""

    def close(self) -> None:
        """Release what the executor holds (worker processes). Blocking (a thread)."""


class NoExecutor:
    """The executor of a kernel built without one: it runs no model work."""

    name = "none"

    async def run(self, job: JobContext, work: Work) -> Ending:
        raise JobFailed(f"this kernel has no executor for {work.kind} jobs")

    def resident(self) -> list[dict[str, Any]]:
        return []

    def unpin(self, model: str) -> list[str]:
        return []

    def close(self) -> None:
        pass
