"""How a job ended, decided in one place.

Whatever runs a job (a coroutine on the loop, a kernel thread, a model worker
process, a cluster) turns its end into an `Ending` here: a returned status or a
raised exception. The `Ending` travels as it is (a worker pickles it); the kernel
alone maps it to a final state (`JobRunner._final`), because only it knows whether
a stop was a user's kill or its own shutdown.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llmsh.errors import described, one_line

from .control import JobFailed, JobKilled


class EndKind(enum.Enum):
    DONE = "done"  # returned status 0
    FAILED = "failed"  # a non-zero status, JobFailed, or any other exception
    STOPPED = "stopped"  # check() raised JobKilled: killed, or the kernel closing


@dataclass(frozen=True)
class Ending:
    kind: EndKind
    status: int = 0
    reason: str = ""


DONE = Ending(EndKind.DONE)
STOPPED = Ending(EndKind.STOPPED)


def ending_of_status(status: object) -> Ending:
    """How a job that returned `status` ended."""
    if not isinstance(status, int) or isinstance(status, bool):
        return Ending(EndKind.FAILED, 1, f"job returned {status!r}, not a status")
    if status != 0:
        return Ending(EndKind.FAILED, status, f"exit status {status}")
    return DONE


def ending_of_exception(exc: BaseException) -> Ending:
    """How a job that raised `exc` ended (a job's bug must not take its runner down)."""
    if isinstance(exc, JobKilled):
        return STOPPED
    if isinstance(exc, JobFailed):
        return Ending(EndKind.FAILED, 1, str(exc) or "failed")
    if isinstance(exc, MemoryError):
        detail = one_line(exc) if str(exc).strip() else ""
        return Ending(EndKind.FAILED, 1, f"out of memory: {detail}" if detail else "out of memory")
    return Ending(EndKind.FAILED, 1, described(exc))


def run_to_end(fn: Callable[..., object], *args: Any) -> Ending:
    """Call blocking job code; every way out becomes an `Ending` (nothing escapes)."""
    try:
        status = fn(*args)
    except BaseException as exc:  # SystemExit too: the job's thread must report, not die
        return ending_of_exception(exc)
    return ending_of_status(status)
