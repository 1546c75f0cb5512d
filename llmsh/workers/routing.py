"""Which worker a job goes to: one per (model, device), within one environment.

The environment is part of the key because a worker reads its settings (the model
store under $LLMSH_HOME, $LLMSH_BACKEND, the engine's variables, the Hugging Face
cache) once, from the environment it was started with. In a daemon it never
changes; a process that changes it (tests give each a home of its own) gets
workers for the new one instead of jobs reading another store.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from llmsh import paths

ENV_PREFIXES = ("LLMSH_", "XDG_", "HF_", "TRANSFORMERS_", "CUDA_", "OMP_")
ENV_IGNORED = frozenset({"LLMSH_KERNEL"})  # which daemon a shell uses: not a worker's concern


@dataclass(frozen=True)
class WorkerKey:
    model: str
    device: str
    env: str  # `environment_fingerprint()` when the worker was asked for

    def __str__(self) -> str:
        return f"{self.model}@{self.device}"


def environment_fingerprint(environ: Mapping[str, str] | None = None) -> str:
    """A short digest of the variables a worker's jobs read."""
    env = os.environ if environ is None else environ
    items = sorted(
        (k, v) for k, v in env.items() if k.startswith(ENV_PREFIXES) and k not in ENV_IGNORED
    )
    return hashlib.sha256(repr(items).encode()).hexdigest()[:16]


def worker_key(model: str, device: str) -> WorkerKey:
    return WorkerKey(model, device, environment_fingerprint())


def log_path(key: WorkerKey) -> Path:
    """The worker's stderr: its warnings, and the Python stacks of a crash."""
    name = re.sub(r"[^\w.@-]", "_", str(key))
    return paths.state_dir() / "workers" / f"{name}.log"
