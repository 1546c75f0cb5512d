"""Building a kernel with everything plugins provide: job kinds and resource reports.

The shell's embedded kernel, the daemon and `llmsh top` all build theirs here, so a
plugin's job kind exists in every mode.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .plugins import get_plugins

if TYPE_CHECKING:
    from .kernel import Kernel, KernelConfig, KindRegistry


def configure_threads() -> None:
    """Threads that spin while waiting starve each other on a small shared machine:
    torch's OpenMP workers must sleep instead. Effective only before torch loads."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def job_kinds() -> KindRegistry:
    from .kernel import KindRegistry

    kinds = KindRegistry()
    get_plugins().collect("register_job_kinds", kinds.register, describe=lambda k: k.name)
    return kinds


def resources() -> dict[str, Callable[[], list[dict[str, Any]]]]:
    found: dict[str, Callable[[], list[dict[str, Any]]]] = {}

    def register(name: str, snapshot: Callable[[], list[dict[str, Any]]]) -> None:
        if name in found:
            raise ValueError(f"resource {name!r} is already registered")
        found[name] = snapshot

    get_plugins().collect("register_resources", register)
    return found


def make_kernel(config: KernelConfig | None = None) -> Kernel:
    """A kernel (not yet started) with the job kinds and resources of every plugin."""
    from .kernel import Kernel

    configure_threads()
    return Kernel(config, kinds=job_kinds(), resources=resources())
