"""How a command is declared: once, as data.

A :class:`Command` names its positional arguments (:class:`Arg`) and flags
(:class:`Flag`), each with a :class:`ValueType`. From that one declaration come
argument parsing and validation (`parsing`), `help` (`helptext`), tab
completion and highlighting (`llmsh.shell.completion`), and the vocabulary the
natural-language parser learns (`Registry.vocabulary`). The handler is a thin
coroutine ``run(ctx, args) -> exit status``.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmsh.commands.context import Context
    from llmsh.kernel import JobSpec


class ValueType(str, enum.Enum):
    """What a value means; drives validation and completion."""

    TEXT = "TEXT"  # free text; `-` reads standard input
    FILE = "FILE"  # a path; `-` is standard input
    DIR = "DIR"  # a directory
    DEVICE = "DEVICE"  # auto, cpu, cuda, cuda:N
    PRIORITY = "PRIORITY"  # high, normal, low or -20..19
    STATE = "STATE"  # a job state
    ID = "ID"  # a pid or %N
    MODEL = "MODEL"  # a model name
    INT = "INT"
    FLOAT = "FLOAT"
    LABELS = "LABELS"  # A,B,...
    NAME = "NAME"  # a plain name (new model name, alias name)
    COMMAND = "COMMAND"  # an llmsh command name


Handler = Callable[["Context", "Args"], Awaitable[int]]
JobBuilder = Callable[["Context", "Args"], "JobSpec"]


@dataclass(frozen=True)
class Flag:
    """``--name VALUE`` (or a switch when ``type`` is None), with ``-s`` short form."""

    name: str
    type: ValueType | None = None
    short: str = ""
    help: str = ""
    metavar: str = ""
    default: Any = None
    required: bool = False
    choices: tuple[str, ...] = ()

    @property
    def option(self) -> str:
        return f"--{self.name}"

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")

    @property
    def takes_value(self) -> bool:
        return self.type is not None

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.option, f"-{self.short}") if self.short else (self.option,)

    def usage(self) -> str:
        text = self.option
        if self.type is not None:
            text += f" {self.metavar or self.type.value}"
        return text if self.required else f"[{text}]"


@dataclass(frozen=True)
class Arg:
    """A positional argument; ``many`` takes the rest (``ID...``)."""

    name: str
    type: ValueType = ValueType.TEXT
    help: str = ""
    metavar: str = ""
    optional: bool = False
    many: bool = False
    choices: tuple[str, ...] = ()
    default: Any = None

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")

    def usage(self) -> str:
        text = (self.metavar or self.type.value) + ("..." if self.many else "")
        return f"[{text}]" if self.optional else text


@dataclass(frozen=True)
class Command:
    """One command of the language, declared once."""

    name: str
    summary: str
    run: Handler
    args: tuple[Arg, ...] = ()
    flags: tuple[Flag, ...] = ()
    examples: tuple[str, ...] = ()
    destructive: bool = False
    category: str = "shell"
    aliases: tuple[str, ...] = ()
    description: str = ""
    nl_templates: tuple[str, ...] = ()
    """Natural-language phrasings of this command (filled in by the NL issue)."""
    raw: bool = False
    """Take argv as typed, unparsed (echo, set, alias); `usage_text` describes it."""
    usage_text: str = ""
    job: JobBuilder | None = None
    """Builds the kernel job this command runs; `explain` uses it too."""
    job_kind: str = ""
    subcommands: tuple[Command, ...] = ()
    default_subcommand: str = ""
    flags_first: bool = False
    """Show flags before positionals in the usage line (`nl [--dry-run] TEXT`)."""
    hidden: bool = False
    parent: str = ""
    live_help: Callable[[], str] | None = None
    """Help that depends on the machine (a model's defaults), computed when shown."""
    in_vocabulary: bool = True
    """Part of what the intent parser learns. Terminal conveniences (clear, version) are
    typed, not asked for; leaving them out keeps the trained weights valid."""

    def flag(self, spelling: str) -> Flag | None:
        for flag in self.flags:
            if spelling in flag.spellings:
                return flag
        return None

    def subcommand(self, name: str) -> Command | None:
        for sub in self.subcommands:
            if sub.name == name or name in sub.aliases:
                return sub
        return None

    @property
    def full_name(self) -> str:
        return f"{self.parent} {self.name}" if self.parent else self.name

    def usage(self) -> str:
        if self.usage_text:
            return f"{self.full_name} {self.usage_text}".rstrip()
        if self.subcommands:
            names = "|".join(sub.name for sub in self.subcommands)
            return f"{self.full_name} [{names}] ..."
        flags = [flag.usage() for flag in self.flags]
        args = [arg.usage() for arg in self.args]
        parts = flags + args if self.flags_first else args + flags
        return " ".join([self.full_name, *parts])


@dataclass
class Args(Mapping[str, Any]):
    """Parsed and validated arguments, by destination name."""

    command: Command
    parsed: dict[str, Any] = field(default_factory=dict)
    argv: tuple[str, ...] = ()

    def __getitem__(self, key: str) -> Any:
        return self.parsed[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.parsed)

    def __len__(self) -> int:
        return len(self.parsed)


class UsageError(Exception):
    """Bad flag or value: exit status 2, with the usage line."""

    def __init__(self, command: Command | None, message: str) -> None:
        super().__init__(message)
        self.command = command
        self.message = message


class CommandError(Exception):
    """A command's own failure (exit status 1 unless given): one line for the user."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def not_available(what: str = "model support is not installed") -> CommandError:
    return CommandError(f"not available yet ({what})")
