"""Issue 14 items 10 and 12: limits before hello on TCP, and a slow subscriber told why."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from llmsh.daemon import Daemon, DaemonUnavailable, connect
from llmsh.daemon import connection as connection_module
from llmsh.daemon.limits import DaemonLimits
from llmsh.kernel import JobSpec, QueueFull

from .conftest import make_kernel, tcp_daemon_on

TOKEN = "t0ken"


@pytest.fixture
async def gated(short_dir: Path) -> AsyncIterator[Daemon]:
    limits = DaemonLimits(
        hello_timeout=600.0, max_unauthenticated=4, max_unauthenticated_per_address=2
    )
    async with tcp_daemon_on(short_dir, TOKEN, limits) as served:
        yield served


class Peer:
    """A raw TCP connection from a chosen loopback address (127.0.0.0/8 is all local)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, daemon: Daemon, source: str = "127.0.0.1") -> Peer:
        assert daemon.tcp_address is not None
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((source, 0))
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, daemon.tcp_address)
        return cls(*await asyncio.open_connection(sock=sock))

    async def ask(self, op: str, **args: Any) -> dict[str, Any] | None:
        """One request's reply, or None when the daemon hung up instead."""
        try:
            self.writer.write(json.dumps({"v": 1, "id": 1, "op": op, "args": args}).encode())
            self.writer.write(b"\n")
            await self.writer.drain()
            while line := await self.reader.readline():
                message: dict[str, Any] = json.loads(line)
                if "ok" in message:
                    return message
        except ConnectionError:
            pass
        return None

    def close(self) -> None:
        self.writer.close()


async def _held(peer: Peer) -> bool:
    """Whether the daemon serves this (unauthenticated) connection: it answers."""
    reply = await peer.ask("list")
    return reply is not None and reply["error"] == "say hello first"


async def test_unauthenticated_connections_are_capped(gated: Daemon) -> None:
    peers: list[Peer] = []
    try:
        for _ in range(2):
            peers.append(await Peer.open(gated))
        await _until(lambda: gated.pre_auth.total == 2)
        assert all([await _held(p) for p in peers])
        third = await Peer.open(gated)  # a third from one address: closed at once
        assert await third.ask("list") is None
        assert gated.pre_auth.refused == 1
        for _ in range(2):  # another address still gets in, up to the total
            peers.append(await Peer.open(gated, "127.0.0.2"))
        await _until(lambda: gated.pre_auth.total == 4)
        extra = await Peer.open(gated, "127.0.0.3")  # over the total
        assert await extra.ask("list") is None
        assert gated.pre_auth.refused == 2
        # Saying hello frees a slot: the first address may connect once more.
        hello = await peers[0].ask("hello", token=TOKEN)
        assert hello is not None and hello["ok"]
        assert gated.pre_auth.total == 3 and gated.pre_auth.waiting["127.0.0.1"] == 1
        again = await Peer.open(gated)
        peers.append(again)
        assert await _held(again)
        # A connection that hangs up frees its slot too.
        peers[1].close()
        await _until(lambda: gated.pre_auth.waiting["127.0.0.1"] == 1)
        # An authenticated client is never counted or refused.
        client = await connect(f"tcp://127.0.0.1:{gated.tcp_address[1]}", token=TOKEN)  # type: ignore[index]
        assert await client.list() == []
        await client.close()
    finally:
        for peer in peers:
            peer.close()


async def test_no_hello_in_time_is_closed(short_dir: Path) -> None:
    served = Daemon(
        make_kernel(short_dir / "state"),
        short_dir / "k.sock",
        listen=("127.0.0.1", 0),
        token=TOKEN,
        limits=DaemonLimits(hello_timeout=0.2),
    )
    await served.start()
    try:
        silent = await Peer.open(served)
        line = await asyncio.wait_for(silent.reader.readline(), 30)
        message = json.loads(line)
        assert message["ok"] is False and message["id"] is None
        assert message["error"] == "no hello within 0.2s: closing"
        assert await silent.reader.read() == b""  # then the daemon hangs up
        await _until(lambda: served.pre_auth.total == 0)
        greeted = await Peer.open(served)  # one that says hello is not timed out
        assert (await greeted.ask("hello", token=TOKEN) or {}).get("ok")
        await asyncio.sleep(0.4)
        reply = await greeted.ask("list")
        assert reply is not None and reply["ok"] and reply["result"] == []
        greeted.close()
        unix = await connect(served.socket_path)  # the Unix socket has no hello timer
        await asyncio.sleep(0.4)
        assert await unix.list() == []
        await unix.close()
    finally:
        await served.stop(0)


async def test_a_slow_subscriber_is_told_why_it_is_dropped(
    daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connection_module, "MAX_BACKLOG", 200)
    # A small limit: this end stops reading from the socket once 8 KiB are buffered.
    reader, writer = await asyncio.open_unix_connection(daemon.socket_path, limit=4096)
    writer.write(b'{"v":1,"id":1,"op":"hello"}\n{"v":1,"id":2,"op":"subscribe","args":{"sub":1}}\n')
    await writer.drain()
    await _until(lambda: any(c.greeted and c._subs for c in daemon.clients))
    (slow,) = daemon.clients
    # It reads nothing while jobs come and go: the socket fills, then its queue.
    noop = JobSpec("noop", ("noop",), {})
    for _ in range(20_000):
        try:
            await daemon.kernel.submit(noop)
        except QueueFull:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0)
        if slow._closing:
            break
    assert slow._closing, "the slow client was never dropped"
    lines = (await asyncio.wait_for(reader.read(), 60)).splitlines()
    last = json.loads(lines[-1])
    assert last["ok"] is False and last["id"] is None
    assert last["error"].startswith("disconnected: this client fell ")
    assert last["error"].endswith(" messages behind the kernel daemon (it read too slowly)")
    assert all({"event", "sched", "ok"} & json.loads(line).keys() for line in lines[:-1])
    writer.close()


async def test_a_dropped_client_shows_the_reason(
    daemon: Daemon, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    client = await connect(daemon.socket_path)
    sub = client.subscribe()
    await client.list()  # the subscription is in place
    (conn,) = daemon.clients
    monkeypatch.setattr(connection_module, "MAX_BACKLOG", 3)
    for _ in range(5):  # queued faster than written: as if the client could not keep up
        conn.send(b'{"v":1,"sched":{}}\n')
    assert await sub.get() is None  # the subscription ends...
    with pytest.raises(DaemonUnavailable, match="this client fell 4 messages"):
        await client.list()  # ...and the next call says why
    said = [r.getMessage() for r in caplog.records if r.name == "llmsh.daemon.client"]
    assert "the kernel daemon says: disconnected: this client fell 4 messages" in said[0]
    await client.close()


async def _until(predicate: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)
