"""Devices and the machine: devices, free, sleep, explain, top, and `!CMD` system jobs."""

from __future__ import annotations

import os
from typing import Any

from llmsh.commands import render
from llmsh.commands.context import Context
from llmsh.commands.jobrun import make_spec, run_built_job
from llmsh.commands.parsing import parse_args
from llmsh.commands.registry import Register
from llmsh.commands.render import Column
from llmsh.commands.spec import Arg, Args, Command, CommandError, Flag, UsageError, not_available
from llmsh.commands.spec import ValueType as T
from llmsh.errors import UnknownKind

JSON = Flag("json", help="machine-readable output")


async def devices(ctx: Context, args: Args) -> int:
    kernel = await ctx.kernel()
    snaps = await kernel.devices()
    if args["json"]:
        render.print_json(ctx, [s.to_json() for s in snaps])
        return 0
    rows = []
    for s in snaps:
        data = s.to_json()
        used, total = data["mem_used"], data["mem_total"]
        rows.append([
            s.id, render.truncate(s.name, 40), render.fmt_metric(data["utilization"], "%"),
            f"{render.fmt_bytes(used)} / {render.fmt_bytes(total)}" if used is not None
            else "N/A", render.fmt_metric(data["temperature"], "°C"),
            render.fmt_metric(data["power"], " W"),
        ])  # fmt: skip
    cols = [Column("DEVICE"), Column("NAME"), Column("UTIL", "right"), Column("MEMORY", "right"),
            Column("TEMP", "right"), Column("POWER", "right")]  # fmt: skip
    render.table(ctx, cols, rows)
    return 0


async def free(ctx: Context, args: Args) -> int:
    kernel = await ctx.kernel()
    snaps = {s.id: s.to_json() for s in await kernel.devices()}
    caps = {c.id: c for c in kernel.capacities()}
    held = [p for p in await kernel.list() if p.state.value in ("loading", "running", "paused")]
    rows: list[dict[str, Any]] = []
    for dev_id in dict.fromkeys([*snaps, *caps]):
        snap, cap = snaps.get(dev_id, {}), caps.get(dev_id)
        rows.append({
            "device": "RAM" if dev_id == "cpu" else dev_id, "total": snap.get("mem_total"),
            "used": snap.get("mem_used"),
            "free": None if snap.get("mem_used") is None or snap.get("mem_total") is None
            else snap["mem_total"] - snap["mem_used"],
            "jobs_reserved": cap.mem_reserved if cap else None,
            "jobs_budget": cap.mem_budget if cap else None,
        })  # fmt: skip
    jobs = [
        {
            "pid": p.pid,
            "model": p.args.get("model", ""),
            "kind": p.kind,
            "device": p.device,
            "memory": p.mem_measured or p.mem_estimate,
        }
        for p in held
    ]
    resident = [r for r in await kernel.resident() if r.get("source") == "models"]
    if args["json"]:
        render.print_json(ctx, {"devices": rows, "jobs": jobs, "models": resident})
        return 0
    cols = [
        Column(""),
        Column("TOTAL", "right"),
        Column("USED", "right"),
        Column("FREE", "right"),
        Column("JOBS HOLD", "right"),
        Column("JOB BUDGET", "right"),
    ]
    render.table(
        ctx,
        cols,
        [
            [r["device"]]
            + [
                render.fmt_bytes(r[k])
                for k in ("total", "used", "free", "jobs_reserved", "jobs_budget")
            ]
            for r in rows
        ],
    )
    if jobs:
        ctx.line()
        render.table(ctx, [Column("PID", "right"), Column("MODEL"), Column("KIND"),
                           Column("DEVICE"), Column("MEMORY", "right")],
                     [[str(j["pid"]), j["model"] or "-", j["kind"], j["device"] or "-",
                       render.fmt_bytes(j["memory"])] for j in jobs])  # fmt: skip
    if resident:
        ctx.line()
        render.table(ctx, [Column("MODEL"), Column("BACKEND"), Column("DEVICE"),
                           Column("MEMORY", "right"), Column("JOBS", "right"), Column("STATE")],
                     [[m["name"], m.get("backend") or "torch", m["device"],
                       render.fmt_bytes(m["nbytes"]), str(m["refs"]),
                       "loading" if m.get("loading") else "pinned" if m.get("pinned")
                       else f"idle {m.get('idle_seconds', 0):.0f}s"]
                      for m in resident])  # fmt: skip
    return 0


