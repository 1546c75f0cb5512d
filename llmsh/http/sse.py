"""Server-sent events in OpenAI's streaming format.

Each chunk is ``data: {json}\\n\\n``; the stream ends with ``data: [DONE]``. While the
job waits in the kernel's queue the client gets SSE comment lines (``: queued N``),
which SSE parsers ignore. A job that ends killed or failed ends the stream with an
``error`` event in OpenAI's error shape (their client raises it) and no [DONE].
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from ..commands.jobrun import JobStream
from .jobs import Reaper, ended_error, finish_reason, pieces, usage
from .schemas import GenerationRequest

DONE = b"data: [DONE]\n\n"


def event(data: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"


def comment(text: str) -> bytes:
    return f": {text}\n\n".encode()


class ChunkMaker:
    """Chunks of one streamed reply: chat deltas or completion texts."""

    def __init__(self, request: GenerationRequest, pid: int) -> None:
        self.chat = request.kind == "chat"
        self.id = f"{'chatcmpl' if self.chat else 'cmpl'}-{pid}"
        self.model = request.model
        self.created = int(time.time())

    def _base(self, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk" if self.chat else "text_completion",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
            "choices": choices,
        }

    def text(self, text: str, finish: str | None = None, first: bool = False) -> dict[str, Any]:
        if self.chat:
            delta: dict[str, Any] = {"content": text}
            if first:
                delta["role"] = "assistant"
            choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        else:
            choice = {"index": 0, "text": text, "finish_reason": finish, "logprobs": None}
        return self._base([choice])

    def usage(self, counts: dict[str, int]) -> dict[str, Any]:
        return {**self._base([]), "usage": counts}


async def stream(job: JobStream, request: GenerationRequest) -> AsyncIterator[bytes]:
    """The SSE body of a streamed request, from the queue to [DONE] or the error event."""
    maker = ChunkMaker(request, job.proc.pid)
    if request.kind == "chat":
        yield event(maker.text("", first=True))
    async for piece in pieces(job):
        if piece.queued is not None:
            yield comment(f"queued {piece.queued}")
        else:
            yield event(maker.text(piece.text))
    proc = job.proc
    error = ended_error(proc)
    if error is not None:
        yield event(error.body())
        return
    yield event(maker.text("", finish_reason(proc)))
    if request.include_usage:
        yield event(maker.usage(usage(proc)))
    yield DONE


class JobResponse(StreamingResponse):
    """A streamed job's response. However it ends - done, the client gone (starlette
    cancels the response when the connection closes), or before its first byte - a job
    that is still running is killed, so no model keeps generating for nobody."""

    def __init__(
        self, job: JobStream, request: GenerationRequest, reaper: Reaper, headers: dict[str, str]
    ) -> None:
        super().__init__(stream(job, request), media_type="text/event-stream", headers=headers)
        self.job = job
        self.reaper = reaper

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            if not self.job.proc.finished:
                self.reaper.kill(self.job.proc.pid)
            self.job.close()
