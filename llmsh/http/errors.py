"""Errors in OpenAI's shape, so their clients raise their usual exception types.

Body: ``{"error": {"message", "type", "param", "code"}}``; the status code is what the
`openai` package maps to an exception class (400 BadRequestError, 401
AuthenticationError, 404 NotFoundError, 413, 429 RateLimitError, 5xx APIError).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidRequest, KernelError, PlacementError, QueueFull, UnknownKind

RETRY_AFTER = 1  # seconds a refused client waits: the queue moves at job granularity


@dataclass
class ApiError(Exception):
    status: int
    message: str
    type: str = "invalid_request_error"
    param: str | None = None
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


def bad_request(message: str, param: str | None = None) -> ApiError:
    return ApiError(400, message, param=param)


def from_kernel(exc: KernelError) -> ApiError:
    """A kernel's refusal of a submit, as an HTTP error."""
    if isinstance(exc, QueueFull):
        return ApiError(
            429, str(exc), "rate_limit_error", code="queue_full",
            headers={"Retry-After": str(RETRY_AFTER)},
        )  # fmt: skip
    if isinstance(exc, UnknownKind):
        return ApiError(501, f"this kernel cannot run the job: {exc}", "server_error")
    if isinstance(exc, PlacementError):
        return ApiError(503, str(exc), "server_error", code="no_capacity")
    if isinstance(exc, InvalidRequest):
        return bad_request(str(exc))
    return bad_request(str(exc))
