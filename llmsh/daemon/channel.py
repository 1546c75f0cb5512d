"""The client's end of a daemon connection: numbered requests, replies, routed events.

One reader task reads every line the daemon sends and resolves the future of the
request it answers, hands events to their subscription's queue, and keeps the last
scheduler state pushed. When the connection ends, every waiting call raises
`DaemonUnavailable` and every subscription ends, as if the kernel had closed.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from ..kernel import Event, EventType, InvalidRequest, KernelError, Subscription
from .protocol import (
    MAX_MESSAGE,
    MAX_REPLY,
    VERSION,
    LineReader,
    MessageTooLarge,
    encode,
    error_from_reply,
)
from .wire import event_from_json

log = logging.getLogger("llmsh.daemon.client")


class DaemonUnavailable(KernelError, ConnectionError):
    """No kernel daemon answers at the address, or the connection to it was lost."""


class RemoteSubscription(Subscription):
    """A subscription fed by the daemon; the same interface as the kernel's."""

    def __init__(
        self,
        channel: Channel,
        sid: int,
        pids: Iterable[int] | None,
        types: Iterable[EventType] | None,
    ) -> None:
        self._channel = channel
        self.sid = sid
        self.pids = set(pids) if pids is not None else None
        self.types = set(types) if types is not None else None
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self.closed = False

    def end(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(None)

    def close(self) -> None:
        if not self.closed:
            self._channel.unsubscribe(self)
        self.end()


class Channel:
    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, address: str
    ) -> None:
        self.address = address
        self.closed = False
        self.error = ""  # the daemon's last connection-level complaint
        self.on_sched: Callable[[dict[str, Any]], None] | None = None
        self._lines = LineReader(reader, MAX_REPLY, chunk=1 << 20)
        self._writer = writer
        self._ids = itertools.count(1)
        self._sids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._subs: dict[int, RemoteSubscription] = {}
        self._reader = asyncio.get_running_loop().create_task(self._read_loop())

    def _lost(self) -> DaemonUnavailable:
        why = f": {self.error}" if self.error else ""
        return DaemonUnavailable(f"lost the connection to the kernel daemon at {self.address}{why}")

    def request(self, op: str, args: dict[str, Any]) -> tuple[int, asyncio.Future[Any]]:
        """Send a request; the future gets its reply message."""
        if self.closed:
            raise self._lost()
        rid = next(self._ids)
        data = encode({"v": VERSION, "id": rid, "op": op, "args": args})
        if len(data) > MAX_MESSAGE:
            raise InvalidRequest(
                f"request too large for the kernel daemon ({len(data)} bytes, limit {MAX_MESSAGE})"
            )
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        self._writer.write(data)
        return rid, fut

    async def call(self, op: str, **args: Any) -> Any:
        """Send a request and return its result, raising the kernel's error on refusal."""
        rid, fut = self.request(op, args)
        try:
            await self._writer.drain()
            reply = await fut
        except asyncio.CancelledError:
            if self._pending.pop(rid, None) is not None and not self.closed:
                self.request("cancel", {"id": rid})  # stop a long `wait` on the daemon too
            raise
        except (ConnectionError, OSError):
            raise self._lost() from None
        finally:
            self._pending.pop(rid, None)
        if reply.get("ok"):
            return reply.get("result")
        raise error_from_reply(reply)

    def subscribe(
        self, pids: Iterable[int] | None, types: Iterable[EventType] | None
    ) -> RemoteSubscription:
        pid_list = None if pids is None else [int(p) for p in pids]
        type_list = None if types is None else [EventType(t) for t in types]
        sub = RemoteSubscription(self, next(self._sids), pid_list, type_list)
        args = {
            "sub": sub.sid,
            "pids": pid_list,
            "types": None if type_list is None else [t.value for t in type_list],
        }
        self._subs[sub.sid] = sub  # before sending: events may beat the reply
        _, fut = self.request("subscribe", args)
        fut.add_done_callback(lambda f: self._subscribed(sub, f))
        return sub

    def _subscribed(self, sub: RemoteSubscription, fut: asyncio.Future[Any]) -> None:
        reply = fut.result() if not fut.cancelled() and fut.exception() is None else None
        if reply is None or not reply.get("ok"):
            log.warning("subscription refused: %s", reply and reply.get("error"))
            self._subs.pop(sub.sid, None)
            sub.end()

    def unsubscribe(self, sub: RemoteSubscription) -> None:
        if self._subs.pop(sub.sid, None) is not None and not self.closed:
            _, fut = self.request("unsubscribe", {"sub": sub.sid})
            fut.add_done_callback(lambda f: f.cancelled() or f.exception())

    async def _read_loop(self) -> None:
        try:
            while (line := await self._lines.read()) is not None:
                try:
                    msg = json.loads(line)
                except ValueError:
                    log.warning("the kernel daemon sent a line that is not JSON: %r", line[:80])
                    continue
                if isinstance(msg, dict):
                    self._dispatch(msg)
        except (ConnectionError, OSError, MessageTooLarge) as exc:
            log.warning("connection to %s ended: %s", self.address, exc)
        finally:
            self._shutdown()

    def _dispatch(self, msg: dict[str, Any]) -> None:
        if "event" in msg:
            sub = self._subs.get(msg.get("sub"))  # type: ignore[arg-type]
            if sub is not None:
                try:
                    sub.queue.put_nowait(event_from_json(msg["event"]))
                except (KeyError, TypeError, ValueError):
                    log.warning("malformed event from the kernel daemon: %r", msg)
        elif "sched" in msg:
            if self.on_sched is not None and isinstance(msg["sched"], dict):
                self.on_sched(msg["sched"])
        elif msg.get("id") is None:
            self.error = str(msg.get("error") or "")
            log.warning("the kernel daemon says: %s", self.error)
        else:
            fut = self._pending.pop(msg["id"], None)
            if fut is not None and not fut.done():
                fut.set_result(msg)

    def _shutdown(self) -> None:
        self.closed = True
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(self._lost())
                fut.exception()  # retrieved: an unawaited request must not warn
        self._pending.clear()
        for sub in self._subs.values():
            sub.end()
        self._subs.clear()
        self._writer.close()

    async def close(self) -> None:
        if not self._writer.is_closing():
            self._writer.close()
        try:
            await asyncio.wait_for(asyncio.shield(self._reader), 5.0)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            self._reader.cancel()
        self._shutdown()

    async def wait_closed(self, timeout: float | None = None) -> bool:
        """Wait for the daemon to hang up; True if it did within `timeout`."""
        done, _ = await asyncio.wait([self._reader], timeout=timeout)
        return bool(done)
