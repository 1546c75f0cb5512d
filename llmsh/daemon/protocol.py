"""The daemon's wire protocol: versioned JSON lines over a Unix socket (or loopback TCP).

Framing
    Every message is one UTF-8 JSON object on one line, ended by ``\\n``. A client's
    message may be at most ``MAX_MESSAGE`` bytes (1 MiB); a longer line is skipped up to
    its newline and answered with an error. The daemon's replies may be longer (the
    output of a chatty job); clients accept up to ``MAX_REPLY`` bytes per line.

Requests (client -> daemon)
    ``{"v": 1, "id": 7, "op": "kill", "args": {"pid": 12}}``
    ``v`` is the protocol version (``VERSION``); ``id`` a non-negative integer, unique
    among the client's requests in flight; ``op`` one of ``OPS``; ``args`` an object
    (omitted means ``{}``). The first request on a connection must be ``hello``
    (``{"token": "..."}`` is required on TCP; ``session`` and ``client`` are informative).

Responses (daemon -> client), exactly one per request, in completion order
    ``{"v": 1, "id": 7, "ok": true, "result": ...}``
    ``{"v": 1, "id": 7, "ok": false, "error": "no such job: 12", "type": "NoSuchJob",
    "pid": 12}``
    ``type`` names the kernel error class (``KernelError`` subclasses, or
    ``TimeoutError`` for ``wait``) so a client re-raises the same class with the same
    one-line message. A message whose id cannot be read is answered with ``"id": null``.

Events (daemon -> client), after ``{"op": "subscribe", "args": {"sub": 1,
"pids": [12] | null, "types": ["state", "progress", "output"] | null}}``
    ``{"v": 1, "sub": 1, "event": {"type": "state", "pid": 12, "process": {...},
    "text": "", "seq": 40}}``
    The client picks ``sub`` so that it can route events arriving before the reply;
    ``unsubscribe`` ``{"sub": 1}`` ends it. Scheduler state is pushed to every client
    after it changes: ``{"v": 1, "sched": {"capacities": [...], "queue": [pids]}}``.

Records travel as ``Process.to_json``, ``DeviceSnapshot.to_json`` and the helpers in
``llmsh.daemon.wire``. Errors never end a connection, except a failed ``hello`` on TCP
(bad token), no ``hello`` on TCP within the daemon's ``hello_timeout``, a peer of another
user, and a client so slow that its backlog of events overflows: each gets one error
message (``"id": null`` unless it answers a request), then a close. Integers anywhere
in a request must fit in 64 bits, and NaN/Infinity are not JSON: both are refused.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from llmsh.errors import described, one_line

from ..kernel import errors as kernel_errors
from ..kernel.errors import KernelError, NoSuchJob

VERSION = 1
MAX_MESSAGE = 1 << 20  # bytes per client message
MAX_REPLY = 256 << 20  # bytes per daemon message a client accepts
INT_MIN, INT_MAX = -(1 << 63), (1 << 63) - 1  # integers on the wire: SQLite's INTEGER

OPS = frozenset(
    {
        "hello",
        "status",
        "stop",
        "cancel",
        "submit",
        "kill",
        "pause",
        "resume",
        "renice",
        "wait",
        "get",
        "list",
        "subscribe",
        "unsubscribe",
        "devices",
        "output",
        "explain",
        "capacities",
        "queue_order",
        "flush",
        "restart",
        "resident",
        "kind_names",
    }
)


class ProtocolError(KernelError):
    """A message that breaks the protocol; `id` is the request id when it could be read."""

    id: int | None = None

    def __init__(self, message: str, id: int | None = None) -> None:
        super().__init__(message)
        self.id = id


class MessageTooLarge(ProtocolError):
    pass


@dataclass(frozen=True)
class Request:
    id: int
    op: str
    args: dict[str, Any]


def _default(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)


def encode(message: dict[str, Any]) -> bytes:
    """One message as a line of compact JSON (values JSON cannot hold become strings)."""
    return json.dumps(message, separators=(",", ":"), default=_default).encode() + b"\n"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _no_constant(name: str) -> Any:
    raise ValueError(name)  # NaN and Infinity are not JSON


class _OutOfRange(ValueError):
    """An integer literal beyond 64 bits (its text, shortened)."""


def _int64(text: str) -> int:
    value = int(text)
    if not INT_MIN <= value <= INT_MAX:
        raise _OutOfRange(text if len(text) <= 24 else text[:21] + "...")
    return value


# Every integer the kernel keeps (pids, priorities, ids) fits SQLite's 64 bits; a larger
# one would surface deep inside as OverflowError, so the decoder refuses it. Decoders
# hold no state between calls: one of each is shared.
_STRICT = json.JSONDecoder(parse_int=_int64, parse_constant=_no_constant)
_LENIENT = json.JSONDecoder(parse_constant=_no_constant)  # for the id of a refused one


def _decode(line: bytes) -> tuple[Any, str]:
    """The message, and the first integer out of range in it ("" if none)."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("message is not UTF-8") from None
    try:
        try:
            return _STRICT.decode(text), ""
        except _OutOfRange as exc:  # read it again, to answer with its request id
            return _LENIENT.decode(text), str(exc)
    except (ValueError, RecursionError):
        raise ProtocolError("message is not valid JSON") from None


