"""Daemon fixtures: an in-process daemon on a short socket path, and a subprocess one."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from llmsh.daemon import Daemon, RemoteKernel, connect
from llmsh.daemon.limits import DaemonLimits
from llmsh.kernel import DeviceCapacity, Kernel, KernelConfig


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A directory with a short path: Unix socket paths are limited to 107 bytes."""
    path = Path(tempfile.mkdtemp(prefix="llmsh-d-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def make_kernel(state_dir: Path, slots: int = 4, max_queue: int = 1024) -> Kernel:
    config = KernelConfig(
        state_dir=state_dir,
        nvml=None,
        capacities=[DeviceCapacity("cpu", 8 << 30, slots)],
        max_queue=max_queue,
    )
    return Kernel(config)


@pytest.fixture
async def daemon(short_dir: Path) -> AsyncIterator[Daemon]:
    served = Daemon(make_kernel(short_dir / "state"), short_dir / "kernel.sock", stop_timeout=0)
    await served.start()
    yield served
    await served.stop(0)


@contextlib.asynccontextmanager
async def tcp_daemon_on(
    short_dir: Path, token: str, limits: DaemonLimits | None = None
) -> AsyncIterator[Daemon]:
    """A started daemon with a token-guarded TCP listener on a free loopback port."""
    served = Daemon(
        make_kernel(short_dir / "state"),
        short_dir / "k.sock",
        listen=("127.0.0.1", 0),
        token=token,
        stop_timeout=0,
        limits=limits,
    )
    await served.start()
    try:
        yield served
    finally:
        await served.stop(0)


@pytest.fixture
async def client(daemon: Daemon) -> AsyncIterator[RemoteKernel]:
    kernel = await connect(daemon.socket_path, session="test")
    yield kernel
    await kernel.close()


class DaemonProcess:
    """`python -m llmsh.daemon serve --foreground` on a state dir of its own."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.socket = home / "kernel.sock"
        self.proc: subprocess.Popen[str] | None = None

    def start(self, *extra: str, timeout: float = 30.0) -> subprocess.Popen[str]:
        env = dict(os.environ, LLMSH_HOME=str(self.home), PYTHONUNBUFFERED="1")
        env.pop("LLMSH_KERNEL", None)
        cmd = [sys.executable, "-m", "llmsh.daemon", "serve", "--foreground"]
        cmd += ["--socket", str(self.socket), *extra]
        with open(self.home / "daemon.err", "a") as err:
            self.proc = subprocess.Popen(
                cmd, env=env, stdout=subprocess.PIPE, stderr=err, text=True
            )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        line = self.proc.stdout.readline()
        if "kernel daemon started" not in line or time.monotonic() > deadline:
            self.proc.kill()
            raise AssertionError(f"daemon did not start: {line!r}")
        return self.proc

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait(10)


@pytest.fixture
def daemon_process(short_dir: Path) -> Iterator[DaemonProcess]:
    process = DaemonProcess(short_dir)
    yield process
    process.stop()
