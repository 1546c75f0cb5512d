"""Entry points: `top` inside the shell, and `llmsh top` / `python -m llmsh.tui` outside it."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from llmsh.errors import one_line

from .app import TopApp
from .source import DetachedSource, KernelSource, Source

if TYPE_CHECKING:
    from llmsh.kernel.api import KernelAPI


async def run_top(kernel: KernelAPI, *, interval: float = 1.0) -> None:
    """Full-screen monitor over a running kernel; returns when the user presses q.

    The kernel and its jobs are left as they were: the monitor only reads and acts
    through the kernel's public API.
    """
    await TopApp(KernelSource(kernel), interval).run_async()


async def connect_daemon(path: str | None) -> tuple[KernelAPI | None, str]:
    """The daemon client, or None and why there is none (the header shows it)."""
    from llmsh.daemon.channel import DaemonUnavailable
    from llmsh.daemon.client import connect

    try:
        return await connect(path), ""
    except DaemonUnavailable as exc:
        return None, one_line(exc)


async def _demo(jobs: int, state_dir: Path, gpus: bool, interval: float) -> None:
    """An embedded kernel running `jobs` sleep jobs (to try top, and for its tests)."""
    from llmsh.kernel import JobSpec, Kernel, KernelConfig

    config = KernelConfig(
        state_dir=state_dir, nvml="auto" if gpus else None, cpu_slots=max(2, jobs // 2)
    )
    async with Kernel(config) as kernel:
        for i in range(jobs):
            seconds = 60 * (i + 1)
            await kernel.submit(
                JobSpec("sleep", ("sleep", str(seconds)), {"seconds": seconds}, session="demo")
            )
        await run_top(kernel, interval=interval)


async def _attach(socket: str | None, interval: float) -> None:
    client, why = await connect_daemon(socket)
    source: Source
    if client is None:
        source = DetachedSource(why)
    else:
        source = KernelSource(client, label=f"daemon {socket or 'default socket'}")
    try:
        await TopApp(source, interval).run_async()
    finally:
        if client is not None:
            await client.close()


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="llmsh top", description="Monitor devices and model jobs of a running llmsh kernel."
    )
    parser.add_argument("--socket", metavar="PATH", help="the kernel daemon's socket")
    parser.add_argument(
        "-d",
        "--interval",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="refresh interval (default 1)",
    )
    parser.add_argument(
        "--demo",
        type=int,
        metavar="N",
        help="run an embedded kernel with N sleep jobs instead of attaching",
    )
    parser.add_argument(
        "--state-dir",
        metavar="DIR",
        help="job store of the --demo kernel (default: a temporary directory)",
    )
    parser.add_argument("--no-gpu", action="store_true", help="--demo without reading GPUs")
    args = parser.parse_args(argv)
    if args.interval <= 0:
        parser.error("the interval must be positive")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        if args.demo is not None:
            with tempfile.TemporaryDirectory(prefix="llmsh-top-") as tmp:
                state = Path(args.state_dir) if args.state_dir else Path(tmp)
                asyncio.run(_demo(args.demo, state, not args.no_gpu, args.interval))
        else:
            asyncio.run(_attach(args.socket, args.interval))
    except KeyboardInterrupt:
        return 130
    return 0
