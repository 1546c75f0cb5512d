"""The kernel daemon: one kernel served to many shells and monitors over a socket.

`serve(socket_path, kernel)` runs until a `stop` request or SIGTERM/SIGINT. Jobs
belong to the daemon: a client that disconnects leaves its jobs running. A graceful
stop closes the listeners, gives running jobs `stop_timeout` seconds to finish, then
closes the kernel (the rest become `interrupted`), hangs up on clients and removes the
socket. A daemon killed with SIGKILL leaves its jobs to the next kernel's store
recovery, which marks them `interrupted`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import signal
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..kernel import Event, EventType, JobState, Kernel, KernelError, Subscription
from .connection import Connection
from .handlers import sched_state
from .limits import DaemonLimits, PermissionDenied, PreAuthGate
from .protocol import VERSION, encode, error_reply
from .security import PidLock, bind_unix, peer_allowed, peer_credentials
from .wire import event_to_json

if TYPE_CHECKING:
    from ..http.server import HttpServer
    from ..http.settings import HttpSettings

log = logging.getLogger("llmsh.daemon")

SCHED_INTERVAL = 0.05  # seconds: scheduler-state pushes are coalesced over this window
EVENT_CACHE = 4096  # encoded events kept, so fan-out encodes each event once
REFUSAL_LINGER = 2.0  # seconds a refused peer has to read its error before we close
_MOVING = (JobState.LOADING, JobState.RUNNING)


class Daemon:
    def __init__(
        self,
        kernel: Kernel,
        socket_path: Path | str,
        *,
        listen: tuple[str, int] | None = None,
        token: str | None = None,
        stop_timeout: float = 10.0,
        limits: DaemonLimits | None = None,
        http: HttpSettings | None = None,
    ) -> None:
        if listen is not None and not token:
            raise KernelError("a TCP listener needs a token (--token-file) that clients present")
        self.kernel = kernel
        self.socket_path = Path(socket_path)
        self.listen = listen
        self.token = token
        self.stop_timeout = stop_timeout
        self.limits = limits or DaemonLimits()
        self.pre_auth = PreAuthGate(self.limits)
        self.clients: set[Connection] = set()
        self.stopping = False
        self.started_at = 0.0
        self.tcp_address: tuple[str, int] | None = None
        self.http = http
        self.http_server: HttpServer | None = None
        self._lock = PidLock(self.socket_path)
        self._servers: list[asyncio.AbstractServer] = []
        self._stopped = asyncio.Event()
        self._stop_task: asyncio.Task[None] | None = None
        self._sched_task: asyncio.Task[None] | None = None
        self._last_sched = b""
        self._events: collections.OrderedDict[int, bytes] = collections.OrderedDict()
        self._socket_ino = 0

    # -- life cycle ------------------------------------------------------------------

    async def start(self) -> Daemon:
        self._lock.acquire()  # raises DaemonRunning when another daemon serves the socket
        started_kernel = not self.kernel.started
        try:
            if started_kernel:
                await self.kernel.start()
            self._remove_stale_socket()
            sock = bind_unix(self.socket_path)
            self._socket_ino = os.stat(self.socket_path).st_ino
            self._servers.append(await asyncio.start_unix_server(self._on_unix, sock=sock))
            if self.listen is not None:
                tcp = await asyncio.start_server(self._on_tcp, *self.listen)
                self._servers.append(tcp)
                self.tcp_address = tcp.sockets[0].getsockname()[:2]
            if self.http is not None:  # starlette and uvicorn load only when asked for
                from ..http.server import HttpServer

                self.http_server = await HttpServer(self.kernel, self.http).start()
        except BaseException:
            for server in self._servers:
                server.close()
            if started_kernel and self.kernel.started:
                await self.kernel.close()
            self._lock.release()
            raise
        sub = self.kernel.subscribe(types=[EventType.STATE, EventType.PROGRESS])
        self._sched_task = asyncio.get_running_loop().create_task(self._watch_sched(sub))
        self.started_at = time.time()
        log.info(
            "serving kernel %s on %s%s (pid %d)",
            self.kernel.id,
            self.socket_path,
            f" and {self.tcp_address[0]}:{self.tcp_address[1]}" if self.tcp_address else "",
            os.getpid(),
        )
        return self

    def _remove_stale_socket(self) -> None:
        # We hold the lock, so whatever is at the path was left by a dead daemon.
        try:
            mode = os.lstat(self.socket_path).st_mode
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(mode):
            raise KernelError(f"{self.socket_path} exists and is not a socket")
        self.socket_path.unlink()

    def request_stop(self, timeout: float | None = None) -> None:
        """Begin a graceful stop (from a `stop` request or a signal); returns at once."""
        if self._stop_task is None:
            self._stop_task = asyncio.get_running_loop().create_task(self.stop(timeout))

    async def stop(self, timeout: float | None = None) -> None:
        if self.stopping:
            await self._stopped.wait()
            return
        self.stopping = True
        timeout = self.stop_timeout if timeout is None else timeout
        try:
            for server in self._servers:
                server.close()
            self._unlink_socket()
            running = [p.pid for p in await self.kernel.list() if p.state in _MOVING]
            log.info("stopping: up to %.1fs for %d running job(s)", timeout, len(running))
            if self._sched_task is not None:
                self._sched_task.cancel()
            # close(grace=) holds the queue while running jobs get their time to finish.
            await self.kernel.close(
                "the kernel daemon stopped before the job finished", grace=max(timeout, 0.0)
            )
            if self.http_server is not None:  # after the kernel: streams end with their jobs
                await self.http_server.stop()
            await asyncio.gather(*(c.finish() for c in list(self.clients)))
            deadline = time.monotonic() + 5.0
            while self.clients and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        finally:
            self._lock.release()
            self._stopped.set()
            log.info("stopped")

    def _unlink_socket(self) -> None:
        with contextlib.suppress(OSError):
            if os.stat(self.socket_path).st_ino == self._socket_ino:
                self.socket_path.unlink()

    async def wait_stopped(self) -> None:
        await self._stopped.wait()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    # -- connections -----------------------------------------------------------------

    async def _on_unix(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        creds = peer_credentials(writer.get_extra_info("socket"))
        peer = f"unix peer pid {creds[0]} uid {creds[1]}" if creds else "unix peer"
        if creds is not None and not peer_allowed(creds[1], os.getuid()):
            log.warning("refused %s: not this daemon's user", peer)
            refusal = PermissionDenied(
                f"permission denied: the kernel daemon at {self.socket_path} belongs to "
                f"uid {os.getuid()}"
            )
            await _refuse_and_hang_up(reader, writer, refusal)
            return
        await self._serve(Connection(self, reader, writer, tcp=False, peer=peer))

    async def _on_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, port = writer.get_extra_info("peername")[:2]
        release = self.pre_auth.admit(str(host))
        if release is None:  # too many waiting for hello: no task, no timer, no buffer
            writer.transport.abort()
            return
        conn = Connection(self, reader, writer, tcp=True, peer=f"tcp {host}:{port}")
        conn.on_hello = release
        try:
            await self._serve(conn)
        finally:
            release()

    async def _serve(self, conn: Connection) -> None:
        if self.stopping:
            conn.close()
        self.clients.add(conn)
        log.debug("client connected: %s", conn.peer)
        try:
            await conn.run()
        finally:
            self.clients.discard(conn)
            log.debug("client gone: %s", conn.peer)

    # -- shared state ----------------------------------------------------------------

    def event_json(self, event: Event) -> bytes:
        """An event's JSON, encoded once however many clients receive it."""
        data = self._events.get(event.seq)
        if data is None:
            data = encode(event_to_json(event))[:-1]
            self._events[event.seq] = data
            if len(self._events) > EVENT_CACHE:
                self._events.popitem(last=False)
        return data

    async def _watch_sched(self, sub: Subscription) -> None:
        """Push capacities and queue order to clients after they change (coalesced)."""
        try:
            while await sub.get() is not None:
                await asyncio.sleep(SCHED_INTERVAL)
                while not sub.queue.empty():
                    sub.queue.get_nowait()
                data = encode({"v": VERSION, "sched": sched_state(self.kernel)})
                if data != self._last_sched:
                    self._last_sched = data
                    for conn in list(self.clients):
                        if conn.greeted:
                            conn.send(data)
        finally:
            sub.close()

    @property
    def http_url(self) -> str | None:
        address = self.http_server.address if self.http_server else None
        return f"http://{address[0]}:{address[1]}" if address else None

    async def status(self) -> dict[str, Any]:
        counts = collections.Counter(p.state.value for p in await self.kernel.list())
        listen = f"{self.tcp_address[0]}:{self.tcp_address[1]}" if self.tcp_address else None
        return {
            "pid": os.getpid(),
            "kernel_id": self.kernel.id,
            "version": VERSION,
            "started": self.started_at,
            "uptime": time.time() - self.started_at,
            "socket": str(self.socket_path),
            "listen": listen,
            "http": self.http_url,
            "jobs": dict(counts),
            "clients": len(self.clients),
            "stopping": self.stopping,
        }


