from __future__ import annotations

import asyncio
import time
from pathlib import Path

import psutil
import pytest

from llmsh.kernel import (
    EventType,
    InvalidRequest,
    JobFailed,
    JobSpec,
    JobState,
    Kernel,
    KernelConfig,
    KernelError,
    NoSuchJob,
    PlacementError,
    QueueFull,
)

from .conftest import Gates, GiB, caps, registry_with, settle


def sleep(seconds: float, **kw: object) -> JobSpec:
    return JobSpec("sleep", ("sleep", str(seconds)), {"seconds": seconds}, **kw)  # type: ignore[arg-type]


def system(command: str) -> JobSpec:
    return JobSpec("system", (f"!{command}",), {"command": command})


async def test_sleep_job_runs_to_done_with_transitions_recorded(kernel: Kernel) -> None:
    proc = await kernel.submit(sleep(0.05))
    assert proc.state is JobState.RUNNING and proc.device == "cpu" and proc.pid >= 1
    [final] = await kernel.wait([proc.pid], timeout=5)
    assert final.state is JobState.DONE and final.exit_status == 0 and final.reason == ""
    assert final.started is not None and final.ended is not None and final.ended >= final.started
    await kernel.flush()
    assert kernel._store.transitions(proc.pid) == [
        (None, "queued", pytest.approx(final.created, abs=1), "submitted"),
        ("queued", "running", pytest.approx(final.started, abs=1), "started"),
        ("running", "done", pytest.approx(final.ended, abs=1), ""),
    ]


async def test_pids_are_unique_and_increasing(kernel: Kernel) -> None:
    pids = [(await kernel.submit(JobSpec("noop"))).pid for _ in range(50)]
    assert pids == sorted(set(pids))


async def test_kill_running_sleep_within_one_second(kernel: Kernel) -> None:
    proc = await kernel.submit(sleep(30))
    start = time.monotonic()
    killed = await kernel.kill(proc.pid)
    assert time.monotonic() - start < 1.0
    assert killed.state is JobState.KILLED and killed.exit_status == 137
    assert not kernel._sched.holding(proc.pid)
    with pytest.raises(KernelError, match="already finished"):
        await kernel.kill(proc.pid)


async def test_kill_system_job_leaves_no_child_process(kernel: Kernel) -> None:
    proc = await kernel.submit(system("sleep 30 & sleep 30; wait"))
    await asyncio.sleep(0.3)
    me = psutil.Process()
    assert any("sleep" in " ".join(c.cmdline()) for c in me.children(recursive=True))
    killed = await kernel.kill(proc.pid)
    assert killed.state is JobState.KILLED
    await asyncio.sleep(0.2)
    leftovers = [c for c in me.children(recursive=True) if c.status() != psutil.STATUS_ZOMBIE]
    assert not [c for c in leftovers if "sleep" in " ".join(c.cmdline())]


async def test_system_job_output_and_exit_status(kernel: Kernel) -> None:
    ok = await kernel.submit(system("echo hello; echo world"))
    bad = await kernel.submit(system("echo oops >&2; exit 3"))
    [ok_f, bad_f] = await kernel.wait([ok.pid, bad.pid], timeout=5)
    assert ok_f.state is JobState.DONE and await kernel.output(ok.pid) == "hello\nworld\n"
    assert bad_f.state is JobState.FAILED and bad_f.exit_status == 3
    assert bad_f.reason == "exit status 3" and await kernel.output(bad.pid) == "oops\n"


async def test_job_output_comes_back_byte_for_byte(kernel: Kernel) -> None:
    """A carriage return (progress bars, a model's odd token) is not turned into a newline."""
    proc = await kernel.submit(system("printf 'a\\rb\\r\\nc\\n'"))
    await kernel.wait([proc.pid], timeout=5)
    assert await kernel.output(proc.pid) == "a\rb\r\nc\n"


async def test_system_job_reads_stdin(kernel: Kernel) -> None:
    proc = await kernel.submit(
        JobSpec("system", ("!wc -l",), {"command": "wc -l", "stdin": "a\nb\nc\n"})
    )
    await kernel.wait([proc.pid], timeout=5)
    assert (await kernel.output(proc.pid)).strip() == "3"


