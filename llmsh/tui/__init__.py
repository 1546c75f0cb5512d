"""`top`: a Textual monitor of devices, memory and model jobs.

Importing this package loads no Textual; the entry points import it when called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llmsh.kernel.api import KernelAPI


async def run_top(kernel: KernelAPI, *, interval: float = 1.0) -> None:
    """Run the monitor full screen over `kernel` until `q`; the kernel keeps running."""
    from .cli import run_top as run

    await run(kernel, interval=interval)


def main(argv: list[str]) -> int:
    """`llmsh top [--socket PATH] [-d SECONDS]`: attach to the daemon, or show devices."""
    from .cli import main as run

    return run(argv)


__all__ = ["main", "run_top"]
