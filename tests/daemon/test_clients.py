"""Several shells and a monitor on one daemon: the same kernel API as embedded mode."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path

import pytest

from llmsh.daemon import Daemon, DaemonUnavailable, RemoteKernel, connect
from llmsh.kernel import (
    EventType,
    InvalidRequest,
    JobSpec,
    JobState,
    Kernel,
    KernelError,
    NoSuchJob,
    PlacementError,
    QueueFull,
)
from llmsh.kernel.errors import UnknownKind

from .conftest import make_kernel


def sleep(seconds: float, session: str = "") -> JobSpec:
    return JobSpec("sleep", ("sleep", str(seconds)), {"seconds": seconds}, session=session)


def system(command: str, session: str = "") -> JobSpec:
    return JobSpec("system", (f"!{command}",), {"command": command}, session=session)


async def until(predicate: object, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def reach(kernel: RemoteKernel, pid: int, state: JobState, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while (await kernel.get(pid)).state != state:
        assert asyncio.get_running_loop().time() < deadline, f"job {pid} never got {state}"
        await asyncio.sleep(0.02)


async def test_two_shells_and_a_monitor(daemon: Daemon) -> None:
    first = await connect(daemon.socket_path, session="s1")
    second = await connect(daemon.socket_path, session="s2")
    monitor = await connect(daemon.socket_path, client="top")
    states = monitor.subscribe(types=[EventType.STATE])

    job = await first.submit(sleep(30, session="s1"))
    assert job.pid in [p.pid for p in await second.list()]
    assert job.pid in [p.pid for p in await monitor.list()]
    event = await states.get(5)
    assert event is not None and event.pid == job.pid and event.process is not None
    assert event.process.state == JobState.QUEUED

    # jobs and %N stay per session
    assert [p.pid for p in await second.list(session="s2")] == []
    assert [p.pid for p in await first.list(session="s1")] == [job.pid]

    await first.close()  # the shell exits; its job belongs to the daemon
    await asyncio.sleep(0.2)
    assert (await second.get(job.pid)).state == JobState.RUNNING
    killed = await second.kill(job.pid)
    assert killed.state == JobState.KILLED
    seen = []
    while (event := await states.get(2)) is not None:
        assert event.process is not None
        seen.append(event.process.state)
        if event.process.finished:
            break
    assert seen == [JobState.RUNNING, JobState.KILLED]
    states.close()
    await second.close()
    await monitor.close()


async def test_output_streams_to_a_follower(daemon: Daemon) -> None:
    shell = await connect(daemon.socket_path, session="s1")
    follower = await connect(daemon.socket_path, session="s2")
    # The follower subscribes after the reply, which comes once the job is committed.
    job = await shell.submit(system("sleep 0.3; for i in 1 2 3; do echo line $i; sleep 0.1; done"))
    texts = []
    async with follower.subscribe([job.pid]) as events:
        async for event in events:
            if event.type == EventType.OUTPUT:
                texts.append(event.text)
            elif event.process is not None and event.process.finished:
                break
    assert "".join(texts) == "line 1\nline 2\nline 3\n"
    assert len(texts) >= 2  # it arrived while the job ran, not at the end
    assert await follower.output(job.pid) == "line 1\nline 2\nline 3\n"
    await shell.close()
    await follower.close()


async def test_errors_are_the_kernels(daemon: Daemon, client: RemoteKernel) -> None:
    with pytest.raises(NoSuchJob, match="no such job: 999") as caught:
        await client.get(999)
    assert caught.value.pid == 999
    with pytest.raises(UnknownKind, match="unknown job kind 'nope'"):
        await client.submit(JobSpec("nope"))
    with pytest.raises(InvalidRequest, match="invalid sleep time"):
        await client.submit(JobSpec("sleep", args={"seconds": -1}))
    with pytest.raises(PlacementError, match="runs only on cpu"):
        await client.submit(JobSpec("sleep", args={"seconds": 1}, device="cuda"))
    done = await client.wait([(await client.submit(sleep(0))).pid], 5)
    with pytest.raises(KernelError, match="already finished"):
        await client.pause(done[0].pid)
    running = await client.submit(sleep(30))
    with pytest.raises(asyncio.TimeoutError):
        await client.wait([running.pid], 0.05)
    with pytest.raises(InvalidRequest, match="priority"):
        await client.renice(running.pid, 50)
    await client.kill(running.pid)


async def test_queue_full_and_scheduler_state(short_dir: Path) -> None:
    base = short_dir
    served = Daemon(make_kernel(base / "state", slots=1, max_queue=2), base / "k.sock")
    await served.start()
    kernel = await connect(served.socket_path)
    try:
        jobs = [await kernel.submit(sleep(30)) for _ in range(3)]
        with pytest.raises(QueueFull, match="queue is full"):
            await kernel.submit(sleep(30))
        waiting = [jobs[1].pid, jobs[2].pid]
        await until(lambda: kernel.queue_order() == waiting)  # pushed by the daemon
        assert kernel.capacities()[0].slots_used == 1
        await kernel.renice(jobs[2].pid, -10)
        await until(lambda: kernel.queue_order() == waiting[::-1])
        await kernel.refresh()
        assert kernel.queue_order() == waiting[::-1]
        paused = await kernel.pause(jobs[0].pid)
        assert paused.state == JobState.PAUSED
        assert (await kernel.resume(jobs[0].pid)).state == JobState.RUNNING
        plan = await kernel.explain(sleep(1))
        assert plan.fits and plan.jobs_ahead == 2
        devices = await kernel.devices()
        assert devices[0].id == "cpu"
    finally:
        await kernel.close()
        await served.stop(0)


async def test_cancelling_a_wait_cancels_it_in_the_daemon(daemon: Daemon) -> None:
    kernel = await connect(daemon.socket_path)
    job = await kernel.submit(sleep(30))
    waiting = asyncio.ensure_future(kernel.wait([job.pid]))
    await asyncio.sleep(0.1)
    conn = next(iter(daemon.clients))
    assert len(conn._requests) == 1
    waiting.cancel()
    await until(lambda: not conn._requests)
    assert (await kernel.get(job.pid)).state == JobState.RUNNING
    await kernel.kill(job.pid)
    await kernel.close()


async def test_no_daemon_is_a_clear_error(short_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = short_dir / "none.sock"
    with pytest.raises(DaemonUnavailable, match="no kernel daemon is running"):
        await connect(missing)
    monkeypatch.setenv("LLMSH_KERNEL", str(missing))
    with pytest.raises(DaemonUnavailable, match=str(missing)):
        await connect()


async def test_a_daemon_that_goes_away_ends_calls_and_subscriptions(daemon: Daemon) -> None:
    kernel = await connect(daemon.socket_path)
    job = await kernel.submit(sleep(30))
    events = kernel.subscribe([job.pid])
    waiting = asyncio.ensure_future(kernel.wait([job.pid]))
    await asyncio.sleep(0.05)
    await daemon.stop(0)
    # like an embedded kernel's close: the wait ends with the job interrupted
    assert [p.state for p in await waiting] == [JobState.INTERRUPTED]
    states = [e.process.state async for e in events if e.process is not None]
    assert states[-1] == JobState.INTERRUPTED
    with pytest.raises(DaemonUnavailable):
        await kernel.list()
    await kernel.close()


API = (
    "submit kill pause resume renice wait get list subscribe devices output explain "
    "capacities queue_order flush close start restart resident kind_names"
).split()


def _params(fn: object) -> list[tuple[str, object]]:
    return [(p.name, p.default) for p in inspect.signature(fn).parameters.values()]  # type: ignore[arg-type]


@pytest.mark.parametrize("name", API)
def test_the_same_api_as_the_kernel(name: str) -> None:
    local, remote = getattr(Kernel, name), getattr(RemoteKernel, name)
    assert inspect.iscoroutinefunction(local) == inspect.iscoroutinefunction(remote)
    if name != "close":  # Kernel.close(reason) stops jobs; RemoteKernel.close() hangs up
        assert _params(local) == _params(remote)
