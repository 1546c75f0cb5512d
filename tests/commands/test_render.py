"""Rendering: plain tables, the progress bar, and rich only on a terminal."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest

from llmsh.commands import render
from llmsh.commands.context import color_allowed
from llmsh.commands.progress import ProgressBar, bar_text
from llmsh.commands.render import Column


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_table_aligns_columns() -> None:
    text = render.plain_table([Column("PID", "right"), Column("NAME")], [["1", "a"], ["100", "bb"]])
    assert text == "PID  NAME\n  1  a\n100  bb\n"
    assert render.plain_table([Column("A")], [["x"]], header=False) == "x\n"


def test_formatting_helpers() -> None:
    assert render.fmt_bytes(None) == "-"
    assert render.fmt_bytes(1536) == "1.5 KiB"
    assert render.fmt_metric(None) == "N/A" and render.fmt_metric(41.6, "%") == "42%"
    assert render.fmt_duration(75) == "1m15s" and render.fmt_duration(3.25) == "3.2s"
    assert render.truncate("x" * 100, 10) == "x" * 9 + "…"


def test_color_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert color_allowed(FakeTty()) and not color_allowed(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not color_allowed(FakeTty())


def test_progress_bar_draws_only_on_a_terminal() -> None:
    assert ProgressBar.for_stream(io.StringIO()) is None
    assert bar_text(0.5, "2/4 steps").startswith("[" + "#" * 12 + "." * 12 + "]  50%")
    stream = FakeTty()
    bar = ProgressBar.for_stream(stream)
    assert bar is not None
    progress = SimpleNamespace(done=3.0, total=4.0, unit="steps", rate=1.5, fraction=0.75)
    bar.update(SimpleNamespace(progress=progress, metrics={"loss": 1.25}))  # type: ignore[arg-type]
    assert "75%  3/4 steps  1.5 steps/s  loss 1.250" in stream.getvalue()
    bar.close()
    assert stream.getvalue().endswith("\r\x1b[K")
