"""Where natural-language examples are registered: templates per intent, lexicons by name.

Built-in examples register through the same function a plugin's hook gets::

    def register_nl_examples(register):            # a plugin's hook
        register("weather", ["what's the weather in {city}",
                             {"text": "forecast for {city}", "held_out": True}],
                 {"city": ["Paris", "Oslo"]})

``register`` is `ExampleBook.add`. A template is a string (trained on) or a
mapping ``{"text": ..., "held_out": bool}``: a held-out template is never
trained on and only scores the model (`llmsh nl eval`). The flag belongs to
the template, so adding or moving a template never changes another's. A
lexicon may be a function ``rng -> (phrase, values)``, a list of phrases (each
its own value) or a list of ``(phrase, value)`` pairs. Templates are checked
when registered: brackets must balance. An intent is a command's full name
(``models pull``, ``!``), ``generate`` or ``reject``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from llmsh.nl_intent import lexicons as lx
from llmsh.nl_intent.signatures import Param
from llmsh.nl_intent.templates import Item, Lexicon, Slot, TemplateError, parse_template

LexiconLike = Lexicon | Sequence[str] | Sequence[tuple[str, str]]
TemplateLike = str | Mapping[str, object]
RegisterExamples = Callable[..., None]

TYPE_LEXICONS = {
    "DEVICE": "device", "PRIORITY": "priority", "STATE": "state", "ID": "id", "MODEL": "model",
    "INT": "int", "FLOAT": "float", "LABELS": "labels", "FILE": "file", "DIR": "dir",
    "TEXT": "text", "NAME": "new_name", "COMMAND": "command",
}  # fmt: skip
ENTRY_KEYS = frozenset({"text", "held_out"})


@dataclass(frozen=True)
class Template:
    """One registered template; ``index`` counts within its intent (for its id only)."""

    intent: str
    index: int
    text: str
    items: tuple[Item, ...]
    held_out: bool = False
    """Never trained on: it only scores the model (the held-out split)."""

    @property
    def id(self) -> str:
        return f"{self.intent}#{self.index}"


def template_entry(entry: TemplateLike) -> tuple[str, bool]:
    """The text and held-out flag of a registered template (a plain string trains)."""
    if isinstance(entry, str):
        return entry, False
    if isinstance(entry, Mapping):
        text, held = entry.get("text"), entry.get("held_out", False)
        if not set(entry) - ENTRY_KEYS and isinstance(text, str) and isinstance(held, bool):
            return text, held
    raise TemplateError(
        f'a template is a string or {{"text": str, "held_out": bool}}, not {entry!r}'
    )


@dataclass
class ExampleBook:
    """All registered templates (by intent) and lexicons (by name)."""

    templates: dict[str, list[Template]] = field(default_factory=dict)
    lexicons: dict[str, Lexicon] = field(default_factory=dict)

    def add(
        self,
        intent: str,
        templates: Sequence[TemplateLike],
        lexicons: Mapping[str, LexiconLike] | None = None,
    ) -> None:
        """Add templates for ``intent`` and lexicons they may use; a bad template
        raises `TemplateError` before anything is added."""
        parsed = [
            (text, held, parse_template(text)) for text, held in map(template_entry, templates)
        ]
        own = self.templates.setdefault(intent, [])
        for text, held, items in parsed:
            own.append(Template(intent, len(own), text, items, held))
        for name, lexicon in (lexicons or {}).items():
            self.lexicons[name] = as_lexicon(lexicon)

    def lexicon_for(self, slot: Slot, param: Param | None) -> Lexicon:
        """The lexicon a slot draws from: named, else by slot name, else by value type."""
        for name in (slot.lexicon, slot.name, TYPE_LEXICONS.get(param.type or "") if param else ""):
            if name and name in self.lexicons:
                return self.lexicons[name]
        raise KeyError(f"no lexicon for slot {slot.name!r} (lexicon {slot.lexicon!r})")


def as_lexicon(value: LexiconLike) -> Lexicon:
    if callable(value):
        return value
    items = list(value)
    if items and isinstance(items[0], tuple):
        return lx.from_pairs([(str(p), str(v)) for p, v in items])  # type: ignore[misc]
    return lx.same([str(p) for p in items])


def example_book() -> ExampleBook:
    """The built-in and plugin examples, collected through the ``register_nl_examples``
    hook. Built afresh on each call (tens of milliseconds): whoever uses one keeps it."""
    from llmsh.plugins import get_plugins

    book = ExampleBook()
    get_plugins().collect("register_nl_examples", book.add)
    return book