def sleep_job(ctx: Context, args: Args) -> Any:
    if args["seconds"] < 0:
        raise UsageError(args.command, f"invalid time '{args['seconds']:g}': must be >= 0")
    return make_spec(ctx, "sleep", args, seconds=args["seconds"])


def system_job(ctx: Context, args: Args) -> Any:
    argv: list[str] = args["argv"]
    line = args.get("line") or " ".join(argv)
    env: dict[str, str] = args.get("env") or {}
    if env:
        from llmsh.syntax.unparse import quote

        line = " ".join(f"{k}={quote(v)}" for k, v in env.items()) + " " + line
    shown = (f"!{argv[0]}", *argv[1:]) if argv else ("!",)
    return make_spec(ctx, "system", args, shown, command=line, stdin=ctx.stdin, cwd=os.getcwd())


async def explain(ctx: Context, args: Args) -> int:
    words: list[str] = args["argv"]
    if not words:
        raise UsageError(args.command, "missing COMMAND")
    name = words[0]
    if name.startswith("!") and len(name) > 1:
        bang = ctx.shell.registry.get("!")
        assert bang is not None
        parsed = Args(bang, {"argv": [name[1:], *words[1:]]}, tuple(words))
    else:
        command = ctx.shell.registry.get(name)
        if command is None:
            raise CommandError(f"unknown command '{name}'")
        parsed = parse_args(command, words, ctx.stdin)
    command = parsed.command
    if command.job is None:
        note = " It is destructive." if command.destructive else ""
        ctx.line(f"{command.full_name}: {command.summary}.")
        ctx.line(f"It runs inside the shell and starts no job.{note}")
        return 0
    spec = command.job(ctx, parsed)
    kernel = await ctx.kernel()
    try:
        plan = await kernel.explain(spec)
    except UnknownKind:
        raise not_available() from None
    ctx.line(f"{command.full_name}: {command.summary}")
    ctx.line(f"  job kind:   {plan.kind}")
    ctx.line(f"  device:     {spec.device} (may run on {', '.join(plan.candidates) or 'none'})")
    ctx.line(f"  memory:     about {render.fmt_bytes(plan.mem_estimate)}")
    ctx.line(f"  priority:   {spec.priority}")
    ctx.line(f"  queue:      {plan.reason}" if plan.fits else f"  refused:    {plan.reason}")
    return 0 if plan.fits else 1


async def top(ctx: Context, args: Args) -> int:
    try:
        await ctx.shell.monitor()
    except ImportError:
        raise not_available("the monitor is not installed") from None
    return 0


def register_commands(register: Register) -> None:
    register(
        Command(
            "devices",
            "CPU and GPUs with utilisation and memory",
            devices,
            category="devices",
            flags=(JSON,),
            examples=("devices", "devices --json"),
        )
    )
    register(
        Command(
            "free",
            "memory summary: RAM, each GPU, what running jobs hold",
            free,
            category="devices",
            flags=(JSON,),
            examples=("free",),
        )
    )
    register(
        Command(
            "sleep",
            "a job that waits (for scripts and tests)",
            run_built_job,
            category="jobs",
            args=(Arg("seconds", T.FLOAT, metavar="SECONDS"),),
            job=sleep_job,
            job_kind="sleep",
            examples=("sleep 5", "sleep 30 &"),
        )
    )
    register(
        Command(
            "explain",
            "say what a command would do (device, memory, queue position) without running it",
            explain,
            category="jobs",
            raw=True,
            usage_text="COMMAND...",
            examples=("explain generate 'hello' --device cuda", "explain sleep 10"),
        )
    )
    register(
        Command(
            "top",
            "full-screen monitor of devices and processes (q returns)",
            top,
            category="devices",
            examples=("top",),
        )
    )
    register(
        Command(
            "!",
            "run a system command as a `system` job and show its output",
            run_built_job,
            category="jobs",
            raw=True,
            usage_text="CMD [ARGS...]",
            job=system_job,
            job_kind="system",
            examples=("!ls -l", "!python train.py &", "!cat notes.txt | embed -"),
        )
    )
