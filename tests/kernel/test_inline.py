"""Job kinds whose runner is a plain function run inline, without a task."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmsh.kernel import JobFailed, JobKind, JobSpec, JobState, Kernel, KernelConfig
from llmsh.kernel.context import JobContext

from .conftest import Gates, caps, registry_with


def _boom(ctx: JobContext) -> int:
    raise JobFailed("no luck")


def _not_a_status(ctx: JobContext) -> int:
    return "yes"  # type: ignore[return-value]


def _exit_3(ctx: JobContext) -> int:
    return 3


def kernel_for(tmp_path: Path, gates: Gates, slots: int = 2) -> Kernel:
    kinds = registry_with(gates)
    for name, run in (("boom", _boom), ("odd", _not_a_status), ("three", _exit_3)):
        kinds.register(JobKind(name, run))
    config = KernelConfig(
        state_dir=tmp_path, nvml=None, capacities=caps(cpu_slots=slots), max_queue=5000
    )
    return Kernel(config, kinds=kinds)


async def test_an_inline_job_is_over_when_submit_returns(tmp_path: Path, gates: Gates) -> None:
    async with kernel_for(tmp_path, gates) as kernel:
        proc = await kernel.submit(JobSpec("noop"))
        assert proc.state is JobState.DONE and proc.exit_status == 0
        assert not kernel._tasks and not kernel._sched.holding(proc.pid)
        await kernel.flush()
        assert [t[:2] for t in kernel._store.transitions(proc.pid)] == [
            (None, "queued"),
            ("queued", "running"),
            ("running", "done"),
        ]


@pytest.mark.parametrize(
    ("kind", "status", "reason"),
    [
        ("boom", 1, "no luck"),
        ("odd", 1, "job returned 'yes', not a status"),
        ("three", 3, "exit status 3"),
    ],
)
async def test_inline_failures_are_recorded_like_any_job(
    tmp_path: Path, gates: Gates, kind: str, status: int, reason: str
) -> None:
    async with kernel_for(tmp_path, gates) as kernel:
        proc = await kernel.submit(JobSpec(kind))
        assert (proc.state, proc.exit_status, proc.reason) == (JobState.FAILED, status, reason)


async def test_a_long_queue_of_inline_jobs_drains_without_recursion(
    tmp_path: Path, gates: Gates
) -> None:
    async with kernel_for(tmp_path, gates, slots=1) as kernel:
        blocker = await kernel.submit(JobSpec("gated"))
        queued = [await kernel.submit(JobSpec("noop")) for _ in range(3000)]
        assert {p.state for p in queued} == {JobState.QUEUED}
        gates.complete(blocker.pid)  # its end starts the 3000 inline jobs, one after another
        finals = await kernel.wait([blocker.pid] + [p.pid for p in queued], timeout=30)
        assert {p.state for p in finals} == {JobState.DONE}
        assert [p.pid for p in finals[1:]] == sorted(p.pid for p in finals[1:])
