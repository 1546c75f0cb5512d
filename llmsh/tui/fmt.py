"""Text formatting for the monitor: sizes, durations, rates and htop-style bars."""

from __future__ import annotations

import time

from rich.text import Text

NA_TEXT = "N/A"

STATE_STYLES: dict[str, str] = {
    "queued": "yellow",
    "loading": "cyan",
    "running": "bold green",
    "paused": "magenta",
    "done": "dim",
    "failed": "bold red",
    "killed": "red",
    "interrupted": "dark_orange",
}

_EIGHTHS = " ▏▎▍▌▋▊▉"


def size(n: float | None) -> str:
    """Compact byte count as htop prints it: 512K, 1.2G."""
    if n is None:
        return NA_TEXT
    value = float(n)
    for unit in ("B", "K", "M", "G", "T"):
        if abs(value) < 1024 or unit == "T":
            if unit == "B":
                return f"{value:.0f}B"
            return f"{value:.1f}{unit}" if value < 10 else f"{value:.0f}{unit}"
        value /= 1024
    return f"{value:.0f}T"  # pragma: no cover - unreachable


def duration(seconds: float | None) -> str:
    """h:mm:ss, or m:ss under an hour."""
    if seconds is None:
        return "-"
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def clock(timestamp: float | None) -> str:
    if not timestamp:
        return "-"
    return time.strftime("%H:%M:%S", time.localtime(timestamp))


def amount(value: float) -> str:
    """A progress count: whole numbers above 100, a few digits below."""
    if value >= 100 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def rate(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    unit = unit or "it"
    if value >= 100:
        return f"{value:.0f} {unit}/s"
    return f"{value:.1f} {unit}/s" if value >= 1 else f"{value:.2f} {unit}/s"


def percent(value: float | None) -> str:
    return NA_TEXT if value is None else f"{value:.0f}%"


def block_bar(fraction: float, width: int) -> str:
    """A smooth bar of `width` cells from Unicode eighth blocks."""
    fraction = max(0.0, min(1.0, fraction))
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    bar = "█" * full + (_EIGHTHS[part] if part and full < width else "")
    return bar.ljust(width)


def meter(
    label: str, fraction: float | None, caption: str, width: int, style: str = "green"
) -> Text:
    """htop's meter: `label[|||||      caption]`; N/A when the value is unknown."""
    inner = max(1, width - len(label) - 2)
    text = Text(label, style="bold cyan")
    text.append("[", style="bold")
    if fraction is None:
        text.append(NA_TEXT.rjust(inner), style="dim")
    else:
        fraction = max(0.0, min(1.0, fraction))
        room = max(0, inner - len(caption))
        filled = round(fraction * inner)
        bars = "|" * min(filled, room)
        text.append(bars, style=_load_style(fraction, style))
        text.append(" " * (room - len(bars)))
        text.append(caption[:inner], style="dim" if filled <= room else "")
    text.append("]", style="bold")
    return text


def _load_style(fraction: float, style: str) -> str:
    if fraction >= 0.9:
        return "red"
    if fraction >= 0.7:
        return "yellow"
    return style
