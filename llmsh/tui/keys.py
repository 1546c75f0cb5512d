"""The key bindings, as one table: the screen binds them and the help screen lists them.

`k` kills, as in htop (and the issue); up/down and `j` move the selection. Vi users
who press `k` to go up get the kill confirmation, which `n` or Escape dismisses, so
nothing is lost. htop's function keys work too: F1 help, F3/F4 filter, F6 sort,
F7/F8 nice -/+, F9 kill, F10 quit.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Key:
    keys: str  # Textual key names, comma separated
    action: str  # screen action, "" for keys a widget handles itself
    label: str  # short, for the footer
    help: str  # longer, for the help screen
    footer: bool = True
    shown: str = ""  # how the help screen spells the keys (default: from `keys`)


KEYS: tuple[Key, ...] = (
    Key(
        "up,down,j",
        "",
        "",
        "select the previous / next job (mouse: click a row)",
        footer=False,
        shown="↑ ↓ j",
    ),
    Key("k,f9", "kill", "Kill", "kill the selected job (asks to confirm)", shown="k F9"),
    Key("p", "pause", "Pause", "pause the selected job, or resume it when paused"),
    Key("plus,f8", "renice(1)", "Nice+", "lower the job's priority (nice value + 1)", shown="+ F8"),
    Key(
        "minus,f7", "renice(-1)", "Nice-", "raise the job's priority (nice value - 1)", shown="- F7"
    ),
    Key(
        "l,enter",
        "detail",
        "Detail",
        "show / hide the detail pane (output, loss curve)",
        shown="l Enter",
    ),
    Key(
        "slash,f3,f4",
        "filter",
        "Filter",
        "filter jobs by text (Enter keeps it, Esc clears)",
        shown="/ F4",
    ),
    Key(
        "s,f6",
        "sort",
        "Sort",
        "choose the sort column (mouse: click a header; again reverses)",
        shown="s F6",
    ),
    Key("a", "toggle_finished", "All", "show / hide finished jobs"),
    Key("d", "interval", "Delay", "change the refresh interval (1, 2, 5, 0.5 s)"),
    Key("question_mark,f1", "help", "Help", "this help", shown="? F1"),
    Key(
        "q,f10,ctrl+c",
        "quit",
        "Quit",
        "leave top (the kernel and its jobs keep running)",
        shown="q F10",
    ),
)


def bindings() -> list[Binding]:
    out = [Binding("j", "cursor_down", "Down", show=False)]
    for key in KEYS:
        if not key.action:
            continue
        first, *rest = key.keys.split(",")
        out.append(
            Binding(
                first,
                key.action,
                key.label,
                show=key.footer,
                key_display=key.shown.split()[0] if key.shown else None,
            )
        )
        out.extend(Binding(k, key.action, key.label, show=False) for k in rest)
    return out


def help_rows() -> list[tuple[str, str]]:
    return [(key.shown or key.keys, key.help) for key in KEYS]
