"""Kill, pause/resume and renice from the keyboard, acting on real kernel sleep jobs."""

from __future__ import annotations

from llmsh.kernel import JobState, Kernel
from llmsh.tui.app import TopApp
from llmsh.tui.screens.confirm import ConfirmScreen
from llmsh.tui.source import KernelSource

from .conftest import SIZE, until


def app_for(kernel: Kernel) -> TopApp:
    return TopApp(KernelSource(kernel), interval=0.5)


async def state(kernel: Kernel, pid: int) -> JobState:
    return (await kernel.get(pid)).state


async def test_rows_show_running_and_queued_sleep_jobs(kernel: Kernel) -> None:
    pids = [p.pid for p in await kernel.list()]
    async with app_for(kernel).run_test(size=SIZE) as pilot:
        top = pilot.app.top  # type: ignore[attr-defined]
        await until(pilot, lambda: top.table.pids == pids)
        states = [top.views[pid].state for pid in pids]
        assert states == ["running", "running", "queued"]
        assert top.views[pids[2]].queue_pos == 1


async def test_k_then_y_kills_the_selected_job(kernel: Kernel) -> None:
    first = (await kernel.list())[0].pid
    async with app_for(kernel).run_test(size=SIZE) as pilot:
        top = pilot.app.top  # type: ignore[attr-defined]
        await until(pilot, lambda: top.table.selected_pid == first)
        await pilot.press("k")
        assert isinstance(pilot.app.screen, ConfirmScreen)
        await pilot.press("y")
        await until(
            pilot, lambda: top.views.get(first) is not None and top.views[first].state == "killed"
        )
        assert await state(kernel, first) == JobState.KILLED
        # the queued job takes the freed slot, and the table shows it
        await until(
            pilot, lambda: all(v.state == "running" for pid, v in top.views.items() if pid != first)
        )


async def test_k_then_escape_leaves_the_job_running(kernel: Kernel) -> None:
    first = (await kernel.list())[0].pid
    async with app_for(kernel).run_test(size=SIZE) as pilot:
        await pilot.press("k", "escape")
        await pilot.pause(0.1)
        assert await state(kernel, first) == JobState.RUNNING


async def test_p_pauses_and_resumes_a_real_job(kernel: Kernel) -> None:
    first = (await kernel.list())[0].pid
    async with app_for(kernel).run_test(size=SIZE) as pilot:
        top = pilot.app.top  # type: ignore[attr-defined]
        await until(pilot, lambda: top.table.selected_pid == first)
        await pilot.press("p")
        await until(pilot, lambda: top.views[first].state == "paused")
        assert await state(kernel, first) == JobState.PAUSED
        await pilot.press("p")
        await until(pilot, lambda: top.views[first].state == "running")
        assert await state(kernel, first) == JobState.RUNNING


async def test_plus_minus_renice_a_real_job(kernel: Kernel) -> None:
    queued = (await kernel.list())[2].pid
    async with app_for(kernel).run_test(size=SIZE) as pilot:
        top = pilot.app.top  # type: ignore[attr-defined]
        await pilot.press("j", "j")
        assert top.table.selected_pid == queued
        await pilot.press("+", "+")
        await until(pilot, lambda: top.views[queued].priority == 2)
        assert (await kernel.get(queued)).priority == 2
        await pilot.press("-", "-", "-")
        await until(pilot, lambda: top.views[queued].priority == -1)
        assert (await kernel.get(queued)).priority == -1


async def test_acting_on_a_finished_job_says_why(kernel: Kernel) -> None:
    first = (await kernel.list())[0].pid
    async with app_for(kernel).run_test(size=SIZE) as pilot:
        top = pilot.app.top  # type: ignore[attr-defined]
        await kernel.kill(first)
        await until(pilot, lambda: top.views[first].state == "killed")
        await pilot.press("p")
        await until(
            pilot, lambda: any("already finished" in n.message for n in pilot.app._notifications)
        )
        await pilot.press("k")
        assert not isinstance(pilot.app.screen, ConfirmScreen)


async def test_quitting_leaves_the_kernel_and_its_jobs_running(kernel: Kernel) -> None:
    before = [(p.pid, p.state) for p in await kernel.list()]
    async with app_for(kernel).run_test(size=SIZE) as pilot:
        await pilot.press("q")
    assert [(p.pid, p.state) for p in await kernel.list()] == before
    assert kernel.started


async def test_detail_pane_tails_a_real_jobs_output(kernel: Kernel) -> None:
    from textual.widgets import Log

    from llmsh.kernel import JobSpec

    for proc in (await kernel.list())[:2]:
        await kernel.kill(proc.pid)  # make room: two CPU slots
    script = "echo first; sleep 0.3; echo second; sleep 0.3; echo third; sleep 5"
    job = await kernel.submit(
        JobSpec("system", ("!sh",), {"command": script}, priority=-10, session="t")
    )
    async with app_for(kernel).run_test(size=SIZE) as pilot:
        top = pilot.app.top  # type: ignore[attr-defined]
        await until(pilot, lambda: job.pid in top.table.pids)
        top.table.move_cursor(top.table.pids.index(job.pid))
        await pilot.press("l")
        log = pilot.app.query_one(Log)
        await until(pilot, lambda: "third" in log.lines, timeout=10)
        assert [line for line in log.lines if line][:3] == ["first", "second", "third"]
        await pilot.press("k", "y")
        await until(pilot, lambda: top.views[job.pid].state == "killed")
