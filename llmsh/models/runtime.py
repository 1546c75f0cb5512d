"""Small torch helpers shared by the job functions: devices, dtypes, OOM handling.

Imports torch, so only modules that run models import this one.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from llmsh.kernel.control import JobControl, JobFailed
from llmsh.models.errors import ModelError

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
MiB = 1024 * 1024


def resolve_device(device: str | None) -> str:
    """'auto' -> first GPU if any, else cpu; 'cuda' -> 'cuda:0'; checks the GPU exists."""
    device = (device or "auto").strip()
    if device == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        return device
    if device == "cuda":
        device = "cuda:0"
    if device.startswith("cuda:") and device[5:].isdigit():
        if not torch.cuda.is_available() or int(device[5:]) >= torch.cuda.device_count():
            raise ModelError(f"no such device {device}: {torch.cuda.device_count()} GPU(s) visible")
        return device
    raise ModelError(f"bad device {device!r}: use auto, cpu, cuda or cuda:N")


def job_device(args: dict[str, Any], ctl: JobControl) -> str:
    """The kernel's placement (ctl.device) wins; the job's own --device is the fallback."""
    placed = getattr(ctl, "device", "") or ""
    return resolve_device(placed if placed not in ("", "auto") else args.get("device"))


def torch_dtype(name: str | None) -> torch.dtype:
    key = name or "float32"
    if key not in DTYPES:
        raise ModelError(f"bad dtype {key!r}: use {', '.join(DTYPES)}")
    return DTYPES[key]


def free_cuda(device: str) -> None:
    gc.collect()
    if device.startswith("cuda") and torch.cuda.is_available():
        torch.cuda.empty_cache()


@contextmanager
def oom_guard(device: str) -> Iterator[None]:
    """Turn a GPU out-of-memory error into a one-line JobFailed, freeing the cache."""
    try:
        yield
    except torch.cuda.OutOfMemoryError:
        free_cuda(device)
        detail = ""
        if device.startswith("cuda") and torch.cuda.is_available():
            free, total = torch.cuda.mem_get_info(torch.device(device))
            used = torch.cuda.memory_allocated(torch.device(device))
            detail = (
                f": {used // MiB} MiB held by torch, {free // MiB} MiB free of {total // MiB} MiB"
            )
        raise JobFailed(f"out of GPU memory on {device}{detail}") from None


def seeded_generator(seed: int | None, device: str) -> torch.Generator | None:
    if seed is None:
        return None
    gen = torch.Generator(device="cpu" if device == "cpu" else device)
    gen.manual_seed(int(seed))
    return gen
