"""The monitor screen's body: lays out the widgets and keeps them fed from a `Source`.

Updates come from two workers: kernel events (which only touch the model, plus a
prompt redraw on a state change) and the periodic poll, which reads the devices and
redraws. Neither blocks input; the key bindings live in `TopScreen`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from llmsh.kernel import EventType

from ..model import History, JobsModel
from ..source import Source
from ..views import DeviceView, JobView, ResidentModel
from ..widgets.detail import DetailPane
from ..widgets.header import DeviceHeader, HeaderData
from ..widgets.history import HistoryPanel
from ..widgets.jobs import JobTable

STATE_REFRESH_DELAY = 0.05  # a state change shows this soon, not at the next poll
NO_KERNEL = (
    "no kernel is running\n\nstart llmsh (or its daemon) in another terminal; "
    "its jobs will show here"
)


class MonitorScreen(Screen[None]):
    def __init__(
        self, source: Source, interval: float = 1.0, history: History | None = None
    ) -> None:
        super().__init__()
        self.source = source
        self.interval = interval
        self.model = JobsModel()
        self.history = history if history is not None else History()
        self.devices: list[DeviceView] = []
        self.models: list[ResidentModel] = []
        self.views: dict[int, JobView] = {}
        self._soon: Any = None
        self._tail_pid: int | None = None
        self._last_error = ""

    # -- layout ----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield DeviceHeader(id="header")
        yield HistoryPanel(id="history")
        with Vertical(id="table-area"):
            yield JobTable(id="jobs")
            yield Static(NO_KERNEL, id="no-kernel")
            yield DetailPane(id="detail")
        yield Input(
            placeholder="filter: text in the command, kind, state, session or device", id="filter"
        )
        yield Footer()

    @property
    def table(self) -> JobTable:
        return self.query_one(JobTable)

    @property
    def detail(self) -> DetailPane:
        return self.query_one(DetailPane)

    async def on_mount(self) -> None:
        attached = self.source.attached
        self.table.display = attached
        self.query_one("#no-kernel").display = not attached
        self.detail.display = False
        self.query_one("#filter").display = False
        self.table.set_sort_marker(self.model.sort, self.model.reverse)
        self.table.focus()
        await self.reload()
        self.poll()
        self.watch_events()

    # -- feeding the widgets -----------------------------------------------------------

    async def reload(self) -> None:
        """Fetch every job again (start, or after `a` changes what is wanted)."""
        try:
            self.model.replace(await self.source.jobs(self.model.show_finished))
        except Exception as exc:
            self.failed("list jobs", exc)
        await self.safe_update(sample=True)

    async def safe_update(self, sample: bool = False) -> None:
        """`update`, reporting a failure (a daemon gone away, a driver error) and going on."""
        try:
            await self.update(sample)
        except Exception as exc:
            self.failed("update", exc)

    async def update(self, sample: bool = False) -> None:
        """Redraw from the model; with `sample`, read devices and add a history point."""
        if sample:
            self.devices = await self.source.devices()
            self.models = await self.source.models()
        self.model.set_queue(await self.source.queue_order())
        self.render_views()
        if sample:
            tokens = sum(v.tokens_per_s for v in self.views.values())
            self.history.sample(self.devices, tokens)
        self.render_meters()

    def render_views(self) -> None:
        views = self.model.visible(self.source.now())
        self.views = {v.pid: v for v in views}
        self.table.sync(views)
        if self.detail.display:
            self.show_detail()

    def render_meters(self) -> None:
        tokens = sum(v.tokens_per_s for v in self.views.values())
        self.query_one(DeviceHeader).show(
            HeaderData(
                self.devices,
                self.models,
                self.model.counts(),
                tokens,
                self.source.label,
                self.source.attached,
                self.interval,
            )
        )
        has_gpu = any(d.kind != "cpu" for d in self.devices)
        self.query_one(HistoryPanel).show(self.history, has_gpu)

    def show_detail(self) -> None:
        pid = self.table.selected_pid
        self.detail.show_job(self.views.get(pid) if pid is not None else None, self.source.now())
        if pid != self._tail_pid:
            self._tail_pid = pid
            if pid is not None:
                self.tail(pid)

    def failed(self, what: str, exc: Exception) -> None:
        """Say what went wrong once, not at every poll; the monitor keeps running."""
        message = f"{what}: {exc}"
        if message != self._last_error:
            self._last_error = message
            self.notify(message, severity="error", timeout=6)

    @work(exclusive=True, group="poll", exit_on_error=False)
    async def poll(self) -> None:
        """The periodic device poll and redraw; restarting it applies a new interval."""
        while True:
            await asyncio.sleep(self.interval)
            await self.safe_update(sample=True)

    @work(exclusive=True, group="events", exit_on_error=False)
    async def watch_events(self) -> None:
        """Kernel events update the model; a state change asks for a prompt redraw."""
        try:
            async for event in self.source.events():
                if event.process is not None:
                    self.model.apply(event.process)
                if event.type == EventType.STATE and self._soon is None:
                    self._soon = self.set_timer(STATE_REFRESH_DELAY, self._prompt_update)
        except Exception as exc:
            self.failed("lost the kernel's events", exc)

    async def _prompt_update(self) -> None:
        self._soon = None
        await self.safe_update()

    @work(exclusive=True, group="tail", exit_on_error=False)
    async def tail(self, pid: int) -> None:
        """The selected job's output: what it wrote so far, then as it comes."""
        try:
            self.detail.set_output(pid, await self.source.output(pid))
            async for event in self.source.events([pid], output=True):
                if event.text:
                    self.detail.append_output(event.text)
        except Exception as exc:
            self.failed(f"output of {pid}", exc)
