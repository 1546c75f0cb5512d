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


async def stream(
    job: JobStream, request: GenerationRequest, reaper: Reaper
) -> AsyncIterator[bytes]:
    """The SSE body of a streamed request; leaves `job`'s context when it ends.

    A client that hangs up cancels this generator (starlette watches the connection):
    its job is then killed, so no model keeps generating for nobody."""
    maker = ChunkMaker(request, job.proc.pid)
    finished = False
    try:
        if request.kind == "chat":
            yield event(maker.text("", first=True))
        async for piece in pieces(job):
            if piece.queued is not None:
                yield comment(f"queued {piece.queued}")
            else:
                yield event(maker.text(piece.text))
        finished = True
        proc = job.proc
        error = ended_error(proc)
        if error is not None:
            yield event(error.body())
            return
        yield event(maker.text("", finish_reason(proc)))
        if request.include_usage:
            yield event(maker.usage(usage(proc)))
        yield DONE
    finally:
        if not finished and not job.proc.finished:
            reaper.kill(job.proc.pid)
        job.close()
