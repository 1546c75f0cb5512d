"""Sixteen clients submitting and waiting at once: every subscriber sees every state event."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

import pytest

from llmsh.daemon import Daemon, RemoteKernel, connect, connection
from llmsh.kernel import Event, EventType, JobState, Subscription

from .test_clients import sleep, system

CLIENTS = 16
JOBS = 8
LIFE = [JobState.QUEUED, JobState.RUNNING, JobState.DONE]


async def collect(sub: Subscription, pids: set[int]) -> list[Event]:
    events: list[Event] = []
    finished: set[int] = set()
    while finished != pids:
        event = await sub.get(20)
        assert event is not None, f"missing events for {sorted(pids - finished)}"
        events.append(event)
        if event.process is not None and event.process.finished:
            finished.add(event.pid)
    return events


async def test_sixteen_clients(daemon: Daemon, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    clients = [await connect(daemon.socket_path, session=f"s{i}") for i in range(CLIENTS)]
    subs = [c.subscribe(types=[EventType.STATE]) for c in clients]
    for c in clients:  # a round trip: each subscription is in place before any submit
        await c.list()

    async def work(index: int, kernel: RemoteKernel) -> list[int]:
        pids = []
        for j in range(JOBS):
            spec = sleep(0.01 * (j % 3), session=f"s{index}")
            pids.append((await kernel.submit(spec)).pid)
        done = await kernel.wait(pids, 60)
        assert [p.state for p in done] == [JobState.DONE] * JOBS
        mine = await kernel.list(include_finished=True, session=f"s{index}")
        assert sorted(p.pid for p in mine) == sorted(pids)
        return pids

    results = await asyncio.gather(*(work(i, c) for i, c in enumerate(clients)))
    all_pids = {pid for pids in results for pid in pids}
    assert len(all_pids) == CLIENTS * JOBS

    seen = await asyncio.gather(*(collect(s, all_pids) for s in subs))
    reference = [e.seq for e in seen[0]]
    for events in seen:
        assert [e.seq for e in events] == reference  # the same events, in the same order
        lives: dict[int, list[JobState]] = defaultdict(list)
        for e in events:
            assert e.process is not None
            lives[e.pid].append(e.process.state)
        assert all(lives[pid] == LIFE for pid in all_pids)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    for c in clients:
        await c.close()


async def test_a_client_too_slow_is_dropped_not_the_others(
    daemon: Daemon, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(connection, "MAX_BACKLOG_BYTES", 1 << 20)
    reader, writer = await asyncio.open_unix_connection(daemon.socket_path)
    writer.write(b'{"v":1,"id":1,"op":"hello"}\n{"v":1,"id":2,"op":"subscribe","args":{"sub":1}}\n')
    good = await connect(daemon.socket_path)
    events = good.subscribe(types=[EventType.OUTPUT])
    await good.list()
    caplog.set_level(logging.WARNING, "llmsh.daemon")
    job = await good.submit(system("head -c 20000000 /dev/zero | tr '\\0' x"))
    received = 0
    while received < 20_000_000:  # the good client gets every byte, live
        event = await events.get(20)
        assert event is not None
        received += len(event.text)
    assert (await good.wait([job.pid], 20))[0].state == JobState.DONE
    assert "messages behind: disconnecting it" in caplog.text
    while await asyncio.wait_for(reader.read(1 << 20), 10):
        pass  # what was sent before the cut, then end of stream
    writer.close()
    await good.close()
