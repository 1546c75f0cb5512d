"""The meters at the top: CPU cores, RAM, each GPU, resident models and a status line."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.widget import Widget

from .. import fmt
from ..views import DeviceView, ResidentModel

MIN_LEFT = 36


@dataclass
class HeaderData:
    devices: list[DeviceView] = field(default_factory=list)
    models: list[ResidentModel] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    tokens_per_s: float = 0.0
    source_label: str = ""
    attached: bool = True
    interval: float = 1.0


def _mem_caption(used: int | None, total: int | None) -> str:
    if used is None or total is None:
        return fmt.NA_TEXT
    return f"{fmt.size(used)}/{fmt.size(total)}"


def _models_line(device: str, models: list[ResidentModel]) -> Text | None:
    here = [m for m in models if m.device == device]
    if not here:
        return None
    text = Text("  models: ", style="dim")
    for i, m in enumerate(here):
        if i:
            text.append(" · ", style="dim")
        text.append(m.name, style="bold")
        if m.mem is not None:
            text.append(f" {fmt.size(m.mem)}", style="dim")
    return text


def cpu_lines(cpu: DeviceView | None, models: list[ResidentModel], width: int) -> list[Text]:
    if cpu is None:
        return [Text("CPU N/A", style="dim")]
    cores = cpu.per_core
    lines: list[Text] = []
    if cores:
        ncols = 1 if len(cores) <= 4 else 2 if len(cores) <= 16 else 4
        cell = max(12, width // ncols)
        label_w = len(str(len(cores) - 1))
        for start in range(0, len(cores), ncols):
            line = Text()
            for i in range(start, min(start + ncols, len(cores))):
                label = f"{i:>{label_w}}"
                line.append_text(fmt.meter(label, cores[i] / 100, f"{cores[i]:.1f}%", cell - 1))
                line.append(" ")
            lines.append(line)
    else:
        util = None if cpu.util is None else cpu.util / 100
        lines.append(fmt.meter("CPU", util, fmt.percent(cpu.util), width))
    lines.append(
        fmt.meter(
            "Mem", cpu.mem_fraction, _mem_caption(cpu.mem_used, cpu.mem_total), width, style="blue"
        )
    )
    extra = _models_line("cpu", models)
    if extra is not None:
        lines.append(extra)
    return lines


def gpu_lines(gpu: DeviceView, models: list[ResidentModel], width: int) -> list[Text]:
    title = Text(f"{gpu.id} ", style="bold cyan")
    title.append(gpu.name, style="bold")
    temp = fmt.NA_TEXT if gpu.temperature is None else f"{gpu.temperature:.0f}°C"
    power = fmt.NA_TEXT if gpu.power is None else f"{gpu.power:.0f}W"
    if gpu.power is not None and gpu.power_limit is not None:
        power = f"{gpu.power:.0f}/{gpu.power_limit:.0f}W"
    title.append(f"  {temp}  {power}", style="dim")
    half = max(12, (width - 1) // 2)
    util = None if gpu.util is None else gpu.util / 100
    meters = fmt.meter("GPU", util, fmt.percent(gpu.util), half)
    meters.append(" ")
    meters.append_text(
        fmt.meter(
            "MEM", gpu.mem_fraction, _mem_caption(gpu.mem_used, gpu.mem_total), half, style="blue"
        )
    )
    lines = [title, meters]
    extra = _models_line(gpu.id, models)
    if extra is not None:
        lines.append(extra)
    return lines


def status_line(data: HeaderData) -> Text:
    counts = data.counts
    text = Text("Jobs: ", style="bold cyan")
    text.append(str(sum(counts.values())), style="bold")
    shown = [s for s in ("running", "loading", "paused", "queued") if counts.get(s)]
    for i, state in enumerate(shown):
        text.append(" (" if i == 0 else ", ")
        text.append(f"{counts[state]} ")
        text.append(state, style=fmt.STATE_STYLES[state])
    if shown:
        text.append(")")
    text.append("   Tok/s: ", style="bold cyan")
    text.append(f"{data.tokens_per_s:.1f}")
    text.append("   Refresh: ", style="bold cyan")
    text.append(f"{data.interval:g}s")
    text.append("   ")
    if data.attached:
        text.append(data.source_label, style="dim")
    else:
        text.append(data.source_label, style="bold red")
    return text


class DeviceHeader(Widget):
    """Renders a `HeaderData`; call `show()` with fresh data."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.data = HeaderData()

    def show(self, data: HeaderData) -> None:
        """Redraw with `data`; a new layout only when the number of lines changes."""
        lines = self._line_count(data)
        self.refresh(layout=lines != self._line_count(self.data))
        self.data = data

    @staticmethod
    def _line_count(data: HeaderData) -> tuple[int, ...]:
        return (
            len(data.devices),
            len(data.models),
            *(len(d.per_core) for d in data.devices if d.kind == "cpu"),
        )

    def render(self) -> RenderableType:
        data = self.data
        width = max(self.size.width, 60)
        gpus = [d for d in data.devices if d.kind != "cpu"]
        cpu = next((d for d in data.devices if d.kind == "cpu"), None)
        left_w = max(MIN_LEFT, width * 2 // 5)
        right_w = width - left_w - 2
        left = cpu_lines(cpu, data.models, left_w)
        right: list[Text] = []
        for gpu in gpus:
            right.extend(gpu_lines(gpu, data.models, right_w))
        if not gpus:
            right.append(Text("GPU: none detected", style="dim"))
        grid = Table.grid(padding=(0, 2), expand=True)
        grid.add_column(width=left_w, no_wrap=True)
        grid.add_column(width=right_w, no_wrap=True)
        for i in range(max(len(left), len(right))):
            grid.add_row(
                left[i] if i < len(left) else Text(), right[i] if i < len(right) else Text()
            )
        return Group(grid, status_line(data))
