"""The command registry: every llmsh command, declared once as data.

Declare a command with :class:`Command` (positionals :class:`Arg`, flags
:class:`Flag`, value types :class:`ValueType`) and add it with
``default_registry().register(command)``; parsing, help, completion,
highlighting and the natural-language vocabulary all follow from it.
"""

from llmsh.commands.context import Context
from llmsh.commands.registry import Registry, default_registry
from llmsh.commands.spec import (
    Arg,
    Args,
    Command,
    CommandError,
    Flag,
    UsageError,
    ValueType,
    not_available,
)

__all__ = [
    "Arg",
    "Args",
    "Command",
    "CommandError",
    "Context",
    "Flag",
    "Registry",
    "UsageError",
    "ValueType",
    "default_registry",
    "not_available",
]
