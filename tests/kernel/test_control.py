"""The job-control core, how a job's end is decided, and the kernel's side of the executor
interface (control pushed to the executor as it happens, its Ending taken as given)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from llmsh.kernel import JobFailed, JobKilled, JobKind, JobSpec, JobState, Kernel, KernelConfig
from llmsh.kernel.context import JobContext
from llmsh.kernel.control import ControlCore, Listener, NullControl
from llmsh.kernel.ending import (
    DONE,
    STOPPED,
    Ending,
    EndKind,
    ending_of_exception,
    ending_of_status,
    run_to_end,
)
from llmsh.kernel.executor import Work

from .conftest import caps


def recorder(calls: list[tuple[str, Any]]) -> Listener:
    return Listener(
        on_kill=lambda: calls.append(("kill", None)),
        on_pause=lambda: calls.append(("pause", None)),
        on_resume=lambda: calls.append(("resume", None)),
        on_renice=lambda value: calls.append(("renice", value)),
    )


def test_listeners_hear_every_control_change_until_removed() -> None:
    ctl = ControlCore(1, "cpu", priority=0)
    calls: list[tuple[str, Any]] = []
    remove = ctl.listen(recorder(calls))
    ctl.pause()
    ctl.renice(5)
    ctl.renice(5)  # no change: nothing to tell
    ctl.resume()
    assert (ctl.paused, ctl.priority) == (False, 5)
    remove()
    ctl.kill()
    assert calls == [("pause", None), ("renice", 5), ("resume", None)]
    with pytest.raises(JobKilled):
        ctl.check()


def test_check_blocks_while_paused_and_a_kill_wakes_it() -> None:
    ctl = NullControl()
    ctl.check()
    ctl.pause()
    outcome: list[str] = []
    left = threading.Event()

    def job() -> None:
        try:
            ctl.check()
            outcome.append("ran")
        except JobKilled:
            outcome.append("killed")
        left.set()

    thread = threading.Thread(target=job)
    thread.start()
    assert not left.wait(0.3)  # still in check(): paused
    ctl.kill()
    assert left.wait(10) and outcome == ["killed"]
    thread.join(10)


def test_a_job_s_end_is_decided_in_one_place() -> None:
    assert ending_of_status(0) is DONE
    assert ending_of_status(3) == Ending(EndKind.FAILED, 3, "exit status 3")
    assert ending_of_status(None).reason == "job returned None, not a status"
    assert ending_of_status(True).kind is EndKind.FAILED
    assert ending_of_exception(JobKilled()) is STOPPED
    assert ending_of_exception(JobFailed("bad line 3")) == Ending(EndKind.FAILED, 1, "bad line 3")
    assert ending_of_exception(JobFailed()).reason == "failed"
    assert ending_of_exception(MemoryError("needed 3 GiB\nmore")).reason == (
        "out of memory: needed 3 GiB"
    )
    assert ending_of_exception(MemoryError()).reason == "out of memory"
    assert ending_of_exception(KeyError("k")).reason == "KeyError: 'k'"
    assert ending_of_exception(RuntimeError()).reason == "RuntimeError"

    def leaves() -> int:
        raise SystemExit("bye")

    assert run_to_end(leaves) == Ending(EndKind.FAILED, 1, "SystemExit: bye")
    assert run_to_end(lambda: 0) is DONE


class RecordingExecutor:
    """An executor that runs nothing: it records the control it is told of and ends each
    job with the Ending the test gives."""

    name = "recording"

    def __init__(self) -> None:
        self.calls: dict[int, list[tuple[str, Any]]] = {}
        self.endings: dict[int, asyncio.Future[Ending]] = {}
        self.closed = False

    async def run(self, job: JobContext, work: Work) -> Ending:
        calls = self.calls.setdefault(job.pid, [("start", (work.kind, work.model, job.paused))])
        remove = job.listen(recorder(calls))
        future = self.endings.setdefault(job.pid, asyncio.get_running_loop().create_future())
        try:
            return await future
        finally:
            remove()

    def resident(self) -> list[dict[str, Any]]:
        return [{"name": "m", "device": "cpu", "nbytes": 1}]

    def unpin(self, model: str) -> list[str]:
        return []

    def close(self) -> None:
        self.closed = True


async def run_work(ctx: JobContext) -> Ending:
    return await ctx.execute(Work("work", str(ctx.args.get("model", "m"))))


def kernel_on(tmp_path: Path, executor: Any = None) -> Kernel:
    k = Kernel(KernelConfig(state_dir=tmp_path, nvml=None, capacities=caps()),
               executor=executor, owns_executor=True)  # fmt: skip
    k.kinds.register(JobKind("work", run_work))
    return k


async def test_the_kernel_pushes_control_to_the_executor_as_it_happens(tmp_path: Path) -> None:
    executor = RecordingExecutor()
    kernel = await kernel_on(tmp_path, executor).start()
    try:
        job = await kernel.submit(JobSpec("work", args={"model": "m1"}))
        while job.pid not in executor.calls:
            await asyncio.sleep(0)  # the task's first step
        await kernel.pause(job.pid)
        await kernel.renice(job.pid, 7)
        await kernel.resume(job.pid)
        # Each was told before the kernel's call returned: nothing waits for a poll.
        assert executor.calls[job.pid] == [
            ("start", ("work", "m1", False)), ("pause", None), ("renice", 7), ("resume", None)
        ]  # fmt: skip
        executor.endings[job.pid].set_result(Ending(EndKind.FAILED, 2, "it broke"))
        [done] = await kernel.wait([job.pid], timeout=5)
        assert (done.state, done.exit_status, done.reason) == (JobState.FAILED, 2, "it broke")

        other = await kernel.submit(JobSpec("work"))
        while other.pid not in executor.calls:
            await asyncio.sleep(0)
        killed = await kernel.kill(other.pid)
        assert (killed.state, killed.exit_status) == (JobState.KILLED, 137)
        assert executor.calls[other.pid][-1] == ("kill", None)
    finally:
        await kernel.close()
    assert executor.closed  # the kernel owned it


async def test_a_kernel_without_an_executor_fails_model_work_with_a_reason(
    tmp_path: Path,
) -> None:
    async with kernel_on(tmp_path) as kernel:
        job = await kernel.submit(JobSpec("work"))
        [done] = await kernel.wait([job.pid], timeout=5)
        assert (done.state, done.reason) == (
            JobState.FAILED,
            "this kernel has no executor for work jobs",
        )
