"""Choose the sort column, as htop's F6 does."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from ..model import COLUMNS


class SortScreen(ModalScreen[str | None]):
    """Dismisses with the chosen column key, or None."""

    BINDINGS = [Binding("escape,q", "cancel", "Cancel")]

    def __init__(self, current: str, reverse: bool) -> None:
        super().__init__()
        self.current = current
        self.reverse = reverse

    def compose(self) -> ComposeResult:
        arrow = "▼" if self.reverse else "▲"
        options = [
            Option(f"{c.label} {arrow if c.key == self.current else ''}", id=c.key) for c in COLUMNS
        ]
        with Vertical(id="sort-box"):
            yield Label("Sort by", id="sort-title")
            yield OptionList(*options, id="sort-options")
            yield Label(
                "Enter: sort (the current column again: reverse)  Esc: cancel", classes="hint"
            )

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = [c.key for c in COLUMNS].index(self.current)
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
