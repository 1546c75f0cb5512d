"""Tables and values for people and for scripts.

On a terminal (and without NO_COLOR) tables are drawn with rich, imported only
then; otherwise they are plain text with aligned columns, and `--json` gives
machine-readable output.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llmsh.commands.context import Context

STATE_STYLES = {
    "running": "green",
    "loading": "cyan",
    "queued": "yellow",
    "paused": "magenta",
    "done": "dim",
    "failed": "red",
    "killed": "red",
    "interrupted": "red",
}


@dataclass(frozen=True)
class Column:
    title: str
    justify: str = "left"  # "left" or "right"


def table(
    ctx: Context,
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    title: str = "",
    styles: Sequence[str] | None = None,
) -> None:
    """Print rows under column titles; ``styles`` gives a rich style per row."""
    if ctx.styled:
        _rich_table(ctx, columns, rows, title, styles)
    else:
        ctx.write(plain_table(columns, rows))


def plain_table(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], header: bool = True
) -> str:
    widths = [len(c.title) if header else 0 for c in columns]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = []
    for row in [[c.title for c in columns], *rows] if header else rows:
        cells = [
            cell.rjust(width) if col.justify == "right" else cell.ljust(width)
            for col, cell, width in zip(columns, row, widths, strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def _rich_table(
    ctx: Context,
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    title: str,
    styles: Sequence[str] | None,
) -> None:
    from rich.console import Console
    from rich.table import Table

    grid = Table(title=title or None, box=None, header_style="bold", pad_edge=False)
    for col in columns:
        grid.add_column(col.title, justify="right" if col.justify == "right" else "left")
    for index, row in enumerate(rows):
        grid.add_row(*row, style=styles[index] if styles else None)
    Console(file=ctx.out, highlight=False).print(grid)


def print_json(ctx: Context, value: Any) -> None:
    ctx.write(json.dumps(value, indent=2, default=str) + "\n")


def fmt_bytes(n: int | float | None) -> str:
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def fmt_metric(value: Any, unit: str = "", digits: int = 0) -> str:
    """A device metric, or N/A when it could not be read."""
    if value is None or not isinstance(value, (int, float)) or isinstance(value, bool):
        return "N/A"
    return f"{value:.{digits}f}{unit}"


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def now() -> float:
    return time.time()


def truncate(text: str, width: int = 48) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"
