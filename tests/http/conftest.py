"""A live kernel daemon with its HTTP API on 127.0.0.1 and a free port, in a thread.

The daemon runs in its own thread and event loop, as it would in its own process,
so tests can drive it with blocking clients (the sync `openai` client, curl) and
reach its kernel with `call`.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import pytest

from llmsh.daemon import Daemon
from llmsh.http.settings import HttpSettings
from llmsh.kernel import DeviceCapacity, Kernel, KernelConfig
from llmsh.kernel.kinds import KindRegistry
from tests.http.fakes import fake_kinds, fake_store
from tests.models.conftest import real_env, real_home  # noqa: F401 - fixtures

T = TypeVar("T")
TOKEN = "s3cret-token-for-tests"


class LiveDaemon:
    def __init__(self, kernel: Kernel, folder: Path, http: HttpSettings) -> None:
        self.kernel = kernel
        self.daemon = Daemon(kernel, folder / "kernel.sock", stop_timeout=0, http=http)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="live-daemon", daemon=True)
        self._started: Future[None] = Future()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.daemon.start())
        except BaseException as exc:  # handed to the test thread
            self._started.set_exception(exc)
            return
        self._started.set_result(None)
        self.loop.run_until_complete(self.daemon.wait_stopped())

    def start(self) -> LiveDaemon:
        self._thread.start()
        self._started.result(timeout=60)
        return self

    @property
    def url(self) -> str:
        assert self.daemon.http_url is not None
        return self.daemon.http_url

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        """Run `coro` in the daemon's loop (its kernel lives there)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if self._started.done() and self._started.exception() is None:
            self.call(self.daemon.stop(0))
        self._thread.join(30)
        self.loop.close()


def fake_kernel(state: Path, kinds: KindRegistry, slots: int = 4, max_queue: int = 64) -> Kernel:
    config = KernelConfig(
        state_dir=state,
        nvml=None,
        capacities=[DeviceCapacity("cpu", 8 << 30, slots)],
        max_queue=max_queue,
    )
    return Kernel(config, kinds=kinds)


@pytest.fixture
def folder() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="llmsh-h-", dir="/tmp"))  # short: a socket lives here
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def fake_home(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = folder / "home"
    fake_store(home)
    monkeypatch.setenv("LLMSH_HOME", str(home))
    return home


def live(folder: Path, http: HttpSettings, slots: int = 4, max_queue: int = 64) -> LiveDaemon:
    return LiveDaemon(fake_kernel(folder / "state", fake_kinds(), slots, max_queue), folder, http)


@pytest.fixture
def served(folder: Path, fake_home: Path) -> Iterator[LiveDaemon]:
    """The daemon on loopback, no token, fake model kinds."""
    daemon = live(folder, HttpSettings(port=0)).start()
    yield daemon
    daemon.stop()


@pytest.fixture
def guarded(folder: Path, fake_home: Path) -> Iterator[LiveDaemon]:
    """The daemon with a token and a small body limit."""
    daemon = live(folder, HttpSettings(port=0, token=TOKEN, max_body=2048)).start()
    yield daemon
    daemon.stop()


@pytest.fixture
def one_slot(folder: Path, fake_home: Path) -> Iterator[LiveDaemon]:
    """One CPU slot and room for one waiting job: queue positions and a full queue."""
    daemon = live(folder, HttpSettings(port=0), slots=1, max_queue=1).start()
    yield daemon
    daemon.stop()
