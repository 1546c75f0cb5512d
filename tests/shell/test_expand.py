"""Expansion of parsed words and commands into argv strings."""

from __future__ import annotations

import os
from collections import ChainMap
from dataclasses import dataclass

import pytest

from llmsh.shell.expand import (
    Environment,
    ExpandedCommand,
    ExpandedRedirect,
    ExpansionError,
    expand_command,
    expand_value,
    expand_word,
    expand_words,
)
from llmsh.syntax.parser import parse


def env(*positional: str) -> Environment:
    return Environment(
        variables={"X": "a b", "EMPTY": "", "HOME": "/home/u", "N": "3"},
        positional=list(positional),
        last_status=2,
        last_bg_pid=4242,
    )


def argv(source: str, environment: Environment | None = None) -> list[str]:
    command = parse(source).statements[0].body.first.commands[0]
    return expand_words(command.words, environment or env())


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("echo $X", ["echo", "a b"]),  # no word splitting of values
        ("echo ${X}y $X'y' \"$X\"y", ["echo", "a by", "a by", "a by"]),
        ("echo '$X' \\$X \"\\$X\"", ["echo", "$X", "$X", "$X"]),
        ("echo $UNSET $EMPTY", ["echo"]),  # unquoted empty expansions vanish
        ("echo \"$UNSET\" '' \"\" $EMPTY''", ["echo", "", "", "", ""]),
        ("echo a$UNSET", ["echo", "a"]),
        ("echo $? $! $# $0", ["echo", "2", "4242", "0", "llmsh"]),
        ("echo $$", ["echo", str(os.getpid())]),
        (
            "echo ~ ~/d x~ '~' ~\"\" ~user",
            ["echo", "/home/u", "/home/u/d", "x~", "~", "~", "~user"],
        ),
        ("echo $1 ${10}", ["echo"]),
        ("echo $", ["echo", "$"]),
    ],
)
def test_expand(source: str, expected: list[str]) -> None:
    assert argv(source) == expected


def test_positional_parameters() -> None:
    e = env("one", "two words", "", "four")
    assert argv("echo $1 $2 $4 $5 $#", e) == ["echo", "one", "two words", "four", "4"]
    assert argv("echo ${1}0 $10", e) == ["echo", "one0", "one0"]


def test_at_splits_quoted_or_not() -> None:
    e = env("a", "b c", "")
    assert argv('echo "$@"', e) == ["echo", "a", "b c", ""]
    assert argv("echo $@", e) == ["echo", "a", "b c"]  # unquoted empty field dropped
    assert argv('echo "x$@y"', e) == ["echo", "xa", "b c", "y"]
    assert argv("echo $*", e) == ["echo", "a", "b c"]
    assert argv('echo "$*"', e) == ["echo", "a b c "]


def test_at_with_no_arguments() -> None:
    e = env()
    assert argv('echo "$@" $@', e) == ["echo"]
    assert argv('echo "$@"\'\' "x$@"', e) == ["echo", "", "x"]
    assert argv('echo "$*"', e) == ["echo", ""]


@dataclass
class ShellState:
    """Any object with these read-only attributes will do (ExpansionEnv)."""

    variables: ChainMap[str, str]
    positional: tuple[str, ...] = ()
    last_status: int = 0
    last_bg_pid: int | None = None


def test_any_state_object_with_chained_variables() -> None:
    state = ShellState(ChainMap({"A": "shell"}, {"A": "os", "B": "os"}), ("p",))
    command = parse("echo $A $B $1 $!").statements[0].body.first.commands[0]
    assert expand_words(command.words, state) == ["echo", "shell", "os", "p"]


def test_expand_value_keeps_everything() -> None:
    command = parse('A=$EMPTY B=$X C=~/x D="$@" E=').statements[0].body.first.commands[0]
    e = env("p", "q")
    values = [expand_value(a.value, e) for a in command.assignments]
    assert values == ["", "a b", "/home/u/x", "p q", ""]


def test_expand_command() -> None:
    command = parse("A=$N !ls $X > $HOME/out 2>&1").statements[0].body.first.commands[0]
    assert expand_command(command, env()) == ExpandedCommand(
        argv=["ls", "a b"],
        assignments={"A": "3"},
        redirects=[ExpandedRedirect(1, ">", "/home/u/out"), ExpandedRedirect(2, ">&", 1)],
        system=True,
    )


@pytest.mark.parametrize("target", ["$UNSET", '"$@"'])
def test_ambiguous_redirect(target: str) -> None:
    command = parse(f"echo > {target}").statements[0].body.first.commands[0]
    with pytest.raises(ExpansionError, match="ambiguous redirect"):
        expand_command(command, env("a", "b"))


def test_expand_word_single() -> None:
    word = parse("echo pre$X").statements[0].body.first.commands[0].words[1]
    assert expand_word(word, env()) == ["prea b"]
