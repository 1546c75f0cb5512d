"""The template language for natural-language examples, and rendering it.

A template is text with four kinds of item::

    (show|list|display)       one of the choices
    [please|kindly]           one of the choices, or nothing
    {device}                  a slot: a phrase from the slot's lexicon (here `device`)
    {id:job}                  a slot filled from a named lexicon (here `job`)
    {all=finished ones|everything}   a switch slot: one of the phrases, value "true"

Choices may hold slots and further brackets. Rendering gives `Segment` pieces
(text, and the slot with its values when the text is a slot's phrase); spaces
are collapsed when the pieces are joined, so optional parts leave no gaps.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

Lexicon = Callable[[random.Random], tuple[str, Sequence[str]]]
"""``rng -> (phrase, values)``; a single value may be a plain string."""


@dataclass
class Segment:
    """Rendered text; ``slot`` set when it is a slot value (``values`` canonical)."""

    text: str
    slot: str | None = None
    values: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Lit:
    text: str


@dataclass(frozen=True)
class Slot:
    name: str
    lexicon: str = ""
    phrases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Choice:
    options: tuple[tuple[Item, ...], ...]
    optional: bool = False


Item = Lit | Slot | Choice
_CLOSE = {"(": ")", "[": "]"}


class TemplateError(ValueError):
    pass


def parse_template(text: str) -> tuple[Item, ...]:
    items, pos = _seq(text, 0, "")
    if pos != len(text):
        raise TemplateError(f"unbalanced brackets in template {text!r}")
    return items


def _seq(text: str, pos: int, stops: str) -> tuple[tuple[Item, ...], int]:
    items: list[Item] = []
    buf: list[str] = []
    while pos < len(text) and text[pos] not in stops:
        ch = text[pos]
        if ch in "([{":
            if buf:
                items.append(Lit("".join(buf)))
                buf = []
            if ch == "{":
                end = text.find("}", pos)
                if end < 0:
                    raise TemplateError(f"unclosed slot in {text!r}")
                items.append(_slot(text[pos + 1 : end]))
                pos = end + 1
                continue
            options: list[tuple[Item, ...]] = []
            pos += 1
            while True:
                option, pos = _seq(text, pos, "|" + _CLOSE[ch])
                options.append(option)
                if pos >= len(text):
                    raise TemplateError(f"unclosed {ch!r} in {text!r}")
                pos += 1
                if text[pos - 1] == _CLOSE[ch]:
                    break
            items.append(Choice(tuple(options), optional=ch == "["))
            continue
        if ch in ")]}":
            raise TemplateError(f"unexpected {ch!r} in {text!r}")
        buf.append(ch)
        pos += 1
    if buf:
        items.append(Lit("".join(buf)))
    return tuple(items), pos


def _slot(spec: str) -> Slot:
    if "=" in spec:
        name, _, phrases = spec.partition("=")
        return Slot(name.strip(), phrases=tuple(p.strip() for p in phrases.split("|")))
    name, _, lexicon = spec.partition(":")
    return Slot(name.strip(), lexicon=lexicon.strip())


def slots_of(items: tuple[Item, ...]) -> set[str]:
    """Every slot name a template can produce."""
    found: set[str] = set()
    for item in items:
        if isinstance(item, Slot):
            found.add(item.name)
        elif isinstance(item, Choice):
            for option in item.options:
                found |= slots_of(option)
    return found


def render(
    items: tuple[Item, ...],
    rng: random.Random,
    lexicon_for: Callable[[Slot], Lexicon],
) -> list[Segment]:
    """One random rendering of a parsed template."""
    out: list[Segment] = []
    for item in items:
        if isinstance(item, Lit):
            out.append(Segment(item.text))
        elif isinstance(item, Slot):
            if item.phrases:
                out.append(Segment(rng.choice(item.phrases), item.name, ["true"]))
            else:
                surface, values = lexicon_for(item)(rng)
                vals = [values] if isinstance(values, str) else list(values)
                out.append(Segment(surface, item.name, vals))
        else:
            options = list(item.options)
            if item.optional and rng.random() < 0.5:
                continue
            out.extend(render(rng.choice(options), rng, lexicon_for))
    return out


def join(segments: list[Segment]) -> tuple[str, list[tuple[str, int, int, list[str]]]]:
    """The text of ``segments`` with runs of spaces collapsed, and each slot's
    ``(slot, start, end, values)`` in it."""
    text: list[str] = []
    spans: list[tuple[str, int, int, list[str]]] = []
    for seg in segments:
        chunk = seg.text if seg.slot is None else seg.text.strip()
        if seg.slot is not None and text and text[-1] != " " and seg.text[:1] == " ":
            text.append(" ")
        start = len(text)
        for ch in chunk:
            if ch.isspace() and (not text or text[-1] == " "):
                continue
            text.append(" " if ch.isspace() else ch)
        if seg.slot is not None and chunk:
            spans.append((seg.slot, start, len(text), seg.values))
            if seg.text[-1:] == " ":
                text.append(" ")
    joined = "".join(text)
    stripped = joined.rstrip()
    return stripped, [(s, a, min(b, len(stripped)), v) for s, a, b, v in spans]
