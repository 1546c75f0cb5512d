"""Tokenizer for the llmsh command language.

Produces words (already split into quoted/unquoted text and parameter
references), operators, IO numbers (the ``2`` of ``2>``) and newlines. It is
lazy, pulled one token at a time by the parser, so the first error in reading
order wins: ``| echo "abc`` reports the stray ``|``, not the unclosed quote,
and the REPL does not wait for more lines on an input that is already wrong.

Quoting follows POSIX: single quotes are literal; in double quotes a backslash
escapes only ``$ ` " \\`` and newline, and ``$`` expansions stay live; outside
quotes a backslash quotes the next character; backslash-newline vanishes
everywhere except inside single quotes. ``#`` starts a comment only where a
word could start. There is no command substitution or globbing in llmsh, so
backquotes, ``*`` and ``?`` are ordinary characters; ``(`` and ``)`` are
operators that the parser rejects, as in POSIX they would mean a subshell.
"""

from __future__ import annotations

import bisect
import enum
import re
from collections.abc import Iterator
from dataclasses import dataclass

from llmsh.syntax.ast import Param, Span, Text, Word, WordPart
from llmsh.syntax.errors import ParseError

__all__ = ["ParseError", "Lexer", "Token", "TokenKind", "tokenize"]

BLANKS = " \t\r"
# Characters that end an unquoted word (besides blanks and newline).
METACHARS = ";&|<>()"
TWO_CHAR_OPERATORS = frozenset({"&&", "||", ">>", ">&"})
NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
NAME_CHARS = NAME_START | frozenset("0123456789")
DIGITS = frozenset("0123456789")
# $? last status, $! last background pid, $# / $@ / $* positional count and
# values, $$ shell pid. $0 is a digit and handled with the positionals.
SPECIAL_PARAMS = frozenset("?!#@*$")
# Escapable characters inside double quotes (newline is a line continuation).
DQ_ESCAPES = frozenset('$`"\\')
# A word starting with unquoted NAME= in command position is an assignment.
ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=")


class TokenKind(enum.Enum):
    WORD = "word"
    IO_NUMBER = "io number"
    OP = "operator"
    NEWLINE = "newline"
    EOF = "end of input"


@dataclass(frozen=True)
class Token:
    """``text`` is the raw source of the token (operator spelling, IO number
    digits, the word as written); ``word`` is set for WORD tokens."""

    kind: TokenKind
    text: str
    span: Span
    word: Word | None = None

    def describe(self) -> str:
        """How an error message names this token."""
        if self.kind in (TokenKind.OP, TokenKind.WORD, TokenKind.IO_NUMBER):
            return f"'{self.text}'"
        return str(self.kind.value)


class _Parts:
    """Accumulates word parts, merging adjacent texts with the same quoting so
    that equivalent spellings produce equal trees."""

    def __init__(self) -> None:
        self.parts: list[WordPart] = []
        self._chunks: list[str] = []
        self._quoted = False
        self._open = False  # a text is pending, possibly empty ('' or "")

    def text(self, chunk: str, quoted: bool) -> None:
        if self._open and self._quoted != quoted:
            self._flush()
        self._chunks.append(chunk)
        self._quoted = quoted
        self._open = True

    def param(self, name: str, quoted: bool) -> None:
        self._flush()
        self.parts.append(Param(name, quoted))

    def finish(self) -> tuple[WordPart, ...]:
        self._flush()
        return tuple(self.parts)

    def _flush(self) -> None:
        if self._open:
            self.parts.append(Text("".join(self._chunks), self._quoted))
            self._chunks = []
            self._open = False


