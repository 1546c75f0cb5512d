"""The worker's parts without a worker process: outbox, proxy, host, reasons, routing."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from llmsh.kernel import JobKilled, KernelConfig
from llmsh.workers.host import WorkerHost, execute
from llmsh.workers.manager import WorkerManager
from llmsh.workers.messages import (
    Batch,
    Control,
    ControlJob,
    JobEnd,
    Outcome,
    Resident,
    Shutdown,
    StartJob,
)
from llmsh.workers.outbox import Outbox
from llmsh.workers.process import exit_reason
from llmsh.workers.proxy import JobProxy
from llmsh.workers.routing import WorkerKey, environment_fingerprint


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
    outbox.ordered(JobEnd(5, Outcome.DONE))
    outbox.flush()
    [batch] = channel.sent
    [update] = batch.updates
    assert "".join(update.text) == "".join(f"t{i} " for i in range(1, 101))
    calls = [(c.done, c.unit, c.extra) for c in update.progress]
    assert calls == [(100, "tok", {}), (1, "step", {"loss": 2.0}), (2, "step", {"loss": 1.5})]
    assert (update.memory, update.annotate) == (123, {"a": 1, "b": 2})
    assert batch.ordered == [JobEnd(5, Outcome.DONE)]
    outbox.flush()
    assert len(channel.sent) == 1  # nothing new: nothing sent


def test_proxy_pause_blocks_check_until_resume_and_kill_wakes_it() -> None:
    proxy = JobProxy(1, "cpu", 0, Outbox(FakeChannel(), start=False))  # type: ignore[arg-type]
    proxy.check()
    proxy.pause()
    assert proxy.paused_event.is_set()
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
    target = "tests.workers.jobs:probe"
    host.handle(StartJob(1, "probe", {"until": 5}, "cpu", 0, target=target))
    host.handle(StartJob(2, "probe", {}, "cpu", 0, target=target))
    host.handle(StartJob(3, "probe", {"steps": 2, "status": 4}, "cpu", 0, target=target))
    channel.wait_text(1, "priority 0")  # it runs: now renice it
    host.handle(ControlJob(1, Control.PRIORITY, 5))
    assert channel.wait_end(1) == JobEnd(1, Outcome.DONE, 0)
    host.handle(ControlJob(2, Control.KILL))
    assert channel.wait_end(2) == JobEnd(2, Outcome.KILLED)
    assert channel.wait_end(3) == JobEnd(3, Outcome.DONE, 4)
    host.handle(ControlJob(99, Control.KILL))  # a job that already ended: ignored
    assert channel.text(1) == "priority 0\npriority 5\n"
    resident = [m for b in channel.sent for m in b.ordered if isinstance(m, Resident)]
    assert all(m.rows == [] for m in resident)  # probes load no model


def test_host_serve_stops_its_jobs_on_shutdown() -> None:
    channel = FakeChannel()
    start = StartJob(1, "probe", {}, "cpu", 0, target="tests.workers.jobs:probe")
    host = WorkerHost(channel, Outbox(channel, interval=0.001))  # type: ignore[arg-type]
    host.handle(start)
    channel.incoming = [Shutdown()]
    host.serve()
    assert channel.wait_end(1).outcome is Outcome.KILLED


@pytest.mark.parametrize(
    ("exc", "outcome", "reason"),
    [
        ("ValueError", Outcome.FAILED, "ValueError: first"),
        ("MemoryError", Outcome.OUT_OF_MEMORY, "first\nsecond"),
        ("SystemExit", Outcome.FAILED, "SystemExit: first"),
    ],
)
def test_execute_turns_every_way_out_into_a_job_end(
    exc: str, outcome: Outcome, reason: str
) -> None:
    proxy = JobProxy(1, "cpu", 0, Outbox(FakeChannel(), start=False))  # type: ignore[arg-type]
    args = {"raise": exc, "message": "first\nsecond"}
    msg = StartJob(1, "probe", args, "cpu", 0, target="tests.workers.jobs:probe")
    assert execute(msg, proxy) == JobEnd(1, outcome, 1, reason)


def test_exit_reasons_name_the_signal() -> None:
    assert exit_reason(-11) == "model worker crashed (SIGSEGV); the job was lost"
    assert exit_reason(-6) == "model worker crashed (SIGABRT); the job was lost"
    assert exit_reason(3) == "model worker exited unexpectedly (status 3); the job was lost"


def test_the_environment_a_worker_reads_is_part_of_its_key() -> None:
    base = {"LLMSH_HOME": "/a", "PATH": "/bin"}
    assert environment_fingerprint(base) == environment_fingerprint({**base, "PATH": "/x"})
    assert environment_fingerprint(base) == environment_fingerprint(
        {**base, "LLMSH_KERNEL": "/run/k.sock"}
    )
    assert environment_fingerprint(base) != environment_fingerprint({**base, "LLMSH_HOME": "/b"})
    assert environment_fingerprint(base) != environment_fingerprint(
        {**base, "LLMSH_BACKEND": "torch"}
    )


def fake_worker(model: str, env: str = "e", idle_since: float = 0.0, nbytes: int = 0,
                pinned: bool = False, busy: bool = False) -> Any:  # fmt: skip
    done = SimpleNamespace(done=lambda: True)
    rows = [{"name": model, "nbytes": nbytes, "pinned": pinned}]
    key = WorkerKey(model, "cpu", env)
    return SimpleNamespace(key=key, alive=True, ready=done, busy=busy, pinned=pinned,
                           idle_since=idle_since, rows=rows)  # fmt: skip


def test_a_new_worker_that_does_not_fit_closes_idle_ones_least_recently_used_first() -> None:
    manager = WorkerManager(free_bytes=lambda device: 100)
    workers = [
        fake_worker("old", idle_since=1.0, nbytes=300),
        fake_worker("newer", idle_since=2.0, nbytes=300),
        fake_worker("pinned", idle_since=0.5, nbytes=900, pinned=True),
        fake_worker("busy", idle_since=0.1, nbytes=900, busy=True),
        fake_worker("elsewhere", env="other-home"),
    ]
    manager._workers = {w.key: w for w in workers}
    victims = manager._victims(WorkerKey("new", "cpu", "e"), need=350)
    assert [w.key.model for w in victims] == ["elsewhere", "old"]  # 100 + 300 free >= 350
    assert sorted(k.model for k in manager._workers) == ["busy", "newer", "pinned"]
    assert manager._victims(WorkerKey("new", "cpu", "e"), need=50) == []  # it fits


def test_model_workers_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("LLMSH_MODEL_WORKERS")
    assert KernelConfig().model_workers == "process"
    monkeypatch.setenv("LLMSH_MODEL_WORKERS", "thread")
    assert KernelConfig().model_workers == "thread"
    assert KernelConfig(model_workers="process").model_workers == "process"
    with pytest.raises(ValueError, match="model_workers"):
        KernelConfig(model_workers="fork")
