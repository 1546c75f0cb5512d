"""From an intent and BIO tags to slot values and a command line.

`bio_spans` reads spans the way seqeval does (an ``I-x`` after anything but
``x`` opens a span); `decode` normalises each span through its parameter's
value type and assembles the canonical line. Nothing here needs torch, so the
gold tags of the training data go through exactly this path in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from llmsh.nl_intent.assemble import AssemblyError, assemble
from llmsh.nl_intent.normalize import normalize, numbers
from llmsh.nl_intent.signatures import BACKGROUND, Signature
from llmsh.nl_intent.words import Word, span_text


@dataclass
class Decoded:
    """What the tags say for one intent: values, the line (or why there is none)."""

    intent: str
    slots: dict[str, list[str]] = field(default_factory=dict)
    """Normalised values by slot (``bg`` included when asked for)."""
    phrases: dict[str, list[str]] = field(default_factory=dict)
    """The words each slot came from, as typed."""
    command: str | None = None
    error: str | None = None
    dropped: list[str] = field(default_factory=list)
    """Number slots whose words hold several numbers where the command takes one: the
    line keeps the first ("every lr in 1e-4,2e-4" read as one ``finetune --lr``)."""


def bio_spans(tags: list[str]) -> list[tuple[str, int, int]]:
    """``(slot, first, last)`` word spans, inclusive."""
    spans: list[tuple[str, int, int]] = []
    current: list[str | int] | None = None
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, slot = tag.partition("-")
        continues = prefix == "I" and current is not None and current[0] == slot
        if continues and current is not None:
            current[2] = i
            continue
        if current is not None:
            spans.append((str(current[0]), int(current[1]), int(current[2])))
            current = None
        if prefix in ("B", "I"):
            current = [slot, i, i]
    return spans


def decode(
    sig: Signature, text: str, words: list[Word], tags: list[str], background_ok: bool = True
) -> Decoded:
    """Normalise the tagged spans for ``sig`` and assemble its line."""
    out = Decoded(sig.intent)
    unread: dict[str, str] = {}
    for slot, first, last in bio_spans(tags):
        phrase = span_text(text, words, first, last)
        out.phrases.setdefault(slot, []).append(phrase)
        if slot == BACKGROUND:
            if sig.background and background_ok:
                out.slots[BACKGROUND] = ["true"]
            continue
        param = sig.param(slot)
        if param is None:
            continue  # a value this command does not take: ignored
        if param.type is None:
            out.slots[slot] = ["true"]
            continue
        values = normalize(param.type, phrase, param.choices)
        several = param.type in ("INT", "FLOAT") and len(numbers(phrase)) > 1
        if several and not param.many and slot not in out.dropped:
            out.dropped.append(slot)
        if values is None:
            unread.setdefault(slot, f"cannot read {phrase!r} as {param.type.lower()}")
        else:
            out.slots.setdefault(slot, []).extend(values)
    # A stray word tagged next to a good value ("priority" in "set priority high") is
    # dropped; a slot none of whose words make a value stops the line.
    failed = [reason for slot, reason in unread.items() if slot not in out.slots]
    if failed:
        out.error = failed[0]
        return out
    given = {k: v for k, v in out.slots.items() if k != BACKGROUND}
    try:
        out.command = assemble(sig, given, background=BACKGROUND in out.slots)
    except AssemblyError as exc:
        out.error = str(exc)
    return out


def json_slots(decoded: Decoded, sig: Signature) -> dict[str, object]:
    """Slots for JSON: a switch is true, a single value a string, ``many`` a list."""
    out: dict[str, object] = {}
    for slot, values in decoded.slots.items():
        param = sig.param(slot)
        if slot == BACKGROUND or (param is not None and param.type is None):
            out[slot] = True
        elif param is not None and param.many:
            out[slot] = list(values)
        else:
            out[slot] = values[0]
    return out
