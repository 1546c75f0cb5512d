"""Errors the kernel API raises for requests it refuses. Messages are one line, for users."""

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
