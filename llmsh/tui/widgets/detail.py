"""The detail pane: everything about the selected job, with its output as it comes."""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Label, Log

from .. import fmt
from ..views import JobView
from .history import Spark

TAIL_LINES = 200


def describe(view: JobView, now: float) -> Text:
    """The pane's summary block for one job."""
    text = Text()
    text.append(f"PID {view.pid}  ", style="bold")
    text.append(view.state, style=fmt.STATE_STYLES.get(view.state, ""))
    if view.queue_pos is not None:
        text.append(f" (position {view.queue_pos} in the queue)")
    text.append(f"  on {view.device}  priority {view.priority}  kind {view.kind}")
    if view.session:
        text.append(f"  session {view.session}")
    text.append("\n")
    text.append("command  ", style="bold cyan")
    text.append(view.command + "\n")
    text.append("times    ", style="bold cyan")
    text.append(
        f"created {fmt.clock(view.created)}  started {fmt.clock(view.started)}  "
        f"ended {fmt.clock(view.ended)}  elapsed {fmt.duration(view.elapsed)}"
    )
    if view.exit_status is not None:
        text.append(f"  exit {view.exit_status}")
    text.append("\n")
    text.append("progress ", style="bold cyan")
    done = fmt.amount(view.done)
    text.append(f"{done}/{fmt.amount(view.total)}" if view.total else done)
    if view.unit:
        text.append(f" {view.unit}")
    if view.rate is not None:
        text.append(f"  {fmt.rate(view.rate, view.unit)}")
    if view.eta is not None:
        text.append(f"  ETA {fmt.duration(view.eta)}")
    if view.mem is not None:
        est = " (estimate)" if view.mem_estimated else ""
        text.append(f"  memory {fmt.size(view.mem)}{est}")
    if view.reason:
        text.append("\nreason   ", style="bold red")
        text.append(view.reason)
    return text


def loss_caption(view: JobView) -> str:
    losses = [loss for _step, loss in view.loss]
    last_step = view.loss[-1][0]
    return (
        f"loss {losses[-1]:.4f} at step {last_step:g}  "
        f"(min {min(losses):.4f}, first {losses[0]:.4f}, {len(losses)} points)"
    )


class JobInfo(Widget):
    """The summary block; a fixed height, so new text needs a repaint, not a layout."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.text = Text()

    def show(self, text: Text) -> None:
        self.text = text
        self.refresh()

    def render(self) -> RenderableType:
        return self.text


class DetailPane(Vertical):
    """Shows a `JobView`; the screen streams output into it with `append_output`."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.pid: int | None = None

    def compose(self) -> ComposeResult:
        yield JobInfo(id="detail-info")
        yield Spark("yellow", id="loss-spark")
        yield Label("output", id="output-label")
        yield Log(max_lines=TAIL_LINES * 5, id="detail-log", auto_scroll=True)

    def show_job(self, view: JobView | None, now: float) -> None:
        info = self.query_one(JobInfo)
        spark = self.query_one("#loss-spark", Spark)
        if view is None:
            info.show(Text("no job selected", style="dim"))
            spark.display = False
            return
        info.show(describe(view, now))
        spark.display = bool(view.loss)
        if view.loss:
            losses = [loss for _step, loss in view.loss]
            spark.plot(loss_caption(view), losses, max(losses), min(losses) * 0.98, fit=True)

    def set_output(self, pid: int, text: str) -> None:
        self.pid = pid
        log = self.query_one("#detail-log", Log)
        log.clear()
        lines = text.splitlines(keepends=True)[-TAIL_LINES:]
        if lines:
            log.write("".join(lines))  # as written: an unfinished line goes on later

    def append_output(self, text: str) -> None:
        self.query_one("#detail-log", Log).write(text)
