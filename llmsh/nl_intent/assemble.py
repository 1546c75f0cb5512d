"""Build the canonical command line for an intent and its slot values.

Positionals come first in declared order, then flags in declared order
(``flags_first`` commands such as ``nl`` the other way round), each value
through `llmsh.syntax.unparse.quote`, and ``&`` last. The line is then parsed
by the real shell parser and printed back with `unparse`, and its words are
checked against the command's declaration with the registry's own argument
parser: a line that fails either is never offered (`AssemblyError`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from llmsh.nl_intent.signatures import Param, Signature
from llmsh.syntax.unparse import quote


class AssemblyError(ValueError):
    """The values do not make a valid command line; the message says why."""


_NEGATE = (
    r"\b(don'?t|do not|never|no longer|off|disable\w*|ignore|keep going|keep running|"
    r"continue|carry on|without)\b"
)


def set_option(text: str) -> str | None:
    """``set`` option for the words: ``-e`` stop at the first failure, ``-x`` trace."""
    low = text.lower().strip()
    if re.fullmatch(r"[-+][ex]", low):
        return low
    if re.search(r"\b(trac\w*|echo\w*|print\w*|show\w*|debug\w*|verbose|xtrace)", low):
        quiet = re.search(_NEGATE + r"|\b(stop|quiet)\b", low) is not None
        return "+x" if quiet else "-x"
    if re.search(r"\b(error|errors|fail\w*|exit|errexit|abort)", low):
        return "+e" if re.search(_NEGATE, low) else "-e"
    return None


def quote_path(value: str) -> str:
    """Like `quote`, but a leading ``~`` stays bare so the shell expands it."""
    if value.startswith("~/") and len(value) > 2:
        return "~/" + quote(value[2:])
    return value if value in ("~", "~/") else quote(value)


def _one(values: dict[str, list[str]], slot: str) -> str:
    found = values.get(slot)
    if not found:
        raise AssemblyError(f"missing {slot}")
    return found[0]


def _system(values: dict[str, list[str]]) -> list[str]:
    return ["!" + _one(values, "argv").strip().lstrip("!")]


def _alias(values: dict[str, list[str]]) -> list[str]:
    name = _one(values, "name")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", name):
        raise AssemblyError(f"bad alias name {name!r}")
    return ["alias", f"{name}={quote(_one(values, 'value'))}"]


def _echo(values: dict[str, list[str]]) -> list[str]:
    return ["echo", *(quote(v) for v in values.get("text", [])[:1])]


def _set(values: dict[str, list[str]]) -> list[str]:
    option = set_option(_one(values, "option"))
    if option is None:
        raise AssemblyError("no shell option in the words")
    return ["set", option]


def _explain(values: dict[str, list[str]]) -> list[str]:
    return ["explain", _one(values, "command").strip()]


RAW_ASSEMBLERS: dict[str, Callable[[dict[str, list[str]]], list[str]]] = {
    "!": _system, "alias": _alias, "echo": _echo, "set": _set, "explain": _explain,
}  # fmt: skip


def _check_value(param: Param, value: str) -> None:
    from llmsh.commands.spec import ValueType
    from llmsh.commands.values import convert

    if param.type is None:
        return
    try:
        convert(ValueType(param.type), value)
    except ValueError as exc:
        raise AssemblyError(str(exc)) from None


def _pieces(sig: Signature, values: dict[str, list[str]]) -> list[str]:
    positionals: list[str] = []
    flags: list[str] = []
    for param in sig.params:
        found = values.get(param.slot) or []
        if not found:
            if param.required:
                raise AssemblyError(f"missing {param.slot}")
            continue
        if param.option and param.type is None:
            flags.append(param.option)
            continue
        chosen = found if param.many else found[:1]
        for value in chosen:
            _check_value(param, value)
        words = [quote_path(v) if param.type in ("FILE", "DIR") else quote(v) for v in chosen]
        if param.option:
            flags += [param.option, *words]
        else:
            positionals += words
    return [*sig.words, *(flags + positionals if sig.flags_first else positionals + flags)]


def assemble(sig: Signature, values: dict[str, list[str]], background: bool = False) -> str:
    """The canonical line for ``sig`` with normalised ``values`` (slot -> values)."""
    if sig.raw:
        pieces = RAW_ASSEMBLERS[sig.intent](values)
    else:
        pieces = _pieces(sig, values)
    line = " ".join(pieces) + (" &" if background else "")
    return canonical(line, sig)


def canonical(line: str, sig: Signature) -> str:
    """``line`` parsed and printed back; AssemblyError unless it is one plain ``sig`` command."""
    from llmsh.syntax.ast import Script
    from llmsh.syntax.parser import ParseError, parse
    from llmsh.syntax.unparse import unparse

    try:
        tree: Script = parse(line)
    except ParseError as exc:
        raise AssemblyError(f"does not parse: {exc}") from None
    if len(tree.statements) != 1:
        raise AssemblyError("not one statement")
    body = tree.statements[0].body
    if body.rest or len(body.first.commands) != 1:
        raise AssemblyError("not one simple command")
    command = body.first.commands[0]
    if command.assignments or command.redirects:
        raise AssemblyError("assignments or redirections in the line")
    argv = [w.static_text() for w in command.words]
    if any(word is None for word in argv):
        raise AssemblyError("a value would expand a variable")
    if command.system != (sig.intent == "!"):
        raise AssemblyError("system command mismatch")
    if not command.system:
        _check_argv(sig, [w for w in argv if w is not None])
    return unparse(tree)


def _check_argv(sig: Signature, argv: list[str]) -> None:
    """The registry's own argument parser accepts the words."""
    from llmsh.commands.parsing import parse_args
    from llmsh.commands.registry import default_registry
    from llmsh.commands.spec import UsageError

    if tuple(argv[: len(sig.words)]) != sig.words:
        raise AssemblyError("command words changed")
    command = default_registry().get(sig.words[0])
    if command is None:
        raise AssemblyError(f"unknown command {sig.words[0]!r}")
    try:
        parse_args(command, argv)
    except UsageError as exc:
        raise AssemblyError(exc.message) from None
