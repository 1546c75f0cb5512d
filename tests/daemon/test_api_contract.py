"""One contract, every implementation: the same `KernelAPI` calls and expectations
against the embedded kernel and the daemon client (and the TUI's double, for shape)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from llmsh.daemon import Daemon, connect
from llmsh.errors import KernelError, NoSuchJob, UnknownKind
from llmsh.kernel import EventType, JobSpec, JobState
from llmsh.kernel.api import KernelAPI
from tests.tui.fake import FakeKernel

from .conftest import make_kernel

pytestmark = pytest.mark.timeout(60)


def sleep_spec(seconds: float, session: str = "contract") -> JobSpec:
    return JobSpec("sleep", ("sleep", str(seconds)), {"seconds": seconds}, session=session)


@pytest.fixture(params=["embedded", "daemon"])
async def api(request: pytest.FixtureRequest, short_dir: Path) -> AsyncIterator[KernelAPI]:
    kernel = make_kernel(short_dir / "state", slots=2)
    if request.param == "embedded":
        await kernel.start()
        yield kernel
        await kernel.close()
        return
    daemon = Daemon(kernel, short_dir / "kernel.sock", stop_timeout=0)
    await daemon.start()
    client = await connect(daemon.socket_path, session="contract")
    yield client
    await client.close()
    await daemon.stop(0)


def test_every_implementation_has_every_method_with_the_same_signature() -> None:
    from llmsh.daemon.client import RemoteKernel
    from llmsh.kernel import Kernel

    members = [m for m in dir(KernelAPI) if not m.startswith("_")]
    assert {"submit", "kill", "pause", "resume", "renice", "wait", "subscribe"} <= set(members)
    for impl in (Kernel, RemoteKernel, FakeKernel):
        for name in members:
            want = getattr(KernelAPI, name)
            if callable(want):  # data members (`started`) are checked by mypy and below
                assert hasattr(impl, name), f"{impl.__name__} lacks {name}"
                got = getattr(impl, name)
                assert inspect.iscoroutinefunction(want) == inspect.iscoroutinefunction(got), (
                    f"{impl.__name__}.{name}: async on one side only"
                )
                params = list(inspect.signature(want).parameters)
                assert list(inspect.signature(got).parameters)[: len(params)] == params, (
                    f"{impl.__name__}.{name} takes other parameters"
                )


async def test_job_life_cycle(api: KernelAPI) -> None:
    assert api.started
    proc = await api.submit(sleep_spec(0.05))
    assert proc.kind == "sleep" and proc.state in (JobState.QUEUED, JobState.RUNNING)
    [done] = await api.wait([proc.pid], timeout=10)
    assert done.state is JobState.DONE and done.exit_status == 0
    assert (await api.get(proc.pid)).state is JobState.DONE
    listed = await api.list(include_finished=True, session="contract")
    assert proc.pid in [p.pid for p in listed]
    assert proc.pid not in [p.pid for p in await api.list()]  # finished: not by default
    assert "sleep" in await api.kind_names()


async def test_control_verbs(api: KernelAPI) -> None:
    proc = await api.submit(sleep_spec(30))
    await asyncio.sleep(0.05)
    assert (await api.pause(proc.pid)).state is JobState.PAUSED
    assert (await api.resume(proc.pid)).state is JobState.RUNNING
    assert (await api.renice(proc.pid, 10)).priority == 10
    killed = await api.kill(proc.pid, reason="contract")
    [final] = await api.wait([proc.pid], timeout=10)
    assert final.state is JobState.KILLED and killed.pid == proc.pid
    again = await api.restart(proc.pid, session="contract")
    assert again.pid != proc.pid and again.kind == "sleep"
    await api.kill(again.pid)


async def test_refusals_are_the_same_errors(api: KernelAPI) -> None:
    with pytest.raises(NoSuchJob) as info:
        await api.get(987654)
    assert str(info.value) == "no such job: 987654"
    with pytest.raises(UnknownKind):
        await api.submit(JobSpec("no-such-kind", ("x",), {}))
    done = await api.submit(sleep_spec(0))
    await api.wait([done.pid], timeout=10)
    with pytest.raises(KernelError, match="already finished"):
        await api.pause(done.pid)


async def test_events_output_and_resources(api: KernelAPI) -> None:
    sub = api.subscribe(types=[EventType.STATE])
    try:
        proc = await api.submit(sleep_spec(0.01))
        seen: set[JobState] = set()
        while JobState.DONE not in seen:
            event = await sub.get(timeout=10)
            assert event is not None, "no event within 10 s"
            if event.pid == proc.pid and event.process is not None:
                seen.add(event.process.state)
    finally:
        sub.close()
    assert await api.output(proc.pid) == ""
    assert [d.id for d in await api.devices()][:1] == ["cpu"]
    assert isinstance(await api.resident(), list)
    assert [c.id for c in api.capacities()] in ([], ["cpu"])
    assert api.queue_order() == [] or all(isinstance(p, int) for p in api.queue_order())
    plan = await api.explain(sleep_spec(1))
    assert plan.kind == "sleep" and plan.fits
    await api.flush()
