"""The installed plugin: found through its entry point, listed by `plugins`, and its
language examples give valid `summarize` lines that decode back from their tags."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from llmsh.commands.registry import default_registry
from llmsh.plugins import get_plugins

pytestmark = pytest.mark.timeout(120)


def test_the_entry_point_registers_command_kind_and_examples() -> None:
    command = default_registry().get("summarize")
    assert command is not None and command.job_kind == "summarize"
    assert default_registry().get("summarise") is command
    from llmsh.runtime import job_kinds

    assert "summarize" in job_kinds()
    info = get_plugins().infos["summarize"]
    assert info.source == "entry point (llmsh-summarize)" and info.version == "0.1.0"
    assert info.registered["commands"] == ["summarize"]
    assert info.registered["job_kinds"] == ["summarize"]


async def test_plugins_command_lists_it(shell: Any, sh: Any) -> None:
    found = {p["name"]: p for p in json.loads((await sh("plugins --json")).out)["plugins"]}
    assert found["summarize"]["registered"] == {
        "commands": ["summarize"], "job_kinds": ["summarize"], "nl_examples": ["summarize"]
    }  # fmt: skip


def test_language_examples_assemble_and_decode_back() -> None:
    from llmsh.nl_intent.data import AugmentConfig, make_example
    from llmsh.nl_intent.decode import decode
    from llmsh.nl_intent.examples import ExampleBook
    from llmsh.nl_intent.signatures import signatures_from
    from llmsh.nl_intent.words import split_words

    book = ExampleBook()
    get_plugins().collect("register_nl_examples", book.add)  # built-in ones and plugins'
    sigs = signatures_from(default_registry().vocabulary())
    templates = book.templates["summarize"]
    assert len(templates) >= 10
    lines = set()
    for seed in range(8):
        for tpl in templates:
            ex = make_example(tpl, sigs, book, random.Random(seed), AugmentConfig())
            assert ex.command is not None and ex.command.startswith("summarize "), ex.text
            _, tags = ex.words_and_tags()
            decoded = decode(sigs["summarize"], ex.text, split_words(ex.text), tags)
            assert decoded.command == ex.command, (ex.text, decoded.error)
            lines.add(ex.command)
    assert len({line.split()[1] for line in lines}) >= 5  # varied file names
    assert any("--max-words" in line for line in lines)
    assert any(line.endswith(" &") for line in lines)
