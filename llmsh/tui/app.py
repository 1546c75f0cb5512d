"""The `top` application: a thin shell around the monitor screen."""

from __future__ import annotations

from textual.app import App
from textual.screen import Screen

from .model import History
from .screens.top import TopScreen
from .source import Source


class TopApp(App[None]):
    """Full-screen monitor of devices and model jobs over a `Source`."""

    CSS_PATH = "top.tcss"
    TITLE = "llmsh top"
    ENABLE_COMMAND_PALETTE = False

    def __init__(
        self, source: Source, interval: float = 1.0, history: History | None = None
    ) -> None:
        super().__init__()
        self.source = source
        self.interval = interval
        self.history = history

    def get_default_screen(self) -> Screen[None]:
        return TopScreen(self.source, self.interval, self.history)

    @property
    def top(self) -> TopScreen:
        screen = self.screen_stack[0]
        assert isinstance(screen, TopScreen)
        return screen
