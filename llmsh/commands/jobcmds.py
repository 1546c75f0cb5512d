"""Process and job control: ps, jobs, kill, pause, resume, renice, wait, fg, bg, logs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmsh.commands import render
from llmsh.commands.context import Context
from llmsh.commands.jobrun import one_pid, resolve_pids
from llmsh.commands.registry import Register
from llmsh.commands.render import Column
from llmsh.commands.spec import Arg, Args, Command, CommandError, Flag
from llmsh.commands.spec import ValueType as T
from llmsh.commands.values import JobRef
from llmsh.errors import KernelError

if TYPE_CHECKING:
    from llmsh.kernel import Process

FINISHED = ("done", "failed", "killed", "interrupted")
JSON = Flag("json", help="machine-readable output")


def ps_row(proc: Process, now: float) -> list[str]:
    from llmsh.kernel import priority_name

    prog = proc.progress
    progress = f"{prog.fraction * 100:.0f}%" if prog.fraction is not None else "-"
    mem = proc.mem_measured if proc.mem_measured is not None else proc.mem_estimate
    return [
        str(proc.pid), proc.state.value, priority_name(proc.priority),
        proc.device or proc.device_request, render.fmt_bytes(mem) if mem else "-", progress,
        render.fmt_duration(proc.elapsed(now)) if proc.started else "-",
        render.truncate(proc.command, 60),
    ]  # fmt: skip


PS_COLUMNS = [Column("PID", "right"), Column("STATE"), Column("PRI"), Column("DEVICE"),
              Column("MEM", "right"), Column("PROG", "right"), Column("TIME", "right"),
              Column("COMMAND")]  # fmt: skip


async def ps(ctx: Context, args: Args) -> int:
    from llmsh.kernel import JobState

    kernel = await ctx.kernel()
    state = args["state"]
    procs = await kernel.list(
        states=[JobState(state)] if state else None, device=args["device"],
        include_finished=bool(args["all"] or state in FINISHED),
    )  # fmt: skip
    if args["json"]:
        render.print_json(ctx, [p.to_json() for p in procs])
        return 0
    now = render.now()
    rows = [ps_row(p, now) for p in procs]
    columns = PS_COLUMNS
    if any(p.parent for p in procs):  # restarted jobs: show what each continues, as ps -f does
        columns = [PS_COLUMNS[0], Column("PPID", "right"), *PS_COLUMNS[1:]]
        rows = [
            [row[0], str(p.parent or "-"), *row[1:]] for row, p in zip(rows, procs, strict=True)
        ]
    render.table(
        ctx, columns, rows, styles=[render.STATE_STYLES.get(p.state.value, "") for p in procs]
    )
    return 0


async def _each(ctx: Context, refs: list[JobRef], verb: str) -> int:
    """Apply a kernel verb to every pid the references stand for."""
    kernel = await ctx.kernel()
    status = 0
    for ref in refs:
        try:
            pids = await resolve_pids(ctx, ref)
            job = ctx.shell.jobs.get(ref) if ref.is_session else None
            if job is not None and not pids and not job.done and verb != "kill":
                raise CommandError(f"job {ref} has no running process")
            for pid in pids:
                if verb == "kill":
                    await kernel.kill(pid)
                elif verb == "pause":
                    await kernel.pause(pid)
                elif (await kernel.get(pid)).state.value == "interrupted":
                    await _continue(ctx, pid)
                else:
                    await kernel.resume(pid)
            if job is not None:
                if verb == "kill" and job.task is not None:
                    job.task.cancel()
                job.stopped = verb == "pause"
        except CommandError as exc:
            status = ctx.error(exc.message)
        except KernelError as exc:
            status = ctx.error(str(exc))
    return status


# Kinds whose interrupted work continues from a checkpoint rather than starting over.
CHECKPOINTED = frozenset({"finetune"})


async def _continue(ctx: Context, pid: int) -> None:
    """`resume` of an interrupted job: a fine-tune continues from its last checkpoint as
    a new job linked to the old one; other kinds would start over, so say `restart`."""
    kernel = await ctx.kernel()
    proc = await kernel.get(pid)
    if proc.kind not in CHECKPOINTED:
        raise CommandError(
            f"job {pid} was interrupted and cannot continue where it stopped; "
            f"'restart {pid}' runs it again"
        )
    new = await kernel.restart(pid, ctx.shell.session_id)
    ctx.line(f"job {pid} continues as {new.pid}")


async def restart(ctx: Context, args: Args) -> int:
    kernel = await ctx.kernel()
    status = 0
    for ref in args["ids"]:
        for pid in await resolve_pids(ctx, ref):
            try:
                new = await kernel.restart(pid, ctx.shell.session_id)
            except KernelError as exc:
                status = ctx.error(str(exc))
                continue
            ctx.line(f"job {pid} runs again as {new.pid}")
    return status


async def kill(ctx: Context, args: Args) -> int:
    return await _each(ctx, args["ids"], "kill")


async def pause(ctx: Context, args: Args) -> int:
    return await _each(ctx, [args["id"]], "pause")


async def resume(ctx: Context, args: Args) -> int:
    return await _each(ctx, [args["id"]], "resume")


async def renice(ctx: Context, args: Args) -> int:
    kernel = await ctx.kernel()
    for pid in await resolve_pids(ctx, args["id"]):
        await kernel.renice(pid, args["priority"])
    return 0


async def logs(ctx: Context, args: Args) -> int:
    from llmsh.kernel import EventType

    kernel = await ctx.kernel()
    pid = await one_pid(ctx, args["id"])
    ctx.write(await kernel.output(pid))
    proc = await kernel.get(pid)
    if not args["follow"] or proc.finished:
        return 0
    sub = kernel.subscribe(pids=[pid], types=[EventType.OUTPUT, EventType.STATE])
    try:
        while True:
            event = await sub.get(timeout=0.5)
            if event is not None and event.type is EventType.OUTPUT:
                ctx.write(event.text)
                ctx.out.flush()
            elif (await kernel.get(pid)).finished:
                return 0
    finally:
        sub.close()


ID = Arg("id", T.ID, help="a pid, or %N for job N of this session")


def register_commands(register: Register) -> None:
    register(
        Command(
            "ps",
            "process table (running and queued; --all adds finished ones)",
            ps,
            category="jobs",
            flags=(
                Flag("all", short="a", help="include finished jobs"),
                Flag("state", T.STATE, short="s", help="only jobs in this state"),
                Flag("device", T.DEVICE, short="d", help="only jobs on this device"),
                JSON,
            ),
            examples=("ps", "ps --all", "ps --state running --device cpu", "ps --json"),
        )
    )
    register(
        Command(
            "kill",
            "end jobs",
            kill,
            category="jobs",
            destructive=True,
            args=(Arg("ids", T.ID, many=True, help="pids or %N"),),
            examples=("kill 42", "kill %1 %2"),
        )
    )
    register(
        Command(
            "pause",
            "suspend a job at its next token or step",
            pause,
            category="jobs",
            args=(ID,),
            examples=("pause 42", "pause %1"),
        )
    )
    register(
        Command(
            "resume",
            "continue a paused job (an interrupted fine-tune continues from its checkpoint)",
            resume,
            category="jobs",
            args=(ID,),
            examples=("resume 42",),
        )
    )
    register(
        Command(
            "restart",
            "run an interrupted, failed or killed job again as a new job",
            restart,
            category="jobs",
            args=(Arg("ids", T.ID, many=True, help="pids or %N"),),
            examples=("restart 42",),
        )
    )
    register(
        Command(
            "renice",
            "change a job's priority",
            renice,
            category="jobs",
            args=(Arg("priority", T.PRIORITY, help="high, normal, low or -20..19"), ID),
            examples=("renice high 42", "renice 5 %1"),
        )
    )
    register(
        Command(
            "logs",
            "a job's output; --follow streams it",
            logs,
            category="jobs",
            args=(ID,),
            flags=(Flag("follow", short="f", help="keep streaming until the job ends"),),
            examples=("logs 42", "logs %1 --follow"),
        )
    )
