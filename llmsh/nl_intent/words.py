"""Split an utterance into words with character offsets.

The model tags words (BIO), so words are the unit that training data, the
tagger and slot extraction share. Whitespace separates words; quotes,
brackets and sentence punctuation at either end of a chunk become words of
their own, so ``"notes.jsonl?"`` gives ``notes.jsonl`` and ``?`` while paths,
``cuda:1``, ``%2``, ``-5``, ``1e-4`` and ``a,b,c`` stay whole. A slot value is
always a slice of the original text (``text[start:end]``), so spacing, case and
quotes inside it survive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CHUNK = re.compile(r"\S+")
_LEAD = "\"'`([{<“‘"
_TRAIL = "\"'`)]}>?!,;:.”’"


@dataclass(frozen=True)
class Word:
    """One word: its text and ``[start, end)`` offsets into the utterance."""

    text: str
    start: int
    end: int


def split_words(text: str) -> list[Word]:
    """The words of ``text`` in order; punctuation at chunk edges split off."""
    words: list[Word] = []
    for match in _CHUNK.finditer(text):
        start, end = match.start(), match.end()
        lead: list[Word] = []
        trail: list[Word] = []
        while end - start > 1 and text[start] in _LEAD:
            lead.append(Word(text[start], start, start + 1))
            start += 1
        while end - start > 1 and text[end - 1] in _TRAIL and not _keeps_trail(text[start:end]):
            trail.append(Word(text[end - 1], end - 1, end))
            end -= 1
        words.extend(lead)
        if end - start > 2 and text[end - 2 : end].lower() in ("'s", "’s"):
            trail.append(Word(text[end - 2 : end], end - 2, end))
            end -= 2
        words.append(Word(text[start:end], start, end))
        words.extend(reversed(trail))
    return words


def _keeps_trail(chunk: str) -> bool:
    """Chunks whose last character belongs to them: ``...``, ``./``-style dots."""
    return chunk in ("...", "..", "./", "../") or (chunk.endswith("..") and set(chunk) == {"."})


def span_text(text: str, words: list[Word], first: int, last: int) -> str:
    """The original text covered by ``words[first..last]`` (inclusive)."""
    return text[words[first].start : words[last].end]
