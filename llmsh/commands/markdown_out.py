"""A reply streamed as Markdown on a terminal (rich redraws it as tokens arrive)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.live import Live


class LiveMarkdown:
    """A text stream that renders everything written so far as Markdown, in place.

    rich is imported on first use (the shell's start-up does not load it)."""

    def __init__(self, target: TextIO) -> None:
        self.target = target
        self.text = ""
        self._live: Live | None = None

    def write(self, text: str) -> int:
        from rich.markdown import Markdown

        self.text += text
        if self._live is None:
            from rich.console import Console
            from rich.live import Live

            console = Console(file=self.target, soft_wrap=False)
            self._live = Live(
                Markdown(self.text), console=console, refresh_per_second=10,
                vertical_overflow="visible", auto_refresh=True,
            )  # fmt: skip
            self._live.start()
        else:
            self._live.update(Markdown(self.text))
        return len(text)

    def flush(self) -> None:
        self.target.flush()

    def isatty(self) -> bool:
        return True

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
