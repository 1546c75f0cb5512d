"""Routing English to the intent parser, and the one-key proposal prompt."""

from __future__ import annotations

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from llmsh.commands.registry import default_registry
from llmsh.shell.language import is_language, reads_like_language
from llmsh.shell.proposal import Choice, ask, offer_text


@pytest.mark.parametrize(
    "line",
    [
        "show me what's running on the gpu",
        "what is the capital of france",
        "fine tune smollm2 on notes.jsonl in the background",
        "kill the job 42",  # a command word, but not a command line
        "stop job 3",
        "kill what's stuck on the gpu",
    ],
)
def test_english_goes_to_the_intent_parser(line: str) -> None:
    assert is_language(line, default_registry())


@pytest.mark.parametrize(
    "line",
    [
        "ps --device cuda",
        "kill 42",
        "echo hello world",
        "generate hello",
        "gnerate hi",  # a typo gets "did you mean", not a translation
        "ls -la",
        "sleep 30 &",
        "x=1",
        "!ls -la",
        "pause %1",
        "renice high 42",
        "models pull smollm2",
        "ps | grep x",
        'echo "abc def',  # an open quote on purpose: the line continues
        "",
    ],
)
def test_commands_stay_commands(line: str) -> None:
    assert not is_language(line, default_registry())


def test_aliases_are_commands_too() -> None:
    assert is_language("show me everything", default_registry())
    assert not is_language("show me everything", default_registry(), aliases={"show"})


def test_reads_like_language_needs_words() -> None:
    assert not reads_like_language("a1 b2 c3 d4")
    assert not reads_like_language("hi")


@pytest.mark.parametrize(
    ("keys", "destructive", "choice"),
    [
        ("\r", False, Choice.RUN),
        ("y", False, Choice.RUN),
        ("e", False, Choice.EDIT),
        ("x", False, Choice.EXPLAIN),
        ("\x1b", False, Choice.CANCEL),
        ("y", True, Choice.RUN),
        ("\rn", True, Choice.CANCEL),  # Enter alone does not confirm a destructive command
        ("\r\re", True, Choice.EDIT),
    ],
)
async def test_one_key_decides(keys: str, destructive: bool, choice: Choice) -> None:
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        pipe.send_text(keys)
        assert await ask("kill 42", destructive) is choice


def test_offer_text_names_the_keys() -> None:
    assert offer_text("ps --device cuda", False) == (
        "-> ps --device cuda   [Enter] run  [e] edit  [x] explain  [Esc] cancel"
    )
    assert "(destructive) [y] run" in offer_text("kill 42", True)
