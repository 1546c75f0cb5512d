"""The built-in shell commands as a default plugin."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from llmsh.commands.registry import BUILTIN_MODULES


def register_commands(register: Callable[[Any], None]) -> None:
    for name in BUILTIN_MODULES:
        importlib.import_module(name).register_commands(register)
