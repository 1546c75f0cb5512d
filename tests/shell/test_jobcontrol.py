"""Session jobs in-process: `&`, $!, jobs, wait, kill %N, Ctrl-C, Ctrl-Z, fg, bg."""

from __future__ import annotations

import asyncio

import pytest

from llmsh.kernel import Kernel
from llmsh.shell.foreground import interrupt, suspend
from llmsh.shell.jobtable import SessionJob
from llmsh.shell.session import Shell
from llmsh.syntax.flow import Interrupted
from tests.shell.test_interpreter import make_shell, sh

pytestmark = pytest.mark.timeout(60)


async def until(predicate: object, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():  # type: ignore[operator]
        assert loop.time() < end, "timed out"
        await asyncio.sleep(0.01)


async def foreground_job(shell: Shell) -> SessionJob:
    await until(lambda: shell.foreground is not None and shell.foreground.pids)
    assert shell.foreground is not None
    return shell.foreground


async def test_background_prints_job_and_pid_and_sets_bang(kernel: Kernel) -> None:
    shell = make_shell(kernel, interactive=True)
    r = await sh(shell, "sleep 5 &")
    job = shell.jobs.current()
    assert job is not None and job.pid is not None
    assert r.err == f"[1] {job.pid}\n"
    assert shell.state.last_bg_pid == job.pid
    r = await sh(shell, "jobs")
    assert r.out.split() == ["[1]+", str(job.pid), "running", "sleep", "5"]
    assert (await sh(shell, "kill %1")).status == 0
    await until(lambda: job.done)
    assert (await kernel.get(job.pid)).state.value == "killed"
    shell.announce()
    assert "[1]+ Killed  sleep 5" in shell.stderr.getvalue()  # type: ignore[attr-defined]
    assert len(shell.jobs) == 0


async def test_done_jobs_are_announced_once(kernel: Kernel) -> None:
    shell = make_shell(kernel, interactive=True)
    await sh(shell, "sleep 0.01 &")
    job = shell.jobs.current()
    assert job is not None
    await until(lambda: job.done)
    shell.announce()
    shell.announce()
    assert shell.stderr.getvalue().count("Done  sleep 0.01") == 1  # type: ignore[attr-defined]


async def test_wait_returns_the_status_of_the_last(kernel: Kernel) -> None:
    shell = make_shell(kernel)
    r = await sh(shell, "!sh -c 'exit 3' & sleep 0.01 & wait %1; echo $?; wait; echo $?")
    assert r.out == "3\n0\n"
    assert len(shell.jobs) == 0


async def test_wait_for_a_pid_of_another_session(kernel: Kernel) -> None:
    from llmsh.kernel import JobSpec

    proc = await kernel.submit(JobSpec("sleep", args={"seconds": 0.01}))
    r = await sh(make_shell(kernel), f"wait {proc.pid}; echo $?")
    assert r.out == "0\n"


async def test_ctrl_c_kills_the_foreground_job_and_the_rest_of_the_line(kernel: Kernel) -> None:
    shell = make_shell(kernel, interactive=True)
    task = asyncio.ensure_future(sh(shell, "sleep 30; echo after"))
    job = await foreground_job(shell)
    await interrupt(shell, job)
    with pytest.raises(Interrupted):
        await task
    assert "after" not in shell.stdout.getvalue()  # type: ignore[attr-defined]
    assert (await kernel.get(job.pids[0])).state.value == "killed"
    assert shell.state.last_status == 130


async def test_ctrl_z_pauses_then_bg_and_fg(kernel: Kernel) -> None:
    shell = make_shell(kernel, interactive=True)
    task = asyncio.ensure_future(sh(shell, "sleep 0.5"))
    job = await foreground_job(shell)
    await suspend(shell, job)
    r = await task
    assert r.status == 148 and "[1]+ Stopped  sleep 0.5" in r.err
    pid = job.pids[0]
    assert (await kernel.get(pid)).state.value == "paused"
    assert "paused" in (await sh(shell, "jobs")).out
    r = await sh(shell, "bg %1")
    assert r.err == "[1]+ sleep 0.5 &\n"
    assert (await kernel.get(pid)).state.value == "running"
    r = await sh(shell, "fg")
    assert r.status == 0 and r.err == "sleep 0.5\n"
    assert len(shell.jobs) == 0


async def test_pause_resume_renice_on_job_references(kernel: Kernel) -> None:
    shell = make_shell(kernel)
    await sh(shell, "sleep 30 &")
    pid = shell.jobs.current().pid  # type: ignore[union-attr]
    assert (await sh(shell, "pause %1")).status == 0
    assert (await kernel.get(pid)).state.value == "paused"  # type: ignore[arg-type]
    assert (await sh(shell, f"resume {pid}")).status == 0
    assert (await sh(shell, "renice high %1")).status == 0
    assert (await kernel.get(pid)).priority == -10  # type: ignore[arg-type]
    r = await sh(shell, "pause %7")
    assert r.status == 1 and "no such job: %7" in r.err
    await sh(shell, "kill %1")


async def test_kill_reports_each_failure(kernel: Kernel) -> None:
    r = await sh(make_shell(kernel), "kill 424242 %3")
    assert r.status == 1
    assert "no such job: 424242" in r.err and "no such job: %3" in r.err


async def test_fg_and_bg_without_jobs(kernel: Kernel) -> None:
    shell = make_shell(kernel)
    assert "no current job" in (await sh(shell, "fg")).err
    assert "not a job of this session" in (await sh(shell, "bg 99")).err


async def test_script_waits_for_background_but_not_paused_jobs(kernel: Kernel) -> None:
    shell = make_shell(kernel)
    await sh(shell, "sleep 0.05 & sleep 30 & pause %2")
    await asyncio.wait_for(shell.wait_background(), 10)
    jobs = list(shell.jobs)
    assert [job.number for job in jobs if not job.done] == [2]
    await shell.close()


async def test_ctrl_c_and_ctrl_z_report_a_kernel_that_refuses(
    kernel: Kernel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed kill or pause is told to the user, not swallowed; the job stays listed."""
    from llmsh.errors import KernelError

    async def refuse(pid: int, *args: object) -> None:
        raise KernelError(f"cannot touch job {pid}: the kernel is shutting down")

    shell = make_shell(kernel, interactive=True)
    task = asyncio.ensure_future(sh(shell, "sleep 30"))
    job = await foreground_job(shell)
    monkeypatch.setattr(kernel, "pause", refuse)
    await suspend(shell, job)
    await task
    err = shell.stderr.getvalue()  # type: ignore[attr-defined]
    assert f"could not pause job {job.pids[0]}: cannot touch job" in err
    assert job.stopped and job in list(shell.jobs)  # it still runs: keep it in the table
    monkeypatch.setattr(kernel, "kill", refuse)
    await interrupt(shell, job)
    assert f"could not kill job {job.pids[0]}: cannot touch job" in shell.stderr.getvalue()  # type: ignore[attr-defined]
    monkeypatch.undo()
    await kernel.kill(job.pids[0])
