"""A shell session: state, job table, kernel and interpreter, and statement scheduling.

Every statement runs as an asyncio task registered as a session job: a
foreground one is awaited with job control (`foreground.wait_foreground`), a
background one (``&``) prints ``[N] PID`` and runs on. The REPL, `-c`, script
files and `source` all go through :meth:`Shell.run_source`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, TextIO

from llmsh.commands.registry import Registry, default_registry
from llmsh.shell.interpreter import Interpreter, Source
from llmsh.shell.jobtable import JobTable, SessionJob
from llmsh.shell.kernelhandle import KernelHandle
from llmsh.shell.state import ShellState
from llmsh.syntax.flow import ErrExit, ShellExit
from llmsh.syntax.parser import ParseError, parse
from llmsh.syntax.unparse import unparse

if TYPE_CHECKING:
    from llmsh.kernel.api import KernelAPI
    from llmsh.nl_intent.api import Proposal
    from llmsh.shell.foreground import JobSignals
    from llmsh.shell.history import HistoryStore
    from llmsh.syntax.ast import Script, Statement

LineReader = Callable[[str], Awaitable["str | None"]]


class Shell:
    def __init__(
        self,
        *,
        interactive: bool = False,
        debug: bool = False,
        job_control: bool = False,
        handle: KernelHandle | None = None,
        kernel: KernelAPI | None = None,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        positional: Iterable[str] = (),
        registry: Registry | None = None,
    ) -> None:
        self.interactive = interactive
        self.debug = debug
        self.job_control = job_control
        self.handle = handle or KernelHandle(kernel=kernel)
        self.stdout: TextIO = stdout or sys.stdout
        self.stderr: TextIO = stderr or sys.stderr
        self.state = ShellState(positional)
        self.jobs = JobTable()
        self.registry = registry or default_registry()
        self.interp = Interpreter(self)
        self.session_id = os.urandom(6).hex()
        self.history: HistoryStore | None = None
        self.line_reader: LineReader | None = None
        self.pending_input = ""  # put into the next prompt (an edited proposal)
        self.completion_cache: Any = None  # the REPL's CompletionCache
        self.foreground: SessionJob | None = None  # the statement being awaited
        self._signals: JobSignals | None = None

    @property
    def signals(self) -> JobSignals:
        """Ctrl-C / Ctrl-Z handling for the foreground (made on first use)."""
        if self._signals is None:
            from llmsh.shell.foreground import JobSignals

            self._signals = JobSignals(self)
        return self._signals

    # -- the kernel --------------------------------------------------------------------

    @property
    def kernel_started(self) -> bool:
        return self.handle.started

    async def kernel(self) -> KernelAPI:
        return await self.handle.get()

    # -- running code ------------------------------------------------------------------

    async def run_source(
        self, text: str, filename: str | None = None, positional: list[str] | None = None
    ) -> int:
        """Parse and run ``text``; a syntax error is status 2."""
        try:
            script = parse(text, filename)
        except ParseError as exc:
            self.stderr.write(f"llmsh: {exc}\n")
            self.state.last_status = 2
            return 2
        if positional is None or not positional:
            return await self.run_script(script)
        saved, self.state.positional = self.state.positional, list(positional)
        try:
            return await self.run_script(script)
        finally:
            self.state.positional = saved

    async def run_script(self, script: Script) -> int:
        src = Source(script.filename)
        for statement in script.statements:
            if statement.background:
                await self.spawn(statement, src)
            else:
                await self.run_foreground(statement, src)
        return self.state.last_status

    async def run_foreground(self, statement: Statement, src: Source) -> int:
        import asyncio

        from llmsh.shell.foreground import wait_foreground

        job = SessionJob(unparse(statement.body), foreground=True)
        job.task = asyncio.get_running_loop().create_task(self._statement(statement, src, job))
        self.foreground = job
        try:
            status = await wait_foreground(self, job)
        finally:
            self.foreground = None
        self.state.last_status = status
        return status

    async def _statement(self, statement: Statement, src: Source, job: SessionJob) -> int:
        try:
            return await self.interp.and_or(statement.body, job, src, errexit=job.foreground)
        except (ErrExit, ShellExit) as exc:
            if job.number:  # it went to the background (Ctrl-Z): only it ends
                return exc.status
            raise

    async def spawn(self, statement: Statement, src: Source) -> SessionJob:
        """Start ``statement`` in the background; prints ``[N] PID`` when interactive."""
        import asyncio

        job = self.jobs.add(SessionJob(unparse(statement.body)))
        job.task = asyncio.get_running_loop().create_task(self._statement(statement, src, job))
        started = asyncio.ensure_future(job.started.wait())
        await asyncio.wait([job.task, started], return_when=asyncio.FIRST_COMPLETED)
        started.cancel()
        if job.pid is not None:
            self.state.last_bg_pid = job.pid
        self.state.last_status = 0
        if self.interactive:
            self.stderr.write(f"[{job.number}] {job.pid if job.pid is not None else ''}".rstrip()
                              + "\n")  # fmt: skip
            self.stderr.flush()
        return job

    # -- finishing ---------------------------------------------------------------------

    def announce(self) -> None:
        """``[N]+ Done  COMMAND`` for background jobs that ended since the last prompt."""
        for marker, job in self.jobs.take_finished():
            self.stderr.write(f"[{job.number}]{marker} {job.describe_status()}  {job.command}\n")
        self.stderr.flush()

    async def wait_background(self) -> None:
        """Wait for this session's background jobs; give up on ones left paused."""
        import asyncio

        while True:
            pending = [j.task for j in self.jobs.live() if j.task is not None]
            if not pending:
                return
            done, _ = await asyncio.wait(pending, timeout=0.5)
            if not done and await self._all_paused():
                return

    async def _all_paused(self) -> bool:
        kernel = self.handle.current
        for job in self.jobs.live():
            if job.stopped:
                continue
            if kernel is None or not job.pids:
                return False
            for pid in job.pids:
                proc = await kernel.get(pid)
                if not proc.finished and proc.state.value != "paused":
                    return False
        return True

    async def close(self) -> None:
        """Stop what still runs and close the kernel (its jobs end as interrupted)."""
        import asyncio

        await self.handle.close()
        tasks = [j.task for j in self.jobs if j.task is not None and not j.task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2)

    # -- asking the user ---------------------------------------------------------------

    async def read_line(self, prompt: str) -> str | None:
        """A line from the user (None at end of input); used by `chat` and confirmations."""
        if self.line_reader is not None:
            return await self.line_reader(prompt)
        if not sys.stdin.isatty():
            return None
        self.stderr.write(prompt)
        self.stderr.flush()
        import asyncio

        line = await asyncio.to_thread(sys.stdin.readline)
        return line.rstrip("\n") if line else None

    # -- what the shell offers commands beyond the language (ShellServices) -------------

    async def translate(self, text: str) -> Proposal:
        from llmsh.shell.proposal import translate

        return await translate(text)

    async def propose(self, text: str, proposal: Proposal) -> int:
        from llmsh.shell.proposal import propose

        return await propose(self, text, proposal)

    async def monitor(self) -> None:
        from llmsh.tui import run_top

        await run_top(await self.kernel())

    async def confirm(self, question: str) -> bool:
        answer = await self.read_line(f"{question} [y/N] ")
        return (answer or "").strip().lower() in ("y", "yes")
