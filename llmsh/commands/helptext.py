"""`help` and `help CMD`, written from the command declarations."""

from __future__ import annotations

from llmsh.commands.registry import Registry
from llmsh.commands.spec import Command

CATEGORIES = (
    ("jobs", "Jobs"),
    ("devices", "Devices"),
    ("models", "Models"),
    ("shell", "Shell built-ins"),
)

SYNTAX = """\
Syntax: a ; b   a && b   a || b   a | b   a &   > FILE  >> FILE  2> FILE
        NAME=value  $NAME ${NAME} $? $! $1..$9 $# $@   'literal' "with $VAR"
        %N is job N of this session; a bare number is a pid; !CMD runs a system command"""


def overview(registry: Registry) -> str:
    """Every command, one line each, by category."""
    commands = [c for c in registry if not c.hidden]
    width = max(len(c.name) for c in commands) + 2
    lines: list[str] = []
    known = {key for key, _ in CATEGORIES}
    groups = list(CATEGORIES) + sorted(
        {(c.category, c.category.capitalize()) for c in commands if c.category not in known}
    )
    for key, title in groups:
        members = [c for c in commands if c.category == key]
        if not members:
            continue
        lines.append(f"{title}:")
        lines += [f"  {c.name:<{width}}{c.summary}" for c in members]
        lines.append("")
    lines.append(SYNTAX)
    lines.append("")
    lines.append("Type 'help COMMAND' for its flags and examples.")
    return "\n".join(lines) + "\n"


def usage_line(command: Command) -> str:
    return f"usage: {command.usage()}"


def describe(command: Command) -> str:
    """The full help of one command."""
    lines = [usage_line(command), "", command.summary]
    if command.description:
        lines += ["", command.description]
    if command.live_help is not None:
        lines += ["", command.live_help()]
    if command.aliases:
        lines.append(f"Also: {', '.join(command.aliases)}")
    if command.subcommands:
        lines += ["", "Subcommands:"]
        width = max(len(s.usage()) for s in command.subcommands) + 2
        lines += [f"  {s.usage():<{width}}{s.summary}" for s in command.subcommands]
    entries = [(arg.usage(), _with_choices(arg.help, arg.choices)) for arg in command.args]
    entries += [
        (", ".join(flag.spellings) + (f" {flag.metavar or flag.type.value}" if flag.type else ""),
         _with_choices(flag.help, flag.choices))
        for flag in command.flags
    ]  # fmt: skip
    if entries:
        width = max(len(name) for name, _ in entries) + 2
        lines += ["", "Arguments:"]
        lines += [f"  {name:<{width}}{text}".rstrip() for name, text in entries]
    if command.destructive:
        lines += ["", "This command is destructive: it ends or removes something."]
    examples = list(command.examples)
    for sub in command.subcommands:
        examples += sub.examples
    if examples:
        lines += ["", "Examples:"]
        lines += [f"  {example}" for example in examples]
    return "\n".join(lines) + "\n"


def _with_choices(text: str, choices: tuple[str, ...]) -> str:
    return f"{text} ({', '.join(choices)})" if choices else text
