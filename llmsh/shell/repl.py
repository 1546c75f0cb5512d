"""The interactive shell: prompt_toolkit on the same asyncio loop as the kernel.

Each entry is parsed and run by the session (`Shell.run_source`); foreground
work is awaited with job control, so Ctrl-C and Ctrl-Z act on the job, never
on the shell. Finished background jobs are announced before the next prompt.
Ctrl-D on an empty line, or `exit`, leaves after a warning when this session's
jobs still run (the same again leaves). The prompt is ``$LLMSH_PROMPT`` (fields
``{jobs}``, ``{running}``, ``{cwd}``, ``{status}``), by default ``llmsh{jobs}> ``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from prompt_toolkit import PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.history import History, ThreadedHistory
from prompt_toolkit.styles import Style

from llmsh import paths
from llmsh.shell.completion import CompletionCache, ShellCompleter
from llmsh.shell.highlight import STYLE, ShellLexer
from llmsh.shell.history import HistoryStore
from llmsh.shell.kernelhandle import KernelHandle
from llmsh.shell.keys import key_bindings
from llmsh.shell.language import is_language
from llmsh.shell.proposal import propose
from llmsh.shell.session import Shell
from llmsh.syntax.flow import ErrExit, Interrupted, ShellExit

DEFAULT_PROMPT = "llmsh{jobs}> "


class SqliteHistory(History):
    """prompt_toolkit's view of the shared `HistoryStore`."""

    def __init__(self, store: HistoryStore) -> None:
        super().__init__()
        self.store = store

    def load_history_strings(self) -> Iterable[str]:
        return self.store.recent()

    def store_string(self, string: str) -> None:
        self.store.add(string)


def prompt_fields(shell: Shell) -> dict[str, Any]:
    running = shell.jobs.running()
    return {
        "running": running,
        "jobs": f" [{running}]" if running else "",
        "cwd": os.path.basename(os.getcwd()) or "/",
        "status": shell.state.last_status,
    }


def prompt_message(shell: Shell) -> StyleAndTextTuples:
    template = shell.state.variables.get("LLMSH_PROMPT") or DEFAULT_PROMPT
    try:
        text = template.format(**prompt_fields(shell))
    except (KeyError, ValueError, IndexError):
        text = DEFAULT_PROMPT.format(**prompt_fields(shell))
    return [("class:prompt", text)]


def make_session(shell: Shell, history: History | None = None, **kwargs: Any) -> PromptSession[str]:
    """The prompt session: history, suggestions, completion, highlighting, bindings."""
    return PromptSession(
        history=history,
        auto_suggest=AutoSuggestFromHistory(),
        completer=ShellCompleter(shell, shell.completion_cache),
        lexer=ShellLexer(shell.registry, shell.state.aliases),
        style=Style.from_dict(STYLE),
        key_bindings=key_bindings(
            language=lambda text: is_language(text, shell.registry, shell.state.aliases)
        ),
        multiline=True,
        prompt_continuation=lambda width, line, soft: "." * (width - 1) + " ",
        complete_while_typing=False,
        enable_suspend=False,
        **kwargs,
    )


async def refresh_cache(shell: Shell, cache: CompletionCache) -> None:
    """What completion needs from the kernel, read before each prompt."""
    kernel = shell.handle.current
    if kernel is None:
        return
    try:
        cache.pids = [(p.pid, p.command) for p in await kernel.list()]
        if not cache.devices:
            cache.devices = [d.id for d in await kernel.devices()]
    except Exception:  # completion must never break the prompt
        pass


def warn_running_jobs(shell: Shell, again: str) -> bool:
    """Say that this session's jobs still run (and how to leave anyway); False if none do."""
    live = shell.jobs.live()
    if not live:
        return False
    numbers = " ".join(f"%{job.number}" for job in live)
    fate = "leave them to the daemon" if shell.handle.remote else "stop them"
    shell.stderr.write(f"llmsh: there are running jobs ({numbers}); {again} to exit and {fate}\n")
    shell.stderr.flush()
    return True


async def run_repl(
    debug: bool = False, connect: str | None = None, shell: Shell | None = None, **session_args: Any
) -> int:
    """Read, run, repeat until `exit` or Ctrl-D; the last status."""
    if shell is None:
        shell = Shell(interactive=True, debug=debug, job_control=True,
                      handle=KernelHandle(connect))  # fmt: skip
    store = HistoryStore(paths.state_dir() / "history.db", shell.session_id)
    shell.history = store
    cache = shell.completion_cache = CompletionCache()
    session = make_session(shell, ThreadedHistory(SqliteHistory(store)), **session_args)
    shell.line_reader = lambda prompt: _ask(prompt, session_args)
    warned = ""  # what asked to exit last time the jobs warning was shown: "eof", "exit"
    status = 0
    shell.signals.install()
    try:
        while True:
            shell.announce()
            await refresh_cache(shell, cache)
            default, shell.pending_input = shell.pending_input, ""
            asked, warned = warned, ""
            try:
                text = await session.prompt_async(
                    lambda: prompt_message(shell), handle_sigint=False, default=default
                )
            except KeyboardInterrupt:
                continue
            except EOFError:
                if asked != "eof" and warn_running_jobs(shell, "press Ctrl-D again"):
                    warned = "eof"
                    continue
                status = shell.state.last_status
                break
            if not text.strip():
                continue
            try:
                if is_language(text, shell.registry, shell.state.aliases):
                    status = await propose(shell, text)
                    shell.state.last_status = status
                    continue
                status = await shell.run_source(text)
            except ShellExit as exc:
                # `exit` (typed, or a proposal that was accepted) warns as Ctrl-D does.
                if asked != "exit" and warn_running_jobs(shell, "type exit again"):
                    warned = "exit"
                    continue
                status = exc.status
                break
            except (ErrExit, Interrupted) as exc:
                status = exc.status
                shell.state.last_status = status
    finally:
        shell.signals.remove()
        await shell.close()
        store.close()
    return status


async def _ask(prompt: str, session_args: dict[str, Any]) -> str | None:
    """One line for `chat` or a confirmation; None at Ctrl-D or Ctrl-C."""
    asker: PromptSession[str] = PromptSession(**session_args)
    try:
        # handle_sigint=False: prompt_toolkit would otherwise take SIGINT for the prompt's
        # time and, leaving, remove the shell's own handler, so that Ctrl-C no longer
        # reached the foreground job (a chat reply could not be stopped).
        return await asker.prompt_async(prompt, handle_sigint=False)
    except (EOFError, KeyboardInterrupt):
        return None
