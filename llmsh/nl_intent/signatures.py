"""What each intent can say: the command vocabulary, read from the command registry.

An intent is a command's full name (``ps``, ``models pull``, ``!``) or one of
the two extras, ``reject`` (not a command). Its :class:`Signature` lists the
values it takes (positionals, then flags, in the registry's declared order):
each becomes a slot the tagger learns. Slot names come from the destination
names in the registry, except that every MODEL value is the slot ``model`` and
every ID value the slot ``id`` (one command never takes two of them).

Commands declared ``raw`` (they take argv as typed) have no parameters in the
registry; :data:`RAW` gives the few the parser can write a signature for.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmsh.commands.registry import Registry

REJECT = "reject"
BACKGROUND = "bg"
# Destructive beyond the registry's flag: `unload` may pull a model from under a job,
# and a `!` system command can do anything.
ALSO_DESTRUCTIVE = frozenset({"!", "unload"})
# Job commands that make no sense in the background: they talk with the terminal.
INTERACTIVE = frozenset({"chat"})


@dataclass(frozen=True)
class Param:
    """One value of a command: a positional (``option`` empty) or a flag."""

    dest: str
    type: str | None
    """The registry's value type name; None for a switch (``--all``)."""
    option: str = ""
    many: bool = False
    required: bool = False
    choices: tuple[str, ...] = ()
    """The values it may take, where the type alone does not say (the command names a
    COMMAND value may be)."""

    @property
    def slot(self) -> str:
        if self.type == "MODEL":
            return "model"
        if self.type == "ID":
            return "id"
        return self.dest


@dataclass(frozen=True)
class Signature:
    """An intent's command words, parameters and properties."""

    intent: str
    words: tuple[str, ...]
    params: tuple[Param, ...] = ()
    flags_first: bool = False
    destructive: bool = False
    background: bool = False
    """A job command: "in the background" makes sense (a trailing ``&``)."""
    raw: bool = False
    """Assembled by a rule of its own (`assemble.RAW_ASSEMBLERS`)."""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def slots(self) -> tuple[str, ...]:
        return tuple(p.slot for p in self.params)

    def param(self, slot: str) -> Param | None:
        return next((p for p in self.params if p.slot == slot), None)


RAW: dict[str, tuple[Param, ...]] = {
    "!": (Param("argv", "TEXT", required=True),),
    "alias": (Param("name", "NAME", required=True), Param("value", "TEXT", required=True)),
    "echo": (Param("text", "TEXT"),),
    "set": (Param("option", "TEXT", required=True),),
    "explain": (Param("command", "TEXT", required=True),),
}


def _params(info: dict[str, Any]) -> tuple[Param, ...]:
    params = [
        Param(a["name"], a["type"], many=a["many"], required=not a["optional"])
        for a in info["args"]
    ]
    for flag in info["flags"]:
        dest = flag["name"].lstrip("-").replace("-", "_")
        params.append(Param(dest, flag["type"], option=flag["name"], required=flag["required"]))
    return tuple(params)


def _flags_first(name: str, info: dict[str, Any]) -> bool:
    """The usage line shows flags before positionals (``nl [--dry-run] TEXT``)."""
    rest = info.get("usage", "").split()[len(name.split()) :]
    return bool(rest and info["args"] and rest[0].lstrip("[").startswith("-"))


def _signature(name: str, info: dict[str, Any]) -> Signature:
    raw = name in RAW
    return Signature(
        intent=name,
        words=tuple(name.split()),
        params=RAW[name] if raw else _params(info),
        flags_first=_flags_first(name, info),
        destructive=bool(info.get("destructive")) or name in ALSO_DESTRUCTIVE,
        background=bool(info.get("job_kind")) and name not in INTERACTIVE,
        raw=raw,
        extra={"summary": info.get("summary", ""), "usage": info.get("usage", "")},
    )


def signatures_from(vocabulary: dict[str, Any]) -> dict[str, Signature]:
    """Every leaf command of a `Registry.vocabulary()` as a signature, by intent name."""
    out: dict[str, Signature] = {}
    for name, info in vocabulary["commands"].items():
        subs = info.get("subcommands") or {}
        if subs:
            for sub_name, sub in subs.items():
                full = f"{name} {sub_name}"
                out[full] = _signature(full, sub)
        else:
            out[name] = _signature(name, info)
    names = tuple(sorted({n.split()[0] for n in out} | set(out)))
    return {intent: _naming(sig, names) for intent, sig in out.items()}


def _naming(sig: Signature, names: tuple[str, ...]) -> Signature:
    """``sig`` with the command names as the choices of its COMMAND values."""
    if not any(p.type == "COMMAND" for p in sig.params):
        return sig
    params = tuple(replace(p, choices=names) if p.type == "COMMAND" else p for p in sig.params)
    return replace(sig, params=params)


def signatures(registry: Registry | None = None) -> dict[str, Signature]:
    """Signatures of ``registry``'s commands (default: the process's registry), read
    afresh: whoever uses them keeps them (`Translator.sigs`)."""
    if registry is None:
        from llmsh.commands.registry import default_registry

        registry = default_registry()
    return signatures_from(registry.vocabulary())
