"""Resumable fine-tune checkpoints, written as safetensors and JSON (no pickles).

A checkpoint folder `step-NNNNNN` holds the LoRA adapter (peft's own
safetensors), the optimiser's moments as safetensors and `trainer_state.json`
(step, loss history, the run's arguments). Folders are written under a
temporary name and renamed, so a kill during a save leaves the previous one intact.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from llmsh.models.errors import ModelError

STATE = "trainer_state.json"
OPTIMIZER = "optimizer.safetensors"


@dataclass
class TrainerState:
    run: str  # the store name the adapter will be registered as
    step: int = 0  # optimiser steps completed
    losses: list[float] = field(default_factory=list)
    args: dict[str, Any] = field(default_factory=dict)  # the run's settings (model, rank, ...)


@contextlib.contextmanager
def checkpoint_lock(root: Path, pid: int) -> Iterator[None]:
    """Hold the lock of checkpoint folder `root` while job `pid` trains into it.

    An flock on `root.lock` (beside the folder, which is deleted at the end): held by
    the open file, so it is released when the job ends however it ends, and it
    excludes a second training from any process, another kernel's included. The
    file keeps the holder's pid so the refusal can name it; it is never deleted, as
    unlinking a lock file lets a waiter lock an orphaned inode."""
    lock = root.with_name(root.name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            raise ModelError(
                f"checkpoints of run {root.name} are in use by job {holder}: "
                "two trainings cannot share one folder"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(pid).encode(), 0)
        yield
    finally:
        os.close(fd)


def save_optimizer(optimizer: torch.optim.Optimizer, path: Path) -> None:
    state = optimizer.state_dict()
    tensors = {
        f"{index}.{key}": value.detach().cpu().contiguous()
        for index, slots in state["state"].items()
        for key, value in slots.items()
        if isinstance(value, torch.Tensor)
    }
    save_file(tensors, str(path), metadata={"param_groups": json.dumps(state["param_groups"])})


def load_optimizer(optimizer: torch.optim.Optimizer, path: Path) -> None:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:
        groups = json.loads((fh.metadata() or {})["param_groups"])
    slots: dict[int, dict[str, torch.Tensor]] = {}
    for name, tensor in load_file(str(path)).items():
        index, key = name.split(".", 1)
        slots.setdefault(int(index), {})[key] = tensor
    optimizer.load_state_dict({"state": slots, "param_groups": groups})


def save_checkpoint(
    root: Path, model: Any, optimizer: torch.optim.Optimizer, state: TrainerState
) -> Path:
    """Write checkpoint `root/step-N` atomically and drop older ones."""
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{state.step:06d}"
    tmp = root / f".tmp-{final.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    # adapter weights only, as safetensors; save_embedding_layers=False: no hub look-up
    model.save_pretrained(str(tmp), save_embedding_layers=False)
    save_optimizer(optimizer, tmp / OPTIMIZER)
    (tmp / STATE).write_text(json.dumps(asdict(state), indent=1), encoding="utf-8")
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    for old in root.glob("step-*"):
        if old != final:
            shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(root: Path) -> Path | None:
    steps = sorted(p for p in root.glob("step-*") if (p / STATE).is_file())
    return steps[-1] if steps else None


def read_state(folder: Path) -> TrainerState:
    try:
        data = json.loads((folder / STATE).read_text("utf-8"))
        return TrainerState(**data)
    except (OSError, ValueError, TypeError) as exc:
        raise ModelError(f"unreadable checkpoint {folder}: {exc}") from None
