"""The shell's variables, positional arguments, options and aliases."""

from __future__ import annotations

import os
from collections import ChainMap
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass
class Options:
    errexit: bool = False  # set -e
    xtrace: bool = False  # set -x


class ShellState:
    """What expansion reads (an `ExpansionEnv`) and what built-ins change.

    Shell variables shadow the process environment: ``$HOME`` reads the
    environment until ``HOME=...`` sets a shell variable.
    """

    def __init__(self, positional: Iterable[str] = ()) -> None:
        self.vars: dict[str, str] = {}
        environ: dict[str, str] = os.environ  # type: ignore[assignment]
        self.variables: ChainMap[str, str] = ChainMap(self.vars, environ)
        self.positional: list[str] = list(positional)
        self.last_status = 0
        self.last_bg_pid: int | None = None
        self.options = Options()
        self.aliases: dict[str, str] = {}
