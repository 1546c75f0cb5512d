"""The worker's parts without a worker process: outbox, proxy, host, reasons, routing."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from llmsh.kernel import JobKilled, KernelConfig, KernelError
from llmsh.kernel.ending import DONE, STOPPED, Ending, EndKind
from llmsh.kernel.executor import Work
from llmsh.runtime import executor_kind, make_executor
from llmsh.workers.executor import ProcessExecutor
from llmsh.workers.host import WorkerHost, execute
from llmsh.workers.inline import InlineExecutor
from llmsh.workers.manager import WorkerManager
from llmsh.workers.messages import (
    Batch,
    Control,
    ControlJob,
    JobEnd,
    Resident,
    Shutdown,
    StartJob,
)
from llmsh.workers.outbox import Outbox
from llmsh.workers.process import exit_reason
from llmsh.workers.proxy import JobProxy
from llmsh.workers.routing import WorkerKey, log_path

TARGET = "tests.workers.jobs:probe"


def start(pid: int, priority: int = 0, **args: object) -> StartJob:
    return StartJob(pid, Work("probe", "tiny-llama", dict(args), TARGET), "cpu", priority)


class FakeChannel:
    """Collects what is sent; hands out queued messages to recv()."""

    def __init__(self, incoming: list[Any] | None = None) -> None:
        self.sent: list[Any] = []
        self.incoming = list(incoming or [])
        self.cond = threading.Condition()

    def send(self, message: Any) -> None:
        with self.cond:
            self.sent.append(message)
            self.cond.notify_all()

    def recv(self) -> Any:
        return self.incoming.pop(0)

    def ends(self) -> list[JobEnd]:
        return [m for b in self.sent if isinstance(b, Batch) for m in b.ordered
                if isinstance(m, JobEnd)]  # fmt: skip

    def text(self, pid: int) -> str:
        return "".join(t for b in self.sent for u in b.updates if u.pid == pid for t in u.text)

    def wait_text(self, pid: int, text: str) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: text in self.text(pid), 30)

    def wait_end(self, pid: int) -> JobEnd:
        with self.cond:
            assert self.cond.wait_for(lambda: any(e.pid == pid for e in self.ends()), 30)
        return next(e for e in self.ends() if e.pid == pid)


def test_outbox_coalesces_per_token_reports_and_keeps_what_has_history() -> None:
    channel = FakeChannel()
    outbox = Outbox(channel, start=False)  # type: ignore[arg-type]
    proxy = JobProxy(5, "cpu", 0, outbox)
    for i in range(1, 101):
        proxy.write(f"t{i} ")
        proxy.progress(i, 100, "tok")
    proxy.progress(1, 10, "step", loss=2.0)
    proxy.progress(2, 10, "step", loss=1.5)
    proxy.set_memory(123)
    proxy.annotate(a=1)
    proxy.annotate(b=2)
    outbox.ordered(JobEnd(5, DONE))
    outbox.flush()
    [batch] = channel.sent
    [update] = batch.updates
    assert "".join(update.text) == "".join(f"t{i} " for i in range(1, 101))
    calls = [(c.done, c.unit, c.extra) for c in update.progress]
    assert calls == [(100, "tok", {}), (1, "step", {"loss": 2.0}), (2, "step", {"loss": 1.5})]
    assert (update.memory, update.annotate) == (123, {"a": 1, "b": 2})
    assert batch.ordered == [JobEnd(5, DONE)]
    outbox.flush()
    assert len(channel.sent) == 1  # nothing new: nothing sent


def test_proxy_pause_blocks_check_until_resume_and_kill_wakes_it() -> None:
    proxy = JobProxy(1, "cpu", 0, Outbox(FakeChannel(), start=False))  # type: ignore[arg-type]
    proxy.check()
    proxy.pause()
    assert proxy.paused
    passed = threading.Event()
    outcome: list[str] = []

    def job() -> None:
        try:
            proxy.check()
            outcome.append("ran")
            passed.set()
            proxy.check()
        except JobKilled:
            outcome.append("killed")
            passed.set()

    thread = threading.Thread(target=job)
    thread.start()
    assert not passed.wait(0.3)  # still in check(): paused
    proxy.resume()
    assert passed.wait(10) and outcome == ["ran"]
    thread.join(10)
    proxy.pause()
    passed.clear()
    thread = threading.Thread(target=job)
    thread.start()
    proxy.kill()
    assert passed.wait(10) and outcome == ["ran", "killed"]
    thread.join(10)


def test_host_runs_jobs_in_threads_and_obeys_control_messages() -> None:
    channel = FakeChannel()
    host = WorkerHost(channel, Outbox(channel, interval=0.001))  # type: ignore[arg-type]
    host.handle(start(1, until=5))
    host.handle(start(2))
    host.handle(start(3, steps=2, status=4))
    channel.wait_text(1, "priority 0")  # it runs: now renice it
    host.handle(ControlJob(1, Control.RENICE, 5))
    assert channel.wait_end(1) == JobEnd(1, DONE)
    host.handle(ControlJob(2, Control.KILL))
    assert channel.wait_end(2) == JobEnd(2, STOPPED)
    assert channel.wait_end(3) == JobEnd(3, Ending(EndKind.FAILED, 4, "exit status 4"))
    host.handle(ControlJob(99, Control.KILL))  # a job that already ended: ignored
    assert channel.text(1) == "priority 0\npriority 5\n"
    resident = [m for b in channel.sent for m in b.ordered if isinstance(m, Resident)]
    assert all(m.rows == [] for m in resident)  # probes load no model


def test_host_serve_stops_its_jobs_on_shutdown() -> None:
    channel = FakeChannel()
    host = WorkerHost(channel, Outbox(channel, interval=0.001))  # type: ignore[arg-type]
    host.handle(start(1))
    channel.incoming = [Shutdown()]
    host.serve()
    assert channel.wait_end(1).ending is STOPPED


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        ("ValueError", "ValueError: first"),
        ("MemoryError", "out of memory: first"),
        ("SystemExit", "SystemExit: first"),
        ("KeyboardInterrupt", "KeyboardInterrupt: first"),
    ],
)
def test_execute_turns_every_way_out_into_a_job_end(exc: str, reason: str) -> None:
    proxy = JobProxy(1, "cpu", 0, Outbox(FakeChannel(), start=False))  # type: ignore[arg-type]
    msg = start(1, **{"raise": exc, "message": "first\nsecond"})
    assert execute(msg, proxy) == JobEnd(1, Ending(EndKind.FAILED, 1, reason))


def test_exit_reasons_name_the_signal() -> None:
    assert exit_reason(-11) == "model worker crashed (SIGSEGV); the job was lost"
    assert exit_reason(-6) == "model worker crashed (SIGABRT); the job was lost"
    assert exit_reason(3) == "model worker exited unexpectedly (status 3); the job was lost"


def test_a_runtime_s_workers_start_with_the_environment_it_was_built_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMSH_HOME", str(tmp_path / "a"))
    executor = ProcessExecutor.here()
    monkeypatch.setenv("LLMSH_HOME", str(tmp_path / "b"))  # later changes reach no worker
    assert executor.manager.env["LLMSH_HOME"] == str(tmp_path / "a")
    assert executor.manager.log_dir == tmp_path / "a" / "workers"
    key = WorkerKey("smollm2", "cuda:0")
    assert log_path(executor.manager.log_dir, key) == tmp_path / "a" / "workers/smollm2@cuda_0.log"


def fake_worker(model: str, idle_since: float = 0.0, nbytes: int = 0,
                pinned: bool = False, busy: bool = False) -> Any:  # fmt: skip
    done = SimpleNamespace(done=lambda: True)
    rows = [{"name": model, "nbytes": nbytes, "pinned": pinned}]
    key = WorkerKey(model, "cpu")
    return SimpleNamespace(key=key, alive=True, ready=done, busy=busy, pinned=pinned,
                           idle_since=idle_since, rows=rows)  # fmt: skip


def test_a_new_worker_that_does_not_fit_closes_idle_ones_least_recently_used_first() -> None:
    manager = WorkerManager(Path("/nonexistent"), free_bytes=lambda device: 100)
    workers = [
        fake_worker("old", idle_since=1.0, nbytes=300),
        fake_worker("newer", idle_since=2.0, nbytes=300),
        fake_worker("pinned", idle_since=0.5, nbytes=900, pinned=True),
        fake_worker("busy", idle_since=0.1, nbytes=900, busy=True),
    ]
    manager._workers = {w.key: w for w in workers}
    victims = manager._victims(WorkerKey("new", "cpu"), need=350)
    assert [w.key.model for w in victims] == ["old"]  # 100 + 300 free >= 350
    assert sorted(k.model for k in manager._workers) == ["busy", "newer", "pinned"]
    assert manager._victims(WorkerKey("new", "cpu"), need=50) == []  # it fits


def test_executor_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("LLMSH_MODEL_WORKERS", raising=False)
    monkeypatch.delenv("LLMSH_EXECUTOR", raising=False)
    monkeypatch.setenv("LLMSH_HOME", str(tmp_path))
    assert executor_kind(KernelConfig()) == "process"
    (tmp_path / "config.toml").write_text('[executor]\nkind = "inline"\n')
    assert executor_kind(KernelConfig()) == "inline"
    monkeypatch.setenv("LLMSH_MODEL_WORKERS", "process")  # the older variable, still read
    assert executor_kind(KernelConfig()) == "process"
    monkeypatch.setenv("LLMSH_MODEL_WORKERS", "thread")  # its old name for inline
    assert executor_kind(KernelConfig()) == "inline"
    monkeypatch.setenv("LLMSH_EXECUTOR", "process")
    assert executor_kind(KernelConfig()) == "process"
    assert executor_kind(KernelConfig(executor="inline")) == "inline"
    assert isinstance(make_executor("inline"), InlineExecutor)
    with pytest.raises(KernelError, match="unknown executor 'fork'"):
        make_executor("fork")
