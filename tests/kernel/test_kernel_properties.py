"""Property test: any sequence of API calls keeps the process table consistent."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from llmsh.kernel import JobSpec, JobState, Kernel, KernelConfig, KernelError

from .conftest import Gates, GiB, caps, registry_with

DEVICES = st.sampled_from(["auto", "cpu", "cuda", "cuda:0", "cuda:1"])


class KernelMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.tmp = tempfile.TemporaryDirectory()
        self.gates = Gates()
        config = KernelConfig(
            state_dir=Path(self.tmp.name),
            nvml=None,
            capacities=caps(cpu_gib=8, gpus=(4,), cpu_slots=2, gpu_slots=2),
            max_queue=64,
        )
        self.kernel = Kernel(config, kinds=registry_with(self.gates))
        self.run(self.kernel.start())
        self.pids: list[int] = []
        self.finished: dict[int, JobState] = {}

    def run(self, coro):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(coro)

    def settle(self) -> None:
        for _ in range(5):
            self.run(asyncio.sleep(0))

    def teardown(self) -> None:
        self.run(self.kernel.close())
        self.loop.close()
        self.tmp.cleanup()

    @rule(mem=st.integers(0, 10), nice=st.integers(-20, 19), device=DEVICES)
    def submit(self, mem: int, nice: int, device: str) -> None:
        try:
            proc = self.run(
                self.kernel.submit(
                    JobSpec("gated", args={"mem": mem * GiB // 2}, priority=nice, device=device)
                )
            )
        except KernelError:
            return  # refused outright (no such device, queue full): nothing recorded
        self.pids.append(proc.pid)
        self.settle()

    def _act(self, verb: str, index: int, *args: object) -> None:
        pid = self.pids[index % len(self.pids)]
        try:
            self.run(getattr(self.kernel, verb)(pid, *args))
        except KernelError:
            pass  # e.g. pause of a finished job: refused, and nothing may change
        self.settle()

    @precondition(lambda self: self.pids)
    @rule(i=st.integers(0, 1000))
    def kill(self, i: int) -> None:
        self._act("kill", i)

    @precondition(lambda self: self.pids)
    @rule(i=st.integers(0, 1000))
    def pause(self, i: int) -> None:
        self._act("pause", i)

    @precondition(lambda self: self.pids)
    @rule(i=st.integers(0, 1000))
    def resume(self, i: int) -> None:
        self._act("resume", i)

    @precondition(lambda self: self.pids)
    @rule(i=st.integers(0, 1000), nice=st.integers(-20, 19))
    def renice(self, i: int, nice: int) -> None:
        self._act("renice", i, nice)

    @precondition(lambda self: self.pids)
    @rule(i=st.integers(0, 1000), status=st.sampled_from([0, 0, 1, "boom"]))
    def complete(self, i: int, status: int | str) -> None:
        pid = self.pids[i % len(self.pids)]
        self.gates.complete(pid, RuntimeError(status) if isinstance(status, str) else status)
        self.settle()

    @invariant()
    def finished_states_never_change(self) -> None:
        for pid in self.pids:
            state = self.kernel.table[pid].state
            if pid in self.finished:
                assert state is self.finished[pid]
            elif state.finished:
                self.finished[pid] = state

    @invariant()
    def reservations_within_capacity_and_match_holders(self) -> None:
        for dev in self.kernel.capacities():
            assert 0 <= dev.mem_reserved <= dev.mem_budget
            assert 0 <= dev.slots_used <= dev.slots
            holders = [
                p
                for p in self.kernel.table.values()
                if p.device == dev.id
                and p.state in (JobState.RUNNING, JobState.PAUSED, JobState.LOADING)
                and self.kernel._sched.holding(p.pid)
            ]
            assert sum(p.mem_estimate for p in holders) == dev.mem_reserved

    @invariant()
    def queued_jobs_are_exactly_the_waiting_ones(self) -> None:
        for pid in self.pids:
            proc = self.kernel.table[pid]
            assert (proc.state is JobState.QUEUED) == self.kernel._sched.is_waiting(pid)
            assert (pid in self.kernel._tasks) == (
                proc.state in (JobState.RUNNING, JobState.LOADING)
                or (proc.state is JobState.PAUSED and self.kernel._sched.holding(pid))
            )

    @invariant()
    def store_equals_the_table(self) -> None:
        self.run(self.kernel.flush())
        for pid in self.pids:
            assert self.kernel._store.load(pid) == self.kernel.table[pid]


KernelMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)
test_kernel_state_machine = KernelMachine.TestCase
