"""Bad requests get OpenAI-style errors: 401, 413, 400, 404, 429; CORS stays off."""

from __future__ import annotations

import httpx
import openai
import pytest

from llmsh.kernel import JobSpec
from tests.http.conftest import TOKEN, LiveDaemon
from tests.http.fakes import FAKE_CHAT, FAKE_EMBED, HOLD

CHAT = {"model": FAKE_CHAT, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}


def error_of(resp: httpx.Response) -> dict[str, object]:
    body = resp.json()
    assert set(body["error"]) == {"message", "type", "param", "code"}
    return dict(body["error"])


@pytest.mark.parametrize("auth", [None, "Bearer wrong-token", f"Basic {TOKEN}", "Bearer"])
def test_wrong_or_missing_token_is_401(guarded: LiveDaemon, auth: str | None) -> None:
    headers = {"Authorization": auth} if auth else {}
    resp = httpx.post(guarded.url + "/v1/chat/completions", json=CHAT, headers=headers)
    assert resp.status_code == 401
    assert error_of(resp)["code"] == "invalid_api_key"
    assert guarded.call(guarded.kernel.list(include_finished=True)) == []  # no job ran


def test_right_token_passes_and_openai_sends_it(guarded: LiveDaemon) -> None:
    api = openai.OpenAI(base_url=guarded.url + "/v1", api_key=TOKEN, max_retries=0)
    assert api.chat.completions.create(**CHAT).choices[0].message.content == "tok0"  # type: ignore[call-overload]
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=guarded.url + "/v1", api_key="nope", max_retries=0).models.list()
    assert httpx.get(guarded.url + "/health").status_code == 200  # probes need no token


def test_oversized_body_is_413(guarded: LiveDaemon) -> None:
    big = {**CHAT, "messages": [{"role": "user", "content": "x" * 4096}]}
    auth = {"Authorization": f"Bearer {TOKEN}"}
    resp = httpx.post(guarded.url + "/v1/chat/completions", json=big, headers=auth)
    assert resp.status_code == 413
    assert "larger than 2048 bytes" in str(error_of(resp)["message"])

    def chunks():  # no Content-Length: the limit holds for a chunked body too
        yield b'{"model": "' + b"x" * 4096 + b'"}'

    resp = httpx.post(guarded.url + "/v1/chat/completions", content=chunks(), headers=auth)
    assert resp.status_code == 413


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"messages": [{"role": "user", "content": "x"}]}', "'model' is required"),
        (b'{"model": "fake-chat", "messages": []}', "'messages' must be a non-empty list"),
        (b'{"model": "fake-chat", "messages": [{"role": "tool", "content": "x"}]}', "role"),
        (b'{"model": "fake-chat", "messages": [{"content": "x"}], "n": 2}', "n=1"),
        (
            b'{"model": "fake-chat", "messages": [{"content": "x"}], "temperature": 9}',
            "temperature",
        ),
        (b'{"model": "fake-chat", "messages": [{"content": "x"}], "max_tokens": 0}', "max_tokens"),
        (b'{"model": "fake-chat", "messages": [{"content": "x"}], "priority": 99}', "priority"),
        (b'{"model": "fake-embed", "messages": [{"content": "x"}]}', "embed model"),
    ],
)
def test_invalid_request_is_400(served: LiveDaemon, body: bytes, says: str) -> None:
    resp = httpx.post(served.url + "/v1/chat/completions", content=body,
                      headers={"Content-Type": "application/json"})  # fmt: skip
    assert resp.status_code == 400, resp.text
    error = error_of(resp)
    assert error["type"] == "invalid_request_error" and says in str(error["message"])


def test_unknown_model_is_404_naming_the_stored_ones(served: LiveDaemon) -> None:
    api = openai.OpenAI(base_url=served.url + "/v1", api_key="x", max_retries=0)
    for name in ("gpt-4o", "../../etc/passwd"):  # a name never becomes a path
        with pytest.raises(openai.NotFoundError) as caught:
            api.chat.completions.create(model=name, messages=[{"role": "user", "content": "x"}])
        assert f"stored models: {FAKE_CHAT}, {FAKE_EMBED}" in str(caught.value)
    with pytest.raises(openai.NotFoundError):
        api.embeddings.create(model="nomic", input="x")
    resp = httpx.get(served.url + "/v1/nothing-here")
    assert resp.status_code == 404 and error_of(resp)["message"] == "Not Found: /v1/nothing-here"


def test_full_queue_is_429_with_retry_after(one_slot: LiveDaemon) -> None:
    held = {"messages": [{"role": "user", "content": HOLD}], "model": FAKE_CHAT}
    running = one_slot.call(one_slot.kernel.submit(JobSpec("chat", args=held)))
    waiting = one_slot.call(one_slot.kernel.submit(JobSpec("chat", args=held)))
    resp = httpx.post(one_slot.url + "/v1/chat/completions", json=CHAT)
    assert resp.status_code == 429
    assert resp.headers["retry-after"] == "1"
    assert error_of(resp)["type"] == "rate_limit_error"
    for proc in (waiting, running):
        one_slot.call(one_slot.kernel.kill(proc.pid))


def test_cors_is_off_unless_configured(served: LiveDaemon) -> None:
    resp = httpx.options(
        served.url + "/v1/models",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in resp.headers
