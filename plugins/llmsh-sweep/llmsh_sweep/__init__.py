"""llmsh-sweep: fine-tune sweeps, one kernel job per parameter combination."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__version__ = "0.1.0"


def register_commands(register: Callable[[Any], None]) -> None:
    from llmsh_sweep.commands import sweep_command

    register(sweep_command())


def register_nl_examples(register: Callable[..., None]) -> None:
    from llmsh_sweep.examples import LEXICONS, TEMPLATES

    for intent, templates in TEMPLATES.items():
        register(intent, templates, LEXICONS)
