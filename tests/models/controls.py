"""JobControl doubles for job-function tests."""

from __future__ import annotations

from llmsh.kernel.control import JobKilled, NullControl


class KillAfter(NullControl):
    """Raises JobKilled on the check() after `checks` successful ones (a `kill` mid-job)."""

    def __init__(self, checks: int, pid: int = 0) -> None:
        super().__init__()
        self.pid = pid
        self.left = checks

    def check(self) -> None:
        if self.left <= 0:
            raise JobKilled()
        self.left -= 1


def text(ctl: NullControl) -> str:
    return "".join(ctl.output)
