"""Control flow that unwinds the interpreter: `exit` and `set -e`."""

from __future__ import annotations


class ShellExit(Exception):
    """`exit [N]`: leave the shell (or the script) with status N."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class ErrExit(Exception):
    """`set -e` stopped the script at a failing command."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class Interrupted(Exception):
    """Ctrl-C ended the foreground statement of a script (status 130)."""

    status = 130
