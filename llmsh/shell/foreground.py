"""Waiting for the foreground statement, with Unix-shell job control.

While a foreground statement runs, the terminal is in cooked mode, so Ctrl-C
and Ctrl-Z arrive as SIGINT and SIGTSTP. Ctrl-C kills the kernel jobs of the
foreground and cancels the statement (status 130); Ctrl-Z pauses them and
moves the statement to the job table as a stopped job (status 148), so the
shell returns to its prompt. Neither ever ends the shell.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from llmsh.errors import KernelError, one_line
from llmsh.shell.jobtable import INTERRUPTED, SessionJob
from llmsh.syntax.flow import Interrupted

if TYPE_CHECKING:
    from llmsh.kernel.api import KernelAPI
    from llmsh.shell.session import Shell

SUSPENDED = 148  # 128 + SIGTSTP, as in bash


def _foreground_jobs(shell: Shell, job: SessionJob) -> list[SessionJob]:
    return [job, *(j for j in shell.jobs if j.foreground and j is not job)]


async def _stop_one(shell: Shell, kernel: KernelAPI, pid: int, verb: str) -> bool:
    """Kill or pause one foreground job; whether it still lives. A job that ended in the
    meantime is no failure; any other refusal is told to the user, never swallowed."""
    try:
        proc = await kernel.get(pid)
        if proc.finished:
            return False
        if verb == "kill":
            await kernel.kill(pid)
        elif proc.state.value != "paused":
            await kernel.pause(pid)
        return True
    except KernelError as exc:
        if "already finished" in str(exc):
            return False
        shell.stderr.write(f"llmsh: could not {verb} job {pid}: {one_line(exc)}\n")
    except (OSError, ConnectionError, asyncio.TimeoutError) as exc:  # a daemon gone away
        shell.stderr.write(f"llmsh: could not {verb} job {pid}: {one_line(exc)}\n")
    return verb == "pause"  # a job that could not be paused still runs: keep it listed


async def interrupt(shell: Shell, job: SessionJob) -> None:
    """Ctrl-C: cancel the foreground statement and kill its kernel jobs."""
    if job.on_interrupt is not None:  # the command stops what it is doing, and goes on
        shell.stderr.write("\n")
        await job.on_interrupt()
        return
    targets = _foreground_jobs(shell, job)
    pids = [pid for j in targets for pid in j.pids]
    for j in targets:
        if j.task is not None:
            j.task.cancel()
    shell.stderr.write("\n")
    if pids and shell.kernel_started:
        kernel = await shell.kernel()
        for pid in pids:
            await _stop_one(shell, kernel, pid, "kill")


async def suspend(shell: Shell, job: SessionJob) -> None:
    """Ctrl-Z: pause the foreground's kernel jobs and make it a stopped job."""
    kernel = await shell.kernel() if shell.kernel_started else None
    shell.stderr.write("\n")
    for j in _foreground_jobs(shell, job):
        live = []
        for pid in j.pids if kernel is not None else []:
            if kernel is not None and await _stop_one(shell, kernel, pid, "pause"):
                live.append(pid)
        j.foreground = False
        if live or (j is not job and not j.done):
            j.stopped = True
            shell.jobs.add(j)
            shell.stderr.write(f"[{j.number}]+ Stopped  {j.command}\n")
        elif j.task is not None:
            j.task.cancel()  # nothing of it runs in the kernel (e.g. `wait`): just stop it
    if job.suspended is not None and not job.suspended.done():
        job.suspended.set_result(None)


class JobSignals:
    """SIGINT (and, interactive, SIGTSTP) handlers acting on ``shell.foreground``.

    The REPL installs them for its whole life (so a stray Ctrl-C between two
    commands never ends the shell); a script installs them around each
    foreground statement."""

    def __init__(self, shell: Shell) -> None:
        self.shell = shell
        self.pending: set[asyncio.Task[None]] = set()
        self.installed: list[int] = []
        self._previous: Any = None

    def install(self) -> bool:
        if self.installed or threading.current_thread() is not threading.main_thread():
            return False
        loop = asyncio.get_running_loop()
        self._previous = signal.getsignal(signal.SIGINT)
        loop.add_signal_handler(signal.SIGINT, self._on, interrupt)
        self.installed.append(signal.SIGINT)
        if self.shell.interactive and hasattr(signal, "SIGTSTP"):
            loop.add_signal_handler(signal.SIGTSTP, self._on, suspend)
            self.installed.append(signal.SIGTSTP)
        return True

    def remove(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in self.installed:
            loop.remove_signal_handler(sig)
        if self.installed and self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)  # asyncio.run's own handler
        self.installed.clear()

    def _on(self, action: Callable[[Shell, SessionJob], Coroutine[Any, Any, None]]) -> None:
        job = self.shell.foreground
        if job is None:
            return  # at the prompt or between commands: nothing to stop
        task = asyncio.get_running_loop().create_task(action(self.shell, job))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def settle(self) -> None:
        """Let started interrupt/suspend actions finish (kills take effect)."""
        if self.pending:
            await asyncio.wait(list(self.pending))


async def wait_foreground(shell: Shell, job: SessionJob) -> int:
    """Await the foreground statement; its status (148 after Ctrl-Z).

    After Ctrl-C it raises `Interrupted` (status 130): the REPL drops the rest of the
    line, a script ends."""
    assert job.task is not None
    suspended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    job.suspended = suspended
    signals = shell.signals
    mine = shell.job_control and signals.install()
    try:
        waiting: list[asyncio.Future[Any]] = [job.task, suspended]
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        await signals.settle()
    finally:
        if mine:
            signals.remove()
    if suspended.done():
        if not job.number and not job.task.done():
            await asyncio.wait([job.task])  # it was cancelled, not stopped
        return SUSPENDED
    if job.task.cancelled():  # Ctrl-C: the rest of the input does not run either
        shell.state.last_status = INTERRUPTED
        raise Interrupted()
    return job.task.result()
