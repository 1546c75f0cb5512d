"""Screenshots of the main screen over fixed jobs and devices (pytest-textual-snapshot).

Regenerate after an intended change with `pytest tests/tui --snapshot-update` and look
at the SVGs under __snapshots__/ before committing them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from llmsh.tui.app import TopApp
from llmsh.tui.source import DetachedSource

from .conftest import SIZE, fake_app, seeded_history


async def settle(pilot: Pilot[Any]) -> None:
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()


def test_two_gpus(snap_compare: Callable[..., bool]) -> None:
    app, _ = fake_app(gpus=2)
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_no_gpu(snap_compare: Callable[..., bool]) -> None:
    app, _ = fake_app(gpus=0)
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_detail_pane_of_a_finetune_job(snap_compare: Callable[..., bool]) -> None:
    app, _ = fake_app(gpus=2)
    assert snap_compare(app, terminal_size=SIZE, press=["j", "l"], run_before=settle)


def test_help(snap_compare: Callable[..., bool]) -> None:
    app, _ = fake_app(gpus=2)
    assert snap_compare(app, terminal_size=SIZE, press=["question_mark"], run_before=settle)


class _NoKernel(DetachedSource):
    """Detached, with the fake machine's devices instead of this machine's."""

    def __init__(self) -> None:
        super().__init__()
        from .samples import sample_kernel

        self.kernel = sample_kernel(0)


def test_no_kernel_running(snap_compare: Callable[..., bool]) -> None:
    app = TopApp(_NoKernel(), interval=3600, history=seeded_history())
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)
