"""The official `openai` package, unchanged, against the daemon's HTTP API (fake models)."""

from __future__ import annotations

import asyncio

import openai
import pytest

from llmsh.kernel import JobState
from tests.http.conftest import LiveDaemon
from tests.http.fakes import FAKE_CHAT, FAKE_EMBED


def client(served: LiveDaemon) -> openai.OpenAI:
    return openai.OpenAI(base_url=served.url + "/v1", api_key="unused", max_retries=0)


def test_models_list_names_the_stored_models(served: LiveDaemon) -> None:
    models = client(served).models.list()
    assert sorted(m.id for m in models.data) == [FAKE_CHAT, FAKE_EMBED]
    assert client(served).models.retrieve(FAKE_CHAT).id == FAKE_CHAT


def test_chat_is_a_kernel_job_of_the_clients_session(served: LiveDaemon) -> None:
    reply = client(served).chat.completions.create(
        model=FAKE_CHAT, messages=[{"role": "user", "content": "hi there"}], max_tokens=3
    )
    assert reply.choices[0].message.content == "tok0 tok1 tok2"  # the job's last newline dropped
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage is not None and reply.usage.completion_tokens == 3
    assert reply.usage.prompt_tokens == 2
    pid = int(reply.id.split("-")[1])
    proc = served.call(served.kernel.get(pid))
    assert proc.kind == "chat" and proc.state is JobState.DONE
    assert proc.session.startswith("http 127.0.0.1:")
    assert proc.args["messages"] == [{"role": "user", "content": "hi there"}]


def test_chat_streamed(served: LiveDaemon) -> None:
    stream = client(served).chat.completions.create(
        model=FAKE_CHAT,
        messages=[{"role": "user", "content": "hi"}],
        max_tokens=4,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "tok0 tok1 tok2 tok3"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 4


def test_completion_is_a_generate_job_without_chat_template(served: LiveDaemon) -> None:
    reply = client(served).completions.create(model=FAKE_CHAT, prompt="Once", max_tokens=2)
    assert reply.choices[0].text == "tok0 tok1"
    proc = served.call(served.kernel.get(int(reply.id.split("-")[1])))
    assert proc.kind == "generate" and proc.args["raw"] is True and proc.args["prompt"] == "Once"


def test_completion_streamed(served: LiveDaemon) -> None:
    stream = client(served).completions.create(
        model=FAKE_CHAT, prompt="Once", max_tokens=3, stream=True
    )
    assert "".join(c.choices[0].text for c in stream) == "tok0 tok1 tok2"


@pytest.mark.parametrize("encoding", ["float", "base64"])
def test_embeddings(served: LiveDaemon, encoding: str) -> None:
    reply = client(served).embeddings.create(
        model=FAKE_EMBED,
        input=["abc", "hello"],
        encoding_format=encoding,  # type: ignore[arg-type]
    )
    vectors = [d.embedding for d in reply.data]
    if encoding == "base64":  # the client leaves base64 as it came
        import base64
        import struct

        vectors = [list(struct.unpack("<3f", base64.b64decode(v))) for v in vectors]  # type: ignore[arg-type]
    assert vectors == [[3.0, 0.0, 0.5], [5.0, 1.0, 0.5]]


def test_priority_from_body_and_header(served: LiveDaemon) -> None:
    api = client(served)
    reply = api.chat.completions.create(
        model=FAKE_CHAT, messages=[{"role": "user", "content": "x"}], max_tokens=1,
        extra_body={"priority": "high"},
    )  # fmt: skip
    assert served.call(served.kernel.get(int(reply.id.split("-")[1]))).priority == -10
    reply = api.with_options(default_headers={"X-Llmsh-Priority": "7"}).chat.completions.create(
        model=FAKE_CHAT, messages=[{"role": "user", "content": "x"}], max_tokens=1
    )
    assert served.call(served.kernel.get(int(reply.id.split("-")[1]))).priority == 7


def test_async_client_streamed_and_not(served: LiveDaemon) -> None:
    async def main() -> tuple[str, str]:
        api = openai.AsyncOpenAI(base_url=served.url + "/v1", api_key="unused", max_retries=0)
        messages = [{"role": "user", "content": "hi"}]
        whole, stream = await asyncio.gather(
            api.chat.completions.create(model=FAKE_CHAT, messages=messages, max_tokens=2),  # type: ignore[arg-type]
            api.chat.completions.create(
                model=FAKE_CHAT,
                messages=messages,
                max_tokens=2,
                stream=True,  # type: ignore[arg-type]
            ),
        )
        parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
        await api.close()
        return whole.choices[0].message.content or "", "".join(parts)

    assert asyncio.run(main()) == ("tok0 tok1", "tok0 tok1")
