"""Syntax tree of the llmsh command language.

The shape follows the POSIX shell grammar, cut down to what llmsh needs::

    Script      = Statement*                 (separated by ';', '&' or newlines)
    Statement   = AndOr ['&']                (background=True when '&' follows)
    AndOr       = Pipeline (('&&' | '||') Pipeline)*
    Pipeline    = SimpleCommand ('|' SimpleCommand)*
    SimpleCommand = assignments, words and redirections, possibly a '!' system command

Every node is a frozen dataclass. Positions (`span`) and raw source text are
declared with ``compare=False`` so two trees are equal when they mean the same
thing, wherever they came from: ``parse(unparse(tree)) == tree`` is a plain
``==``. A word is kept as a tuple of parts rather than a string because
expansion needs to know which characters were quoted (quoted empty strings
survive, unquoted empty expansions vanish) and ``unparse`` needs it to quote
the word back the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "NO_SPAN",
    "AndOr",
    "AndOrOp",
    "Assignment",
    "Node",
    "Param",
    "Pipeline",
    "Redirect",
    "RedirectOp",
    "Script",
    "SimpleCommand",
    "Span",
    "Statement",
    "Text",
    "Word",
    "WordPart",
]


@dataclass(frozen=True)
class Span:
    """Where a node sits in the source: 1-based line and column of its first
    character, and the [start, end) character offsets into the whole source."""

    line: int
    column: int
    start: int
    end: int

    def __str__(self) -> str:
        return f"{self.line}:{self.column}"


# Hand-built nodes (tests, the natural-language parser) have no source position.
NO_SPAN = Span(0, 0, 0, 0)


@dataclass(frozen=True)
class Text:
    """Literal characters of a word. ``quoted`` is True when they came from
    single quotes, double quotes or a backslash escape: such text is never
    tilde-expanded and an empty quoted text still makes an (empty) argument."""

    text: str
    quoted: bool = False


@dataclass(frozen=True)
class Param:
    """A parameter reference: ``$NAME``/``${NAME}`` (name), ``$1``/``${10}``
    (positional, the decimal digits), or one of the specials ``? ! # @ * $ 0``.
    ``quoted`` is True inside double quotes; it changes how ``$@`` splits and
    whether an empty value is dropped."""

    name: str
    quoted: bool = False


WordPart = Text | Param


@dataclass(frozen=True)
class Word:
    """One shell word: its parts in order. Adjacent texts with the same
    ``quoted`` flag are always merged by the parser, so every spelling of the
    same word gives the same parts (``'a'"b"`` and ``'ab'`` are equal).
    ``text`` is the word exactly as written in the source (empty when built by
    hand)."""

    parts: tuple[WordPart, ...]
    span: Span = field(default=NO_SPAN, compare=False)
    text: str = field(default="", compare=False)

    @classmethod
    def plain(cls, value: str) -> Word:
        """A word that stands for exactly ``value`` (no expansion happens)."""
        return cls((Text(value, quoted=True),))

    def static_text(self) -> str | None:
        """The word's value when it holds no parameter reference, else None.
        Tilde expansion is not applied (callers looking up a command name or
        a keyword want the characters as typed)."""
        if any(isinstance(part, Param) for part in self.parts):
            return None
        return "".join(part.text for part in self.parts if isinstance(part, Text))


@dataclass(frozen=True)
class Assignment:
    """``NAME=value`` before the command words. Alone on a command it sets a
    shell variable; before a command it is environment for that command only."""

    name: str
    value: Word
    span: Span = field(default=NO_SPAN, compare=False)


RedirectOp = Literal[">", ">>", "<", ">&"]


@dataclass(frozen=True)
class Redirect:
    """``[fd]> FILE``, ``[fd]>> FILE``, ``[fd]< FILE`` or ``[fd]>&N``.

    ``fd`` is always filled in (1 for output, 0 for ``<``). ``target`` is the
    file word, or the file descriptor number for ``>&`` (``2>&1`` is
    ``Redirect(2, ">&", 1)``)."""

    fd: int
    op: RedirectOp
    target: Word | int
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class SimpleCommand:
    """One command: assignments, then argv words, with redirections collected
    from wherever they appeared among the words (their relative order is kept,
    it matters for ``> f 2>&1``).

    ``system`` marks ``!CMD args``: the words are the argv of a system process
    rather than an llmsh command; the ``!`` itself is not part of ``words``.
    A command may have no words at all (only assignments and/or redirects)."""

    words: tuple[Word, ...] = ()
    assignments: tuple[Assignment, ...] = ()
    redirects: tuple[Redirect, ...] = ()
    system: bool = False
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Pipeline:
    """``a | b | c``: each command's text output feeds the next one's input."""

    commands: tuple[SimpleCommand, ...]
    span: Span = field(default=NO_SPAN, compare=False)


AndOrOp = Literal["&&", "||"]


@dataclass(frozen=True)
class AndOr:
    """``p1 && p2 || p3``, kept flat because POSIX gives ``&&`` and ``||`` the
    same precedence, left-associative: run ``first``; then for each
    ``(op, pipeline)`` in ``rest`` run it when the last status says so
    (``&&``: it was 0, ``||``: it was not 0)."""

    first: Pipeline
    rest: tuple[tuple[AndOrOp, Pipeline], ...] = ()
    span: Span = field(default=NO_SPAN, compare=False)

    @property
    def pipelines(self) -> tuple[Pipeline, ...]:
        return (self.first, *(pipeline for _, pipeline in self.rest))


@dataclass(frozen=True)
class Statement:
    """One and-or list; ``background`` when it was followed by ``&``."""

    body: AndOr
    background: bool = False
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Script:
    """A whole input: one REPL entry (possibly several lines) or a batch file."""

    statements: tuple[Statement, ...]
    source: str = field(default="", compare=False)
    filename: str | None = field(default=None, compare=False)


Node = Script | Statement | AndOr | Pipeline | SimpleCommand | Word
