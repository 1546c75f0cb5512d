"""Executing the syntax tree: and-or lists, pipelines, simple commands.

Pipelines run their commands one after the other, each one's text output
becoming the next one's standard input. Redirections open files around a
single command. User mistakes become one-line messages and exit statuses
(2 usage, 127 unknown command); a Python traceback only with ``--debug``.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TextIO

from llmsh.commands.context import Context
from llmsh.commands.spec import Args, CommandError, UsageError
from llmsh.errors import KernelError
from llmsh.shell.expand import ExpansionError, expand_command, expand_value, expand_word
from llmsh.shell.redirect import Streams
from llmsh.syntax.ast import AndOr, Pipeline, SimpleCommand, Span, Text, Word
from llmsh.syntax.flow import ErrExit, ShellExit
from llmsh.syntax.parser import ParseError, parse
from llmsh.syntax.unparse import quote, unparse

if TYPE_CHECKING:
    from llmsh.shell.jobtable import SessionJob
    from llmsh.shell.session import Shell
    from llmsh.shell.state import ShellState

UNKNOWN = 127
USAGE = 2


@dataclass(frozen=True)
class Source:
    """Where the code being run came from, for `FILE:LINE:` in messages."""

    filename: str | None = None

    def where(self, span: Span) -> str:
        return f"{self.filename}:{span.line}: " if self.filename and span.line else ""


class Interpreter:
    def __init__(self, shell: Shell) -> None:
        self.shell = shell
        self._expanding: set[str] = set()  # aliases being expanded (no recursion)

    @property
    def state(self) -> ShellState:
        return self.shell.state

    async def and_or(self, node: AndOr, job: SessionJob, src: Source, errexit: bool) -> int:
        """Run ``a && b || c``; with `set -e`, a failure stops the script unless it
        was on the left of ``&&``/``||``."""
        status = await self.pipeline(node.first, job, src)
        ran_last = not node.rest
        for index, (op, pipeline) in enumerate(node.rest):
            if (op == "&&") == (status == 0):
                status = await self.pipeline(pipeline, job, src)
                ran_last = index == len(node.rest) - 1
        if errexit and status != 0 and ran_last and self.state.options.errexit:
            raise ErrExit(status)
        return status

    async def pipeline(
        self,
        node: Pipeline,
        job: SessionJob,
        src: Source,
        stdin: str | None = None,
        out: TextIO | None = None,
    ) -> int:
        status = 0
        last = len(node.commands) - 1
        for index, command in enumerate(node.commands):
            if index > 0:
                command = self._executable_stage(command)
            if index < last:
                buffer = io.StringIO()
                status = await self.command(command, job, src, stdin, buffer)
                stdin = buffer.getvalue()
            else:
                status = await self.command(command, job, src, stdin, out)
        self.state.last_status = status
        return status

    def _executable_stage(self, node: SimpleCommand) -> SimpleCommand:
        """`!echo hi | head -1`: a stage after `|` that is neither an llmsh command nor an
        alias but an executable on PATH runs as a system command. llmsh's own commands
        keep precedence, and a line's first word is never looked up on PATH."""
        if node.system or not node.words:
            return node
        head = node.words[0].static_text()
        if not head or head in self.state.aliases or self.shell.registry.get(head) is not None:
            return node
        if "/" not in head and shutil.which(head) is None:
            return node
        return replace(node, system=True)

    async def command(
        self,
        node: SimpleCommand,
        job: SessionJob,
        src: Source,
        stdin: str | None,
        out: TextIO | None,
    ) -> int:
        where = src.where(node.span)
        try:
            expanded = expand_command(node, self.state)
        except ExpansionError as exc:
            return self._fail(where, str(exc), 1)
        argv = expanded.argv
        if not argv and not node.system:
            self._assign(node)
        head = node.words[0].static_text() if node.words else None
        if argv and head == argv[0] and not node.system and head in self.state.aliases \
                and head not in self._expanding:  # fmt: skip
            return await self._alias(node, head, job, src, stdin, out)
        if self.state.options.xtrace and (argv or expanded.assignments):
            words = [f"{k}={quote(v)}" for k, v in expanded.assignments.items()]
            words += [quote(a) for a in argv]
            bang = "!" if node.system else ""
            self.shell.stderr.write(f"+ {bang}" + " ".join(words) + "\n")
        streams = Streams(self.shell.stdout, self.shell.stderr, out, stdin)
        try:
            streams.apply(expanded.redirects)
        except OSError as exc:
            streams.close()
            return self._fail(where, f"{exc.filename}: {exc.strerror}", 1)
        except ValueError as exc:
            streams.close()
            return self._fail(where, str(exc), 1)
        try:
            if not argv:
                return 0
            ctx = Context(self.shell, argv[0], streams.out, streams.err, streams.stdin, job,
                          streams.to_terminal, where)  # fmt: skip
            with self._temporary(expanded.assignments if not node.system else {}):
                return await self.dispatch(ctx, argv, node, expanded.assignments)
        finally:
            streams.close()

    def _assign(self, node: SimpleCommand) -> None:
        for assignment in node.assignments:  # in order: B=$A sees the A just set
            self.state.vars[assignment.name] = expand_value(assignment.value, self.state)

    @contextmanager
    def _temporary(self, env: dict[str, str]) -> Iterator[None]:
        saved = {name: self.state.vars.get(name) for name in env}
        self.state.vars.update(env)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    self.state.vars.pop(name, None)
                else:
                    self.state.vars[name] = value

    def _fail(self, where: str, message: str, status: int) -> int:
        self.shell.stderr.write(f"llmsh: {where}{message}\n")
        return status

    async def dispatch(
        self, ctx: Context, argv: list[str], node: SimpleCommand, env: dict[str, str]
    ) -> int:
        registry = self.shell.registry
        if node.system:
            command = registry.get("!")
            assert command is not None
            ctx.name = "!" + argv[0]
            line = system_line(node.words, self.state)
            args = Args(command, {"argv": argv, "line": line, "env": env},
                        ("!" + argv[0], *argv[1:]))  # fmt: skip
            return await self._call(ctx, args)
        found = registry.get(argv[0])
        if found is None:
            hint = registry.suggest(argv[0])
            msg = f"unknown command '{argv[0]}'" + (f" (did you mean '{hint}'?)" if hint else "")
            ctx.err.write(f"llmsh: {ctx.where}{msg}\n")
            return UNKNOWN
        ctx.name = found.name
        try:
            from llmsh.commands.parsing import parse_args

            args = parse_args(found, argv, ctx.stdin)
        except UsageError as exc:
            return self._usage(ctx, exc)
        return await self._call(ctx, args)

    def _usage(self, ctx: Context, exc: UsageError) -> int:
        command = exc.command
        name = command.full_name if command else ctx.name
        ctx.err.write(f"llmsh: {ctx.where}{name}: {exc.message}\n")
        if command is not None:
            ctx.err.write(f"usage: {command.usage()}\n")
        return USAGE

    async def _call(self, ctx: Context, args: Args) -> int:
        ctx.name = args.command.full_name if not ctx.name.startswith("!") else ctx.name
        try:
            status = await args.command.run(ctx, args)
            ctx.out.flush()
            return status
        except UsageError as exc:
            return self._usage(ctx, exc)
        except CommandError as exc:
            return ctx.error(exc.message, exc.status)
        except (ShellExit, ErrExit, BrokenPipeError):
            raise
        except KernelError as exc:
            return ctx.error(str(exc))
        except Exception as exc:
            if self.shell.debug:
                import traceback

                traceback.print_exc(file=ctx.err)
                return 1
            return ctx.error(f"internal error: {type(exc).__name__}: {exc} "
                             "(run llmsh --debug for the traceback)")  # fmt: skip
        except SystemExit as exc:  # a (plugin's) command calling sys.exit() ends no shell
            return ctx.error(f"internal error: {type(exc).__name__}: {exc} "
                             "(run llmsh --debug for the traceback)")  # fmt: skip

    async def _alias(
        self,
        node: SimpleCommand,
        name: str,
        job: SessionJob,
        src: Source,
        stdin: str | None,
        out: TextIO | None,
    ) -> int:
        rest = unparse(SimpleCommand(node.words[1:], (), node.redirects)) if (
            len(node.words) > 1 or node.redirects) else ""  # fmt: skip
        text = f"{self.state.aliases[name]} {rest}".strip()
        try:
            script = parse(text)
        except ParseError as exc:
            return self._fail(src.where(node.span), f"alias {name}: {exc}", USAGE)
        self._expanding.add(name)
        try:
            status = 0
            statements = script.statements
            if len(statements) == 1 and not statements[0].body.rest:
                return await self.pipeline(statements[0].body.first, job, src, stdin, out)
            for statement in statements:
                status = await self.and_or(statement.body, job, src, errexit=False)
            return status
        finally:
            self._expanding.discard(name)


def system_line(words: tuple[Word, ...], env: ShellState) -> str:
    """The /bin/sh command line for ``!CMD ...``: quoted text stays quoted,
    unquoted text passes as typed (so ``*.py`` is globbed by sh), variables
    are expanded here and quoted."""
    out = []
    for word in words:
        pieces = []
        for part in word.parts:
            if isinstance(part, Text):
                pieces.append(quote(part.text) if part.quoted else part.text)
            else:
                fields = expand_word(Word((part,)), env)
                pieces.append(" ".join(quote(f) for f in fields))
        out.append("".join(pieces))
    return " ".join(out)
