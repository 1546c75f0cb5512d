"""Small terminal conveniences users of fish and bash expect: `clear` and `version`."""

from __future__ import annotations

from dataclasses import replace

from llmsh import __version__
from llmsh.commands.context import Context
from llmsh.commands.registry import Register
from llmsh.commands.spec import Args, Command

# What `clear` (ncurses) writes on xterm-like terminals: home, erase the screen, and
# erase the scrollback (E3), so the prompt starts on an empty screen.
CLEAR_SCREEN = "\x1b[H\x1b[2J\x1b[3J"


async def clear(ctx: Context, args: Args) -> int:
    if ctx.to_terminal and ctx.out.isatty():
        ctx.write(CLEAR_SCREEN)
        ctx.out.flush()
    return 0


async def version(ctx: Context, args: Args) -> int:
    ctx.line(f"llmsh {__version__}")
    return 0


def register_commands(register: Register) -> None:
    for command in (
        Command("clear", "clear the terminal screen", clear, examples=("clear",)),
        Command("version", "print llmsh's version", version, examples=("version",)),
    ):
        register(replace(command, in_vocabulary=False))