def parse_request(line: bytes) -> Request:
    """Decode and check one request line; raises ProtocolError with a one-line reason."""
    if not line.strip():
        raise ProtocolError("empty message")
    data, too_big = _decode(line)
    if not isinstance(data, dict):
        raise ProtocolError(f"message must be a JSON object, not {type(data).__name__}")
    raw_id = data.get("id")
    rid = raw_id if isinstance(raw_id, int) and not isinstance(raw_id, bool) else None
    rid = rid if rid is not None and 0 <= rid <= INT_MAX else None
    if data.get("v") != VERSION:
        raise ProtocolError(
            f"unsupported protocol version {data.get('v')!r} (this daemon speaks {VERSION})", rid
        )
    if rid is None:
        raise ProtocolError("request id must be a non-negative integer")
    if too_big:
        raise ProtocolError(f"integer out of range: {too_big} (the limit is 64 bits)", rid)
    op = data.get("op")
    if not isinstance(op, str):
        raise ProtocolError("op must be a string", rid)
    if op not in OPS:
        raise ProtocolError(f"unknown op {op[:40]!r}", rid)
    args = data.get("args", {})
    if not isinstance(args, dict):
        raise ProtocolError("args must be a JSON object", rid)
    return Request(rid, op, args)


def ok_reply(rid: int, result: Any) -> dict[str, Any]:
    return {"v": VERSION, "id": rid, "ok": True, "result": result}


def error_reply(rid: int | None, exc: BaseException) -> dict[str, Any]:
    """The reply for a refused request; unexpected exceptions say `internal error`."""
    reply: dict[str, Any] = {"v": VERSION, "id": rid, "ok": False}
    if isinstance(exc, KernelError):
        reply["error"] = one_line(exc)
        reply["type"] = type(exc).__name__
        if isinstance(exc, NoSuchJob):
            reply["pid"] = exc.pid
    elif isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        reply["error"], reply["type"] = "timed out", "TimeoutError"
    else:
        reply["error"], reply["type"] = f"internal error: {described(exc)}", "KernelError"
    return reply


def _error_classes() -> dict[str, type[KernelError]]:
    found: dict[str, type[KernelError]] = {}
    todo: list[type[KernelError]] = [KernelError]
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith("llmsh."):
            found.setdefault(cls.__name__, cls)
        todo.extend(cls.__subclasses__())
    return found


def error_from_reply(reply: dict[str, Any]) -> Exception:
    """The exception a refused request raises client-side: the kernel's class and message."""
    message = str(reply.get("error") or "the kernel daemon refused the request")
    kind = reply.get("type")
    if kind == "TimeoutError":
        return asyncio.TimeoutError()
    if kind == "NoSuchJob" and _is_int(reply.get("pid")):
        return NoSuchJob(reply["pid"])
    cls = _error_classes().get(str(kind), kernel_errors.KernelError)
    exc = cls.__new__(cls)
    Exception.__init__(exc, message)
    return exc


class LineReader:
    """Reads newline-ended messages, skipping (and reporting) lines over `limit` bytes."""

    def __init__(self, reader: asyncio.StreamReader, limit: int, chunk: int = 1 << 16) -> None:
        self._reader = reader
        self._limit = limit
        self._chunk = chunk
        self._buf = bytearray()
        self._scanned = 0  # bytes of _buf known to hold no newline

    async def read(self) -> bytes | None:
        """The next line without its newline, or None at end of stream.

        Raises MessageTooLarge after skipping a line longer than the limit, so the
        caller can answer it and go on reading.
        """
        while True:
            nl = self._buf.find(b"\n", self._scanned)
            if nl >= 0:
                line = bytes(self._buf[:nl])
                del self._buf[: nl + 1]
                self._scanned = 0
                if len(line) > self._limit:
                    raise MessageTooLarge(f"message too large (over {self._limit} bytes)")
                return line
            self._scanned = len(self._buf)
            if len(self._buf) > self._limit:
                await self._skip_line()
                raise MessageTooLarge(f"message too large (over {self._limit} bytes)")
            data = await self._reader.read(self._chunk)
            if not data:
                line, self._buf, self._scanned = bytes(self._buf), bytearray(), 0
                return line if line.strip() else None
            self._buf += data

    async def _skip_line(self) -> None:
        self._buf.clear()
        self._scanned = 0
        while True:
            data = await self._reader.read(self._chunk)
            if not data:
                return
            nl = data.find(b"\n")
            if nl >= 0:
                self._buf += data[nl + 1 :]
                return
