"""Assembly: canonical spelling, quoting, and the parsers as gatekeepers."""

from __future__ import annotations

import pytest

from llmsh.nl_intent.assemble import AssemblyError, assemble, set_option
from llmsh.nl_intent.signatures import signatures
from llmsh.syntax.parser import parse
from llmsh.syntax.unparse import unparse


def line(intent: str, bg: bool = False, **values: list[str]) -> str:
    return assemble(signatures()[intent], values, background=bg)


def test_positionals_then_flags_in_declared_order() -> None:
    got = line("finetune", priority=["high"], data=["notes.jsonl"], model=["smollm2"],
               epochs=["3"], device=["cuda:1"])  # fmt: skip
    assert got == "finetune smollm2 --data notes.jsonl --epochs 3 --device cuda:1 --priority high"


def test_background_and_switches() -> None:
    assert line("ps", device=["cuda"], all=["true"]) == "ps --all --device cuda"
    assert line("finetune", True, model=["smollm2"], data=["notes.jsonl"]) == (
        "finetune smollm2 --data notes.jsonl &"
    )


def test_flags_first_command() -> None:
    assert line("nl", text=["stop job 3"], dry_run=["true"]) == "nl --dry-run 'stop job 3'"


def test_values_are_quoted_only_when_needed() -> None:
    assert line("generate", prompt=["write a poem"]) == "generate 'write a poem'"
    assert line("generate", prompt=["it's $HOME"]) == 'generate "it\'s \\$HOME"'
    assert line("embed", text=["hi"], out=["my vec.json"]) == "embed hi --out 'my vec.json'"
    assert line("kill", id=["%1", "42"]) == "kill %1 42"


def test_home_stays_expandable() -> None:
    assert line("cd", dir=["~"]) == "cd ~"
    assert line("finetune", model=["smollm2"], data=["~/data/my notes.txt"]) == (
        "finetune smollm2 --data ~/'data/my notes.txt'"
    )


def test_every_line_round_trips_through_the_parser() -> None:
    for got in (
        line("renice", priority=["-5"], id=["%2"]),
        line("models rm", model=["qwen"]),
        line("classify", text=["x"], labels=["a,b"]),
        line("!", argv=["ls -la"]),
    ):
        assert unparse(parse(got)) == got


def test_missing_required_value_is_refused() -> None:
    with pytest.raises(AssemblyError, match="missing"):
        line("finetune", model=["smollm2"])
    with pytest.raises(AssemblyError):
        line("kill")


def test_invalid_values_are_refused_by_the_registry() -> None:
    with pytest.raises(AssemblyError):
        line("ps", device=["kitchen"])
    with pytest.raises(AssemblyError):
        line("renice", priority=["99"], id=["1"])


def test_lines_that_would_not_be_one_plain_command_are_refused() -> None:
    with pytest.raises(AssemblyError):
        line("!", argv=["ls; rm -rf /tmp/x"])
    with pytest.raises(AssemblyError):
        line("explain", command=["'unclosed"])


def test_raw_commands() -> None:
    assert line("alias", name=["ll"], value=["ps --all"]) == "alias ll='ps --all'"
    assert line("echo", text=["hello world"]) == "echo 'hello world'"
    assert line("set", option=["stop at the first error"]) == "set -e"
    assert line("explain", command=["generate 'hi' --device cuda"]) == (
        "explain generate 'hi' --device cuda"
    )
    assert line("!", argv=["df -h"]) == "!df -h"


@pytest.mark.parametrize(
    ("text", "want"),
    [("stop on the first error", "-e"), ("don't stop on errors", "+e"), ("ignore errors", "+e"),
     ("trace commands", "-x"), ("stop tracing", "+x"), ("-x", "-x"), ("make coffee", None)],
)  # fmt: skip
def test_set_option(text: str, want: str | None) -> None:
    assert set_option(text) == want


def test_destructive_commands() -> None:
    sigs = signatures()
    assert {i for i, s in sigs.items() if s.destructive} >= {"kill", "models rm", "unload", "!"}
    assert not sigs["ps"].destructive and not sigs["generate"].destructive
