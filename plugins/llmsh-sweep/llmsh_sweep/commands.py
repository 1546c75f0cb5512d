"""`sweep finetune`, `sweep report` and `sweep list`.

`sweep finetune` submits one ordinary `finetune` job per (lr, rank) pair, like a
Slurm job array: each shows in `ps` as its own finetune command and obeys kill,
pause and renice alone. The sweep itself is only a remembered list of pids.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmsh.commands import render
from llmsh.commands.context import Context
from llmsh.commands.jobrun import make_spec
from llmsh.commands.modelcmds import DATA, DEVICE, PRIORITY, file_arg
from llmsh.commands.render import Column
from llmsh.commands.spec import Arg, Args, Command, CommandError, Flag, UsageError, not_available
from llmsh.commands.spec import ValueType as T
from llmsh.errors import KernelError, UnknownKind
from llmsh_sweep.grid import Run, floats, fmt_lr, ints, runs
from llmsh_sweep.store import Sweep, SweepJob, SweepStore

if TYPE_CHECKING:
    from llmsh.kernel import Process
    from llmsh.kernel.api import KernelAPI

JSON = Flag("json", help="machine-readable output")
DEFAULT_LR, DEFAULT_RANK = "5e-4", "8"  # the finetune job's own defaults
REPORT_COLUMNS = [Column("PID", "right"), Column("STATE"), Column("LR", "right"),
                  Column("RANK", "right"), Column("STEPS", "right"),
                  Column("FIRST LOSS", "right"), Column("FINAL LOSS", "right"), Column("BEST"),
                  Column("MODEL")]  # fmt: skip


def _grid(args: Args) -> tuple[list[float], list[int]]:
    try:
        lrs = floats(args["lr"] or (DEFAULT_LR,), "learning rate")
        ranks = ints(args["rank"] or (DEFAULT_RANK,), "rank")
    except ValueError as exc:
        raise UsageError(args.command, str(exc)) from None
    return lrs, ranks


def _taken_names() -> set[str]:
    from llmsh.models.store import ModelStore

    return set(ModelStore().names())


def _argv(model: str, args: Args, run: Run) -> tuple[str, ...]:
    """How the job shows in `ps`: the finetune command it is."""
    argv = ["finetune", model, "--data", args["data"], "--lr", fmt_lr(run.lr),
            "--rank", str(run.rank), "--out", run.out]  # fmt: skip
    if args["epochs"] is not None:
        argv += ["--epochs", str(args["epochs"])]
    return tuple(argv)


async def _submit(ctx: Context, kernel: KernelAPI, args: Args, data: str, run: Run) -> Process:
    model = str(args["model"])
    spec = make_spec(ctx, "finetune", args, _argv(model, args, run), model=model, data=data,
                     lr=run.lr, rank=run.rank, epochs=args["epochs"], out=run.out)  # fmt: skip
    try:
        proc = await kernel.submit(spec)
    except UnknownKind:
        raise not_available() from None
    except KernelError as exc:
        raise CommandError(str(exc)) from None
    if ctx.job is not None:
        ctx.job.add_pid(proc.pid)  # Ctrl-C on a waiting sweep kills its jobs
    return proc


async def sweep_finetune(ctx: Context, args: Args) -> int:
    lrs, ranks = _grid(args)
    model = str(args["model"])
    data = file_arg(ctx, args["data"])
    if data is None or not Path(data).is_file():
        raise CommandError(f"no such data file: {args['data']}")
    kernel = await ctx.kernel()
    taken = _taken_names()

    def used(sweep_id: int) -> bool:
        return any(r.out in taken for r in runs(model, sweep_id, lrs, ranks))

    try:
        runs(model, 0, lrs, ranks)  # too many combinations: refuse before anything starts
    except ValueError as exc:
        raise UsageError(args.command, str(exc)) from None
    with SweepStore().new(model, args["data"], skip=used) as sweep:
        sweep.epochs = args["epochs"]
        for run in runs(model, sweep.id, lrs, ranks):
            proc = await _submit(ctx, kernel, args, data, run)
            sweep.jobs.append(SweepJob(proc.pid, run.lr, run.rank, run.out))
    ctx.line(f"sweep {sweep.id}: {len(sweep.jobs)} finetune jobs of {model} on {args['data']}")
    render.table(ctx, [Column("PID", "right"), Column("LR", "right"), Column("RANK", "right"),
                       Column("MODEL")],
                 [[str(j.pid), fmt_lr(j.lr), str(j.rank), j.out] for j in sweep.jobs])  # fmt: skip
    if not args["wait"]:
        ctx.line(f"compare their losses with: sweep report {sweep.id}")
        return 0
    finished = await kernel.wait([j.pid for j in sweep.jobs])
    ctx.line()
    await _report(ctx, sweep, json_out=False)
    return 0 if all(p.state.value == "done" for p in finished) else 1


async def _lookup(kernel: KernelAPI, pid: int) -> Process | None:
    try:
        return await kernel.get(pid)
    except KernelError:  # a pid of another job store, or long forgotten
        return None


async def _report(ctx: Context, sweep: Sweep, json_out: bool) -> None:
    from llmsh_sweep.report import best, row, summary_line, table_rows

    kernel = await ctx.kernel()
    rows = [row(job, await _lookup(kernel, job.pid)) for job in sweep.jobs]
    if json_out:
        winner = best(rows)
        render.print_json(ctx, {"sweep": sweep.id, "model": sweep.model, "data": sweep.data,
                                "created": sweep.created, "runs": [r.to_json() for r in rows],
                                "best": winner.job.pid if winner else None})  # fmt: skip
        return
    render.table(ctx, REPORT_COLUMNS, table_rows(rows))
    ctx.line(summary_line(sweep, rows))


def _find(sweep_id: int | None) -> Sweep:
    try:
        sweep = SweepStore().get(sweep_id)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    if sweep is None:
        raise CommandError(f"no sweep {sweep_id}" if sweep_id is not None else
                           "no sweeps yet: start one with `sweep finetune`")  # fmt: skip
    return sweep


async def sweep_report(ctx: Context, args: Args) -> int:
    await _report(ctx, _find(args["sweep"]), json_out=args["json"])
    return 0


async def sweep_list(ctx: Context, args: Args) -> int:
    try:
        sweeps = SweepStore().all()
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    if args["json"]:
        render.print_json(ctx, [_listing(s) for s in sweeps])
        return 0
    rows = [[str(s.id), time.strftime("%Y-%m-%d %H:%M", time.localtime(s.created)), s.model,
             s.data, str(len(s.jobs)), " ".join(str(j.pid) for j in s.jobs)]
            for s in sweeps]  # fmt: skip
    render.table(ctx, [Column("SWEEP", "right"), Column("CREATED"), Column("MODEL"),
                       Column("DATA"), Column("RUNS", "right"), Column("PIDS")], rows)  # fmt: skip
    return 0


def _listing(sweep: Sweep) -> dict[str, Any]:
    return {"sweep": sweep.id, "created": sweep.created, "model": sweep.model,
            "data": sweep.data, "pids": [j.pid for j in sweep.jobs]}  # fmt: skip


async def _missing(ctx: Context, args: Args) -> int:
    raise CommandError("missing subcommand")


SUBCOMMANDS = (
    Command("finetune", "one finetune job per combination of --lr and --rank values",
            sweep_finetune, parent="sweep",
            args=(Arg("model", T.MODEL, metavar="MODEL"),),
            flags=(DATA,
                   Flag("lr", T.LABELS, metavar="X,Y,...", help="learning rates to try"),
                   Flag("rank", T.LABELS, metavar="R,S,...", help="LoRA ranks to try"),
                   Flag("epochs", T.INT, metavar="N", help="epochs of every run"),
                   DEVICE, PRIORITY,
                   Flag("wait", help="wait for every run, then print the report")),
            examples=("sweep finetune smollm2 --data notes.jsonl --lr 1e-4,2e-4 --rank 4,8",
                      "sweep finetune smollm2 --data qa.jsonl --rank 4,8,16 --epochs 2 --wait")),
    Command("report", "compare the runs of a sweep (default: the latest) by final loss",
            sweep_report, parent="sweep",
            args=(Arg("sweep", T.INT, metavar="SWEEP", optional=True,
                      help="sweep number (default: the latest)"),),
            flags=(JSON,), examples=("sweep report", "sweep report 3 --json")),
    Command("list", "sweeps started so far, with their jobs", sweep_list, parent="sweep",
            flags=(JSON,), examples=("sweep list",)),
)  # fmt: skip


def sweep_command() -> Command:
    return Command(
        "sweep",
        "fine-tune sweeps: one job per parameter combination, compared by loss",
        _missing,
        category="models",
        subcommands=SUBCOMMANDS,
        default_subcommand="list",
        description=(
            "Like a Slurm job array: `sweep finetune` queues every (lr, rank) combination "
            "as its own finetune job and returns (add --wait to wait for them); `sweep "
            "report` reads their losses back from the kernel. The final loss is the mean "
            "of the last 5 steps. Sweeps are remembered in sweeps.json in the state "
            "directory. In a one-off `llmsh -c`, use --wait: the shell's own kernel stops "
            "when it exits."
        ),
    )
