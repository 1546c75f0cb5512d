"""Graceful stop: running jobs get a timeout to finish, the rest are interrupted."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from llmsh.daemon import Daemon, connect
from llmsh.kernel import JobState, KernelError

from .conftest import make_kernel
from .test_clients import reach, sleep


async def test_stop_waits_for_running_jobs_then_interrupts(short_dir: Path) -> None:
    state = short_dir / "state"
    served = await Daemon(make_kernel(state, slots=2), short_dir / "k.sock").start()
    shell = await connect(served.socket_path)
    other = await connect(served.socket_path)
    short = await shell.submit(sleep(0.3))
    long = await shell.submit(sleep(30))
    queued = await shell.submit(sleep(1))
    await reach(shell, long.pid, JobState.RUNNING)

    loop = asyncio.get_running_loop()
    began = loop.time()
    await shell.stop(timeout=1.0, wait=False)
    with pytest.raises(KernelError, match="the kernel daemon is stopping"):
        await other.submit(sleep(1))
    assert (await other.status())["stopping"] is True
    assert await shell.channel.wait_closed(10)
    await served.wait_stopped()
    assert 0.9 < loop.time() - began < 5
    assert not served.socket_path.exists()

    again = await Daemon(make_kernel(state), served.socket_path).start()  # the lock is free
    kernel = await connect(again.socket_path)
    assert (await kernel.get(short.pid)).state == JobState.DONE
    for pid in (long.pid, queued.pid):
        assert (await kernel.get(pid)).state == JobState.INTERRUPTED
    await kernel.close()
    await other.close()
    await again.stop(0)
