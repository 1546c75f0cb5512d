"""Job kinds that need no model: sleep, system commands, and a no-op for benchmarks."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

import psutil

from .context import JobContext
from .control import Listener
from .kinds import JobKind, KindRegistry
from .records import Process


def _validate_sleep(args: dict[str, Any]) -> None:
    seconds = float(args["seconds"])
    if seconds < 0 or seconds != seconds:
        raise ValueError(f"invalid sleep time {args['seconds']!r}: must be a number >= 0")


async def run_sleep(ctx: JobContext) -> int:
    """Sleep, keeping the remaining time across pause/resume."""
    remaining = float(ctx.args["seconds"])
    ctx.progress(0.0, remaining, "s")
    total = remaining
    while remaining > 0:
        await ctx.checkpoint()
        start = time.monotonic()
        try:
            await asyncio.wait_for(ctx.paused_event.wait(), remaining)
        except asyncio.TimeoutError:
            remaining = 0.0
        else:
            remaining -= time.monotonic() - start
        ctx.progress(total - max(remaining, 0.0), total, "s")
    return 0


def run_noop(ctx: JobContext) -> int:
    """A plain function, so the kernel runs it inline: no task, no loop turn."""
    return 0


def _signal_group(proc: asyncio.subprocess.Process, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _die_with_parent() -> None:
    """In the child: get SIGKILL if the kernel dies, so no command outlives a crash."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL)


def _load_prctl() -> Callable[..., int] | None:
    # Resolved before any fork: a child must not import or take locks after fork().
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn: Callable[..., int] = libc.prctl
        return fn
    except (OSError, AttributeError):
        return None


PR_SET_PDEATHSIG = 1
_PRCTL = _load_prctl()


def kill_orphans(recovered: list[Process]) -> None:
    """Kill what is left of the process groups of system jobs whose kernel died.

    The group's leader may already be gone (it had PDEATHSIG) while its children live
    on; members started before the job are someone else's recycled group id.
    """
    groups = {}
    for proc in recovered:
        pgid, started = proc.metrics.get("pgid"), proc.metrics.get("pgid_started")
        if isinstance(pgid, int) and isinstance(started, (int, float)):
            groups[pgid] = float(started)
    if not groups:
        return
    for member in psutil.process_iter(["pid", "create_time"]):
        with contextlib.suppress(ProcessLookupError, PermissionError, psutil.Error):
            pgid = os.getpgid(member.info["pid"])
            if pgid in groups and member.info["create_time"] >= groups[pgid] - 1.0:
                os.killpg(pgid, signal.SIGKILL)
                del groups[pgid]


async def run_system(ctx: JobContext) -> int:
    """Run a command through /bin/sh in its own process group; its output is the job's."""
    command = str(ctx.args["command"])
    stdin_text = ctx.args.get("stdin")
    proc = await asyncio.create_subprocess_exec(
        "/bin/sh",
        "-c",
        command,
        preexec_fn=_die_with_parent,
        stdin=asyncio.subprocess.PIPE if stdin_text is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
        cwd=ctx.args.get("cwd") or None,
    )
    with contextlib.suppress(psutil.Error):
        ctx.annotate(pgid=proc.pid, pgid_started=psutil.Process(proc.pid).create_time())
    ctx.listen(
        Listener(
            on_pause=lambda: _signal_group(proc, signal.SIGSTOP),
            on_resume=lambda: _signal_group(proc, signal.SIGCONT),
        )
    )
    if ctx.paused:  # paused while the process was starting: no listener heard it
        _signal_group(proc, signal.SIGSTOP)
    try:
        if stdin_text is not None and proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                proc.stdin.write(str(stdin_text).encode())
                await proc.stdin.drain()
            proc.stdin.close()
        assert proc.stdout is not None
        while chunk := await proc.stdout.read(65536):
            ctx.write(chunk.decode("utf-8", errors="replace"))
        return await proc.wait()
    except asyncio.CancelledError:
        await _terminate(proc)
        raise


async def _terminate(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM the group, SIGKILL what is left after a grace period, reap the child."""
    _signal_group(proc, signal.SIGCONT)
    _signal_group(proc, signal.SIGTERM)
    try:
        await asyncio.wait_for(asyncio.shield(proc.wait()), 0.5)
    except asyncio.TimeoutError:
        _signal_group(proc, signal.SIGKILL)
        await proc.wait()
    _signal_group(proc, signal.SIGKILL)  # stragglers left in the group


def _validate_system(args: dict[str, Any]) -> None:
    if not str(args.get("command", "")).strip():
        raise ValueError("empty system command")


BUILTIN_KINDS = (
    JobKind("sleep", run_sleep, validate=_validate_sleep, description="wait SECONDS"),
    JobKind("system", run_system, validate=_validate_system, description="run a system command"),
    JobKind("noop", run_noop, description="do nothing (benchmarks)"),
)


def register_builtin_kinds(registry: KindRegistry) -> None:
    for kind in BUILTIN_KINDS:
        registry.register(kind)
