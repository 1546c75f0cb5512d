"""The `openai` package against smollm2 and minilm from the test store (max_tokens 8)."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from llmsh.http.settings import HttpSettings
from llmsh.kernel import DeviceCapacity, JobState, KernelConfig
from llmsh.runtime import make_kernel
from tests.http.conftest import LiveDaemon

pytestmark = pytest.mark.real_model


@pytest.fixture(autouse=True)
def _real_store(real_env: Path) -> Path:
    """Each test's own $LLMSH_HOME (tests/conftest.py) is the real store here."""
    return real_env


@pytest.fixture(scope="module")
def real(real_home: Path) -> Iterator[LiveDaemon]:
    """One daemon for the module, so each model loads once (jobs in kernel threads)."""
    folder = Path(tempfile.mkdtemp(prefix="llmsh-hr-", dir="/tmp"))
    saved = os.environ.get("LLMSH_HOME")
    os.environ["LLMSH_HOME"] = str(real_home)
    config = KernelConfig(
        state_dir=folder / "state", nvml=None, executor="inline",
        capacities=[DeviceCapacity("cpu", 8 << 30, 4)],
    )  # fmt: skip
    daemon = LiveDaemon(make_kernel(config), folder, HttpSettings(port=0)).start()
    yield daemon
    daemon.stop()
    if saved is None:
        os.environ.pop("LLMSH_HOME", None)
    else:
        os.environ["LLMSH_HOME"] = saved
    shutil.rmtree(folder, ignore_errors=True)


def test_models_and_chat(real: LiveDaemon) -> None:
    api = openai.OpenAI(base_url=real.url + "/v1", api_key="x", max_retries=0)
    assert {"smollm2", "minilm"} <= {m.id for m in api.models.list().data}
    reply = api.chat.completions.create(
        model="smollm2", messages=[{"role": "user", "content": "Say hello."}],
        max_tokens=8, temperature=0,
    )  # fmt: skip
    text = reply.choices[0].message.content
    assert text and text.strip()
    assert reply.usage is not None and 0 < reply.usage.completion_tokens <= 8
    assert reply.usage.prompt_tokens > 0
    proc = real.call(real.kernel.get(int(reply.id.split("-")[1])))
    assert (proc.kind, proc.state) == ("chat", JobState.DONE)


def test_async_streamed_chat_and_completion(real: LiveDaemon) -> None:
    async def main() -> tuple[str, str]:
        api = openai.AsyncOpenAI(base_url=real.url + "/v1", api_key="x", max_retries=0)
        stream = await api.chat.completions.create(
            model="smollm2", messages=[{"role": "user", "content": "Count to three."}],
            max_tokens=8, temperature=0, stream=True,
        )  # fmt: skip
        chat = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        done = await api.completions.create(
            model="smollm2", prompt="The capital of France is", max_tokens=8, temperature=0
        )
        await api.close()
        return chat, done.choices[0].text

    chat, completion = asyncio.run(main())
    assert chat.strip() and completion.strip()


def test_embeddings_have_384_dimensions(real: LiveDaemon) -> None:
    api = openai.OpenAI(base_url=real.url + "/v1", api_key="x", max_retries=0)
    reply = api.embeddings.create(model="minilm", input=["a cat", "a kitten", "a tax form"])
    vectors = [d.embedding for d in reply.data]
    assert [len(v) for v in vectors] == [384, 384, 384]

    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))  # unit vectors

    assert cos(vectors[0], vectors[1]) > cos(vectors[0], vectors[2])
