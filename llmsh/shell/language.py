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
    """Should this REPL line be offered to the intent parser instead of run?"""
    text = text.strip()
    if not text or not reads_like_language(text):
        return False
    words = text.split()
    first = words[0]
    if first not in registry and first not in aliases:
        # "gnerate hi" is a typo of a command: it gets "did you mean", not a translation.
        return registry.suggest(first) is None or len(words) >= 3
    try:
        script = parse(text)
    except ParseError:
        # `echo "abc` opens a quote on purpose; "kill what's stuck" has a contraction.
        return CONTRACTION.search(text) is not None
    commands = [c for s in script.statements for p in s.body.pipelines for c in p.commands]
    if len(commands) != 1 or not isinstance(commands[0], SimpleCommand) or commands[0].system:
        return False
    argv = [w.static_text() or "" for w in commands[0].words]
    command = registry.get(argv[0])
    if command is None or len(argv) < 3:
        return False
    try:
        parse_args(command, argv)
    except UsageError:
        return True  # "kill the job 42": a command word, but not a command line
    except Exception:
        return False
    return False
