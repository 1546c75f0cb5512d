"""chat as in `ollama run`: slash commands, \"\"\" blocks, Ctrl-C stops only the reply,
a reply cut by the token limit is said to be cut."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from llmsh.commands.chatsession import Action, ChatSession
from llmsh.kernel import JobKind, Kernel, KernelConfig
from llmsh.kernel.context import JobContext
from llmsh.shell.foreground import interrupt
from llmsh.shell.session import Shell
from tests.commands.test_commands import kinds
from tests.shell.test_interpreter import make_shell, sh

pytestmark = pytest.mark.timeout(60)
SEEN: list[dict[str, object]] = []


def test_slash_commands_and_settings(tmp_path: Path) -> None:
    chat = ChatSession("smollm2")
    assert chat.read("/?").action is Action.SAY and "/set temperature" in chat.read("/help").text
    assert chat.read("/set temperature 0.3").text == "Set temperature to 0.3.\n"
    assert chat.read("/set max-tokens 64").text == "Set max tokens to 64.\n"
    assert "Invalid value" in chat.read("/set temperature hot").text
    assert chat.read("/set system Be brief.").text == "Set system prompt.\n"
    assert (chat.temperature, chat.max_tokens, chat.system) == (0.3, 64, "Be brief.")
    assert chat.read("/nope").text.startswith("Unknown command '/nope'")
    assert chat.read("hello").action is Action.SEND
    chat.messages.append({"role": "user", "content": "hello"})
    assert chat.request()[0] == {"role": "system", "content": "Be brief."}
    saved = tmp_path / "talk.json"
    assert "Saved" in chat.read(f"/save {saved}").text
    assert json.loads(saved.read_text())["messages"] == [{"role": "user", "content": "hello"}]
    assert chat.read("/clear").action is Action.SAY and chat.messages == []
    for word in ("/bye", "/exit", "/quit"):
        assert chat.read(word).action is Action.EXIT


def test_triple_quotes_make_one_message() -> None:
    chat = ChatSession("m")
    assert chat.read('"""').action is Action.MORE and chat.prompt == "... "
    assert chat.read("first line").action is Action.MORE
    assert chat.read("/not a command inside a block").action is Action.MORE
    step = chat.read('last"""')
    assert step.action is Action.SEND
    assert step.text == "first line\n/not a command inside a block\nlast"
    assert chat.read('"""one line"""').text == "one line" and chat.prompt == "m> "


async def slow_reply(ctx: JobContext) -> int:
    SEEN.append(dict(ctx.args))
    limit = int(ctx.args.get("max_tokens", 128))
    count = 0
    for word in ("one ", "two ", "three"):
        await ctx.checkpoint()
        if "slow" in str(ctx.args["messages"][-1]["content"]):
            await asyncio.sleep(0.2)
        ctx.write(word)
        count += 1
        ctx.progress(count, limit, "tok")
        if count >= limit:
            break
    return 0


@pytest.fixture
async def shell(tmp_path: Path) -> AsyncIterator[Shell]:
    kernel = Kernel(KernelConfig(state_dir=tmp_path / "k", nvml=None),
                    kinds=kinds(JobKind("chat", slow_reply)))  # fmt: skip
    await kernel.start()
    yield make_shell(kernel, interactive=True)
    await kernel.close()


def script(shell: Shell, lines: list[str]) -> None:
    async def read(prompt: str) -> str | None:
        await asyncio.sleep(0)
        return lines.pop(0) if lines else None

    shell.line_reader = read


async def test_a_conversation_keeps_history_and_settings(shell: Shell) -> None:
    SEEN.clear()
    script(shell, ["hi", "/set temperature 0.2", "/set max-tokens 2", "again", "/bye"])
    r = await sh(shell, "chat")
    assert r.status == 0
    assert SEEN[0]["messages"] == [{"role": "user", "content": "hi"}]
    assert "temperature" not in SEEN[0] and SEEN[1]["temperature"] == 0.2
    assert SEEN[1]["messages"][1] == {"role": "assistant", "content": "one two three"}
    assert "Set temperature to 0.2." in r.out and "one two" in r.out
    assert "cut at the 2-token limit" in r.err  # the second reply hit max tokens


async def test_ctrl_c_stops_the_reply_and_the_chat_goes_on(shell: Shell) -> None:
    SEEN.clear()
    script(shell, ["be slow", "next"])
    task = asyncio.ensure_future(sh(shell, "chat"))
    while not (shell.foreground and shell.foreground.pids):
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    await interrupt(shell, shell.foreground)
    r = await task
    assert "(reply stopped; the conversation goes on)" in r.err
    assert len(SEEN) == 2  # the chat asked for the next line and answered it
    assert SEEN[1]["messages"][0]["content"] == "be slow"
