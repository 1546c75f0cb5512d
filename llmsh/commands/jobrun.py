"""Running a kernel job from a command, and resolving job references.

`run_job` submits a job, records its pid on the session job, streams its output
while it is in the foreground (always into pipes and files) and returns its exit
status. Nothing here imports the kernel until a job is actually run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from typing import TYPE_CHECKING

from llmsh.commands.context import Context
from llmsh.commands.spec import Args, CommandError, not_available
from llmsh.commands.values import JobRef
from llmsh.errors import UnknownKind

if TYPE_CHECKING:
    from llmsh.kernel import Event, EventType, JobSpec, Process
    from llmsh.kernel.api import KernelAPI, SubscriptionAPI

INTERRUPTED = 130
PROGRESS_KINDS = frozenset({"finetune", "eval", "load", "pull"})
"""Long jobs that show a progress bar in the foreground (generate streams its tokens)."""


def exit_status(proc: Process) -> int:
    if proc.exit_status is not None:
        return int(proc.exit_status)
    return 0 if proc.state.value == "done" else INTERRUPTED if proc.state.value in (
        "interrupted", "killed") else 1  # fmt: skip


class JobStream:
    """A job submitted and followed to its end: its OUTPUT events (and, if asked, STATE
    and PROGRESS ones) in order, with `proc` kept current. Shared by shell commands and
    the HTTP API. Subscribes before submitting, so no early event is missed."""

    def __init__(self, kernel: KernelAPI, spec: JobSpec, types: Iterable[EventType]) -> None:
        from llmsh.kernel import EventType

        self.kernel = kernel
        self.spec = spec
        self.types = {EventType.OUTPUT, EventType.STATE, *types}
        self._sub: SubscriptionAPI | None = None
        self._proc: Process | None = None

    @property
    def proc(self) -> Process:
        assert self._proc is not None, "the job is not submitted yet"
        return self._proc

    async def __aenter__(self) -> JobStream:
        self._sub = self.kernel.subscribe(types=self.types)
        try:
            self._proc = await self.kernel.submit(self.spec)
        except BaseException:
            self._sub.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop following the job (it runs on); safe to call twice."""
        if self._sub is not None:
            self._sub.close()
            self._sub = None

    async def refresh(self) -> Process:
        """The job's record read again from the kernel (after a quiet spell)."""
        self._proc = await self.kernel.get(self.proc.pid)
        return self._proc

    async def events(self, timeout: float | None = None) -> AsyncIterator[Event | None]:
        """The job's events until it finishes; None after `timeout` seconds without one."""
        sub = self._sub
        assert sub is not None
        while not self.proc.finished:
            event = await sub.get(timeout)
            if event is None:
                if timeout is None:
                    return  # the subscription closed (the kernel went away)
                yield None
                continue
            if event.pid != self.proc.pid:
                continue
            if event.process is not None:
                self._proc = event.process
            yield event


async def run_job(ctx: Context, spec: JobSpec, progress: bool = False) -> int:
    """Submit ``spec`` and follow it to the end; the job's exit status."""
    from llmsh.kernel import EventType

    kernel = await ctx.kernel()
    bar = None
    try:
        async with JobStream(kernel, spec, [EventType.PROGRESS] if progress else []) as job:
            if ctx.job is not None:
                ctx.job.add_pid(job.proc.pid)
            if progress and ctx.streaming:
                from llmsh.commands.progress import ProgressBar

                bar = ProgressBar.for_stream(ctx.err)
            async for event in job.events():
                assert event is not None
                if event.type is EventType.OUTPUT:
                    if ctx.streaming:
                        if bar is not None:
                            bar.clear()
                        ctx.write(event.text)
                        ctx.out.flush()
                elif bar is not None and ctx.streaming:
                    bar.update(job.proc)
            proc = job.proc
    except UnknownKind:
        raise not_available() from None
    finally:
        if bar is not None:
            bar.close()
    return report(ctx, proc)


def report(ctx: Context, proc: Process) -> int:
    """The exit status of a finished job, saying why on stderr when it failed."""
    status = exit_status(proc)
    quiet = proc.kind == "system" and proc.reason.startswith("exit status")  # as in sh
    if proc.state.value == "failed" and not quiet:
        ctx.error(proc.reason or f"job {proc.pid} failed", status)
    elif proc.state.value == "interrupted" and ctx.streaming:
        ctx.error(f"job {proc.pid} was interrupted: {proc.reason}", status)
    return status


async def run_built_job(ctx: Context, args: Args) -> int:
    """The handler of every job command: build its JobSpec, run it."""
    builder = args.command.job
    assert builder is not None
    spec = builder(ctx, args)
    return await run_job(ctx, spec, progress=spec.kind in PROGRESS_KINDS)


def make_spec(
    ctx: Context, kind: str, args: Args, argv: Sequence[str] | None = None, **values: object
) -> JobSpec:
    """A JobSpec for this shell session from a command's parsed arguments."""
    from llmsh.kernel import JobSpec

    device = args.get("device") or "auto"
    priority = args.get("priority")
    return JobSpec(
        kind=kind,
        argv=tuple(args.argv if argv is None else argv),
        args={k: v for k, v in values.items() if v is not None},
        device=str(device),
        priority=int(priority) if priority is not None else 0,
        session=ctx.shell.session_id,
    )


async def resolve_pids(ctx: Context, ref: JobRef, live: bool = True) -> list[int]:
    """The kernel pids a reference stands for: ``%N`` expands to its job's pids
    (only the unfinished ones when ``live``); a bare number is a pid."""
    if not ref.is_session:
        return [ref.pid]
    job = ctx.shell.jobs.get(ref)
    if not live:
        return list(job.pids)
    kernel = await ctx.kernel()
    pids = []
    for pid in job.pids:
        proc = await kernel.get(pid)
        if not proc.finished:
            pids.append(pid)
    return pids


async def one_pid(ctx: Context, ref: JobRef) -> int:
    pids = await resolve_pids(ctx, ref, live=True)
    if not pids:
        pids = await resolve_pids(ctx, ref, live=False)
    if not pids:
        raise CommandError(f"job {ref} has no running process")
    return pids[-1]
