"""Expansion of parsed words into argv strings.

What happens, in order, to each word (POSIX, minus what llmsh does not have):

1. Tilde: an unquoted ``~`` alone or before ``/`` at the start of a word
   becomes ``$HOME`` (``~user`` is left alone).
2. Parameters: ``$NAME`` from the shell variables, ``$1``.. from the
   positional arguments, ``$?`` last status, ``$!`` last background pid,
   ``$#`` count, ``$$`` shell pid, ``$0`` ``llmsh``. Unset means empty.
   ``$@`` (quoted or not) and unquoted ``$*`` give one field per positional
   argument, text before and after sticking to the first and last one;
   ``"$*"`` joins them with spaces.
3. Field removal: a word that expands to nothing and had no quoted part is
   dropped (``$UNSET`` gives no argument, ``"$UNSET"`` gives ``""``).

There is deliberately **no word splitting** of variable values (as in zsh):
``X='a b'; echo $X`` passes one argument ``a b``. There is no globbing either.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from llmsh.syntax.ast import Param, Redirect, RedirectOp, SimpleCommand, Text, Word
from llmsh.syntax.unparse import unparse_word

__all__ = [
    "Environment",
    "ExpandedCommand",
    "ExpandedRedirect",
    "ExpansionEnv",
    "ExpansionError",
    "expand_command",
    "expand_value",
    "expand_word",
    "expand_words",
]


class ExpansionEnv(Protocol):
    """What expansion reads; the shell's state object only needs these
    read-only attributes. Pass a ``collections.ChainMap`` as ``variables`` to
    fall back to the process environment."""

    @property
    def variables(self) -> Mapping[str, str]: ...

    @property
    def positional(self) -> Sequence[str]: ...  # $1, $2, ... ($0 is not included)

    @property
    def last_status(self) -> int: ...

    @property
    def last_bg_pid(self) -> int | None: ...


@dataclass
class Environment:
    """A plain :class:`ExpansionEnv` (for tests and simple callers)."""

    variables: dict[str, str] = field(default_factory=dict)
    positional: list[str] = field(default_factory=list)
    last_status: int = 0
    last_bg_pid: int | None = None


class ExpansionError(Exception):
    """A word that cannot be used where it stands, e.g. a redirection target
    that expands to zero or several words (``ambiguous redirect``)."""


@dataclass(frozen=True)
class ExpandedRedirect:
    fd: int
    op: RedirectOp
    target: str | int  # a file name, or the fd number for '>&'


@dataclass(frozen=True)
class ExpandedCommand:
    """A simple command after expansion, ready to run."""

    argv: list[str]
    assignments: dict[str, str]
    redirects: list[ExpandedRedirect]
    system: bool


def expand_word(word: Word, env: ExpansionEnv) -> list[str]:
    """The fields ``word`` expands to: usually one, none for an empty unquoted
    expansion, several for ``$@``."""
    fields: list[str] = []
    chunks: list[str] = []
    keep = False  # the current field had a quoted part, so it survives even if empty
    for index, part in enumerate(word.parts):
        if isinstance(part, Text):
            text = part.text
            if index == 0 and not part.quoted:
                text = _tilde(text, env, alone=len(word.parts) == 1)
            chunks.append(text)
            keep = keep or part.quoted
        elif part.name == "@" or (part.name == "*" and not part.quoted):
            values = list(env.positional)
            for position, value in enumerate(values):
                if position > 0:
                    _close_field(fields, chunks, keep)
                    chunks, keep = [], False
                chunks.append(value)
                keep = keep or part.quoted
        else:
            chunks.append(_scalar(part, env))
            keep = keep or part.quoted
    _close_field(fields, chunks, keep)
    return fields


def _close_field(fields: list[str], chunks: list[str], keep: bool) -> None:
    text = "".join(chunks)
    if keep or text:
        fields.append(text)


def expand_words(words: Iterable[Word], env: ExpansionEnv) -> list[str]:
    """argv for a sequence of words."""
    return [field for word in words for field in expand_word(word, env)]


def expand_value(word: Word, env: ExpansionEnv) -> str:
    """``word`` as one string, as for the value of ``NAME=value``: nothing is
    dropped or split, ``$@`` joins with spaces."""
    out: list[str] = []
    for index, part in enumerate(word.parts):
        if isinstance(part, Text):
            text = part.text
            if index == 0 and not part.quoted:
                text = _tilde(text, env, alone=len(word.parts) == 1)
            out.append(text)
        else:
            out.append(_scalar(part, env))
    return "".join(out)


def expand_command(command: SimpleCommand, env: ExpansionEnv) -> ExpandedCommand:
    """Expand every word of ``command``. Assignment values all see ``env`` as
    given; the caller applies them in order if later ones must see earlier."""
    assignments = {a.name: expand_value(a.value, env) for a in command.assignments}
    redirects = [_redirect(redirect, env) for redirect in command.redirects]
    return ExpandedCommand(expand_words(command.words, env), assignments, redirects, command.system)


def _redirect(redirect: Redirect, env: ExpansionEnv) -> ExpandedRedirect:
    if isinstance(redirect.target, int):
        return ExpandedRedirect(redirect.fd, redirect.op, redirect.target)
    fields = expand_word(redirect.target, env)
    if len(fields) != 1:
        name = redirect.target.text or unparse_word(redirect.target)
        raise ExpansionError(f"{name}: ambiguous redirect")
    return ExpandedRedirect(redirect.fd, redirect.op, fields[0])


def _scalar(param: Param, env: ExpansionEnv) -> str:
    """The value of any parameter as one string (``$@``/``$*`` joined)."""
    name = param.name
    if name in ("@", "*"):
        return " ".join(env.positional)
    if name == "?":
        return str(env.last_status)
    if name == "!":
        return "" if env.last_bg_pid is None else str(env.last_bg_pid)
    if name == "#":
        return str(len(env.positional))
    if name == "$":
        return str(os.getpid())
    if name == "0":
        return "llmsh"
    if name.isdigit():
        # (a huge ${99...9} must not reach int(): Python caps digit strings)
        index = int(name) - 1 if len(name) < 10 else len(env.positional)
        return env.positional[index] if index < len(env.positional) else ""
    return env.variables.get(name, "")


def _tilde(text: str, env: ExpansionEnv, *, alone: bool) -> str:
    """``~`` or ``~/...`` at the start of unquoted text becomes $HOME."""
    if not (text == "~" and alone) and not text.startswith("~/"):
        return text
    home = env.variables.get("HOME") or os.path.expanduser("~")
    return home + text[1:]
