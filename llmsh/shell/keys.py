"""Key bindings of the REPL, as a table (IPython style).

Each entry names its keys, what it does and when it applies; `key_bindings`
turns the table into prompt_toolkit bindings. prompt_toolkit's own emacs
bindings stay underneath: Ctrl-R searches history, → or Ctrl-E takes the
grey suggestion, Tab completes, Ctrl-C clears the line, Ctrl-D on an empty
line exits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from prompt_toolkit.filters import Condition, Filter, has_completions, has_focus
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.key_binding.bindings.completion import generate_completions
from prompt_toolkit.keys import Keys

from llmsh.syntax.parser import ParseError, parse

Handler = Callable[[KeyPressEvent], None]


def needs_more(text: str) -> bool:
    """The input stops inside a quote, after ``\\``, ``&&``, ``||`` or ``|``."""
    try:
        parse(text)
    except ParseError as exc:
        return exc.incomplete
    return False


def accept_or_continue(
    language: Callable[[str], bool] = lambda text: False,
) -> Handler:
    """Enter: run the line, or continue it after an open quote, ``\\``, ``&&`` or ``|``.
    A line that reads like English runs as is: the apostrophe in "what's" opens no quote."""

    def handler(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        state = buffer.complete_state
        if state is not None and state.current_completion is not None:
            buffer.apply_completion(state.current_completion)
            return
        if needs_more(buffer.text) and not language(buffer.text):
            buffer.insert_text("\n")
        else:
            buffer.validate_and_handle()

    return handler


def insert_newline(event: KeyPressEvent) -> None:
    event.current_buffer.insert_text("\n")


def cancel_completion(event: KeyPressEvent) -> None:
    event.current_buffer.cancel_completion()


@dataclass(frozen=True)
class Binding:
    keys: tuple[str | Keys, ...]
    handler: Handler
    description: str
    when: Filter | None = None
    eager: bool = False


def binding_table(language: Callable[[str], bool] = lambda text: False) -> list[Binding]:
    return [
        Binding(("enter",), accept_or_continue(language),
                "run the line; continue on a new line after an open quote, \\, && or |",
                has_focus("DEFAULT_BUFFER"), eager=True),
        Binding(("escape", "enter"), insert_newline, "insert a newline without running"),
        Binding(("tab",), generate_completions,
                "complete: a single match is inserted, several open a menu (Tab cycles)"),
        Binding(("escape",), cancel_completion, "close the completion menu",
                has_completions, eager=True),
    ]  # fmt: skip


def key_bindings(
    table: list[Binding] | None = None, language: Callable[[str], bool] = lambda text: False
) -> KeyBindings:
    bindings = KeyBindings()
    for entry in table if table is not None else binding_table(language):
        when = entry.when if entry.when is not None else Condition(lambda: True)
        bindings.add(*entry.keys, filter=when, eager=entry.eager)(entry.handler)
    return bindings
