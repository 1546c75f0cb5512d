"""Job rows as styled text parts: what each column of the process table shows."""

from __future__ import annotations

from functools import lru_cache

from rich.cells import cell_len, set_cell_size
from rich.style import Style

from . import fmt
from .views import JobView

Part = tuple[str, Style | None]
Cell = tuple[Part, ...]
Row = tuple[Cell, ...]


@lru_cache(maxsize=64)
def style_of(spec: str) -> Style | None:
    return Style.parse(spec) if spec else None


def _plain(text: str) -> Cell:
    return ((text, None),)


def row_cells(view: JobView) -> Row:
    """The cells of one row, in `COLUMNS` order, as (text, style) parts."""
    state = view.state
    if state == "queued" and view.queue_pos is not None:
        state = f"queued #{view.queue_pos}"
    mem = "" if view.mem is None else ("~" if view.mem_estimated else "") + fmt.size(view.mem)
    pri = view.priority
    progress: Cell = ()
    if view.fraction is not None:
        progress = (
            (fmt.block_bar(view.fraction, 8), style_of("green")),
            (f" {view.fraction * 100:3.0f}%", None),
        )
        if view.eta is not None:
            progress += ((f" {fmt.duration(view.eta)}", style_of("dim")),)
    return (
        _plain(str(view.pid)),
        _plain(view.session),
        ((state, style_of(fmt.STATE_STYLES.get(view.state, ""))),),
        ((str(pri), style_of("red" if pri < 0 else "dim" if pri > 0 else "")),),
        _plain(view.device),
        _plain(mem),
        _plain(view.kind),
        _plain(fmt.rate(view.rate, view.unit)),
        progress,
        _plain(fmt.duration(view.elapsed) if view.elapsed is not None else ""),
        _plain(view.command),
    )


def cell_text(cell: Cell) -> str:
    return "".join(text for text, _style in cell)


def fit(cell: Cell, width: int, right: bool) -> list[Part]:
    """The cell's parts cut or padded to `width` cells (an ellipsis marks a cut)."""
    length = sum(cell_len(text) for text, _ in cell)
    parts = list(cell)
    if length > width:
        text = set_cell_size(cell_text(cell), max(0, width - 1)) + "…"
        return [(text, cell[0][1] if cell else None)]
    pad = " " * (width - length)
    return [(pad, None), *parts] if right else [*parts, (pad, None)]
