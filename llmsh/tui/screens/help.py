"""The key reference, drawn from the binding table."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Label, Static

from ..keys import help_rows
from ..model import COLUMNS

STATES = (
    "queued (#N: place in the run queue), loading, running, paused, done, failed, "
    "killed, interrupted"
)


class HelpScreen(Screen[None]):
    """Full screen, as htop's help: nothing behind it needs drawing."""

    BINDINGS = [Binding("escape,q,question_mark,f1,enter", "close", "Close")]

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for keys, text in help_rows():
            table.add_row(keys, text)
        with Vertical(id="help-box"):
            yield Label("llmsh top: keys", id="help-title")
            yield Static(table)
            yield Label(f"Columns: {' '.join(c.label for c in COLUMNS)}", classes="hint")
            yield Label(f"States: {STATES}", classes="hint")
            yield Label("Esc, q or ? closes this help", classes="hint")

    def action_close(self) -> None:
        self.dismiss(None)
