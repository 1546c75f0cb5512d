"""Running llmsh code without a prompt: `llmsh -c`, `llmsh FILE`, commands on stdin.

The exit status is that of the last command, or N of `exit N`. Before leaving,
a script on the embedded kernel waits for the background jobs it started, unless
it ran `exit` (or `set -e` stopped it, or Ctrl-C interrupted it); connected to a
kernel daemon (`--connect`), it leaves them running there.

Start-up: a script made only of built-ins that never wait (`echo hi`) runs
without an event loop, so `llmsh -c 'echo hi'` does not even import asyncio.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from llmsh.shell.interpreter import Source
from llmsh.shell.jobtable import SessionJob
from llmsh.shell.kernelhandle import KernelHandle
from llmsh.shell.session import Shell
from llmsh.syntax.ast import Script
from llmsh.syntax.flow import ErrExit, Interrupted, ShellExit
from llmsh.syntax.parser import ParseError, parse

# Built-ins whose handlers never suspend (no kernel, no waiting, no other code).
IMMEDIATE = frozenset({"echo", "true", "false", "set", "cd", "help", "exit", "unalias"})


def run_text(
    text: str,
    filename: str | None = None,
    positional: list[str] | None = None,
    *,
    debug: bool = False,
    connect: str | None = None,
) -> int:
    """Run a script to the end; the process exit status."""
    shell = Shell(
        interactive=False,
        debug=debug,
        job_control=True,
        handle=KernelHandle(connect),
        positional=positional or [],
    )
    try:
        script = parse(text, filename)
    except ParseError as exc:
        shell.stderr.write(f"llmsh: {exc}\n")
        return 2
    if is_immediate(script):
        return run_immediate(shell, script)
    import asyncio

    return asyncio.run(run_in(shell, script))


def is_immediate(script: Script) -> bool:
    """Whether every command of ``script`` is an immediate built-in."""
    for statement in script.statements:
        if statement.background:
            return False
        for pipeline in statement.body.pipelines:
            for command in pipeline.commands:
                if command.system:
                    return False
                if command.words and command.words[0].static_text() not in IMMEDIATE:
                    return False
    return True


def drive(coro: Coroutine[Any, Any, int]) -> int:
    """Run a coroutine that never suspends, without an event loop."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return int(stop.value)
    coro.close()
    raise RuntimeError("an immediate command tried to wait")


def run_immediate(shell: Shell, script: Script) -> int:
    src = Source(script.filename)
    try:
        for statement in script.statements:
            job = SessionJob("", foreground=True)
            drive(shell.interp.and_or(statement.body, job, src, errexit=True))
    except (ShellExit, ErrExit) as exc:
        return exc.status
    return shell.state.last_status


async def run_in(shell: Shell, script: Script) -> int:
    """Run ``script`` in ``shell``, wait for its background jobs, close the shell."""
    leave = False
    try:
        status = await shell.run_script(script)
    except (ShellExit, ErrExit, Interrupted) as exc:
        status, leave = exc.status, True
    try:
        if not leave and not shell.handle.remote:
            await shell.wait_background()
    finally:
        await shell.close()
    return status
