"""Request bodies checked and turned into job arguments, in OpenAI's field names.

Anything the kernel's generate/chat/embed jobs cannot honour (n > 1, logprobs, tools,
echo) is refused with a 400 naming the field, rather than silently ignored. The job
arguments use the same names as the shell's `generate` and `chat` commands
(`prompt`/`messages`, `model`, `max_tokens`, `temperature`, `top_p`, `seed`, `stop`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..commands.values import priority as parse_priority
from .errors import ApiError, bad_request

PRIORITY_HEADER = "x-llmsh-priority"
ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
UNSUPPORTED = ("tools", "functions", "logprobs", "top_logprobs", "echo", "best_of", "suffix")


@dataclass(frozen=True)
class GenerationRequest:
    kind: str  # "chat" or "generate": the kernel job kind
    model: str
    args: dict[str, Any]  # the job's arguments, model included
    stream: bool = False
    include_usage: bool = False
    priority: int = 0


@dataclass(frozen=True)
class EmbeddingRequest:
    model: str
    texts: list[str]
    encoding_format: str = "float"
    priority: int = 0


def parse_json(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object")
    return body


def _model(body: dict[str, Any]) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise bad_request("'model' is required and must be a string", "model")
    return model.strip()


def _priority(body: dict[str, Any], header: str | None) -> int:
    value = body.get("priority", header)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise bad_request("'priority' must be an integer -20..19 or high/normal/low", "priority")
    try:
        return parse_priority(str(value))
    except ValueError as exc:
        raise bad_request(str(exc), "priority") from None


def _number(body: dict[str, Any], key: str, low: float, high: float) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise bad_request(f"'{key}' must be a number in [{low:g}, {high:g}]", key)
    return float(value)


def _integer(body: dict[str, Any], key: str, low: int) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise bad_request(f"'{key}' must be an integer >= {low}", key)
    return value


def _sampling(body: dict[str, Any]) -> dict[str, Any]:
    for key in UNSUPPORTED:
        if body.get(key) not in (None, False, [], 0):
            raise bad_request(f"'{key}' is not supported by llmsh", key)
    if body.get("n", 1) != 1:
        raise bad_request("only n=1 is supported", "n")
    max_tokens = _integer(body, "max_completion_tokens", 1) or _integer(body, "max_tokens", 1)
    stop = body.get("stop")
    if stop is not None and not (
        isinstance(stop, str)
        or (isinstance(stop, list) and len(stop) <= 4 and all(isinstance(s, str) for s in stop))
    ):
        raise bad_request("'stop' must be a string or a list of up to 4 strings", "stop")
    args = {
        "max_tokens": max_tokens,
        "temperature": _number(body, "temperature", 0, 2),
        "top_p": _number(body, "top_p", 1e-9, 1),
        "seed": _integer(body, "seed", -(2**63)),
        "stop": stop or None,
    }
    return {k: v for k, v in args.items() if v is not None}


def _stream_options(body: dict[str, Any]) -> tuple[bool, bool]:
    stream = body.get("stream", False)
    options = body.get("stream_options") or {}
    if not isinstance(stream, bool) or not isinstance(options, dict):
        raise bad_request("'stream' must be a boolean and 'stream_options' an object", "stream")
    return stream, bool(options.get("include_usage", False))


def _content(message: dict[str, Any], i: int) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: only text ones can be honoured
        texts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text":
                raise bad_request(f"message {i}: only text content parts are supported")
            texts.append(str(part.get("text", "")))
        return "".join(texts)
    raise bad_request(f"message {i} needs a string 'content'", "messages")


def _messages(body: dict[str, Any]) -> list[dict[str, str]]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad_request("'messages' must be a non-empty list", "messages")
    out = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise bad_request(f"message {i} must be an object", "messages")
        role = ROLES.get(str(message.get("role", "user")))  # as the chat job reads it
        if role is None:
            raise bad_request(
                f"message {i} has unsupported role {message.get('role')!r}", "messages"
            )
        out.append({"role": role, "content": _content(message, i)})
    return out


def chat_request(body: dict[str, Any], priority_header: str | None = None) -> GenerationRequest:
    model = _model(body)
    stream, usage = _stream_options(body)
    args = {"messages": _messages(body), "model": model, **_sampling(body)}
    return GenerationRequest("chat", model, args, stream, usage, _priority(body, priority_header))


def completion_request(
    body: dict[str, Any], priority_header: str | None = None
) -> GenerationRequest:
    model = _model(body)
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1:
        prompt = prompt[0]
    if not isinstance(prompt, str) or not prompt:
        raise bad_request("'prompt' must be a non-empty string (one prompt per request)", "prompt")
    stream, usage = _stream_options(body)
    # A completion continues the text as it is: no chat template.
    args = {"prompt": prompt, "raw": True, "model": model, **_sampling(body)}
    return GenerationRequest(
        "generate", model, args, stream, usage, _priority(body, priority_header)
    )


def embedding_request(body: dict[str, Any], priority_header: str | None = None) -> EmbeddingRequest:
    model = _model(body)
    texts = body.get("input")
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) and t for t in texts):
        raise bad_request("'input' must be a non-empty string or list of strings", "input")
    encoding = body.get("encoding_format", "float")
    if encoding not in ("float", "base64"):
        raise bad_request("'encoding_format' must be float or base64", "encoding_format")
    return EmbeddingRequest(model, texts, encoding, _priority(body, priority_header))


__all__ = [
    "ApiError",
    "EmbeddingRequest",
    "GenerationRequest",
    "chat_request",
    "completion_request",
    "embedding_request",
    "parse_json",
]
