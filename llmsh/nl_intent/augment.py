"""Varied phrasing on top of a rendered template: politeness, filler, background,
casing, typos and punctuation.

Only words outside slots change (a typo inside a file name would change the
file), so the gold command stays what the lexicons said.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from llmsh.nl_intent.signatures import BACKGROUND
from llmsh.nl_intent.templates import Segment

POLITE_PREFIXES = ("please", "could you", "can you", "would you", "kindly", "I want to",
                   "I'd like to", "go ahead and", "hey llmsh,", "could you please", "pls",
                   "I need you to", "let's", "yo")  # fmt: skip
POLITE_SUFFIXES = ("please", "thanks", "for me", "now", "right now", "thank you", "if you can",
                   "please and thank you", "quickly", "when you get a chance")  # fmt: skip
FILLERS = ("um", "uh", "so", "ok so", "well", "hmm,", "alright,", "right,", "er", "okay")
BG_PHRASES = ("in the background", "in the bg", "as a background job", "in background",
              "and don't wait for it", "without waiting", "and let it run in the background",
              "as a background task", "in the background please", "detached")  # fmt: skip
BG_LEADS = ("in the background,", "in the background:", "as a background job,")
NEIGHBOURS = dict(zip("qwertyuiopasdfghjklzxcvbnm", "wqrtyuiopsadfghjklzxcvbnmw", strict=True))
SYNONYMS: dict[str, tuple[str, ...]] = {
    "show": ("display", "list", "print", "give me", "let me see"), "list": ("show", "enumerate"),
    "display": ("show",), "what's": ("what is", "whats"), "running": ("active", "going"),
    "processes": ("procs", "tasks"), "memory": ("ram",), "delete": ("remove", "erase"),
    "remove": ("delete",), "please": ("pls", "plz"), "can": ("could",), "want": ("would like",),
    "directory": ("folder", "dir"), "big": ("large",), "info": ("information", "details"),
    "details": ("info",), "start": ("begin", "launch"), "check": ("inspect", "look at"),
    "I'd": ("I would",), "don't": ("do not", "dont"), "it's": ("it is", "its"),
    "now": ("right away", "immediately"), "model": ("llm",), "command": ("cmd",),
    "quickly": ("fast",), "everything": ("all of it",), "tell": ("show",),
}  # fmt: skip
DROPPABLE = frozenset({"the", "a", "me", "my", "please", "to", "for", "of", "now", "just", "so"})
FREE_TEXT = frozenset({"prompt", "text", "argv", "command", "value"})


@dataclass
class AugmentConfig:
    """How often each variation is applied (probabilities, 0 turns one off)."""

    polite: float = 0.3
    """Add a politeness prefix ("could you") or suffix ("please")."""
    filler: float = 0.1
    """Start with a filler word ("um", "ok so")."""
    background: float = 0.25
    """Ask for a job command to run in the background (a trailing ``&``)."""
    synonym: float = 0.25
    """Per word outside slots: swap in a synonym ("show" -> "display")."""
    drop: float = 0.1
    """Per filler word outside slots ("the", "please"): leave it out."""
    delete: float = 0.0
    """Per any other word outside slots: leave it out (EDA-style random deletion)."""
    typo: float = 0.03
    """Per word outside slots: swap, drop, double or mistype a letter."""
    casing: float = 0.15
    """Upper-case or title-case the words outside slots."""
    capitalize: float = 0.3
    """Capitalise the first letter (when it is not a slot)."""
    punctuation: float = 0.2
    """End with "?", "." or "!" (not after free text)."""
    ellipsis: float = 0.0
    """Trail off with "..." after a word outside slots (never after a quote). Off by
    default, so the held-out utterances (drawn with the defaults) are the same with or
    without it; training turns it on (`TrainConfig.augment`) so dots alone never read
    as a directory."""

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a probability, got {value}")


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 4 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    if kind == 2:
        return word[:i] + word[i] + word[i:]
    return word[:i] + NEIGHBOURS.get(word[i].lower(), word[i]) + word[i + 1 :]


def _vary(word: str, rng: random.Random, config: AugmentConfig) -> str:
    if word in SYNONYMS and rng.random() < config.synonym:
        word = rng.choice(SYNONYMS[word])
    return typo(word, rng) if rng.random() < config.typo else word


def augment(
    segments: list[Segment], rng: random.Random, config: AugmentConfig, background: bool
) -> list[Segment]:
    """A varied copy of ``segments``; ``background`` when the intent is a job command."""
    out = [Segment(s.text, s.slot, list(s.values)) for s in segments]
    has_bg = any(s.slot == BACKGROUND for s in out)
    if background and not has_bg and rng.random() < config.background:
        if rng.random() < 0.8:
            out += [Segment(" "), Segment(rng.choice(BG_PHRASES), BACKGROUND, ["true"])]
        else:
            lead = rng.choice(BG_LEADS)
            out = [Segment(lead[:-1], BACKGROUND, ["true"]), Segment(lead[-1] + " "), *out]
    if rng.random() < config.polite:
        if rng.random() < 0.5:
            out = [Segment(rng.choice(POLITE_PREFIXES) + " "), *out]
        else:
            out += [Segment(" " + rng.choice(POLITE_SUFFIXES))]
    if rng.random() < config.filler:
        out = [Segment(rng.choice(FILLERS) + " "), *out]
    for seg in out:
        if seg.slot is None:
            kept = [
                w
                for w in seg.text.split(" ")
                if rng.random() >= (config.drop if w in DROPPABLE else config.delete)
            ]
            seg.text = " ".join(_vary(w, rng, config) for w in kept)
    if rng.random() < config.casing:
        style = rng.choice((str.upper, str.title, str.lower))
        for seg in out:
            if seg.slot is None:
                seg.text = style(seg.text)
    first = next((s for s in out if s.text.strip()), None)
    if first is not None and first.slot is None and rng.random() < config.capitalize:
        stripped = first.text.lstrip()
        first.text = (
            first.text[: len(first.text) - len(stripped)] + stripped[:1].upper() + (stripped[1:])
        )
    if config.ellipsis and rng.random() < config.ellipsis:
        plain = [seg for seg in out if seg.slot is None and seg.text.rstrip()[-1:].isalnum()]
        if plain:
            seg = rng.choice(plain)
            seg.text = seg.text.rstrip() + rng.choice(("...", "..", " ...", "…")) + " "
    last = next((s for s in reversed(out) if s.text.strip()), None)
    no_punctuation = (
        last is not None
        and last.slot is not None
        and (last.slot in FREE_TEXT or not last.text.strip()[-1:].isalnum())
    )
    if not no_punctuation and rng.random() < config.punctuation:
        out.append(Segment(rng.choice(("?", ".", "!", " ?"))))
    return out
