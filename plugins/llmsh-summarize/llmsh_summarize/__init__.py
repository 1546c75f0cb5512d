"""llmsh-summarize: `summarize FILE` as a kernel job, chunked when the file is long.

The plugin's hooks only hand things to llmsh; nothing heavy is imported here:
the command module is light, and the job code (torch, the model) is imported where
the job runs (its model worker, or a kernel thread).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__version__ = "0.1.0"


def register_commands(register: Callable[[Any], None]) -> None:
    from llmsh_summarize.command import summarize_command

    register(summarize_command())


def register_job_kinds(register: Callable[[Any], None]) -> None:
    from llmsh_summarize.kind import summarize_kind

    register(summarize_kind())


def register_nl_examples(register: Callable[..., None]) -> None:
    from llmsh_summarize.examples import LEXICONS, TEMPLATES

    register("summarize", TEMPLATES, LEXICONS)
