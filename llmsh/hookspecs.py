"""The whole plugin contract. Each hook receives a `register` callback: the core owns
the registries, a plugin only hands things in (the design of simonw/llm's hookspecs).

A plugin is a module or package with functions of these names; the `@hookimpl`
marker is optional. Built-in commands and job kinds come through the same hooks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("llmsh")
hookimpl = pluggy.HookimplMarker("llmsh")


@hookspec
def register_commands(register: Callable[[Any], None]) -> None:
    """Register shell commands: `register(llmsh.commands.spec.Command(...))`."""


@hookspec
def register_job_kinds(register: Callable[[Any], None]) -> None:
    """Register kernel job kinds: `register(llmsh.kernel.JobKind(...))`."""


@hookspec
def register_model_sources(register: Callable[..., None]) -> None:
    """Register catalogue entries: `register(name, entry_dict)` (see models/catalogue.json)."""


@hookspec
def register_backends(register: Callable[..., None]) -> None:
    """Register generation backends: `register(name, factory)`."""


@hookspec
def register_nl_examples(register: Callable[..., None]) -> None:
    """Teach the intent parser: `register(command, templates, lexicons)`. A template is a
    string (trained on) or `{"text": ..., "held_out": True}` (never trained on: only
    `llmsh nl eval` scores it); see `llmsh.nl_intent.examples`."""


@hookspec
def register_resources(register: Callable[..., None]) -> None:
    """Report what holds device memory outside jobs: `register(name, snapshot)` where
    `snapshot()` returns a list of dicts with at least name, device and nbytes
    (resident models, for `free` and `top`)."""


HOOKS = (
    "register_resources",
    "register_commands",
    "register_job_kinds",
    "register_model_sources",
    "register_backends",
    "register_nl_examples",
)
