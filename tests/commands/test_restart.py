"""restart and resume of interrupted jobs, and the link ps shows."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from llmsh.kernel import JobKind, JobSpec, JobState, Kernel, KernelConfig
from llmsh.kernel.context import JobContext
from tests.commands.test_commands import kinds
from tests.shell.test_interpreter import make_shell, sh

pytestmark = pytest.mark.timeout(60)
STARTED: list[int | None] = []


async def fake_finetune(ctx: JobContext) -> int:
    STARTED.append(ctx.spec.parent)  # a restarted fine-tune learns what it continues
    await ctx.checkpoint()
    # It runs until its kernel stops it: a submit replies once the job is committed,
    # by when a job that ends at its first step is over.
    await asyncio.Event().wait()
    return 0


def config(tmp_path: Path) -> KernelConfig:
    return KernelConfig(state_dir=tmp_path, nvml=None)


async def interrupted(tmp_path: Path) -> tuple[int, int]:
    """A sleep and a fine-tune left interrupted by a kernel that stopped."""
    k = Kernel(config(tmp_path), kinds=kinds(JobKind("finetune", fake_finetune)))
    await k.start()
    sleeper = await k.submit(JobSpec("sleep", ("sleep", "60"), {"seconds": 60}))
    tune = await k.submit(
        JobSpec("finetune", ("finetune", "smollm2"), {"model": "smollm2"}, device="cpu")
    )
    await k.close()
    return sleeper.pid, tune.pid


async def test_restart_resume_and_the_ppid_column(tmp_path: Path) -> None:
    sleeper, tune = await interrupted(tmp_path)
    STARTED.clear()
    kernel = Kernel(config(tmp_path), kinds=kinds(JobKind("finetune", fake_finetune)))
    await kernel.start()
    try:
        shell = make_shell(kernel)
        r = await sh(shell, f"resume {sleeper}")
        assert r.status == 1 and f"'restart {sleeper}' runs it again" in r.err
        r = await sh(shell, f"resume {tune}")
        assert r.status == 0 and f"job {tune} continues as" in r.out
        r = await sh(shell, f"restart {sleeper}")
        assert r.status == 0 and f"job {sleeper} runs again as" in r.out
        new_sleeper = int(r.out.split()[-1])
        table = (await sh(shell, "ps --all")).out.splitlines()
        assert table[0].split()[:2] == ["PID", "PPID"]
        row = next(line.split() for line in table if line.split()[0] == str(new_sleeper))
        assert row[1] == str(sleeper) and row[2] == "running"
        assert STARTED == [tune]
        r = await sh(shell, f"restart {new_sleeper}")
        assert r.status == 1 and "has not finished" in r.err
        await kernel.kill(new_sleeper)
        assert (await kernel.get(sleeper)).state is JobState.INTERRUPTED
    finally:
        await kernel.close()


async def slow_finetune(ctx: JobContext) -> int:
    await asyncio.sleep(60)  # still training when the second resume comes
    return 0


async def test_second_resume_is_refused_naming_the_job(tmp_path: Path) -> None:
    _, tune = await interrupted(tmp_path)
    kernel = Kernel(config(tmp_path), kinds=kinds(JobKind("finetune", slow_finetune)))
    await kernel.start()
    try:
        shell = make_shell(kernel)
        r = await sh(shell, f"resume {tune}")
        assert r.status == 0, r.err
        first = int(r.out.split()[-1])
        for verb in ("resume", "restart"):
            r = await sh(shell, f"{verb} {tune}")
            assert r.status == 1
            assert f"job {tune} is already continued by job {first} (running)" in r.err
            assert len(r.err.strip().splitlines()) == 1
        children = [p for p in await kernel.list(include_finished=True) if p.parent == tune]
        assert [p.pid for p in children] == [first]
        await kernel.kill(first)  # a continuation that ended no longer blocks another
        r = await sh(shell, f"resume {tune}")
        assert r.status == 0 and f"job {tune} continues as" in r.out
        await kernel.kill(int(r.out.split()[-1]))
    finally:
        await kernel.close()
