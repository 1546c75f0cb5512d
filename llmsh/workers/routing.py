"""Which worker a job goes to: one per (model, device).

A worker reads its settings (the model store under $LLMSH_HOME, $LLMSH_BACKEND,
the engine's variables, the Hugging Face cache) once, from the environment its
manager was built with (`WorkerManager.env`). A process that needs another
environment (tests give each a home of its own) builds another runtime, with its
own manager and workers, so the key needs no environment in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class WorkerKey:
    model: str
    device: str

    def __str__(self) -> str:
        return f"{self.model}@{self.device}"


def log_path(log_dir: Path, key: WorkerKey) -> Path:
    """The worker's stderr: its warnings, and the Python stacks of a crash."""
    name = re.sub(r"[^\w.@-]", "_", str(key))
    return log_dir / f"{name}.log"
