"""Requests as kernel jobs: the spec, the model check, and the job's text as it comes.

Each request is one job of kind chat, generate or embed, submitted through the typed
`KernelAPI` like a shell command's (`llmsh.commands.jobrun.JobStream`), with the
client's address as its session, so it shows in `ps` and `top` and batches with the
shell's jobs on the same model.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from ..commands.jobrun import JobStream
from ..kernel import EventType, JobSpec, JobState, Process
from ..kernel.api import KernelAPI
from ..models.errors import ModelError
from ..models.manifest import ModelKind
from ..models.store import ModelStore
from .errors import ApiError

QUEUE_POLL = 0.25  # seconds between queue-position checks while a job waits
ENDED_BADLY = (JobState.KILLED, JobState.INTERRUPTED)


@dataclass(frozen=True)
class Piece:
    """What a waiting or running job has for its client: text, or its queue position."""

    text: str = ""
    queued: int | None = None


def session_of(client: tuple[str, int] | None) -> str:
    return f"http {client[0]}:{client[1]}" if client else "http"


def make_spec(
    kind: str, args: dict[str, object], priority: int, client: tuple[str, int] | None, path: str
) -> JobSpec:
    model = str(args.get("model", ""))
    return JobSpec(
        kind=kind,
        argv=("POST", path, model),
        args=args,
        priority=priority,
        session=session_of(client),
    )


def check_model(store: ModelStore, name: str, want: ModelKind | None) -> None:
    """404 for a model not in the store (naming those that are), 400 for the wrong kind.

    Only names the store lists pass, so no request field becomes a path."""
    stored = store.names()
    if name not in stored:
        listing = ", ".join(stored) if stored else "none (pull one: llmsh models pull NAME)"
        raise ApiError(
            404, f"the model {name!r} does not exist; stored models: {listing}",
            param="model", code="model_not_found",
        )  # fmt: skip
    try:
        kind = store.get(name).kind
    except ModelError as exc:
        raise ApiError(500, str(exc), "server_error") from None
    if want is not None and kind is not want:
        raise ApiError(
            400, f"the model {name!r} is an {kind.value} model; this endpoint needs "
            f"an {want.value} model", param="model",
        )  # fmt: skip


def queue_position(kernel: KernelAPI, pid: int) -> int | None:
    """1 for the next job to start; None when the job is not waiting."""
    order = kernel.queue_order()
    return order.index(pid) + 1 if pid in order else None


async def pieces(job: JobStream) -> AsyncIterator[Piece]:
    """The job's text as it writes it, and its queue position whenever that changes.

    Generation jobs end their output with a newline for the terminal: the last one is
    held back and dropped, so the client gets exactly the model's text."""
    held = ""
    last: int | None = None
    async for event in job.events(timeout=QUEUE_POLL):
        proc = job.proc if event is not None else await job.refresh()
        if proc.state is JobState.QUEUED:
            position = queue_position(job.kernel, proc.pid)
            if position is not None and position != last:
                last = position
                yield Piece(queued=position)
        if event is not None and event.type is EventType.OUTPUT:
            text = held + event.text
            held = "\n" if text.endswith("\n") else ""
            if held:
                text = text[:-1]
            if text:
                yield Piece(text=text)


def ended_error(proc: Process) -> ApiError | None:
    """The error a finished job gives its client; None when it completed."""
    if proc.state is JobState.DONE:
        return None
    reason = proc.reason or proc.state.value
    if proc.state in ENDED_BADLY:
        # 503 tells the client the server gave up; x-should-retry stops the openai
        # package from submitting the job again after a user killed it on purpose.
        return ApiError(
            503, f"job {proc.pid} was {proc.state.value}: {reason}", "server_error",
            code=f"job_{proc.state.value}", headers={"x-should-retry": "false"},
        )  # fmt: skip
    return ApiError(400, f"job {proc.pid} failed: {reason}", code="job_failed")


def finish_reason(proc: Process) -> str:
    max_tokens = proc.args.get("max_tokens")
    done = proc.progress.done if proc.progress.unit == "tok" else 0
    return "length" if isinstance(max_tokens, int) and done >= max_tokens else "stop"


def usage(proc: Process) -> dict[str, int]:
    completion = int(proc.progress.done) if proc.progress.unit == "tok" else 0
    prompt = proc.metrics.get("prompt_tokens")
    prompt = int(prompt) if isinstance(prompt, (int, float)) else 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


class Reaper:
    """Kills the jobs of clients that hung up. Kills are their own tasks, so a request's
    cancellation (the client is gone) cannot cancel its job's kill half-way."""

    def __init__(self, kernel: KernelAPI) -> None:
        self.kernel = kernel
        self._tasks: set[asyncio.Task[None]] = set()

    def kill(self, pid: int) -> None:
        task = asyncio.get_running_loop().create_task(self._kill(pid))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _kill(self, pid: int) -> None:
        with contextlib.suppress(Exception):  # it may have finished meanwhile
            await self.kernel.kill(pid, "the HTTP client closed its connection")

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
