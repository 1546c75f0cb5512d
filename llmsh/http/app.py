"""The routes: OpenAI's endpoints plus /health and /metrics, each request a kernel job."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import shutil
import struct
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from llmsh.errors import one_line

from ..commands.jobrun import JobStream
from ..errors import KernelError
from ..kernel.api import KernelAPI
from ..models.manifest import Manifest, ModelKind
from ..models.store import ModelStore
from . import metrics, sse
from .errors import ApiError, from_kernel
from .guard import Guard
from .jobs import (
    Reaper,
    check_model,
    ended_error,
    finish_reason,
    make_spec,
    pieces,
    queue_position,
    usage,
)
from .schemas import (
    PRIORITY_HEADER,
    GenerationRequest,
    chat_request,
    completion_request,
    embedding_request,
    parse_json,
)
from .settings import HttpSettings

log = logging.getLogger("llmsh.http")
GONE = 499  # nginx's "client closed request": logged, never delivered


class Api:
    """The handlers, bound to one kernel and one model store."""

    def __init__(self, kernel: KernelAPI, store: ModelStore) -> None:
        self.kernel = kernel
        self.store = store
        self.reaper = Reaper(kernel)
        self.counts: dict[tuple[str, int], int] = {}

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok" if self.kernel.started else "stopping"})

    async def metrics(self, request: Request) -> Response:
        text = await metrics.render(self.kernel, self.counts)
        return PlainTextResponse(text, media_type=metrics.CONTENT_TYPE)

    @staticmethod
    def _model_row(manifest: Manifest) -> dict[str, Any]:
        return {
            "id": manifest.name,
            "object": "model",
            "created": int(manifest.created),
            "owned_by": "llmsh",
        }

    async def models(self, request: Request) -> Response:
        rows = [self._model_row(m) for m in self.store.list()]
        return JSONResponse({"object": "list", "data": rows})

    async def model(self, request: Request) -> Response:
        name = str(request.path_params["name"])
        check_model(self.store, name, None)
        return JSONResponse(self._model_row(self.store.get(name)))

    async def chat(self, request: Request) -> Response:
        return await self._generation(request, chat_request)

    async def completions(self, request: Request) -> Response:
        return await self._generation(request, completion_request)

    async def _submit(self, request: Request, kind: str, args: dict[str, Any], priority: int
                      ) -> JobStream:  # fmt: skip
        client = (request.client.host, request.client.port) if request.client else None
        job = JobStream(self.kernel, make_spec(kind, args, priority, client, request.url.path), ())
        try:
            return await job.__aenter__()
        except KernelError as exc:
            raise from_kernel(exc) from None

    def _headers(self, job: JobStream) -> dict[str, str]:
        headers = {"X-Llmsh-Pid": str(job.proc.pid)}
        position = queue_position(self.kernel, job.proc.pid)
        if position is not None:
            headers["X-Llmsh-Queue-Position"] = str(position)
        return headers

    async def _generation(
        self, request: Request, parse: Callable[[dict[str, Any], str | None], GenerationRequest]
    ) -> Response:
        req = parse(parse_json(await request.body()), request.headers.get(PRIORITY_HEADER))
        check_model(self.store, req.model, ModelKind.GENERATE)
        job = await self._submit(request, req.kind, req.args, req.priority)
        headers = self._headers(job)
        if req.stream:
            headers["Cache-Control"] = "no-cache"
            return sse.JobResponse(job, req, self.reaper, headers)
        try:
            text = await self._unless_gone(request, job, _collect(job))
        finally:
            job.close()
        if text is None:
            return Response(status_code=GONE)
        error = ended_error(job.proc)
        if error is not None:
            raise error
        return JSONResponse(_completion(req, job, text), headers=headers)

    async def embeddings(self, request: Request) -> Response:
        req = embedding_request(
            parse_json(await request.body()), request.headers.get(PRIORITY_HEADER)
        )
        check_model(self.store, req.model, ModelKind.EMBED)
        # The vectors come back through a file in a private directory of the daemon's:
        # its path is chosen here, never taken from the request.
        folder = Path(tempfile.mkdtemp(prefix="llmsh-http-"))
        try:
            out = folder / "vectors.jsonl"
            args = {"texts": req.texts, "model": req.model, "out": str(out)}
            job = await self._submit(request, "embed", args, req.priority)
            headers = self._headers(job)
            try:
                if await self._unless_gone(request, job, _collect(job)) is None:
                    return Response(status_code=GONE)
            finally:
                job.close()
            error = ended_error(job.proc)
            if error is not None:
                raise error
            vectors = [json.loads(line)["embedding"] for line in out.read_text().splitlines()]
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        data = [
            {"object": "embedding", "index": i, "embedding": _encode(v, req.encoding_format)}
            for i, v in enumerate(vectors)
        ]
        body = {
            "object": "list",
            "data": data,
            "model": req.model,
            "usage": {"prompt_tokens": 0, "total_tokens": 0},
        }
        return JSONResponse(body, headers=headers)

    async def _unless_gone(
        self, request: Request, job: JobStream, work: Awaitable[str]
    ) -> str | None:
        """`work`'s result, or None (the job killed) if the client hangs up first."""
        task = asyncio.ensure_future(work)
        gone = asyncio.ensure_future(_disconnected(request))
        try:
            await asyncio.wait({task, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            if not task.done():
                task.cancel()
                if not job.proc.finished:
                    self.reaper.kill(job.proc.pid)
        return task.result() if task.done() and not task.cancelled() else None


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _collect(job: JobStream) -> str:
    return "".join([piece.text async for piece in pieces(job)])


def _completion(req: GenerationRequest, job: JobStream, text: str) -> dict[str, Any]:
    proc = job.proc
    reason = finish_reason(proc)
    if req.kind == "chat":
        choice: dict[str, Any] = {
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": reason,
            "logprobs": None,
        }
    else:
        choice = {"index": 0, "text": text, "finish_reason": reason, "logprobs": None}
    return {
        "id": f"{'chatcmpl' if req.kind == 'chat' else 'cmpl'}-{proc.pid}",
        "object": "chat.completion" if req.kind == "chat" else "text_completion",
        "created": int(proc.created or time.time()),
        "model": req.model,
        "system_fingerprint": None,
        "choices": [choice],
        "usage": usage(proc),
    }


def _encode(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "base64":  # little-endian float32, as OpenAI sends it
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
    return vector


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return await _api_error(request, ApiError(exc.status_code, f"{exc.detail}: {request.url.path}"))


async def _crash(request: Request, exc: Exception) -> Response:
    log.exception("HTTP request %s failed", request.url.path)
    return await _api_error(request, ApiError(500, one_line(exc), "server_error"))


def build_app(kernel: KernelAPI, settings: HttpSettings, store: ModelStore | None = None) -> Any:
    """The ASGI app: routes behind the token and body-size guard; CORS only if configured."""
    api = Api(kernel, store or ModelStore())
    routes = [
        Route("/health", api.health),
        Route("/metrics", api.metrics),
        Route("/v1/models", api.models),
        Route("/v1/models/{name}", api.model),
        Route("/v1/chat/completions", api.chat, methods=["POST"]),
        Route("/v1/completions", api.completions, methods=["POST"]),
        Route("/v1/embeddings", api.embeddings, methods=["POST"]),
    ]
    middleware = [Middleware(Guard, settings.token, settings.max_body, api.counts)]
    if settings.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["*"],
            )  # fmt: skip
        )
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _crash},
    )
    app.state.api = api
    return app
