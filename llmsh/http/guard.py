"""The door every HTTP request passes: token, body size, and the request counter.

A pure ASGI middleware, so it sees requests before any routing: a wrong or missing
token is answered 401 without reading the body, and a body beyond the limit 413
without buffering more of it than the limit. The body read here is replayed to the
app; later `receive` calls reach the server, so handlers still hear a hang-up.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .errors import ApiError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
OPEN_PATHS = frozenset({"/health"})  # liveness probes need no token


class Guard:
    def __init__(
        self, app: ASGIApp, token: str | None, max_body: int, counts: dict[tuple[str, int], int]
    ) -> None:
        self.app = app
        self.token = token.encode() if token else None
        self.max_body = max_body
        self.counts = counts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        counted = self._counting(send, path)
        if self.token is not None and path not in OPEN_PATHS and not self._authorised(scope):
            await reply(counted, ApiError(
                401, "invalid or missing token: send 'Authorization: Bearer TOKEN'",
                code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"},
            ))  # fmt: skip
            return
        length = _header(scope, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await reply(counted, _too_large(self.max_body))
            return
        body = bytearray()
        more = scope.get("method") in ("POST", "PUT", "PATCH")
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_body:
                await reply(counted, _too_large(self.max_body))
                return
            more = bool(message.get("more_body"))
        await self.app(scope, _replay(bytes(body), receive), counted)

    def _authorised(self, scope: Scope) -> bool:
        assert self.token is not None
        given = _header(scope, b"authorization") or ""
        scheme, _, value = given.partition(" ")
        # compare_digest takes as long whatever the first differing byte is.
        return scheme.lower() == "bearer" and hmac.compare_digest(
            value.strip().encode(), self.token
        )

    def _counting(self, send: Send, path: str) -> Send:
        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                key = (path if path in _KNOWN else "other", int(message["status"]))
                self.counts[key] = self.counts.get(key, 0) + 1
            await send(message)

        return counted


_KNOWN = frozenset(
    {"/health", "/metrics", "/v1/models", "/v1/chat/completions", "/v1/completions",
     "/v1/embeddings"}
)  # fmt: skip


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _too_large(limit: int) -> ApiError:
    return ApiError(413, f"the request body is larger than {limit} bytes", code="body_too_large")


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def reply(send: Send, error: ApiError) -> None:
    """Answer with `error` in OpenAI's shape, without the app."""
    payload = json.dumps(error.body()).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    headers += [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
