"""Recursive-descent parser for the llmsh command language.

Entry point: :func:`parse`. Grammar (POSIX sh, cut down)::

    script    : linebreak (statement (sep linebreak statement)* [sep linebreak])?
    sep       : ';' | '&' | NEWLINE            ('&' marks the statement before it)
    statement : and_or
    and_or    : pipeline (('&&' | '||') linebreak pipeline)*
    pipeline  : command ('|' linebreak command)*
    command   : (assignment | redirect)* ['!'] (word | redirect)*   (at least one item)
    redirect  : [IO_NUMBER] ('>' | '>>' | '<') word  |  [IO_NUMBER] '>&' DIGITS

``linebreak`` is any number of newlines, so a line may end after ``&&``,
``||`` or ``|`` and the command continues on the next one. When the input ends
right there the error is ``incomplete`` (the REPL asks for another line).
"""

from __future__ import annotations

from llmsh.syntax.ast import (
    AndOr,
    AndOrOp,
    Assignment,
    Pipeline,
    Redirect,
    RedirectOp,
    Script,
    SimpleCommand,
    Span,
    Statement,
    Text,
    Word,
)
from llmsh.syntax.lexer import ASSIGNMENT, Lexer, ParseError, Token, TokenKind

__all__ = ["ParseError", "parse"]

_REDIRECT_OPS = frozenset({">", ">>", "<", ">&"})


def parse(source: str, filename: str | None = None) -> Script:
    """Parse ``source`` into a :class:`Script`; raise :class:`ParseError`.

    ``filename`` only goes into error messages (``file:line:column``) and
    onto the returned script."""
    return _Parser(source, filename).script()


