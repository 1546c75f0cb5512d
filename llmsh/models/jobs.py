"""The job functions the kernel runs, by kind, imported only when first used.

Every function has the signature ``run_X(args, ctl, pool) -> int``: `args` are
the job's plain JSON arguments, `ctl` its `JobControl`, `pool` the shared
`ModelPool`. Looking a function up here imports torch; naming the kinds does not.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING, Any

from llmsh.models.errors import ModelError

if TYPE_CHECKING:
    from llmsh.kernel.control import JobControl
    from llmsh.models.pool import ModelPool

JobFunction = Callable[[dict[str, Any], "JobControl", "ModelPool"], int]

DEFAULT_MODELS = {
    "generate": "smollm2",
    "chat": "smollm2",
    "finetune": "smollm2",
    "eval": "smollm2",
    "embed": "minilm",
    "classify": "minilm",
}

JOBS = {
    "generate": ("llmsh.models.generate", "run_generate"),
    "chat": ("llmsh.models.generate", "run_chat"),
    "embed": ("llmsh.models.embed", "run_embed"),
    "classify": ("llmsh.models.embed", "run_classify"),
    "finetune": ("llmsh.models.finetune", "run_finetune"),
    "eval": ("llmsh.models.evaluate", "run_eval"),
    "pull": ("llmsh.models.pull", "run_pull"),  # no torch unless a GGUF needs converting
}


def default_model(kind: str) -> str:
    return DEFAULT_MODELS.get(kind, "smollm2")


def job_function(kind: str) -> JobFunction:
    if kind not in JOBS:
        raise ModelError(f"unknown model job kind {kind!r}; known: {', '.join(JOBS)}")
    module, attr = JOBS[kind]
    fn: JobFunction = getattr(import_module(module), attr)
    return fn


def run_job(kind: str, args: dict[str, Any], ctl: JobControl, pool: ModelPool) -> int:
    return job_function(kind)(args, ctl, pool)
