"""Where natural-language examples are registered: templates per intent, lexicons by name.

Built-in examples register through the same function a plugin uses::

    def register_nl_examples(register):            # a plugin's hook
        register("weather", ["what's the weather in {city}", ...],
                 {"city": ["Paris", "Oslo"]})

``register`` is :func:`register_examples`. A lexicon may be a function
``rng -> (phrase, values)``, a list of phrases (each its own value) or a list
of ``(phrase, value)`` pairs. Templates are checked when registered: brackets
must balance. An intent is a command's full name (``models pull``, ``!``),
``generate`` or ``reject``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from llmsh.nl_intent import lexicons as lx
from llmsh.nl_intent.signatures import Param
from llmsh.nl_intent.templates import Item, Lexicon, Slot, parse_template

LexiconLike = Lexicon | Sequence[str] | Sequence[tuple[str, str]]
RegisterExamples = Callable[..., None]

TYPE_LEXICONS = {
    "DEVICE": "device", "PRIORITY": "priority", "STATE": "state", "ID": "id", "MODEL": "model",
    "INT": "int", "FLOAT": "float", "LABELS": "labels", "FILE": "file", "DIR": "dir",
    "TEXT": "text", "NAME": "new_name", "COMMAND": "command",
}  # fmt: skip


@dataclass(frozen=True)
class Template:
    """One registered template; ``index`` counts within its intent (the split uses it)."""

    intent: str
    index: int
    text: str
    items: tuple[Item, ...]

    @property
    def id(self) -> str:
        return f"{self.intent}#{self.index}"


@dataclass
class ExampleBook:
    """All registered templates (by intent) and lexicons (by name)."""

    templates: dict[str, list[Template]] = field(default_factory=dict)
    lexicons: dict[str, Lexicon] = field(default_factory=dict)

    def add(
        self, intent: str, templates: Sequence[str], lexicons: Mapping[str, LexiconLike] | None
    ) -> None:
        own = self.templates.setdefault(intent, [])
        for text in templates:
            own.append(Template(intent, len(own), text, parse_template(text)))
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


_BOOK: ExampleBook | None = None
_PENDING: list[tuple[str, Sequence[str], Mapping[str, LexiconLike] | None]] = []


def register_examples(
    command: str, templates: Sequence[str], lexicons: Mapping[str, LexiconLike] | None = None
) -> None:
    """Add templates for ``command`` (an intent name) and lexicons they may use."""
    for text in templates:
        parse_template(text)  # fail early, in the caller's frame
    if _BOOK is None:
        _PENDING.append((command, list(templates), lexicons))
    else:
        _BOOK.add(command, templates, lexicons)


def example_book() -> ExampleBook:
    """Built-in and plugin examples plus everything registered so far (built once)."""
    global _BOOK
    if _BOOK is None:
        book = ExampleBook()
        _collect(book)
        for command, templates, lexicons in _PENDING:
            book.add(command, templates, lexicons)
        _PENDING.clear()
        _BOOK = book
    return _BOOK


def _collect(book: ExampleBook) -> None:
    """Built-in and plugin examples through the ``register_nl_examples`` hook."""
    try:
        from llmsh.plugins import get_plugins
    except ImportError:  # no plugin system: the built-ins alone
        from llmsh.nl_intent import builtin_examples

        builtin_examples.register_nl_examples(book.add)
        return
    get_plugins().collect("register_nl_examples", book.add)


def sample_lexicon(book: ExampleBook, name: str, seed: int = 0) -> tuple[str, list[str]]:
    """One phrase from a named lexicon (handy in tests)."""
    return book.lexicons[name](random.Random(seed))
