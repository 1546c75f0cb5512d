"""The HTTP listener inside the daemon's event loop: uvicorn serving the app.

The socket is bound here (so a bad or busy address is a one-line error, not
uvicorn's exit), and uvicorn's signal handling is left out: the daemon owns
SIGTERM and SIGINT and stops the listener itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Iterator

import uvicorn

from ..kernel.api import KernelAPI
from .app import Api, build_app
from .settings import HttpConfigError, HttpSettings

log = logging.getLogger("llmsh.http")


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the daemon's handlers stay in place


class HttpServer:
    def __init__(self, kernel: KernelAPI, settings: HttpSettings) -> None:
        self.settings = settings
        self.app = build_app(kernel, settings)
        self.api: Api = self.app.state.api
        self.address: tuple[str, int] | None = None
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> HttpServer:
        host, port = self.settings.host, self.settings.port
        try:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            sock = socket.create_server((host, port), family=family, reuse_port=False)
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise HttpConfigError(f"cannot listen for HTTP on {host}:{port}: {reason}") from None
        self.address = sock.getsockname()[:2]
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="off",
            timeout_graceful_shutdown=2, server_header=False,
        )  # fmt: skip
        self._server = _Server(config)
        self._task = asyncio.get_running_loop().create_task(self._server.serve([sock]))
        while not self._server.started and not self._task.done():
            await asyncio.sleep(0.01)
        if self._task.done():
            sock.close()
            self._task.result()  # its error, if any
            raise HttpConfigError(f"the HTTP listener on {host}:{port} did not start")
        log.info("serving HTTP on %s:%d", *self.address)
        return self

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(self._task), 10)
        if not self._task.done():
            self._task.cancel()
        await self.api.reaper.drain()
