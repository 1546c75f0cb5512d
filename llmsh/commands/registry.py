"""The registry of commands: built-in, model and plugin commands register alike.

Each built-in module offers ``register_commands(register)`` (the hook a plugin
implements too); :func:`default_registry` calls them once. A later part adds
commands at run time with ``default_registry().register(Command(...))``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any

from llmsh.commands.spec import Command
from llmsh.commands.values import DEVICES, PRIORITIES, STATES

Register = Callable[[Command], None]

BUILTIN_MODULES = (
    "llmsh.commands.builtins",
    "llmsh.commands.jobcmds",
    "llmsh.commands.sessioncmds",
    "llmsh.commands.devicecmds",
    "llmsh.commands.storecmds",
    "llmsh.commands.modelcmds",
    "llmsh.commands.talkcmds",
)


class Registry:
    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}
        self._aliases: dict[str, str] = {}

    def register(self, command: Command, replace: bool = False) -> None:
        """Add a command; a name already taken needs ``replace=True``."""
        taken = command.name in self._commands or command.name in self._aliases
        if taken and not replace:
            raise ValueError(f"command {command.name!r} is already registered")
        self._commands[command.name] = command
        for alias in command.aliases:
            self._aliases[alias] = command.name

    def unregister(self, name: str) -> None:
        command = self._commands.pop(name, None)
        if command is not None:
            for alias in command.aliases:
                self._aliases.pop(alias, None)

    def get(self, name: str) -> Command | None:
        command = self._commands.get(name)
        if command is None and name in self._aliases:
            command = self._commands.get(self._aliases[name])
        return command

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[Command]:
        return iter(sorted(self._commands.values(), key=lambda c: c.name))

    def names(self, hidden: bool = False) -> list[str]:
        return sorted(c.name for c in self._commands.values() if hidden or not c.hidden)

    def all_names(self) -> list[str]:
        """Names and aliases, for completion and highlighting."""
        return sorted({*self._commands, *self._aliases})

    def suggest(self, word: str) -> str | None:
        import difflib

        found = difflib.get_close_matches(word, self.names(), n=1, cutoff=0.6)
        return found[0] if found else None

    def vocabulary(self) -> dict[str, Any]:
        """What the natural-language parser learns: every command, flag and value."""
        return {
            "commands": {c.name: _describe(c) for c in self if not c.hidden},
            "values": {
                "DEVICE": [*DEVICES, "cuda:N"],
                "PRIORITY": [*PRIORITIES, "-20..19"],
                "STATE": list(STATES),
                "MODEL": ["smollm2", "minilm"],
            },
        }


def _describe(command: Command) -> dict[str, Any]:
    return {
        "summary": command.summary,
        "usage": command.usage(),
        "category": command.category,
        "destructive": command.destructive,
        "aliases": list(command.aliases),
        "args": [
            {
                "name": a.dest,
                "type": a.type.value,
                "optional": a.optional,
                "many": a.many,
                "choices": list(a.choices),
                "help": a.help,
            }
            for a in command.args
        ],  # fmt: skip
        "flags": [
            {
                "name": f.option,
                "short": f"-{f.short}" if f.short else "",
                "type": f.type.value if f.type else None,
                "metavar": f.metavar,
                "required": f.required,
                "help": f.help,
            }
            for f in command.flags
        ],  # fmt: skip
        "examples": list(command.examples),
        "nl_templates": list(command.nl_templates),
        "job_kind": command.job_kind,
        "subcommands": {s.name: _describe(s) for s in command.subcommands},
    }


_DEFAULT: Registry | None = None
load_plugins = True
"""False under `llmsh --safe`: the plugin loader (a later part) registers nothing."""


def default_registry() -> Registry:
    """The process-wide registry, with the built-in commands registered on first use."""
    global _DEFAULT
    if _DEFAULT is None:
        registry = Registry()
        for name in BUILTIN_MODULES:
            importlib.import_module(name).register_commands(registry.register)
        _DEFAULT = registry
    return _DEFAULT