async def test_pause_and_resume_sleep_keeps_remaining_time(kernel: Kernel) -> None:
    submitted = time.monotonic()
    proc = await kernel.submit(sleep(0.4))
    await asyncio.sleep(0.1)
    paused = await kernel.pause(proc.pid)
    assert paused.state is JobState.PAUSED
    await asyncio.sleep(0.5)  # longer than the whole sleep: it must not finish while paused
    assert (await kernel.get(proc.pid)).state is JobState.PAUSED
    with pytest.raises(KernelError, match="already paused"):
        await kernel.pause(proc.pid)
    start = time.monotonic()  # before: the reply waits for the store's commit
    resumed = await kernel.resume(proc.pid)
    assert resumed.state is JobState.RUNNING
    [final] = await kernel.wait([proc.pid], timeout=5)
    assert final.state is JobState.DONE
    # Its 0.4 s asleep plus at least the 0.5 s it was paused; then not the whole 0.4 s
    # again (replies wait for the store, so the time before the pause is not exact).
    assert time.monotonic() - submitted >= 0.9
    assert time.monotonic() - start < 0.6


async def test_pause_and_resume_system_job_stops_the_process(kernel: Kernel) -> None:
    proc = await kernel.submit(system("sleep 5"))
    await asyncio.sleep(0.2)
    await kernel.pause(proc.pid)
    await asyncio.sleep(0.1)
    kids = [c for c in psutil.Process().children(recursive=True) if "sleep" in c.cmdline()]
    assert kids and all(c.status() == psutil.STATUS_STOPPED for c in kids)
    await kernel.resume(proc.pid)
    await asyncio.sleep(0.1)
    assert all(c.status() != psutil.STATUS_STOPPED for c in kids)
    await kernel.kill(proc.pid)


async def test_a_system_job_paused_before_its_process_started_starts_stopped(
    kernel: Kernel,
) -> None:
    proc = await kernel.submit(system("sleep 5"))
    await kernel.pause(proc.pid)  # its task has not run yet: there is no process to signal
    deadline = time.monotonic() + 30

    def stopped_kids() -> list[psutil.Process]:
        found = []
        for child in psutil.Process().children(recursive=True):
            try:  # stopped as "sh -c 'sleep 5'", or as "sleep 5" once the shell has exec'd
                if "sleep 5" in " ".join(child.cmdline()) and (
                    child.status() == psutil.STATUS_STOPPED
                ):
                    found.append(child)
            except psutil.NoSuchProcess:  # another test's child, gone meanwhile
                pass
        return found

    while not stopped_kids():
        assert time.monotonic() < deadline, "the paused job's process was never stopped"
        await asyncio.sleep(0.02)
    await kernel.kill(proc.pid)


async def test_pause_of_a_queued_job_holds_it_in_the_queue(kernel: Kernel, gates: Gates) -> None:
    a = await kernel.submit(JobSpec("gated"))
    b = await kernel.submit(JobSpec("gated"))
    c = await kernel.submit(JobSpec("gated"))
    assert c.state is JobState.QUEUED
    assert (await kernel.pause(c.pid)).state is JobState.PAUSED
    gates.complete(a.pid)
    await kernel.wait([a.pid], timeout=5)
    await settle()
    assert (await kernel.get(c.pid)).state is JobState.PAUSED  # held: did not take the slot
    assert (await kernel.resume(c.pid)).state is JobState.RUNNING
    for p in (b, c):
        gates.complete(p.pid)
    await kernel.wait([b.pid, c.pid], timeout=5)


async def test_kill_of_queued_job(kernel: Kernel, gates: Gates) -> None:
    running = [await kernel.submit(JobSpec("gated")) for _ in range(2)]
    queued = await kernel.submit(JobSpec("gated"))
    assert queued.state is JobState.QUEUED
    assert (await kernel.kill(queued.pid)).state is JobState.KILLED
    for p in running:
        gates.complete(p.pid)
    await kernel.wait([p.pid for p in running], timeout=5)


async def test_one_failing_job_does_not_touch_others(kernel: Kernel, gates: Gates) -> None:
    a = await kernel.submit(JobSpec("gated"))
    b = await kernel.submit(JobSpec("gated"))
    gates.complete(a.pid, RuntimeError("CUDA error: an illegal memory access\nstack..."))
    gates.complete(b.pid, JobFailed("bad line 3 in data.jsonl"))
    fa, fb = await kernel.wait([a.pid, b.pid], timeout=5)
    assert fa.state is JobState.FAILED
    assert fa.reason == "RuntimeError: CUDA error: an illegal memory access"
    assert fb.state is JobState.FAILED and fb.reason == "bad line 3 in data.jsonl"
    c = await kernel.submit(JobSpec("gated"))
    gates.complete(c.pid, MemoryError("needed 3 GiB"))
    [fc] = await kernel.wait([c.pid], timeout=5)
    assert fc.reason == "out of memory: needed 3 GiB"
    d = await kernel.submit(sleep(0.01))
    assert (await kernel.wait([d.pid], timeout=5))[0].state is JobState.DONE


