"""curl -N, a client nobody here wrote, reads the SSE stream as it comes: a waiting
request gets its queue position (header and `: queued N` comments), then its tokens."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from llmsh.kernel import JobSpec, JobState
from tests.http.conftest import LiveDaemon
from tests.http.fakes import FAKE_CHAT, HOLD

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


def curl(url: str, body: dict[str, object], *extra: str) -> subprocess.Popen[str]:
    cmd = ["curl", "-sS", "-N", "-i", url, "-H", "Content-Type: application/json"]
    cmd += ["-d", json.dumps(body), *extra]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)


def test_curl_streams_queue_position_then_tokens(one_slot: LiveDaemon) -> None:
    held = {"messages": [{"role": "user", "content": HOLD}], "model": FAKE_CHAT}
    blocker = one_slot.call(one_slot.kernel.submit(JobSpec("chat", args=held)))
    body = {"model": FAKE_CHAT, "prompt": "go", "max_tokens": 3, "stream": True}
    proc = curl(one_slot.url + "/v1/completions", body)
    assert proc.stdout is not None
    head = []
    for line in proc.stdout:
        head.append(line.strip())
        if line.startswith(": queued"):
            break
    assert "x-llmsh-queue-position: 1" in head
    assert "content-type: text/event-stream; charset=utf-8" in head
    assert head[-1] == ": queued 1"
    one_slot.call(one_slot.kernel.kill(blocker.pid))  # the slot frees: the request runs
    rest, _ = proc.communicate(timeout=60)
    events = [line[6:] for line in rest.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    texts = [json.loads(e)["choices"][0]["text"] for e in events[:-1]]
    assert "".join(texts) == "tok0 tok1 tok2"
    assert proc.returncode == 0


def test_curl_sees_an_error_event_when_the_job_is_killed(served: LiveDaemon) -> None:
    body = {"model": FAKE_CHAT, "messages": [{"role": "user", "content": HOLD}], "stream": True}
    proc = curl(served.url + "/v1/chat/completions", body)
    assert proc.stdout is not None
    pid = None
    for line in proc.stdout:
        if line.lower().startswith("x-llmsh-pid:"):
            pid = int(line.split(":")[1])
        if "tok0" in line:
            break
    assert pid is not None
    served.call(served.kernel.kill(pid))
    rest, _ = proc.communicate(timeout=60)
    last = [line for line in rest.splitlines() if line.startswith("data: ")][-1]
    error = json.loads(last[6:])["error"]
    assert error["code"] == "job_killed" and f"job {pid} was killed" in error["message"]
    [final] = served.call(served.kernel.wait([pid], timeout=30))
    assert final.state is JobState.KILLED
