"""Syntax highlighting of the line being typed.

Commands, flags, strings, variables, operators and comments get their own
style; a command word that is neither a command nor an alias is shown as an
error before Enter is pressed. Works on incomplete input: after an unclosed
quote the rest of the line is a string.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from prompt_toolkit.document import Document
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.lexers import Lexer as PtLexer

from llmsh.commands.parsing import looks_like_flag
from llmsh.commands.registry import Registry
from llmsh.syntax.lexer import ASSIGNMENT, Lexer, ParseError, TokenKind

STYLE = {
    "command": "bold ansigreen",
    "system": "bold ansiyellow",
    "unknown": "bold ansired underline",
    "flag": "ansicyan",
    "string": "ansiyellow",
    "variable": "ansimagenta",
    "operator": "bold ansiblue",
    "comment": "italic ansibrightblack",
    "path": "underline",
    "prompt": "bold",
    "prompt.jobs": "bold ansicyan",
}
_REDIRECTS = (">", ">>", "<", ">&")


def styles_of(text: str, known: Callable[[str], bool]) -> list[str]:
    """A style name for every character of ``text`` ("" for none)."""
    styles = [""] * len(text)

    def paint(start: int, end: int, style: str) -> None:
        for index in range(start, min(end, len(text))):
            styles[index] = style

    lexer = Lexer(text)
    at_command, after_redirect, last_end = True, False, 0
    try:
        while True:
            token = lexer.next_token()
            _comment(text, last_end, token.span.start, paint)
            start, end = token.span.start, token.span.end
            last_end = max(last_end, end)
            if token.kind is TokenKind.EOF:
                break
            if token.kind is TokenKind.NEWLINE:
                at_command = True
            elif token.kind in (TokenKind.OP, TokenKind.IO_NUMBER):
                paint(start, end, "operator")
                after_redirect = token.text in _REDIRECTS or token.kind is TokenKind.IO_NUMBER
                at_command = at_command or not after_redirect
            elif after_redirect:
                paint(start, end, "path")
                after_redirect = False
            elif at_command and (match := ASSIGNMENT.match(token.text)):
                paint(start, start + match.end() - 1, "variable")
                _inside_word(text, start + match.end(), end, paint)
            else:
                base = ""
                if at_command:
                    word = token.word.static_text() if token.word else None
                    if token.text.startswith("!"):
                        base = "system"
                    elif word is not None:
                        base = "command" if known(word) else "unknown"
                    at_command = False
                elif looks_like_flag(token.text):
                    base = "flag"
                paint(start, end, base)
                _inside_word(text, start, end, paint)
    except ParseError:  # an unclosed quote: the rest of the input is the string
        start = len(text) - len(text[last_end:].lstrip(" \t"))
        paint(start, len(text), "string")
    return styles


def _comment(text: str, start: int, end: int, paint: Callable[[int, int, str], None]) -> None:
    gap = text[start:end]
    index = gap.find("#")
    if index >= 0:
        line_end = text.find("\n", start + index)
        paint(start + index, len(text) if line_end < 0 else line_end, "comment")


def _inside_word(text: str, start: int, end: int, paint: Callable[[int, int, str], None]) -> None:
    """Strings and $variables inside one word."""
    index, quote = start, ""
    while index < end:
        ch = text[index]
        if ch == "\\" and quote != "'":
            paint(index, index + 2, "string")
            index += 2
            continue
        if ch == "'" and quote != '"':
            quote = "" if quote == "'" else "'"
            paint(index, index + 1, "string")
        elif ch == '"' and quote != "'":
            quote = "" if quote == '"' else '"'
            paint(index, index + 1, "string")
        elif ch == "$" and quote != "'" and index + 1 < end:
            stop = index + 1
            if text[stop] == "{":
                close = text.find("}", stop)
                stop = end if close < 0 else close + 1
            elif text[stop] in "?!#@*$0123456789":
                stop += 1
            else:
                while stop < end and (text[stop].isalnum() or text[stop] == "_"):
                    stop += 1
            paint(index, stop, "variable")
            index = stop
            continue
        elif quote:
            paint(index, index + 1, "string")
        index += 1


def fragments(text: str, known: Callable[[str], bool]) -> StyleAndTextTuples:
    """``text`` as prompt_toolkit (style, text) pairs, one run per style."""
    out: StyleAndTextTuples = []
    styles = styles_of(text, known)
    run_start = 0
    for index in range(1, len(text) + 1):
        if index == len(text) or styles[index] != styles[run_start]:
            style = styles[run_start]
            out.append((f"class:{style}" if style else "", text[run_start:index]))
            run_start = index
    return out


class ShellLexer(PtLexer):
    """prompt_toolkit lexer over `fragments`, line by line."""

    def __init__(self, registry: Registry, aliases: Collection[str]) -> None:
        self.registry = registry
        self.aliases = aliases

    def known(self, word: str) -> bool:
        return word in self.registry or word in self.aliases

    def lex_document(self, document: Document) -> Callable[[int], StyleAndTextTuples]:
        lines: list[StyleAndTextTuples] = [[]]
        for style, chunk, *_ in fragments(document.text, self.known):
            pieces = chunk.split("\n")
            for number, piece in enumerate(pieces):
                if number:
                    lines.append([])
                if piece:
                    lines[-1].append((style, piece))
        return lambda number: lines[number] if number < len(lines) else []