async def test_job_that_cannot_fit_anywhere_fails_at_once(kernel: Kernel) -> None:
    proc = await kernel.submit(JobSpec("gated", args={"mem": 100 * GiB}))
    assert proc.state is JobState.FAILED
    assert "needs 100.0 GiB" in proc.reason and "cpu" in proc.reason


async def test_job_that_fits_later_waits_queued(kernel: Kernel, gates: Gates) -> None:
    big = await kernel.submit(JobSpec("gated", args={"mem": 10 * GiB}))
    second = await kernel.submit(JobSpec("gated", args={"mem": 10 * GiB}))
    assert big.state is JobState.RUNNING and second.state is JobState.QUEUED
    gates.complete(big.pid)
    await kernel.wait([big.pid], timeout=5)
    await settle()
    assert (await kernel.get(second.pid)).state is JobState.RUNNING
    gates.complete(second.pid)
    await kernel.wait([second.pid], timeout=5)


async def test_explicit_device_refused_with_reason(kernel: Kernel) -> None:
    with pytest.raises(PlacementError, match="no GPU"):
        await kernel.submit(JobSpec("gated", device="cuda"))
    with pytest.raises(PlacementError, match="no device cuda:1"):
        await kernel.submit(JobSpec("gated", device="cuda:1"))


async def test_bad_requests_are_refused_with_one_line(kernel: Kernel) -> None:
    with pytest.raises(KernelError, match="unknown job kind 'warp'"):
        await kernel.submit(JobSpec("warp"))
    with pytest.raises(InvalidRequest, match="invalid sleep time"):
        await kernel.submit(JobSpec("sleep", args={"seconds": -1}))
    with pytest.raises(InvalidRequest, match="priority"):
        await kernel.submit(JobSpec("noop", priority=40))
    with pytest.raises(NoSuchJob, match="no such job: 999"):
        await kernel.kill(999)


async def test_bounded_queue_refuses_past_its_limit(tmp_path: Path, gates: Gates) -> None:
    config = KernelConfig(state_dir=tmp_path, nvml=None, capacities=caps(cpu_slots=1), max_queue=3)
    async with Kernel(config, kinds=registry_with(gates)) as k:
        jobs = [await k.submit(JobSpec("gated")) for _ in range(4)]  # 1 running + 3 queued
        with pytest.raises(QueueFull, match="queue is full"):
            await k.submit(JobSpec("gated"))
        for j in jobs:
            gates.complete(j.pid)
        await k.wait([j.pid for j in jobs], timeout=5)


async def test_renice_changes_which_queued_job_starts_next(tmp_path: Path, gates: Gates) -> None:
    config = KernelConfig(state_dir=tmp_path, nvml=None, capacities=caps(cpu_slots=1))
    async with Kernel(config, kinds=registry_with(gates)) as k:
        first = await k.submit(JobSpec("gated"))
        a = await k.submit(JobSpec("gated"))
        b = await k.submit(JobSpec("gated", priority=10))
        assert k.queue_order() == [a.pid, b.pid]
        assert (await k.renice(b.pid, -10)).priority == -10
        assert k.queue_order() == [b.pid, a.pid]
        gates.complete(first.pid)
        await k.wait([first.pid], timeout=5)
        await settle()
        assert (await k.get(b.pid)).state is JobState.RUNNING
        assert (await k.get(a.pid)).state is JobState.QUEUED
        for j in (a, b):
            gates.complete(j.pid)
        await k.wait([a.pid, b.pid], timeout=5)


async def test_list_filters(kernel: Kernel, gates: Gates) -> None:
    a = await kernel.submit(JobSpec("gated", session="s1"))
    b = await kernel.submit(sleep(0, session="s2"))
    await kernel.wait([b.pid], timeout=5)
    assert [p.pid for p in await kernel.list()] == [a.pid]
    assert [p.pid for p in await kernel.list(include_finished=True)] == [a.pid, b.pid]
    assert [p.pid for p in await kernel.list(states=[JobState.DONE])] == [b.pid]
    assert [p.pid for p in await kernel.list(session="s1")] == [a.pid]
    assert await kernel.list(device="cuda") == []
    assert [p.pid for p in await kernel.list(device="cpu")] == [a.pid]
    gates.complete(a.pid)
    await kernel.wait([a.pid], timeout=5)


async def test_events_stream_state_progress_and_output(kernel: Kernel) -> None:
    sub = kernel.subscribe()
    proc = await kernel.submit(system("echo one"))
    await kernel.wait([proc.pid], timeout=5)
    seen = []
    while (event := await sub.get(timeout=0.2)) is not None:
        seen.append(event)
    sub.close()
    states = [e.process.state for e in seen if e.type is EventType.STATE and e.process]
    assert states == [JobState.QUEUED, JobState.RUNNING, JobState.DONE]
    assert "".join(e.text for e in seen if e.type is EventType.OUTPUT) == "one\n"
    assert [e.seq for e in seen] == sorted(e.seq for e in seen)


