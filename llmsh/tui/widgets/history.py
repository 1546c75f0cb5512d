"""Sparklines of the last minutes: CPU, GPU utilisation, memory and tokens per second.

One column per sample, newest on the right, drawn against a fixed scale (100 for
percentages), so a quiet machine looks quiet and time runs at a steady pace, as in
nvitop's history graphs. Textual's own Sparkline stretches a few samples over the
whole width and scales to min..max, which reads wrongly for a monitor.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget

from ..model import History

BLOCKS = " ▁▂▃▄▅▆▇█"

# (id, title, unit, fixed maximum or None for the series' own peak, style)
SERIES: tuple[tuple[str, str, str, float | None, str], ...] = (
    ("cpu", "CPU", "%", 100.0, "green"),
    ("gpu", "GPU", "%", 100.0, "magenta"),
    ("mem", "MEM", "%", 100.0, "blue"),
    ("tokens", "TOK/S", "", None, "yellow"),
)


def resample(values: Sequence[float], width: int) -> list[float]:
    """`values` as exactly `width` columns: averaged when more, repeated when fewer."""
    data = list(values)
    if width <= 0 or not data:
        return []
    if len(data) <= width:
        return [data[i * len(data) // width] for i in range(width)]
    out = []
    for i in range(width):
        chunk = data[i * len(data) // width : (i + 1) * len(data) // width] or [data[-1]]
        out.append(sum(chunk) / len(chunk))
    return out


def spark_lines(
    values: Sequence[float], width: int, height: int, top: float, bottom: float = 0.0
) -> list[str]:
    """Rows of block characters, top row first; the newest value is the last column."""
    data = list(values)[-width:] if width > 0 else []
    data = [bottom] * (width - len(data)) + data
    cells = height * 8
    span = top - bottom
    levels = [
        0 if span <= 0 else max(0, min(cells, round((v - bottom) / span * cells))) for v in data
    ]
    rows = []
    for row in range(height - 1, -1, -1):
        base = row * 8
        rows.append("".join(BLOCKS[max(0, min(8, lv - base))] for lv in levels))
    return rows


class Spark(Widget):
    """A fixed-scale sparkline over the last `width` samples, under a one-line title."""

    DEFAULT_CSS = "Spark { height: 3; }"

    def __init__(self, style: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title = ""
        self.values: Sequence[float] = ()
        self.top = 100.0
        self.bottom = 0.0
        self.fit = False
        self.style = style

    def plot(
        self,
        title: str,
        values: Sequence[float],
        top: float,
        bottom: float = 0.0,
        fit: bool = False,
    ) -> None:
        """Draw `values` between `bottom` and `top`; `fit` squeezes them all into the width.

        Only a repaint: the size never changes, so no new layout is needed.
        """
        self.title = title
        self.values, self.top, self.bottom, self.fit = values, top, bottom, fit
        self.refresh()

    def render(self) -> RenderableType:
        width = self.size.width
        values = resample(self.values, width) if self.fit else self.values
        height = max(1, self.size.height - 1)
        lines = spark_lines(values, width, height, self.top, self.bottom)
        text = Text(self.title[:width], style="bold", no_wrap=True, end="")
        text.append("\n" + "\n".join(lines), style=self.style)
        return text


class HistoryPanel(Horizontal):
    """Four labelled sparklines fed from a `History`."""

    def compose(self) -> ComposeResult:
        for key, _title, _unit, _top, style in SERIES:
            yield Spark(style, id=f"{key}-spark")

    def show(self, history: History, has_gpu: bool) -> None:
        for key, title, unit, top, _style in SERIES:
            values: Sequence[float] = getattr(history, key)
            last = values[-1] if values else 0.0
            spark = self.query_one(f"#{key}-spark", Spark)
            if key == "gpu" and not has_gpu:
                spark.plot(f"{title} N/A", (), 100.0)
                continue
            peak = max(values) if values else 0.0
            text = f"{title} {last:.0f}{unit}" if unit else f"{title} {last:.1f} (peak {peak:.1f})"
            spark.plot(text, values, top if top is not None else max(peak, 1.0))
