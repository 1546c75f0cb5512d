"""Parsing an argv against a command's declaration.

Flags may come anywhere (``--flag VALUE``, ``--flag=VALUE``, ``-f VALUE``);
``--`` ends them. A word like ``-5`` is a value, not a flag, so
``renice -5 42`` works. A required TEXT argument that is missing is read from
standard input when the command is fed by a pipe, and ``-`` stands for standard
input in TEXT arguments (FILE arguments keep ``-`` for the command to read).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from llmsh.commands.spec import Arg, Args, Command, Flag, UsageError, ValueType
from llmsh.commands.values import convert

_NUMBER = re.compile(r"^-\.?\d")


def did_you_mean(
    word: str, choices: Iterable[str], prefix: str = " (did you mean ", suffix: str = "?)"
) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    import difflib

    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"{prefix}'{found[0]}'{suffix}" if found else ""


def looks_like_flag(word: str) -> bool:
    return word.startswith("-") and len(word) > 1 and not _NUMBER.match(word)


def resolve_subcommand(command: Command, argv: Sequence[str]) -> tuple[Command, list[str]]:
    """The subcommand an argv selects (or the default one), with its remaining words."""
    rest = list(argv[1:])
    if rest and not looks_like_flag(rest[0]):
        sub = command.subcommand(rest[0])
        if sub is None:
            names = [s.name for s in command.subcommands]
            hint = did_you_mean(rest[0], names)
            raise UsageError(command, f"unknown subcommand '{rest[0]}'{hint}")
        return sub, rest[1:]
    default = command.subcommand(command.default_subcommand)
    if default is None:
        raise UsageError(command, "missing subcommand")
    return default, rest


def parse_args(command: Command, argv: Sequence[str], stdin: str | None = None) -> Args:
    """Parse ``argv`` (``argv[0]`` is the command name); raise UsageError."""
    if command.subcommands:
        sub, rest = resolve_subcommand(command, argv)
        return parse_args(sub, [sub.full_name, *rest], stdin)
    if command.raw:
        return Args(command, {"argv": list(argv[1:])}, tuple(argv))
    values: dict[str, Any] = {}
    for flag in command.flags:
        values[flag.dest] = flag.default if flag.takes_value else False
    words: list[str] = []
    index, flags_done = 1, False
    while index < len(argv):
        word = argv[index]
        index += 1
        if flags_done or not looks_like_flag(word):
            words.append(word)
            continue
        if word == "--":
            flags_done = True
            continue
        name, eq, inline = word.partition("=") if word.startswith("--") else (word, "", "")
        found = command.flag(name)
        if found is None:
            spellings = [s for f in command.flags for s in f.spellings]
            raise UsageError(command, f"unknown flag '{name}'{did_you_mean(name, spellings)}")
        flag = found
        if not flag.takes_value:
            if eq:
                raise UsageError(command, f"{flag.option} takes no value")
            values[flag.dest] = True
            continue
        if not eq:
            if index >= len(argv):
                raise UsageError(command, f"{flag.option} needs a value ({_metavar(flag)})")
            inline = argv[index]
            index += 1
        values[flag.dest] = _value(command, flag, inline, stdin)
    _positionals(command, words, values, stdin)
    for flag in command.flags:
        if flag.required and values.get(flag.dest) is None:
            raise UsageError(command, f"missing {flag.option} {_metavar(flag)}")
    return Args(command, values, tuple(argv))


def _metavar(item: Flag | Arg) -> str:
    assert item.type is not None
    return item.metavar or item.type.value


def _value(command: Command, item: Flag | Arg, text: str, stdin: str | None) -> Any:
    assert item.type is not None
    if item.type is ValueType.TEXT and text == "-":
        if stdin is None:
            raise UsageError(command, "'-' reads standard input, but nothing is piped in")
        return stdin.rstrip("\n")
    try:
        return convert(item.type, text, item.choices)
    except ValueError as exc:
        where = item.option if isinstance(item, Flag) else _metavar(item)
        raise UsageError(command, f"{where}: {exc}") from None


def _positionals(
    command: Command, words: list[str], values: dict[str, Any], stdin: str | None
) -> None:
    """Assign words to the declared positionals (all counted first, so a missing
    argument is reported as missing rather than as a bad value), then convert."""
    queue = list(words)
    taken: list[tuple[Arg, list[str] | str | None]] = []
    for arg in command.args:
        if arg.many:
            if not queue and not arg.optional:
                raise UsageError(command, f"missing {_metavar(arg)}")
            taken.append((arg, queue))
            queue = []
        elif queue:
            taken.append((arg, queue.pop(0)))
        elif arg.type is ValueType.TEXT and stdin is not None and not arg.optional:
            taken.append((arg, None))
        elif arg.optional:
            values[arg.dest] = arg.default
        else:
            raise UsageError(command, f"missing {_metavar(arg)}")
    if queue:
        raise UsageError(command, f"unexpected argument '{queue[0]}'")
    for arg, raw in taken:
        if raw is None:
            values[arg.dest] = (stdin or "").rstrip("\n")
        elif isinstance(raw, list):
            values[arg.dest] = [_value(command, arg, word, stdin) for word in raw]
        else:
            values[arg.dest] = _value(command, arg, raw, stdin)
