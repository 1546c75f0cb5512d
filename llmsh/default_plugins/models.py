"""Model job kinds and the resident-model report, as a default plugin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def register_job_kinds(register: Callable[[Any], None]) -> None:
    from llmsh.models.kinds import model_job_kinds

    for kind in model_job_kinds():
        register(kind)


def register_resources(register: Callable[..., None]) -> None:
    from llmsh.models.kinds import resident_models

    register("models", resident_models)
