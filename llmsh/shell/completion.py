"""Tab completion from the command declarations.

In command position: command names and aliases. After a command: its
subcommands, flags (when the word starts with ``-``), and values by type:
devices, priorities, states, job references (``%N`` and pids), model names,
file paths. `CompletionCache` holds what needs the kernel or the model store;
the REPL refreshes it before each prompt so completing never waits.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document

from llmsh.commands.parsing import looks_like_flag
from llmsh.commands.spec import Command, Flag, ValueType
from llmsh.commands.values import DEVICES, PRIORITIES, STATES
from llmsh.syntax.lexer import ASSIGNMENT, Lexer, ParseError, TokenKind
from llmsh.syntax.unparse import quote

if TYPE_CHECKING:
    from llmsh.shell.session import Shell

_SEPARATORS = (";", "&", "&&", "||", "|", "(", ")")
_REDIRECTS = (">", ">>", "<", ">&")
CATALOGUE = ("smollm2", "minilm")


@dataclass
class CompletionCache:
    pids: list[tuple[int, str]] = field(default_factory=list)  # (pid, command)
    devices: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    models_at: float = 0.0

    def model_names(self) -> list[str]:
        """Stored and catalogue model names (looked up at most every 10 s)."""
        if time.monotonic() - self.models_at > 10:
            self.models_at = time.monotonic()
            names = list(CATALOGUE)
            try:
                from llmsh.models import ModelStore, load_catalogue

                names += ModelStore().names() + list(load_catalogue())
            except Exception:  # the model layer is optional here
                pass
            self.models = sorted(set(names))
        return self.models


@dataclass
class Line:
    """The command being typed: its finished words and the word under the cursor."""

    words: list[str]
    partial: str
    partial_raw: str  # as typed, with quotes (what the completion replaces)
    after_redirect: bool = False


def current_command(text: str) -> Line:
    lexer = Lexer(text)
    words: list[str] = []
    last_end, after_redirect, redirect_pending = 0, False, False
    partial, raw = "", ""
    try:
        while True:
            token = lexer.next_token()
            if token.kind is TokenKind.EOF:
                break
            last_end = token.span.end
            if token.kind is TokenKind.NEWLINE or (
                    token.kind is TokenKind.OP and token.text in _SEPARATORS):  # fmt: skip
                words, redirect_pending = [], False
            elif token.kind in (TokenKind.OP, TokenKind.IO_NUMBER):
                redirect_pending = True
            elif token.kind is TokenKind.WORD:
                value = token.word.static_text() if token.word else None
                value = token.text if value is None else value
                if token.span.end == len(text):
                    partial, raw, after_redirect = value, token.text, redirect_pending
                    break
                if not redirect_pending and not (not words and ASSIGNMENT.match(token.text)):
                    words.append(value)
                redirect_pending = False
    except ParseError:
        raw = text[last_end:].lstrip()
        partial = raw.lstrip("'\"")
        after_redirect = redirect_pending
    if not raw:
        after_redirect = redirect_pending
    return Line(words, partial, raw, after_redirect)


def quote_path(path: str) -> str:
    """Quote a path but keep a leading ``~/`` bare, so it still expands."""
    if path.startswith("~/"):
        return "~/" + quote(path[2:]) if path[2:] else "~/"
    return quote(path)


class ShellCompleter(Completer):
    def __init__(self, shell: Shell, cache: CompletionCache | None = None) -> None:
        self.shell = shell
        self.cache = cache or CompletionCache()
        self.paths = PathCompleter(expanduser=True)

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterator[Completion]:
        line = current_command(document.text_before_cursor)
        if line.after_redirect:
            yield from self._paths(line, complete_event, only_dirs=False)
            return
        if not line.words:
            yield from self._commands(line)
            return
        command = self.shell.registry.get(line.words[0])
        if command is None:
            return
        yield from self._arguments(command, line.words[1:], line, complete_event)

    def _commands(self, line: Line) -> Iterator[Completion]:
        registry = self.shell.registry
        for name in registry.all_names():
            command = registry.get(name)
            if name.startswith(line.partial) and command is not None and not command.hidden:
                yield self._make(name, line, command.summary)
        for name, value in sorted(self.shell.state.aliases.items()):
            if name.startswith(line.partial):
                yield self._make(name, line, f"alias: {value}")

    def _arguments(
        self, command: Command, args: list[str], line: Line, event: CompleteEvent
    ) -> Iterator[Completion]:
        if command.subcommands:
            if not args:
                for sub in command.subcommands:
                    if sub.name.startswith(line.partial):
                        yield self._make(sub.name, line, sub.summary)
                return
            chosen = command.subcommand(args[0])
            if chosen is None:
                return
            command, args = chosen, args[1:]
        if command.name == "explain" and args:
            nested = self.shell.registry.get(args[0])
            if nested is not None:
                yield from self._arguments(nested, args[1:], line, event)
            return
        if command.name in ("explain", "help") and not args:
            yield from self._commands(line)
            return
        if command.raw:
            return
        expecting: Flag | None = None
        position = 0
        used: set[str] = set()
        for word in args:
            if expecting is not None:
                expecting = None
            elif looks_like_flag(word):
                flag = command.flag(word.split("=", 1)[0])
                if flag is not None:
                    used.add(flag.name)
                    if flag.takes_value and "=" not in word:
                        expecting = flag
            else:
                position += 1
        if expecting is not None:
            yield from self._values(expecting.type, expecting.choices, line, event)
        elif line.partial.startswith("-"):
            for flag in command.flags:
                if flag.name not in used and flag.option.startswith(line.partial):
                    yield self._make(flag.option, line, flag.help)
        elif command.args:
            arg = command.args[min(position, len(command.args) - 1)]
            if position < len(command.args) or arg.many:
                yield from self._values(arg.type, arg.choices, line, event)

    def _values(
        self, kind: ValueType | None, choices: tuple[str, ...], line: Line, event: CompleteEvent
    ) -> Iterator[Completion]:
        if kind in (ValueType.FILE, ValueType.DIR):
            yield from self._paths(line, event, only_dirs=kind is ValueType.DIR)
            return
        for value, meta in self._candidates(kind, choices):
            if value.startswith(line.partial):
                yield self._make(value, line, meta)

    def _candidates(
        self, kind: ValueType | None, choices: tuple[str, ...]
    ) -> Iterable[tuple[str, str]]:
        if choices:
            return [(c, "") for c in choices]
        if kind is ValueType.DEVICE:
            return [(d, "") for d in dict.fromkeys([*DEVICES, *self.cache.devices])]
        if kind is ValueType.PRIORITY:
            return [(p, "") for p in PRIORITIES]
        if kind is ValueType.STATE:
            return [(s, "") for s in STATES]
        if kind is ValueType.ID:
            jobs = [(f"%{job.number}", job.command) for job in self.shell.jobs]
            return jobs + [(str(pid), command) for pid, command in self.cache.pids]
        if kind is ValueType.MODEL:
            return [(m, "model") for m in self.cache.model_names()]
        if kind is ValueType.COMMAND:
            return [(n, "") for n in self.shell.registry.names()]
        return []

    def _paths(self, line: Line, event: CompleteEvent, only_dirs: bool) -> Iterator[Completion]:
        completer = PathCompleter(only_directories=only_dirs, expanduser=True)
        sub = Document(line.partial, len(line.partial))
        for found in completer.get_completions(sub, event):
            full = line.partial[: len(line.partial) + found.start_position] + found.text
            yield Completion(quote_path(full), -len(line.partial_raw), display=found.display)

    @staticmethod
    def _make(value: str, line: Line, meta: str) -> Completion:
        """A whole word: inserted with a space after it, as shells do."""
        return Completion(quote(value) + " ", -len(line.partial_raw), display=value,
                          display_meta=meta)  # fmt: skip
