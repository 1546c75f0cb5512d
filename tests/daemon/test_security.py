"""Socket permissions, peer credentials, the pid lock and the token-guarded TCP listener."""

from __future__ import annotations

import logging
import os
import socket
import stat
from pathlib import Path

import pytest

from llmsh.daemon import Daemon, DaemonRunning, DaemonUnavailable, connect, server
from llmsh.daemon.security import (
    bind_unix,
    default_socket,
    parse_hostport,
    peer_allowed,
    peer_credentials,
)
from llmsh.kernel import KernelError

from .conftest import make_kernel


def test_peer_allowed() -> None:
    assert peer_allowed(1000, 1000)
    assert not peer_allowed(1001, 1000)
    assert not peer_allowed(1000, 0)  # root's daemon refuses other users too
    assert peer_allowed(0, 1000)  # root can read the daemon's memory anyway


def test_peer_credentials_of_a_socketpair() -> None:
    left, right = socket.socketpair(socket.AF_UNIX)
    with left, right:
        assert peer_credentials(left) == (os.getpid(), os.getuid(), os.getgid())


async def test_socket_is_0600_from_birth(daemon: Daemon, short_dir: Path) -> None:
    mode = daemon.socket_path.stat().st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    before = os.umask(0o022)
    os.umask(before)
    fresh = bind_unix(short_dir / "new" / "x.sock")
    fresh.close()
    after = os.umask(0o022)
    os.umask(after)
    assert after == before  # the 0177 umask was only around bind()
    assert stat.S_IMODE((short_dir / "new" / "x.sock").stat().st_mode) == 0o600
    assert stat.S_IMODE((short_dir / "new").stat().st_mode) == 0o700


async def test_another_users_peer_is_refused(
    daemon: Daemon, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[tuple[int, int]] = []

    def refuse(peer_uid: int, own_uid: int) -> bool:
        seen.append((peer_uid, own_uid))
        return False

    monkeypatch.setattr(server, "peer_allowed", refuse)
    with caplog.at_level(logging.WARNING, "llmsh.daemon"):
        with pytest.raises(DaemonUnavailable) as refused:
            await connect(daemon.socket_path)
    message = str(refused.value)  # the daemon's reason, not ECONNRESET
    assert f"the kernel daemon at {daemon.socket_path} belongs to uid {os.getuid()}" in message
    assert "permission denied" in message
    assert seen == [(os.getuid(), os.getuid())]
    assert "not this daemon's user" in caplog.text
    monkeypatch.undo()
    kernel = await connect(daemon.socket_path)  # the daemon is still up
    assert await kernel.list() == []
    await kernel.close()


async def test_one_daemon_per_socket(daemon: Daemon, short_dir: Path) -> None:
    second = Daemon(make_kernel(short_dir / "other"), daemon.socket_path)
    with pytest.raises(DaemonRunning, match=f"pid {os.getpid()}"):
        await second.start()
    assert not second.kernel.started


async def test_a_stale_socket_is_replaced(short_dir: Path) -> None:
    path = short_dir / "k.sock"
    bind_unix(path).close()  # left behind by a daemon that was killed
    served = await Daemon(make_kernel(short_dir / "state"), path).start()
    kernel = await connect(path)
    await kernel.close()
    await served.stop(0)
    path.write_text("not a socket")
    with pytest.raises(KernelError, match="is not a socket"):
        await Daemon(make_kernel(short_dir / "state2"), path).start()


async def test_tcp_needs_the_token(short_dir: Path) -> None:
    with pytest.raises(KernelError, match="needs a token"):
        Daemon(make_kernel(short_dir / "s"), short_dir / "k.sock", listen=("127.0.0.1", 0))
    served = Daemon(
        make_kernel(short_dir / "s"), short_dir / "k.sock", listen=("127.0.0.1", 0), token="s3"
    )
    await served.start()
    assert served.tcp_address is not None
    host, port = served.tcp_address
    assert host == "127.0.0.1"
    address = f"tcp://{host}:{port}"
    for token in (None, "wrong"):
        with pytest.raises(DaemonUnavailable, match="wrong or missing token"):
            await connect(address, token=token)
    kernel = await connect(address, token="s3")
    assert (await kernel.status())["listen"] == f"{host}:{port}"
    await kernel.close()
    await served.stop(0)


def test_addresses(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert parse_hostport(":7070") == ("127.0.0.1", 7070)
    assert parse_hostport("7070") == ("127.0.0.1", 7070)
    assert parse_hostport("0.0.0.0:1") == ("0.0.0.0", 1)
    assert parse_hostport("[::1]:2") == ("::1", 2)
    with pytest.raises(ValueError):
        parse_hostport("host:http")
    monkeypatch.delenv("LLMSH_KERNEL", raising=False)
    monkeypatch.setenv("LLMSH_HOME", str(tmp_path))
    assert default_socket() == tmp_path / "kernel.sock"
    monkeypatch.setenv("LLMSH_KERNEL", str(tmp_path / "x.sock"))
    assert default_socket() == tmp_path / "x.sock"
