"""Every key binding, driven with Pilot over fixed fake data."""

from __future__ import annotations

from textual.widgets import Input, Log

from llmsh.tui.keys import KEYS, bindings
from llmsh.tui.screens.confirm import ConfirmScreen
from llmsh.tui.screens.help import HelpScreen
from llmsh.tui.screens.sort import SortScreen
from llmsh.tui.widgets.detail import DetailPane

from .conftest import SIZE, fake_app, until


def test_every_key_in_the_table_is_bound() -> None:
    bound = {b.key for b in bindings()}
    for key in KEYS:
        if key.action:
            assert set(key.keys.split(",")) <= bound


async def test_arrows_and_j_move_the_selection() -> None:
    app, _ = fake_app()
    async with app.run_test(size=SIZE) as pilot:
        table = app.top.table
        assert table.selected_pid == 101
        await pilot.press("j")
        assert table.selected_pid == 102
        await pilot.press("down", "down")
        assert table.selected_pid == 104
        await pilot.press("up")
        assert table.selected_pid == 103
        await pilot.press("end")
        assert table.selected_pid == 106
        await pilot.press("home")
        assert table.selected_pid == 101


async def test_k_asks_before_killing_and_n_keeps_the_job() -> None:
    app, kernel = fake_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("k")
        assert isinstance(app.screen, ConfirmScreen)
        assert "101" in app.screen.question
        await pilot.press("n")
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.press("f9", "escape")  # htop's F9 asks too
        assert kernel.calls == []
        await pilot.press("k", "y")
        await until(pilot, lambda: kernel.calls == [("kill", 101)])
        await until(pilot, lambda: app.top.views[101].state == "killed")


async def test_p_pauses_and_resumes() -> None:
    app, kernel = fake_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        await until(pilot, lambda: app.top.views[101].state == "paused")
        await pilot.press("p")
        await until(pilot, lambda: app.top.views[101].state == "running")
        assert kernel.calls == [("pause", 101), ("resume", 101)]


async def test_plus_and_minus_renice() -> None:
    app, kernel = fake_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("+")
        await until(pilot, lambda: app.top.views[101].priority == 1)
        await pilot.press("-", "-", "f7")
        await until(pilot, lambda: app.top.views[101].priority == -2)
        await pilot.press("f8")
        await until(pilot, lambda: app.top.views[101].priority == -1)
        assert kernel.calls.count(("renice", 101)) == 5


async def test_l_and_enter_toggle_the_detail_pane_with_output_and_loss() -> None:
    app, kernel = fake_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(DetailPane)
        assert not pane.display
        await pilot.press("l")
        assert pane.display
        log = app.query_one(Log)
        await until(pilot, lambda: "Silicon rivers hum," in log.lines)
        kernel.write(101, "more text\n")
        await until(pilot, lambda: "more text" in log.lines)
        await pilot.press("j")  # the finetune job: its output and loss curve
        await until(pilot, lambda: any("loss 0.4511" in line for line in log.lines))
        assert app.query_one("#loss-spark").display
        await pilot.press("enter")
        assert not pane.display
        await pilot.press("enter")
        assert pane.display


async def test_slash_filters_and_escape_clears() -> None:
    app, _ = fake_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("/")
        box = app.query_one("#filter", Input)
        assert box.display and box.has_focus
        await pilot.press(*"embed")  # letters go to the box, not to the bindings
        assert app.top.table.pids == [103]
        await pilot.press("enter")
        assert app.top.table.has_focus and box.display
        await pilot.press("escape")
        assert not box.display and len(app.top.table.pids) == 6


async def test_s_and_f6_choose_the_sort_column() -> None:
    app, _ = fake_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        assert isinstance(app.screen, SortScreen)
        await pilot.press("down", "down", "enter")  # PID, SESSION, STATE
        assert app.top.model.sort == "state"
        assert app.top.table.pids[:3] == [101, 102, 106]
        await pilot.press("f6", "escape")
        assert app.top.model.sort == "state"
        await pilot.press("f6", "enter")  # the current column again: reversed
        assert app.top.model.reverse
        assert app.top.table.selected_pid == 101  # the selection follows the job


async def test_a_toggles_finished_jobs() -> None:
    app, _ = fake_app()
    async with app.run_test(size=SIZE) as pilot:
        assert 99 not in app.top.table.pids
        await pilot.press("a")
        await until(pilot, lambda: {98, 99} <= set(app.top.table.pids))
        await pilot.press("a")
        await until(pilot, lambda: 99 not in app.top.table.pids)


async def test_d_cycles_the_refresh_interval() -> None:
    app, _ = fake_app(interval=1.0)
    async with app.run_test(size=SIZE) as pilot:
        seen = []
        for _ in range(4):
            await pilot.press("d")
            seen.append(app.top.interval)
        assert seen == [2.0, 5.0, 0.5, 1.0]


async def test_question_mark_opens_help_and_q_quits() -> None:
    app, _ = fake_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("?")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("f1", "q")  # q in the help closes the help only
        assert app.is_running
        await pilot.press("q")
    assert not app.is_running


async def test_mouse_selects_rows_and_sorts_by_header() -> None:
    app, _ = fake_app()
    async with app.run_test(size=SIZE) as pilot:
        table = app.top.table
        await pilot.click(table, offset=(30, 3))  # header is line 0: third job
        assert table.selected_pid == 103
        await pilot.click(table, offset=(30, 3))  # a second click opens the detail
        assert app.query_one(DetailPane).display
        await pilot.click(table, offset=(100, 0))  # TIME header
        assert app.top.model.sort == "time" and app.top.model.reverse
        await pilot.click(table, offset=(2, 0))  # PID header
        assert app.top.model.sort == "pid" and table.pids[0] == 101
