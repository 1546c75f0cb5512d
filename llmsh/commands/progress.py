"""A one-line progress bar on standard error for long foreground work.

Drawn only on a terminal; redrawn in place with a carriage return, at most
ten times a second, and erased before other output is written.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from llmsh.kernel import Process

WIDTH = 24


def bar_text(fraction: float | None, detail: str) -> str:
    if fraction is None:
        return detail
    filled = int(round(fraction * WIDTH))
    return f"[{'#' * filled}{'.' * (WIDTH - filled)}] {fraction * 100:3.0f}%  {detail}".rstrip()


class ProgressBar:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._shown = False
        self._last = 0.0

    @classmethod
    def for_stream(cls, stream: TextIO) -> ProgressBar | None:
        try:
            return cls(stream) if stream.isatty() else None
        except (AttributeError, ValueError):
            return None

    def show(self, fraction: float | None, detail: str, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        self.stream.write("\r\x1b[K" + bar_text(fraction, detail))
        self.stream.flush()
        self._shown = True

    def update(self, proc: Process) -> None:
        prog = proc.progress
        if prog.total is None and not prog.done:
            return
        unit = f" {prog.unit}" if prog.unit else ""
        total = f"/{prog.total:g}" if prog.total else ""
        rate = f"  {prog.rate:.1f}{unit}/s" if prog.rate else ""
        loss = proc.metrics.get("loss")
        extra = f"  loss {loss:.3f}" if isinstance(loss, (int, float)) else ""
        self.show(prog.fraction, f"{prog.done:g}{total}{unit}{rate}{extra}")

    def clear(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False

    def close(self) -> None:
        self.clear()
