"""Training and held-out examples, generated from the registered templates.

The split is by template: a template flagged ``held_out`` (in its data file,
or by the plugin that registers it) is never trained on, so the held-out score
measures phrasings the model never saw. Each `Example` carries its gold
command, assembled from the lexicons' canonical values, never from the text.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from llmsh.nl_intent.assemble import assemble
from llmsh.nl_intent.augment import AugmentConfig, augment
from llmsh.nl_intent.examples import ExampleBook, Template
from llmsh.nl_intent.signatures import BACKGROUND, REJECT, Signature
from llmsh.nl_intent.templates import Lexicon, Slot, join, render
from llmsh.nl_intent.words import split_words

OUTSIDE = "O"


@dataclass
class Example:
    """One utterance with its gold intent, slot spans and command."""

    text: str
    intent: str
    spans: list[tuple[str, int, int, list[str]]]
    """``(slot, start, end, values)`` with character offsets into ``text``."""
    command: str | None
    template: str
    values: dict[str, list[str]] = field(default_factory=dict)

    def words_and_tags(self) -> tuple[list[str], list[str]]:
        """The words of the text with BIO tags (``B-device``, ``I-device``, ``O``)."""
        words = split_words(self.text)
        tags = [OUTSIDE] * len(words)
        for slot, start, end, _ in self.spans:
            first = True
            for i, word in enumerate(words):
                if word.start < end and word.end > start:
                    tags[i] = ("B-" if first else "I-") + slot
                    first = False
        return [w.text for w in words], tags


def split_templates(book: ExampleBook, intents: list[str]) -> tuple[list[Template], list[Template]]:
    """Training and held-out templates of ``intents`` (by their flags); a held-out
    text never trains, even where a copy of it is not flagged."""
    train: list[Template] = []
    held: list[Template] = []
    for intent in intents:
        for tpl in book.templates.get(intent, []):
            (held if tpl.held_out else train).append(tpl)
    held_texts = {t.text for t in held}
    return [t for t in train if t.text not in held_texts], held


def intents_of(book: ExampleBook, sigs: dict[str, Signature]) -> list[str]:
    """Intents with templates that the registry knows (plus ``reject``), sorted."""
    return sorted(i for i in book.templates if i in sigs or i == REJECT)


def make_example(
    tpl: Template,
    sigs: dict[str, Signature],
    book: ExampleBook,
    rng: random.Random,
    config: AugmentConfig,
) -> Example:
    sig = sigs.get(tpl.intent)

    def lexicon_for(slot: Slot) -> Lexicon:
        return book.lexicon_for(slot, sig.param(slot.name) if sig else None)

    segments = render(tpl.items, rng, lexicon_for)
    for seg in segments:
        if seg.slot is not None and seg.slot.startswith("_"):
            seg.slot = None
    segments = augment(segments, rng, config, background=bool(sig and sig.background))
    text, spans = join(segments)
    values: dict[str, list[str]] = {}
    for slot, _, _, vals in spans:
        values.setdefault(slot, []).extend(vals)
    command = None
    if sig is not None:
        bg = BACKGROUND in values and sig.background
        command = assemble(sig, {k: v for k, v in values.items() if k != BACKGROUND}, bg)
    return Example(text, tpl.intent, spans, command, tpl.id, values)


def generate(
    templates: list[Template],
    sigs: dict[str, Signature],
    book: ExampleBook,
    count: int,
    seed: int,
    config: AugmentConfig | None = None,
    weighted: bool = True,
) -> list[Example]:
    """``count`` examples: an intent (by `WEIGHTS` when ``weighted``, else evenly),
    then one of its templates evenly."""
    rng = random.Random(seed)
    config = config or AugmentConfig()
    by_intent: dict[str, list[Template]] = {}
    for tpl in templates:
        by_intent.setdefault(tpl.intent, []).append(tpl)
    intents = sorted(by_intent)
    weights = [WEIGHTS.get(i, 1.0) if weighted else 1.0 for i in intents]
    out = []
    for _ in range(count):
        intent = rng.choices(intents, weights)[0]
        out.append(make_example(rng.choice(by_intent[intent]), sigs, book, rng, config))
    return out


# Intents with many slots or open-ended text get more examples.
WEIGHTS = {"generate": 3.0, "finetune": 2.5, "reject": 1.5, "ps": 1.5, "classify": 1.3,
           "embed": 1.3, "kill": 1.3, "renice": 1.2, "logs": 1.2, "load": 1.2}  # fmt: skip


def slot_labels(templates: list[Template], sigs: dict[str, Signature]) -> list[str]:
    """The BIO tag set: ``O`` and ``B-``/``I-`` for every slot the templates use."""
    from llmsh.nl_intent.templates import slots_of

    slots = {BACKGROUND}
    for tpl in templates:
        slots |= {s for s in slots_of(tpl.items) if not s.startswith("_")}
    return [OUTSIDE] + [f"{p}-{s}" for s in sorted(slots) for p in ("B", "I")]
