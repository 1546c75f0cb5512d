"""Model job kinds, as a default plugin. (The resident-model report is the runtime
executor's: `llmsh.runtime.make_runtime` registers it as "models".)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def register_job_kinds(register: Callable[[Any], None]) -> None:
    from llmsh.models.kinds import model_job_kinds

    for kind in model_job_kinds():
        register(kind)
