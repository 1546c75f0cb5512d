"""The one exception the llmsh parser raises."""

from __future__ import annotations

__all__ = ["ParseError"]


class ParseError(Exception):
    """A syntax error at ``line``:``column`` (1-based).

    ``incomplete`` is True when the input merely stops too early (unclosed
    quote or ``${``, trailing backslash, nothing after ``&&``/``||``/``|``):
    the REPL then reads another line and parses the joined text again."""

    def __init__(
        self,
        message: str,
        line: int,
        column: int,
        *,
        incomplete: bool = False,
        filename: str | None = None,
    ) -> None:
        super().__init__(message, line, column)
        self.message = message
        self.line = line
        self.column = column
        self.incomplete = incomplete
        self.filename = filename

    def __str__(self) -> str:
        where = f"{self.line}:{self.column}"
        if self.filename:
            where = f"{self.filename}:{where}"
        return f"{self.message} at {where}"