class _Parser:
    def __init__(self, source: str, filename: str | None) -> None:
        self.source = source
        self.filename = filename
        self.lexer = Lexer(source, filename)
        self._peeked: Token | None = None

    # -- token stream ----------------------------------------------------------

    def peek(self) -> Token:
        if self._peeked is None:
            self._peeked = self.lexer.next_token()
        return self._peeked

    def advance(self) -> Token:
        token = self.peek()
        self._peeked = None
        return token

    def at_op(self, *ops: str) -> bool:
        token = self.peek()
        return token.kind is TokenKind.OP and token.text in ops

    def skip_newlines(self) -> None:
        while self.peek().kind is TokenKind.NEWLINE:
            self.advance()

    def error(self, message: str, token: Token, *, incomplete: bool = False) -> ParseError:
        return ParseError(
            message,
            token.span.line,
            token.span.column,
            incomplete=incomplete,
            filename=self.filename,
        )

    def _starts_command(self, token: Token) -> bool:
        if token.kind in (TokenKind.WORD, TokenKind.IO_NUMBER):
            return True
        return token.kind is TokenKind.OP and token.text in _REDIRECT_OPS

    def _join(self, first: Span, last: Span) -> Span:
        return Span(first.line, first.column, first.start, last.end)

    # -- grammar -------------------------------------------------------------

    def script(self) -> Script:
        statements: list[Statement] = []
        self.skip_newlines()
        while self.peek().kind is not TokenKind.EOF:
            body = self.and_or(after=None)
            background = False
            token = self.peek()
            if token.kind is TokenKind.OP and token.text in (";", "&"):
                self.advance()
                background = token.text == "&"
            elif token.kind is TokenKind.NEWLINE:
                self.advance()
            elif token.kind is not TokenKind.EOF:
                raise self.error(f"unexpected {token.describe()}", token)
            statements.append(Statement(body, background, body.span))
            self.skip_newlines()
        return Script(tuple(statements), self.source, self.filename)

    def and_or(self, after: Token | None) -> AndOr:
        first = self.pipeline(after)
        rest: list[tuple[AndOrOp, Pipeline]] = []
        while self.at_op("&&", "||"):
            op = self.advance()
            self.skip_newlines()
            operator: AndOrOp = "&&" if op.text == "&&" else "||"
            rest.append((operator, self.pipeline(op)))
        last = rest[-1][1] if rest else first
        return AndOr(first, tuple(rest), self._join(first.span, last.span))

    def pipeline(self, after: Token | None) -> Pipeline:
        commands = [self.command(after)]
        while self.at_op("|"):
            op = self.advance()
            self.skip_newlines()
            commands.append(self.command(op))
        return Pipeline(tuple(commands), self._join(commands[0].span, commands[-1].span))

    def command(self, after: Token | None) -> SimpleCommand:
        """A simple command; ``after`` is the operator that required it."""
        token = self.peek()
        if not self._starts_command(token):
            if after is None:
                raise self.error(f"unexpected {token.describe()}", token)
            raise self.error(
                f"missing command after '{after.text}'",
                after,
                incomplete=token.kind is TokenKind.EOF,
            )
        words: list[Word] = []
        assignments: list[Assignment] = []
        redirects: list[Redirect] = []
        system = False
        bang: Token | None = None
        start = token.span
        end = token.span
        while True:
            token = self.peek()
            if token.kind is TokenKind.WORD:
                self.advance()
                end = token.span
                assert token.word is not None
                word = token.word
                if words or system:
                    words.append(word)
                elif (assignment := _as_assignment(word)) is not None:
                    assignments.append(assignment)
                elif (command := _strip_bang(word)) is not None:
                    # '!ls' or '! ls': the rest is the argv of a system process.
                    system, bang = True, token
                    if command.parts:
                        words.append(command)
                else:
                    words.append(word)
            elif self._starts_command(token):
                redirect = self.redirect()
                redirects.append(redirect)
                end = redirect.span
            else:
                break
        if system and not words:
            assert bang is not None
            raise self.error("missing command after '!'", bang)
        return SimpleCommand(
            tuple(words), tuple(assignments), tuple(redirects), system, self._join(start, end)
        )

    def redirect(self) -> Redirect:
        first = self.advance()
        fd: int | None = None
        op = first
        if first.kind is TokenKind.IO_NUMBER:
            fd = int(first.text)
            op = self.advance()  # the lexer only makes an IO number before '<' or '>'
        target = self.peek()
        if op.text == ">&":
            if target.kind is not TokenKind.WORD:
                raise self.error("missing file descriptor after '>&'", op)
            self.advance()
            assert target.word is not None
            digits = target.word.static_text()
            if not digits or len(digits) > 2 or not digits.isdigit() or not digits.isascii():
                raise self.error(f"bad file descriptor {target.describe()} after '>&'", target)
            span = self._join(first.span, target.span)
            return Redirect(1 if fd is None else fd, ">&", int(digits), span)
        if target.kind is not TokenKind.WORD:
            raise self.error(f"missing file name after '{op.text}'", op)
        self.advance()
        assert target.word is not None
        default_fd = 0 if op.text == "<" else 1
        kind: RedirectOp = ">>" if op.text == ">>" else "<" if op.text == "<" else ">"
        span = self._join(first.span, target.span)
        return Redirect(default_fd if fd is None else fd, kind, target.word, span)


def _as_assignment(word: Word) -> Assignment | None:
    """``NAME=value`` when the name and '=' are unquoted text (POSIX)."""
    head = word.parts[0] if word.parts else None
    if not isinstance(head, Text) or head.quoted:
        return None
    match = ASSIGNMENT.match(head.text)
    if match is None:
        return None
    rest = head.text[match.end() :]
    parts = ((Text(rest),) if rest else ()) + word.parts[1:]
    offset = match.end()
    span = Span(word.span.line, word.span.column + offset, word.span.start + offset, word.span.end)
    value = Word(parts, span, word.text[offset:])
    return Assignment(match.group(1), value, word.span)


def _strip_bang(word: Word) -> Word | None:
    """The word without its leading unquoted '!', or None when it has none."""
    head = word.parts[0] if word.parts else None
    if not isinstance(head, Text) or head.quoted or not head.text.startswith("!"):
        return None
    rest = head.text[1:]
    parts = ((Text(rest),) if rest else ()) + word.parts[1:]
    span = Span(word.span.line, word.span.column + 1, word.span.start + 1, word.span.end)
    return Word(parts, span, word.text[1:])
