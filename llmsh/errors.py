"""User-facing error classes and the one way an exception becomes one line.

Cheap to import (no llmsh package behind it), so the shell can tell a kernel's refusal
from a bug without importing the kernel, and every layer words an exception the same way.
"""

from __future__ import annotations


class KernelError(Exception):
    """A request the kernel refuses; str() is a one-line reason."""


class NoSuchJob(KernelError):
    def __init__(self, pid: int) -> None:
        super().__init__(f"no such job: {pid}")
        self.pid = pid


class QueueFull(KernelError):
    pass


class PlacementError(KernelError):
    pass


class UnknownKind(KernelError):
    pass


class InvalidRequest(KernelError):
    pass


class StoreUnwritable(KernelError):
    """The job store cannot take writes now (disk full, I/O error): nothing new is accepted."""


def one_line(exc: BaseException, limit: int | None = None) -> str:
    """The first line of the exception's message, or its type's name when it has none."""
    lines = str(exc).strip().splitlines()
    text = lines[0].strip() if lines else type(exc).__name__
    return text[:limit] if limit is not None else text


def described(exc: BaseException) -> str:
    """An unexpected exception as users see it: "Type: first line" (or just "Type")."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0].strip()}" if lines else type(exc).__name__
