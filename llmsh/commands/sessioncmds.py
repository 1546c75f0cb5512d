"""Session job control: jobs, wait, fg, bg (the `%N` jobs of this shell)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llmsh.commands import render
from llmsh.commands.context import Context
from llmsh.commands.jobrun import exit_status
from llmsh.commands.registry import Register
from llmsh.commands.render import Column
from llmsh.commands.spec import Arg, Args, Command, CommandError, Flag
from llmsh.commands.spec import ValueType as T
from llmsh.commands.values import JobRef

if TYPE_CHECKING:
    from llmsh.shell.jobtable import SessionJob

JSON = Flag("json", help="machine-readable output")


async def job_state(ctx: Context, job: SessionJob) -> str:
    if job.done:
        return job.describe_status().lower()
    if job.stopped:
        return "paused"
    if job.pids and ctx.shell.kernel_started:
        kernel = await ctx.kernel()
        return (await kernel.get(job.pids[-1])).state.value
    return "running"


async def jobs(ctx: Context, args: Args) -> int:
    table = ctx.shell.jobs
    rows = []
    for job in table:
        rows.append([f"[{job.number}]{table.marker(job)}", str(job.pid or "-"),
                     await job_state(ctx, job), job.command])  # fmt: skip
    if args["json"]:
        keys = ("job", "pid", "state", "command")
        data: list[dict[str, Any]] = [dict(zip(keys, row, strict=True)) for row in rows]
        for item, job in zip(data, table, strict=True):
            item.update(job=job.number, pid=job.pid, pids=job.pids)
        render.print_json(ctx, data)
    elif rows:
        cols = [Column("JOB"), Column("PID", "right"), Column("STATE"), Column("COMMAND")]
        if ctx.styled:
            render.table(ctx, cols, rows)
        else:
            ctx.write(render.plain_table(cols, rows, header=False))
    return 0


async def wait(ctx: Context, args: Args) -> int:
    refs: list[JobRef] = args["ids"]
    status = 0
    table = ctx.shell.jobs
    if not refs:
        for job in list(table):
            status = await _wait_job(ctx, job)
        return status
    for ref in refs:
        found = table.get(ref) if ref.is_session else table.by_pid(ref.pid)
        if found is not None and (ref.is_session or found.pids[-1:] == [ref.pid]):
            status = await _wait_job(ctx, found)
        else:
            kernel = await ctx.kernel()
            (proc,) = await kernel.wait([ref.pid])
            status = exit_status(proc)
    return status


async def _wait_job(ctx: Context, job: SessionJob) -> int:
    """Wait for a session job and reap it (it is not announced as done afterwards)."""
    import asyncio

    if job.task is not None and not job.task.done():
        await asyncio.wait([job.task])
    job.announced = True
    ctx.shell.jobs.remove(job)
    return job.result()


def _session_job(ctx: Context, ref: JobRef | None) -> SessionJob:
    table = ctx.shell.jobs
    if ref is None:
        job = table.current()
        if job is None:
            raise CommandError("no current job")
        return job
    if ref.is_session:
        return table.get(ref)
    job = table.by_pid(ref.pid)
    if job is None:
        raise CommandError(f"{ref} is not a job of this session (see 'jobs')")
    return job


async def _continue(ctx: Context, job: SessionJob) -> None:
    kernel = await ctx.kernel()
    for pid in job.pids:
        proc = await kernel.get(pid)
        if proc.state.value == "paused":
            await kernel.resume(pid)
    job.stopped = False


async def fg(ctx: Context, args: Args) -> int:
    job = _session_job(ctx, args["id"])
    ctx.err.write(job.command + "\n")
    import asyncio

    job.foreground = True
    await _continue(ctx, job)
    if job.task is not None and not job.task.done():
        await asyncio.wait([job.task])
    status = job.result()
    job.announced = True
    ctx.shell.jobs.remove(job)
    return status


async def bg(ctx: Context, args: Args) -> int:
    job = _session_job(ctx, args["id"])
    await _continue(ctx, job)
    job.foreground = False
    ctx.err.write(f"[{job.number}]{ctx.shell.jobs.marker(job)} {job.command} &\n")
    return 0


def register_commands(register: Register) -> None:
    register(
        Command(
            "jobs",
            "this session's background jobs: [N] PID STATE COMMAND",
            jobs,
            category="jobs",
            flags=(JSON,),
            examples=("jobs",),
        )
    )
    register(
        Command(
            "wait",
            "wait for the given jobs (or all of this session's); status of the last",
            wait,
            category="jobs",
            args=(Arg("ids", T.ID, optional=True, many=True),),
            examples=("wait", "wait %1 42"),
        )
    )
    register(
        Command(
            "fg",
            "bring a job to the foreground (Ctrl-C kills it, Ctrl-Z pauses it)",
            fg,
            category="jobs",
            args=(Arg("id", T.ID, optional=True),),
            examples=("fg", "fg %2"),
        )
    )
    register(
        Command(
            "bg",
            "continue a paused job in the background",
            bg,
            category="jobs",
            args=(Arg("id", T.ID, optional=True),),
            examples=("bg", "bg %1"),
        )
    )
