"""Offering a translated command: `-> kill 42   [Enter] run  [e] edit  [x] explain  [Esc] cancel`.

Nothing a model proposes runs without the user's agreement. A destructive proposal
(one that ends jobs or removes something: `exit`, kill, `models rm`, `unload`, `!`
commands) needs an explicit `y`: Enter alone does not confirm it, whatever the
confidence. The shell checks the proposed line itself too, so a stale or wrong flag
from the intent parser never lets such a line run on one Enter.
"""

from __future__ import annotations

import asyncio
import enum
from typing import TYPE_CHECKING, Any

from llmsh.errors import one_line

if TYPE_CHECKING:
    from llmsh.nl_intent.api import Proposal
    from llmsh.shell.session import Shell


class Choice(enum.Enum):
    RUN = "run"
    EDIT = "edit"
    EXPLAIN = "explain"
    CANCEL = "cancel"


def offer_text(command: str, destructive: bool) -> str:
    if destructive:
        return f"-> {command}   (destructive) [y] run  [e] edit  [x] explain  [n/Esc] cancel"
    return f"-> {command}   [Enter] run  [e] edit  [x] explain  [Esc] cancel"


async def ask(command: str, destructive: bool) -> Choice:
    """One key press decides: a one-line prompt_toolkit application."""
    from prompt_toolkit.application import Application
    from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
    from prompt_toolkit.layout import FormattedTextControl, Layout, Window

    keys = KeyBindings()

    def answer(choice: Choice) -> Any:
        def handler(event: KeyPressEvent) -> None:
            event.app.exit(result=choice)

        return handler

    keys.add("y")(answer(Choice.RUN))
    if not destructive:
        keys.add("enter")(answer(Choice.RUN))
    keys.add("e")(answer(Choice.EDIT))
    keys.add("x")(answer(Choice.EXPLAIN))
    for key in ("escape", "n", "q", "c-c", "c-d"):
        keys.add(key, eager=True)(answer(Choice.CANCEL))
    control = FormattedTextControl([("class:proposal", offer_text(command, destructive))])
    app: Application[Choice] = Application(
        layout=Layout(Window(control, height=1)), key_bindings=keys, full_screen=False
    )
    return await app.run_async()


async def translate(text: str) -> Proposal:
    from llmsh.nl_intent import translate as run_translate

    return await asyncio.to_thread(run_translate, text)


async def propose(shell: Shell, text: str, proposal: Proposal | None = None) -> int:
    """Translate `text`, offer the command, and act on the answer; the exit status."""
    try:
        proposal = proposal if proposal is not None else await translate(text)
    except (ImportError, OSError, RuntimeError, ValueError) as exc:
        shell.stderr.write(f"llmsh: cannot translate: {one_line(exc)}\n")
        return 1
    if not proposal.command:
        others = " | ".join(a.command for a in proposal.alternatives if a.command)
        hint = f"; did you mean: {others}" if others else ""
        shell.stderr.write(f"llmsh: no confident command for that{hint}\n")
        return 1
    command: str = proposal.command
    while True:
        from llmsh.commands.destructive import ends_or_removes

        destructive = bool(proposal.destructive) or ends_or_removes(shell.registry, command)
        choice = await ask(command, destructive)
        if choice is Choice.RUN:
            if shell.history is not None:
                shell.history.add(command)  # history keeps the canonical command
            return await shell.run_source(command)
        if choice is Choice.EDIT:
            shell.pending_input = command
            return 0
        if choice is Choice.EXPLAIN:
            await shell.run_source(f"explain {command}")
            continue
        return 1
