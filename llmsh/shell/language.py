"""Does a typed line read like English rather than a command?

A line goes to the natural-language parser when its first word is not a command, or
when it does not parse (as a shell line or as the command's arguments), and it reads
like language: several words, mostly letters. "what's running" has an unclosed quote
for the shell, and is exactly the kind of line this is for.
"""

from __future__ import annotations

import re
from collections.abc import Container

from llmsh.commands.parsing import parse_args
from llmsh.commands.registry import Registry
from llmsh.commands.spec import UsageError
from llmsh.syntax.ast import SimpleCommand
from llmsh.syntax.parser import ParseError, parse

WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
SHELLISH = ("!", "$", "./", "/", "~", "%", "-")
CONTRACTION = re.compile(r"[A-Za-z]'[A-Za-z]")


def reads_like_language(text: str, min_words: int = 2) -> bool:
    words = text.split()
    if len(words) < min_words or any(w.startswith(SHELLISH) for w in words[:1]):
        return False
    if "=" in words[0] or any(op in text for op in ("&&", "||", ">>", "|")):
        return False
    wordish = sum(1 for w in words if WORD.fullmatch(w.strip(',.?!:;"')))
    return wordish / len(words) >= 0.6 and sum(c.isalpha() for c in text) >= 6


def is_language(text: str, registry: Registry, aliases: Container[str] = ()) -> bool:
    """Should this REPL line be offered to the intent parser instead of run?

    A line that parses as commands runs as commands: `jobs; ps --all` is two
    commands even though its first blank-separated word is ``jobs;``."""
    text = text.strip()
    if not text or not reads_like_language(text):
        return False
    commands: list[SimpleCommand] = []
    parsed = True
    try:
        script = parse(text)
    except ParseError:
        parsed = False
    else:
        commands = [c for s in script.statements for p in s.body.pipelines for c in p.commands]
    if commands and all(_runs_as_command(c, registry, aliases) for c in commands):
        return False
    words = text.split()
    first = _first_word(commands[0]) if commands else words[0]
    if first not in registry and first not in aliases:
        # "gnerate hi" is a typo of a command: it gets "did you mean", not a translation.
        return registry.suggest(first) is None or len(words) >= 3
    if any(word.startswith(("-", "%")) for word in words[1:]):
        # `ps --state bogus`, `renice ultra %1`: a command with a flag or a job reference
        # is a command line with a mistake; it gets its usage error, never a translation.
        return False
    if not parsed:
        # `echo "abc` opens a quote on purpose; "kill what's stuck" has a contraction.
        return CONTRACTION.search(text) is not None
    if len(commands) != 1 or commands[0].system:
        return False
    argv = [w.static_text() or "" for w in commands[0].words]
    return registry.get(argv[0]) is not None and len(argv) >= 3


def _first_word(command: SimpleCommand) -> str:
    return (command.words[0].static_text() or "") if command.words else ""


def _runs_as_command(command: SimpleCommand, registry: Registry, aliases: Container[str]) -> bool:
    """A known command (or alias, or a ``!`` system command) whose arguments parse."""
    if command.system:
        return True
    first = _first_word(command)
    if first in aliases:
        return True
    found = registry.get(first)
    if found is None:
        return False
    try:
        parse_args(found, [w.static_text() or "" for w in command.words])
    except UsageError:
        return False  # "kill the job 42": a command word, but not a command line
    except Exception:
        return True  # not a usage mistake: leave it to the command to say
    return True
