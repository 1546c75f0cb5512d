"""Job kinds that need no model: sleep, system commands, and a no-op for benchmarks."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
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


# A sleeping job reports its progress this often, so `ps` and `top` show it advance.
SLEEP_TICK = 1.0


async def run_sleep(ctx: JobContext) -> int:
    """Sleep, keeping the remaining time across pause/resume; progress every tick."""
    remaining = float(ctx.args["seconds"])
    ctx.progress(0.0, remaining, "s")
    total = remaining
    while remaining > 0:
        await ctx.checkpoint()
        start = time.monotonic()
        # asyncio.wait, not wait_for: on Python < 3.12 wait_for swallows a kill's
        # cancellation when the event is already set (a paused job), and the loop spun.
        paused = asyncio.ensure_future(ctx.paused_event.wait())
        try:
            await asyncio.wait([paused], timeout=min(remaining, SLEEP_TICK))
        finally:
            paused.cancel()
        remaining -= time.monotonic() - start
        ctx.progress(total - max(remaining, 0.0), total, "s")
    return 0


def run_noop(ctx: JobContext) -> int:
    """A plain function, so the kernel runs it inline: no task, no loop turn."""
    return 0


def _signal_group(proc: asyncio.subprocess.Process, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


# The group leader of a system job: a shell that runs the command in the background
# and waits for it. `wait` is interruptible, so the SIGHUP it gets when the kernel
# dies (its PDEATHSIG) runs the trap at once, and the trap kills the whole group: the
# command's own children too, which a parent-death signal alone would leave to init.
# A SIGTERM (a kill from the kernel, sent to the whole group) makes it wait for the
# command, so the command gets its grace to clean up. The command reads the job's
# stdin through fd 3 (a background command's own stdin is /dev/null), and the leader
# exits with the command's status.
LEADER_SCRIPT = (
    "trap 'kill -KILL 0' HUP; trap 'wait $!' TERM; exec 3<&0; /bin/sh -c \"$1\" <&3 3<&- & wait $!"
)


def _die_with(kernel_pid: int) -> None:
    """In the child: get SIGHUP when the kernel dies, so no command outlives a crash."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGHUP)
        if os.getppid() != kernel_pid:  # it died before prctl: no signal will come
            os._exit(1)


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


def kill_orphans(recovered: list[Process]) -> int:
    """Kill what is left of the sessions of system jobs whose kernel died; how many.

    Each system job's leader started a session whose id is its pid (recorded as
    `pgid`, with its start time). A session is this job's if its leader still runs
    with the recorded start time, or if the leader is gone: Linux does not give a pid
    to a new process while a session or group still uses it as its id, so members
    of session `pgid` are then the job's own. A recycled pid that leads a session of
    its own has another start time and is left alone.
    """
    sessions: dict[int, float] = {}
    for proc in recovered:
        pgid, started = proc.metrics.get("pgid"), proc.metrics.get("pgid_started")
        if isinstance(pgid, int) and pgid > 1 and isinstance(started, (int, float)):
            sessions[pgid] = float(started)
    for sid, started in list(sessions.items()):
        with contextlib.suppress(psutil.NoSuchProcess):
            if abs(psutil.Process(sid).create_time() - started) > 0.5:
                del sessions[sid]  # the pid leads someone else's process now
    killed = 0
    for member in psutil.process_iter(["pid"]):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.getsid(member.info["pid"]) in sessions:
                os.kill(member.info["pid"], signal.SIGKILL)
                killed += 1
    return killed


async def run_system(ctx: JobContext) -> int:
    """Run a command through /bin/sh in a session of its own; its output is the job's."""
    command = str(ctx.args["command"])
    stdin_text = ctx.args.get("stdin")
    proc = await asyncio.create_subprocess_exec(
        "/bin/sh",
        "-c",
        LEADER_SCRIPT,
        "llmsh-job",
        command,
        preexec_fn=functools.partial(_die_with, os.getpid()),
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
