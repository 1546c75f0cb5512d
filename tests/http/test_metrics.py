"""`GET /metrics` in Prometheus text: queue length, jobs by kind and state, tokens/s."""

from __future__ import annotations

import httpx

from llmsh.kernel import JobSpec
from tests.http.conftest import LiveDaemon
from tests.http.fakes import FAKE_CHAT, HOLD


def samples(text: str) -> dict[str, float]:
    rows = [line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#")]
    return {name: float(value) for name, value in rows}


def test_metrics_show_running_and_queued_jobs(one_slot: LiveDaemon) -> None:
    held = {"messages": [{"role": "user", "content": HOLD}], "model": FAKE_CHAT}
    running = one_slot.call(one_slot.kernel.submit(JobSpec("chat", args=held)))
    waiting = one_slot.call(one_slot.kernel.submit(JobSpec("chat", args=held)))
    while one_slot.call(one_slot.kernel.get(running.pid)).progress.rate is None:
        pass  # until the job has reported its first token
    resp = httpx.get(one_slot.url + "/metrics")
    assert resp.headers["content-type"].startswith("text/plain; version=0.0.4")
    got = samples(resp.text)
    assert got["llmsh_queue_length"] == 1
    assert got['llmsh_jobs{kind="chat",state="running"}'] == 1
    assert got['llmsh_jobs{kind="chat",state="queued"}'] == 1
    assert got["llmsh_generation_tokens_per_second"] == 100.0  # the fake's reported rate
    assert "# TYPE llmsh_device_memory_used_bytes gauge" in resp.text
    for proc in (waiting, running):
        one_slot.call(one_slot.kernel.kill(proc.pid))