async def test_explain_says_where_and_when_without_running(kernel: Kernel, gates: Gates) -> None:
    plan = await kernel.explain(JobSpec("gated", args={"mem": GiB}))
    assert plan.fits and plan.device_now == "cpu" and plan.jobs_ahead == 0
    assert plan.mem_estimate == GiB
    assert await kernel.list() == []
    too_big = await kernel.explain(JobSpec("gated", args={"mem": 99 * GiB}))
    assert not too_big.fits and "needs 99.0 GiB" in too_big.reason


async def test_close_interrupts_unfinished_jobs(tmp_path: Path) -> None:
    k = await Kernel(KernelConfig(state_dir=tmp_path, nvml=None, capacities=caps())).start()
    running = await k.submit(sleep(30))
    queued = [await k.submit(sleep(30)) for _ in range(2)]
    await k.close()
    k2 = await Kernel(KernelConfig(state_dir=tmp_path, nvml=None, capacities=caps())).start()
    for p in [running, *queued]:
        got = await k2.get(p.pid)
        assert got.state is JobState.INTERRUPTED and "kernel stopped" in got.reason
    await k2.close()


async def test_restart_links_a_new_job_to_an_interrupted_one(tmp_path: Path) -> None:
    k = await Kernel(KernelConfig(state_dir=tmp_path, nvml=None, capacities=caps())).start()
    old = await k.submit(sleep(30, session="a"))
    await k.close()
    async with Kernel(KernelConfig(state_dir=tmp_path, nvml=None, capacities=caps())) as k2:
        new = await k2.restart(old.pid, session="b")
        assert new.pid != old.pid and new.parent == old.pid and new.session == "b"
        assert new.args == {"seconds": 30} and new.state is JobState.RUNNING
        with pytest.raises(KernelError, match="has not finished"):
            await k2.restart(new.pid)
        await k2.kill(new.pid)
        done = await k2.submit(sleep(0))
        await k2.wait([done.pid])
        with pytest.raises(KernelError, match="completed"):
            await k2.restart(done.pid)


async def test_close_with_grace_lets_running_jobs_finish(tmp_path: Path) -> None:
    k = await Kernel(KernelConfig(state_dir=tmp_path, nvml=None, capacities=caps())).start()
    short = await k.submit(sleep(0.2))
    long = await k.submit(sleep(30))
    await k.close(grace=0.5)
    assert k.table[short.pid].state is JobState.DONE
    assert k.table[long.pid].state is JobState.INTERRUPTED


async def test_a_system_job_records_its_process_group(kernel: Kernel) -> None:
    proc = await kernel.submit(system("sleep 30"))
    for _ in range(500):  # the group is recorded once the process has started
        if "pgid" in (metrics := (await kernel.get(proc.pid)).metrics):
            break
        await asyncio.sleep(0.01)
    assert psutil.Process(metrics["pgid"]).create_time() == pytest.approx(
        metrics["pgid_started"], abs=0.01
    )
    await kernel.kill(proc.pid)


async def test_close_reason_reaches_running_jobs(tmp_path: Path) -> None:
    k = await Kernel(KernelConfig(state_dir=tmp_path, nvml=None, capacities=caps())).start()
    proc = await k.submit(sleep(30))
    await k.close("the daemon stopped")
    assert k.table[proc.pid].reason == "the daemon stopped"


async def test_kill_reaches_a_paused_or_resumed_sleep(kernel: Kernel) -> None:
    """A paused sleep used to swallow the kill's cancellation (asyncio.wait_for on a set
    event) and spin until its time was up; now kill ends it at once, paused or resumed."""
    for steps in (("pause",), ("pause", "resume")):
        proc = await kernel.submit(JobSpec("sleep", ("sleep", "30"), {"seconds": 30}))
        await asyncio.sleep(0.05)
        for step in steps:
            await getattr(kernel, step)(proc.pid)
        await kernel.kill(proc.pid)
        [final] = await kernel.wait([proc.pid], timeout=5)
        assert final.state is JobState.KILLED, steps


async def test_a_running_sleep_reports_its_progress_as_it_goes(kernel: Kernel) -> None:
    """Issue 21: `ps` showed 0% for a running sleep until it ended."""
    proc = await kernel.submit(JobSpec("sleep", ("sleep", "30"), {"seconds": 30}))
    await asyncio.sleep(2.5)
    progress = (await kernel.get(proc.pid)).progress
    assert progress.total == 30 and 1.0 <= progress.done < 30
    await kernel.kill(proc.pid)