class Lexer:
    """Pull tokens with :meth:`next_token`; ends with an endless run of EOF."""

    def __init__(self, source: str, filename: str | None = None) -> None:
        self.source = source
        self.filename = filename
        self.pos = 0
        self._line_starts = [0] + [i + 1 for i, ch in enumerate(source) if ch == "\n"]

    # -- positions and errors ------------------------------------------------

    def span(self, start: int, end: int) -> Span:
        line = bisect.bisect_right(self._line_starts, start)
        return Span(line, start - self._line_starts[line - 1] + 1, start, end)

    def error(self, message: str, offset: int, *, incomplete: bool = False) -> ParseError:
        span = self.span(offset, offset)
        return ParseError(
            message, span.line, span.column, incomplete=incomplete, filename=self.filename
        )

    def _char(self, offset: int) -> str:
        return self.source[offset] if offset < len(self.source) else ""

    def _skip(self, offset: int) -> int:
        """``offset`` moved past any line continuations. POSIX removes every
        unquoted backslash-newline before reading tokens, so ``$\\<nl>HOME``
        is ``$HOME`` and ``&\\<nl>&`` is ``&&``."""
        while self.source.startswith("\\\n", offset):
            offset += 2
        return offset

    def _run(self, offset: int, allowed: frozenset[str]) -> tuple[str, int]:
        """The characters in ``allowed`` from ``offset`` on (across line
        continuations) and the offset just after the last one."""
        chars: list[str] = []
        while (ch := self._char(self._skip(offset))) and ch in allowed:
            chars.append(ch)
            offset = self._skip(offset) + 1
        return "".join(chars), offset

    # -- tokens --------------------------------------------------------------

    def next_token(self) -> Token:
        self._skip_blanks_and_comment()
        src, start = self.source, self.pos
        if start >= len(src):
            return Token(TokenKind.EOF, "", self.span(start, start))
        ch = src[start]
        if ch == "\n":
            self.pos += 1
            return Token(TokenKind.NEWLINE, "\n", self.span(start, start + 1))
        if ch in METACHARS:
            # Two-character operators may be split by a line continuation.
            second = self._skip(start + 1)
            if ch + self._char(second) in TWO_CHAR_OPERATORS:
                op, self.pos = ch + src[second], second + 1
            else:
                op, self.pos = ch, start + 1
            return Token(TokenKind.OP, op, self.span(start, self.pos))
        if ch in DIGITS:
            digits, end = self._run(start, DIGITS)
            # POSIX: digits directly followed by '<' or '>' name the file
            # descriptor. Longer runs stay words so int() never sees huge input.
            if len(digits) <= 2 and self._char(self._skip(end)) in ("<", ">"):
                self.pos = end
                return Token(TokenKind.IO_NUMBER, digits, self.span(start, end))
        return self._word()

    def _skip_blanks_and_comment(self) -> None:
        src = self.source
        while self.pos < len(src):
            ch = src[self.pos]
            if ch in BLANKS:
                self.pos += 1
            elif ch == "\\" and self._char(self.pos + 1) == "\n":
                self.pos += 2
            elif ch == "#":
                end = src.find("\n", self.pos)
                self.pos = len(src) if end < 0 else end
            else:
                return

    def _word(self) -> Token:
        src, start = self.source, self.pos
        parts = _Parts()
        while self.pos < len(src):
            ch = src[self.pos]
            if ch in BLANKS or ch == "\n" or ch in METACHARS:
                break
            if ch == "\\":
                nxt = self._char(self.pos + 1)
                if not nxt:
                    raise self.error("trailing backslash", self.pos, incomplete=True)
                if nxt != "\n":  # backslash-newline: a line continuation, dropped
                    parts.text(nxt, quoted=True)
                self.pos += 2
            elif ch == "'":
                end = src.find("'", self.pos + 1)
                if end < 0:
                    raise self.error("unclosed single quote", self.pos, incomplete=True)
                parts.text(src[self.pos + 1 : end], quoted=True)
                self.pos = end + 1
            elif ch == '"':
                self._double_quoted(parts)
            elif ch == "$":
                self._dollar(parts, quoted=False)
            else:
                parts.text(ch, quoted=False)
                self.pos += 1
        span = self.span(start, self.pos)
        text = src[start : self.pos]
        return Token(TokenKind.WORD, text, span, Word(parts.finish(), span, text))

    def _double_quoted(self, parts: _Parts) -> None:
        src, start = self.source, self.pos
        self.pos += 1
        empty = True
        while True:
            ch = self._char(self.pos)
            if not ch:
                raise self.error("unclosed double quote", start, incomplete=True)
            if ch == '"':
                self.pos += 1
                break
            if ch == "\\" and self._char(self.pos + 1) == "\n":
                self.pos += 2
                continue
            empty = False
            if ch == "\\" and self._char(self.pos + 1) in DQ_ESCAPES:
                parts.text(src[self.pos + 1], quoted=True)
                self.pos += 2
            elif ch == "$":
                self._dollar(parts, quoted=True)
            else:
                parts.text(ch, quoted=True)
                self.pos += 1
        if empty:
            # "" is an empty argument of its own; "$@" must not get one.
            parts.text("", quoted=True)

    def _dollar(self, parts: _Parts, *, quoted: bool) -> None:
        src, start = self.source, self.pos
        after = self._skip(start + 1)
        nxt = self._char(after)
        if nxt == "{":
            chars: list[str] = []
            close = self._skip(after + 1)
            while (ch := self._char(close)) != "}":
                if not ch:
                    raise self.error("unclosed '${'", start, incomplete=True)
                chars.append(ch)
                close = self._skip(close + 1)
            name = "".join(chars)
            if name and all(c in DIGITS for c in name):
                name = name.lstrip("0") or "0"  # ${01} is $1
            elif not (name in SPECIAL_PARAMS or _is_name(name)):
                raise self.error(f"bad substitution '{src[start : close + 1]}'", start)
            parts.param(name, quoted)
            self.pos = close + 1
        elif nxt in NAME_START:
            name, self.pos = self._run(after, NAME_CHARS)
            parts.param(name, quoted)
        elif nxt in DIGITS or nxt in SPECIAL_PARAMS:
            parts.param(nxt, quoted)  # one digit only: $10 is ${1}0, as in POSIX
            self.pos = after + 1
        else:
            parts.text("$", quoted)  # a '$' that starts nothing is literal
            self.pos = start + 1


def _is_name(name: str) -> bool:
    return bool(name) and name[0] in NAME_START and all(c in NAME_CHARS for c in name)


def tokenize(source: str, filename: str | None = None) -> Iterator[Token]:
    """All tokens of ``source`` up to and including EOF (for highlighting and
    tests); raises ParseError on a lexical error."""
    lexer = Lexer(source, filename)
    while True:
        token = lexer.next_token()
        yield token
        if token.kind is TokenKind.EOF:
            return
