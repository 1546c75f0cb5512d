"""Errors the kernel API raises for requests it refuses. Messages are one line, for users.

The classes live in `llmsh.errors` (cheap to import, so clients can catch them without
importing the kernel); this module is the kernel's name for them.
"""

from __future__ import annotations

from llmsh.errors import (
    InvalidRequest,
    KernelError,
    NoSuchJob,
    PlacementError,
    QueueFull,
    StoreUnwritable,
    UnknownKind,
)

__all__ = [
    "InvalidRequest",
    "KernelError",
    "NoSuchJob",
    "PlacementError",
    "QueueFull",
    "StoreUnwritable",
    "UnknownKind",
]
