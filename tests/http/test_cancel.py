"""Cancellation both ways: a client's hang-up kills its job; a kill ends the client's stream."""

from __future__ import annotations

import asyncio

import httpx
import openai
import pytest

from llmsh.daemon import connect
from llmsh.kernel import JobState, Process
from tests.http.conftest import LiveDaemon
from tests.http.fakes import FAKE_CHAT, HOLD

HELD = {"model": FAKE_CHAT, "messages": [{"role": "user", "content": HOLD}]}


def ended(served: LiveDaemon, pid: int) -> Process:
    """The job's final record (waiting for it to end)."""
    [proc] = served.call(served.kernel.wait([pid], timeout=30))
    return proc


def test_hang_up_mid_stream_kills_the_job(served: LiveDaemon) -> None:
    with httpx.Client(base_url=served.url) as http:
        with http.stream("POST", "/v1/chat/completions", json={**HELD, "stream": True}) as resp:
            assert resp.status_code == 200
            pid = int(resp.headers["x-llmsh-pid"])
            lines = resp.iter_lines()
            assert next(line for line in lines if "tok0" in line)
            assert not served.call(served.kernel.get(pid)).finished  # still generating
        # leaving the block closes the connection mid-stream
    assert ended(served, pid).state is JobState.KILLED


def test_hang_up_while_waiting_for_a_whole_reply_kills_the_job(served: LiveDaemon) -> None:
    with httpx.Client(base_url=served.url, timeout=0.5) as http:
        with pytest.raises(httpx.ReadTimeout):
            http.post("/v1/chat/completions", json=HELD)  # never ends: the client gives up
    [proc] = [p for p in served.call(served.kernel.list(include_finished=True)) if p.kind == "chat"]
    assert ended(served, proc.pid).state is JobState.KILLED


def test_kill_from_the_shell_ends_the_stream_with_an_error(served: LiveDaemon) -> None:
    api = openai.OpenAI(base_url=served.url + "/v1", api_key="unused", max_retries=0)
    stream = api.chat.completions.create(**HELD, stream=True)  # type: ignore[call-overload]
    chunks = iter(stream)
    first = next(chunks)
    pid = int(first.id.split("-")[1])

    async def kill_as_the_shell_does() -> None:  # through the daemon's socket
        shell = await connect(served.daemon.socket_path, session="shell")
        try:
            await shell.kill(pid)
        finally:
            await shell.close()

    served.call(kill_as_the_shell_does())
    with pytest.raises(openai.APIError, match=f"job {pid} was killed"):
        for _ in chunks:
            pass
    assert ended(served, pid).state is JobState.KILLED


def test_killed_job_without_streaming_is_an_error_not_retried(served: LiveDaemon) -> None:
    async def main() -> int:
        async with httpx.AsyncClient(base_url=served.url) as http:
            request = asyncio.ensure_future(http.post("/v1/chat/completions", json=HELD))
            while not (procs := await asyncio.wrap_future(_chats(served))):
                await asyncio.sleep(0.02)
            served.call(served.kernel.kill(procs[0].pid))
            resp = await request
            assert resp.headers["x-should-retry"] == "false"
            assert "was killed" in resp.json()["error"]["message"]
            return resp.status_code

    assert asyncio.run(main()) == 503


def _chats(served: LiveDaemon) -> asyncio.Future[list[Process]]:
    async def running() -> list[Process]:
        return [p for p in await served.kernel.list() if p.kind == "chat"]

    return asyncio.run_coroutine_threadsafe(running(), served.loop)  # type: ignore[return-value]
