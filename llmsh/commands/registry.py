"""The registry of commands: built-in, model and plugin commands register alike.

Each built-in module offers ``register_commands(register)`` (the hook a plugin
implements too); :func:`default_registry` calls them once. A later part adds
commands at run time with ``default_registry().register(Command(...))``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from llmsh.commands.spec import Command
from llmsh.commands.values import DEVICES, PRIORITIES, STATES

Register = Callable[[Command], None]

BUILTIN_MODULES = (
    "llmsh.commands.builtins",
    "llmsh.commands.terminalcmds",
    "llmsh.commands.jobcmds",
    "llmsh.commands.sessioncmds",
    "llmsh.commands.devicecmds",
    "llmsh.commands.storecmds",
    "llmsh.commands.modelcmds",
    "llmsh.commands.talkcmds",
    "llmsh.commands.plugincmds",
)


class Registry:
    def __init__(self, extend: Callable[[Registry], None] | None = None) -> None:
        """`extend` adds third-party commands, called once on the first lookup that
        needs more than the built-ins (a miss, a listing): `echo hi` loads no plugin."""
        self._commands: dict[str, Command] = {}
        self._aliases: dict[str, str] = {}
        self._extend = extend

    def _extended(self) -> None:
        extend, self._extend = self._extend, None
        if extend is not None:
            extend(self)

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
        if command is None and self._extend is not None:
            self._extended()
            return self.get(name)
        return command

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[Command]:
        self._extended()
        return iter(sorted(self._commands.values(), key=lambda c: c.name))

    def names(self, hidden: bool = False) -> list[str]:
        self._extended()
        return sorted(c.name for c in self._commands.values() if hidden or not c.hidden)

    def all_names(self) -> list[str]:
        """Names and aliases, for completion and highlighting."""
        self._extended()
        return sorted({*self._commands, *self._aliases})

    def suggest(self, word: str) -> str | None:
        import difflib

        found = difflib.get_close_matches(word, self.names(), n=1, cutoff=0.6)
        return found[0] if found else None

    def vocabulary(self) -> dict[str, Any]:
        """What the natural-language parser learns: every command, flag and value."""
        return {
            "commands": {c.name: _describe(c) for c in self if c.in_vocabulary and not c.hidden},
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


# Process-wide on purpose: it is built from the process's plugins (see llmsh.plugins),
# and every shell of the process must parse, complete and translate the same language.
# A shell may still be given a registry of its own (Shell(registry=...), tests).
_DEFAULT: Registry | None = None


def default_registry() -> Registry:
    """The process-wide registry: built-in commands at once, plugins' on first need."""
    global _DEFAULT
    if _DEFAULT is None:
        from llmsh.plugins import get_plugins

        registry = Registry(extend=_add_plugin_commands)
        get_plugins().collect("register_commands", registry.register, _name, which="built-in")
        _DEFAULT = registry
    return _DEFAULT


def _name(command: Command, **_: Any) -> str:
    return command.name


def _add_plugin_commands(registry: Registry) -> None:
    """A plugin may not silently replace a built-in: a clash is reported and the
    built-in kept, unless the config's `[plugins] override` names the command."""
    from llmsh.plugins import get_plugins, plugin_config

    overrides = set(plugin_config().get("override", []))

    def register(command: Command) -> None:
        if command.name in registry._commands and command.name not in overrides:
            raise ValueError(
                f"command {command.name!r} clashes with a built-in; the built-in is kept "
                "(allow it with [plugins] override in the config file)"
            )
        registry.register(command, replace=command.name in overrides)

    get_plugins().collect("register_commands", register, _name, which="third-party")
