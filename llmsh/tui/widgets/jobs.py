"""The process table: one row per job, keyed by pid, redrawn line by line.

A ScrollView on Textual's line API rather than a DataTable: DataTable keys its
render caches on one table-wide counter, so changing any cell (the TIME of a
running job, every second) re-renders every visible cell through Rich, which
measured 8-9 % of a core with 100 idle jobs. Here each row keeps its own strip and
only rows whose text changed are rebuilt and repainted.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..model import COLUMNS
from ..rows import Row, fit, row_cells, style_of
from ..views import JobView

PAD = 1  # blank cells either side of each column
MIN_COMMAND = 16


class JobTable(ScrollView, can_focus=True):
    """Shows `JobView`s in the order given; the cursor follows the selected pid."""

    COMPONENT_CLASSES = {"jobtable--header", "jobtable--cursor", "jobtable--cursor-blurred"}
    DEFAULT_CSS = """
    JobTable { background: $surface; }
    JobTable > .jobtable--header { background: $success-darken-2; color: $text;
                                   text-style: bold; }
    JobTable > .jobtable--cursor { background: $block-cursor-background;
                                   color: $block-cursor-foreground; text-style: bold; }
    JobTable > .jobtable--cursor-blurred { background: $block-cursor-blurred-background;
                                           color: $block-cursor-blurred-foreground; }
    """
    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
        Binding("enter", "select", "Select", show=False),
    ]

    cursor_row: var[int] = var(0, always_update=True)

    class RowHighlighted(Message):
        def __init__(self, pid: int | None) -> None:
            super().__init__()
            self.pid = pid

    class RowSelected(Message):
        def __init__(self, pid: int) -> None:
            super().__init__()
            self.pid = pid

    class HeaderClicked(Message):
        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.pids: list[int] = []
        self.views: dict[int, JobView] = {}
        self._strips: dict[int, tuple[Row, Strip]] = {}
        self._formatted: dict[int, tuple[JobView, Row]] = {}
        self._header: Strip | None = None
        self._sort = ("pid", False)
        self._command_width = MIN_COMMAND

    # -- data ------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self.pids)

    @property
    def selected_pid(self) -> int | None:
        return self.pids[self.cursor_row] if 0 <= self.cursor_row < len(self.pids) else None

    def sync(self, views: list[JobView]) -> None:
        """Show `views` in this order; the selected job stays selected wherever it moves."""
        selected = self.selected_pid
        order = [v.pid for v in views]
        moved = order != self.pids
        self.views = {v.pid: v for v in views}
        if moved:
            self.pids = order
            self._strips = {p: s for p, s in self._strips.items() if p in self.views}
            self._formatted = {p: f for p, f in self._formatted.items() if p in self.views}
            self._resize()
            index = order.index(selected) if selected in self.views else self.cursor_row
            self.move_cursor(index, scroll=selected in self.views)
            self.refresh()
            return
        top = int(self.scroll_y)
        for y, pid in enumerate(self.pids[top : top + self.size.height], top):
            cached = self._strips.get(pid)
            if cached is None or cached[0] != self._cells_of(pid):
                self.refresh_line(y + 1)

    def _cells_of(self, pid: int) -> Row:
        """The row's cells, formatted once per view (a sync brings new views)."""
        view = self.views[pid]
        known = self._formatted.get(pid)
        if known is not None and known[0] is view:
            return known[1]
        cells = row_cells(view)
        self._formatted[pid] = (view, cells)
        return cells

    def move_cursor(self, row: int, scroll: bool = True) -> None:
        row = max(0, min(row, len(self.pids) - 1))
        old = self.cursor_row
        self.cursor_row = row
        if scroll:
            self._scroll_to_cursor()
        if old != row:
            self.refresh_line(old + 1)
        self.refresh_line(row + 1)

    def set_sort_marker(self, key: str, reverse: bool) -> None:
        self._sort = (key, reverse)
        self._header = None
        self.refresh_line(self.scroll_offset.y)

    def watch_cursor_row(self, old: int, new: int) -> None:
        self.post_message(self.RowHighlighted(self.selected_pid))

    # -- geometry ----------------------------------------------------------------------

    def _fixed_width(self) -> int:
        return sum((c.width or 0) + 2 * PAD for c in COLUMNS if c.width is not None)

    def _resize(self) -> None:
        room = self.size.width - self._fixed_width() - 2 * PAD - 1
        width = max(MIN_COMMAND, room)
        if width != self._command_width:
            self._command_width = width
            self._strips.clear()
            self._header = None
        self.virtual_size = Size(self._fixed_width() + width + 2 * PAD, len(self.pids) + 1)

    def on_resize(self, event: events.Resize) -> None:
        self._resize()
        self.refresh()

    def _scroll_to_cursor(self) -> None:
        height = max(1, self.size.height - 1)
        top = int(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + height:
            self.scroll_to(y=self.cursor_row - height + 1, animate=False, immediate=True)

    def _column_at(self, x: int) -> str | None:
        left = 0
        for col in COLUMNS:
            width = (col.width or self._command_width) + 2 * PAD
            if left <= x < left + width:
                return col.key
            left += width
        return None

    # -- drawing -----------------------------------------------------------------------

    def _line(self, cells: Row, style: Style, over: Style | None = None) -> Strip:
        """One line of cells; `over` (the cursor) is applied on top of the cells' colours.

        Runs of text in the same style are joined into one segment as they are built.
        """
        segments: list[Segment] = []
        run: list[str] = []
        run_style: Style | None = None
        pad = " " * PAD
        for col, cell in zip(COLUMNS, cells, strict=True):
            for text, part in [
                (pad, None),
                *fit(cell, col.width or self._command_width, col.right),
                (pad, None),
            ]:
                if part is not run_style:
                    if run:
                        segments.append(self._segment("".join(run), style, run_style, over))
                    run, run_style = [], part
                run.append(text)
        if run:
            segments.append(self._segment("".join(run), style, run_style, over))
        return Strip(segments)

    @staticmethod
    def _segment(text: str, style: Style, part: Style | None, over: Style | None) -> Segment:
        if part is not None:
            style = style + part
        return Segment(text, style + over if over is not None else style)

    def _header_strip(self) -> Strip:
        if self._header is None:
            style = self.get_component_rich_style("jobtable--header")
            key, reverse = self._sort
            cells = []
            for col in COLUMNS:
                mark = (" ▼" if reverse else " ▲") if col.key == key else ""
                part = style_of("reverse") if col.key == key else None
                cells.append(((col.label + mark, part),))
            self._header = self._line(tuple(cells), style)
        return self._header

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.rich_style
        if y == 0:
            return self._header_strip().crop_extend(scroll_x, scroll_x + width, base)
        index = y - 1 + scroll_y
        if index >= len(self.pids):
            return Strip.blank(width, base)
        pid = self.pids[index]
        cells = self._cells_of(pid)
        if index == self.cursor_row:
            name = "jobtable--cursor" if self.has_focus else "jobtable--cursor-blurred"
            cursor = self.get_component_rich_style(name)
            strip = self._line(cells, base + cursor, cursor)
        else:
            cached = self._strips.get(pid)
            if cached is None or cached[0] != cells:
                cached = (cells, self._line(cells, base))
                self._strips[pid] = cached
            strip = cached[1]
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()
        self._header = None

    def on_focus(self) -> None:
        self.refresh_line(self.cursor_row + 1)

    def on_blur(self) -> None:
        self.refresh_line(self.cursor_row + 1)

    # -- input -------------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        if event.y == 0:
            key = self._column_at(event.x + self.scroll_offset.x)
            if key is not None:
                self.post_message(self.HeaderClicked(key))
            return
        index = event.y - 1 + self.scroll_offset.y
        if 0 <= index < len(self.pids):
            if index == self.cursor_row:
                self.post_message(self.RowSelected(self.pids[index]))
            self.move_cursor(index)

    def action_cursor(self, delta: int) -> None:
        self.move_cursor(self.cursor_row + delta)

    def action_page(self, direction: int) -> None:
        self.move_cursor(self.cursor_row + direction * max(1, self.size.height - 2))

    def action_jump(self, where: int) -> None:
        self.move_cursor(0 if where == 0 else len(self.pids) - 1)

    def action_select(self) -> None:
        pid = self.selected_pid
        if pid is not None:
            self.post_message(self.RowSelected(pid))
