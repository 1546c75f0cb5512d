"""One client connection: requests in, replies and events out.

Every request runs as its own task (a long `wait` does not hold up a `list`), except
the connection-level ops (hello, subscribe, unsubscribe, cancel, stop), which are done
in order as they are read: a `subscribe` sent before a `submit` sees all of the job's
events. Everything sent goes through one queue per client and one writer task, so a
slow client never blocks the kernel or other clients; one that falls `MAX_BACKLOG`
messages behind is disconnected (and logged) rather than silently losing events: what
was queued for it is dropped and replaced by one error frame saying why, and it gets
`SLOW_GRACE` seconds to read that before the connection is cut.

A TCP peer must say hello within the daemon's `hello_timeout`, and may not start
command jobs (`limits.COMMAND_KINDS`) unless the config allows it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..kernel import InvalidRequest, KernelError, Subscription
from .handlers import HANDLERS, STARTS_WORK, sched_state
from .limits import COMMAND_KINDS, PermissionDenied
from .protocol import (
    MAX_MESSAGE,
    VERSION,
    LineReader,
    MessageTooLarge,
    ProtocolError,
    Request,
    encode,
    error_reply,
    ok_reply,
    parse_request,
)
from .wire import arg, int_list, types_arg

if TYPE_CHECKING:
    from .server import Daemon

log = logging.getLogger("llmsh.daemon")

MAX_BACKLOG = 100_000  # messages queued for one client before it is dropped as too slow
MAX_BACKLOG_BYTES = 256 << 20  # the same, in bytes
MAX_IN_FLIGHT = 1024  # requests of one client running at once
MAX_SUBSCRIPTIONS = 256
SLOW_GRACE = 10.0  # seconds a dropped slow client has to read why before it is cut off
INLINE_OPS = frozenset({"hello", "subscribe", "unsubscribe", "cancel", "stop"})


class TokenRefused(ProtocolError):
    pass


class Connection:
    def __init__(
        self,
        daemon: Daemon,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        tcp: bool,
        peer: str,
    ) -> None:
        self.daemon = daemon
        self.kernel = daemon.kernel
        self.tcp = tcp
        self.peer = peer
        self.greeted = False
        self.on_hello: Callable[[], None] | None = None  # frees the daemon's pre-auth slot
        self.info: dict[str, Any] = {}
        self._lines = LineReader(reader, MAX_MESSAGE)
        self._writer = writer
        self._out: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._queued_bytes = 0
        self._requests: dict[int, asyncio.Task[None]] = {}
        self._subs: dict[int, tuple[Subscription, asyncio.Task[None]]] = {}
        self._closing = False

    # -- reading ---------------------------------------------------------------------

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        writer = loop.create_task(self._write_loop())
        timer = (
            loop.call_later(self.daemon.limits.hello_timeout, self._hello_late)
            if self.tcp
            else None
        )
        try:
            while not self._closing:
                try:
                    line = await self._lines.read()
                except MessageTooLarge as exc:
                    self._refuse(None, exc, b"")
                    continue
                if line is None:
                    break
                self._handle(line)
        except (ConnectionError, OSError):
            pass
        finally:
            if timer is not None:
                timer.cancel()
            await self._teardown(writer)

    def _hello_late(self) -> None:
        if not self.greeted and not self._closing:
            timeout = self.daemon.limits.hello_timeout
            log.warning("closing %s: no hello within %gs", self.peer, timeout)
            self.send(error_reply(None, ProtocolError(f"no hello within {timeout:g}s: closing")))
            self.close()

    def _handle(self, line: bytes) -> None:
        try:
            req = parse_request(line)
        except ProtocolError as exc:
            self._refuse(exc.id, exc, line)
            return
        if not self.greeted and req.op != "hello":
            self._refuse(req.id, ProtocolError("say hello first", req.id), line)
        elif req.id in self._requests:
            self._refuse(req.id, ProtocolError(f"request id {req.id} is already in flight"), line)
        elif len(self._requests) >= MAX_IN_FLIGHT:
            self._refuse(req.id, ProtocolError("too many requests in flight"), line)
        elif req.op in INLINE_OPS:
            try:
                self.send(ok_reply(req.id, self._inline(req)))
            except KernelError as exc:
                self._refuse(req.id, exc, line)
                if isinstance(exc, TokenRefused):
                    self.close()
        else:
            task = asyncio.get_running_loop().create_task(self._run_request(req))
            self._requests[req.id] = task
            task.add_done_callback(self._forget(req.id))

    def _forget(self, rid: int) -> Callable[[asyncio.Task[None]], None]:
        def forget(_task: asyncio.Task[None]) -> None:
            self._requests.pop(rid, None)

        return forget

    def _refuse(self, rid: int | None, exc: KernelError, line: bytes) -> None:
        log.warning("refused a message from %s: %s %s", self.peer, exc, line[:80])
        self.send(error_reply(rid, exc))

    async def _run_request(self, req: Request) -> None:
        try:
            if self.daemon.stopping and req.op in STARTS_WORK:
                raise KernelError("the kernel daemon is stopping")
            if self.tcp and not self.daemon.limits.tcp_system_jobs:
                await self._check_command_job(req)
            if req.op == "status":
                result = await self.daemon.status()
            else:
                result = await HANDLERS[req.op](self.kernel, req.args)
            self.send(ok_reply(req.id, result))
        except asyncio.CancelledError:
            self.send(error_reply(req.id, KernelError("cancelled")))
            raise
        except (KernelError, asyncio.TimeoutError, TimeoutError) as exc:
            if isinstance(exc, InvalidRequest):
                log.warning("refused %s from %s: %s", req.op, self.peer, exc)
            self.send(error_reply(req.id, exc))
        except Exception as exc:  # a bug must cost one request, never the connection
            log.exception("op %s from %s failed", req.op, self.peer)
            self.send(error_reply(req.id, exc))

    async def _check_command_job(self, req: Request) -> None:
        """Refuse a TCP client's request that would run a shell command."""
        if req.op == "submit":
            spec = req.args.get("spec")
            kind = spec.get("kind") if isinstance(spec, dict) else None
        elif req.op == "restart":
            kind = (await self.kernel.get(arg(req.args, "pid", int))).kind
        else:
            return
        if kind in COMMAND_KINDS:
            log.warning("refused a %s job from %s (TCP)", kind, self.peer)
            raise PermissionDenied(
                f"permission denied: TCP clients may not run {kind} jobs (the daemon's "
                "config.toml can allow it: [daemon] tcp_system_jobs = true)"
            )

    # -- connection-level ops --------------------------------------------------------

    def _inline(self, req: Request) -> Any:
        args = req.args
        if req.op == "hello":
            return self._hello(args)
        if req.op == "subscribe":
            sid = arg(args, "sub", int)
            if sid in self._subs:
                raise InvalidRequest(f"subscription {sid} already exists")
            if len(self._subs) >= MAX_SUBSCRIPTIONS:
                raise InvalidRequest("too many subscriptions on this connection")
            sub = self.kernel.subscribe(int_list(args, "pids", None), types_arg(args))
            task = asyncio.get_running_loop().create_task(self._forward(sid, sub))
            self._subs[sid] = (sub, task)
            return {"sub": sid}
        if req.op == "unsubscribe":
            found = self._subs.pop(arg(args, "sub", int), None)
            if found is not None:
                found[0].close()
            return {"unsubscribed": found is not None}
        if req.op == "cancel":
            running = self._requests.get(arg(args, "id", int))
            if running is not None:
                running.cancel()
            return {"cancelled": running is not None}
        timeout = arg(args, "timeout", float, None)  # stop
        if timeout is not None and not timeout >= 0:
            raise InvalidRequest("argument 'timeout' must be a number >= 0")
        log.info("stop requested by %s (timeout %s)", self.peer, timeout)
        self.daemon.request_stop(timeout)
        return {"stopping": True}

    def _hello(self, args: dict[str, Any]) -> Any:
        if self.greeted:
            raise ProtocolError("hello was already said on this connection")
        if self.tcp:
            token = args.get("token")
            expected = self.daemon.token or ""
            if not (
                isinstance(token, str)
                and expected
                and hmac.compare_digest(token.encode(), expected.encode())
            ):
                raise TokenRefused("permission denied: wrong or missing token")
        self.greeted = True
        if self.on_hello is not None:
            self.on_hello()
        self.info = {
            "client": str(args.get("client", ""))[:80],
            "session": str(args.get("session", ""))[:80],
        }
        return {
            "server": "llmsh",
            "version": VERSION,
            "kernel_id": self.kernel.id,
            "pid": os.getpid(),
            "sched": sched_state(self.kernel),
        }

    # -- writing ---------------------------------------------------------------------

    def send(self, message: dict[str, Any] | bytes) -> None:
        if self._closing:
            return
        data = message if isinstance(message, bytes) else encode(message)
        self._out.put_nowait(data)
        self._queued_bytes += len(data)
        if self._out.qsize() > MAX_BACKLOG or self._queued_bytes > MAX_BACKLOG_BYTES:
            self._drop_slow()

    def _drop_slow(self) -> None:
        """Replace what is queued by one error frame saying why, then hang up."""
        behind = self._out.qsize()
        log.warning("client %s is %d messages behind: disconnecting it", self.peer, behind)
        while not self._out.empty():
            self._out.get_nowait()
        self._queued_bytes = 0
        why = KernelError(
            f"disconnected: this client fell {behind} messages behind the kernel daemon "
            "(it read too slowly)"
        )
        self._out.put_nowait(encode(error_reply(None, why)))
        self.close()
        asyncio.get_running_loop().call_later(SLOW_GRACE, self.abort)

    async def _forward(self, sid: int, sub: Subscription) -> None:
        head = b'{"v":%d,"sub":%d,"event":' % (VERSION, sid)
        async for event in sub:
            self.send(head + self.daemon.event_json(event) + b"}\n")

    async def _write_loop(self) -> None:
        try:
            while (data := await self._out.get()) is not None:
                self._writer.write(data)
                self._queued_bytes -= len(data)
                while not self._out.empty() and (data := self._out.get_nowait()) is not None:
                    self._writer.write(data)
                    self._queued_bytes -= len(data)
                await self._writer.drain()
                if data is None:
                    break
        except (ConnectionError, OSError):
            pass
        finally:
            self._closing = True
            self._writer.close()  # the reader sees end of stream and tears down

    def close(self) -> None:
        """Send what is queued, then hang up."""
        if not self._closing:
            self._closing = True
            self._out.put_nowait(None)

    async def finish(self, timeout: float = 5.0) -> None:
        """After the kernel closed its event bus: forward the last events, then close."""
        tasks = [task for _, task in self._subs.values()]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        self.close()

    def abort(self) -> None:
        """Hang up at once (a client too slow to keep up)."""
        self._closing = True
        self._writer.transport.abort()

    async def _teardown(self, writer: asyncio.Task[None]) -> None:
        self._closing = True
        for task in list(self._requests.values()):
            task.cancel()
        for sub, task in self._subs.values():
            sub.close()
            task.cancel()
        self._subs.clear()
        self._out.put_nowait(None)
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(writer, 5.0)
        self._writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._writer.wait_closed(), 1.0)
