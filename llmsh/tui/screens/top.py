"""The monitor screen with its keys: acting on jobs and changing the view."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from textual.binding import Binding
from textual.widgets import Input

from llmsh.kernel import Process

from .. import keys
from ..model import next_interval
from ..views import JobView
from ..widgets.jobs import JobTable
from .confirm import ConfirmScreen
from .help import HelpScreen
from .monitor import MonitorScreen
from .sort import SortScreen


class TopScreen(MonitorScreen):
    """The monitor with the bindings of `keys.KEYS`; job actions go through the source."""

    BINDINGS = [*keys.bindings(), Binding("escape", "clear_filter", "Clear filter", show=False)]

    # -- acting on jobs ----------------------------------------------------------------

    def selected(self) -> JobView | None:
        """The selected job if it can still be acted on; otherwise say why not."""
        pid = self.table.selected_pid
        view = self.views.get(pid) if pid is not None else None
        if view is None:
            self.notify("no job selected", severity="warning")
        elif view.finished:
            self.notify(f"job {view.pid} has already finished ({view.state})", severity="warning")
            return None
        return view

    def act(self, what: str, call: Callable[[], Awaitable[Process | None]]) -> None:
        """Run a kernel call in a worker; show its result at once, or why it failed."""

        async def run() -> None:
            try:
                proc = await call()
            except Exception as exc:  # the kernel refused: say why, keep running
                self.notify(f"{what}: {exc}", severity="error")
                return
            if proc is not None:
                self.model.apply(proc)
            await self.safe_update()

        self.run_worker(run(), group="act")

    def action_kill(self) -> None:
        view = self.selected()
        if view is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.act(f"kill {view.pid}", lambda: self.source.kill(view.pid))

        self.app.push_screen(ConfirmScreen(f"Kill job {view.pid} ({view.command})?"), answered)

    def action_pause(self) -> None:
        view = self.selected()
        if view is None:
            return
        if view.state == "paused":
            self.act(f"resume {view.pid}", lambda: self.source.resume(view.pid))
        else:
            self.act(f"pause {view.pid}", lambda: self.source.pause(view.pid))

    def action_renice(self, delta: int) -> None:
        view = self.selected()
        if view is None:
            return
        nice = max(-20, min(19, view.priority + delta))
        if nice != view.priority:
            self.act(f"renice {view.pid}", lambda: self.source.renice(view.pid, nice))

    # -- view controls -----------------------------------------------------------------

    def action_cursor_down(self) -> None:
        self.table.action_cursor(1)

    def action_detail(self) -> None:
        pane = self.detail
        pane.display = not pane.display
        self._tail_pid = None
        if pane.display:
            self.show_detail()
        else:
            self.workers.cancel_group(self, "tail")

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.display = False
        self.table.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.model.filter = event.value.strip()
        self.render_views()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.input.display = bool(event.value.strip())
        self.table.focus()

    def action_sort(self) -> None:
        def chosen(key: str | None) -> None:
            if key is not None:
                self.sort_by(key)

        self.app.push_screen(SortScreen(self.model.sort, self.model.reverse), chosen)

    def sort_by(self, key: str) -> None:
        self.model.set_sort(key)
        self.table.set_sort_marker(self.model.sort, self.model.reverse)
        self.render_views()

    def on_job_table_header_clicked(self, event: JobTable.HeaderClicked) -> None:
        self.sort_by(event.key)

    def on_job_table_row_selected(self, event: JobTable.RowSelected) -> None:
        self.action_detail()

    def on_job_table_row_highlighted(self, event: JobTable.RowHighlighted) -> None:
        if self.detail.display:
            self.show_detail()

    async def action_toggle_finished(self) -> None:
        self.model.show_finished = not self.model.show_finished
        shown = "shown" if self.model.show_finished else "hidden"
        self.notify(f"finished jobs {shown}", timeout=2)
        await self.reload()

    def action_interval(self) -> None:
        self.interval = next_interval(self.interval)
        self.notify(f"refresh every {self.interval:g} s", timeout=2)
        self.render_meters()
        self.poll()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    def action_quit(self) -> None:
        self.app.exit()
