"""The kernel's own job kinds (sleep, system, noop) as a default plugin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llmsh.kernel.builtin_kinds import BUILTIN_KINDS


def register_job_kinds(register: Callable[[Any], None]) -> None:
    for kind in BUILTIN_KINDS:
        register(kind)