async def _refuse_and_hang_up(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, refusal: KernelError
) -> None:
    """Send one error frame, then hang up so that the peer reads it.

    Closing with the peer's `hello` still unread would reset the connection, and the
    client could see ECONNRESET before the frame: so shut our side, read until the peer
    closes (briefly), then close.
    """

    async def read_to_end() -> None:
        while await reader.read(1 << 16):
            pass

    with contextlib.suppress(ConnectionError, OSError, asyncio.TimeoutError, TimeoutError):
        writer.write(encode(error_reply(None, refusal)))
        await writer.drain()
        writer.write_eof()
        await asyncio.wait_for(read_to_end(), REFUSAL_LINGER)
    writer.close()


async def serve(
    socket_path: Path | str,
    kernel: Kernel,
    *,
    listen: tuple[str, int] | None = None,
    token: str | None = None,
    stop_timeout: float = 10.0,
    limits: DaemonLimits | None = None,
    handle_signals: bool = True,
    on_ready: Callable[[Daemon], None] | None = None,
    http: HttpSettings | None = None,
) -> Daemon:
    """Serve `kernel` on a Unix socket (and a token-guarded TCP port, and HTTP) until stopped."""
    daemon = Daemon(
        kernel,
        socket_path,
        listen=listen,
        token=token,
        stop_timeout=stop_timeout,
        limits=limits,
        http=http,
    )
    await daemon.start()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT) if handle_signals else ()
    for sig in signals:
        loop.add_signal_handler(sig, daemon.request_stop)
    try:
        if on_ready is not None:
            on_ready(daemon)
        await daemon.wait_stopped()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        if not daemon.stopped:
            await asyncio.shield(daemon.stop(0))
    return daemon
