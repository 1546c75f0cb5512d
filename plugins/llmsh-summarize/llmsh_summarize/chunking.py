"""Cutting a text into pieces that fit a token budget, and trimming summaries.

Pure functions over the text and its token spans (character offsets of each
token), so they are tested without a model. Cuts fall at a paragraph break if
there is one in the second half of the window, else at a sentence end, else
between words.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence

Span = tuple[int, int]
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s+")
_WORD = re.compile(r"\S+")


def word_spans(text: str) -> list[Span]:
    """One span per word: a stand-in tokenizer for tests and slow tokenizers."""
    return [m.span() for m in _WORD.finditer(text)]


def best_cut(text: str, low: int, high: int) -> int:
    """Where to end a piece inside ``text[low:high]``: after the last paragraph break,
    else the last sentence end, else the last space; ``high`` when there is none."""
    window = text[low:high]
    found = window.rfind("\n\n")
    if found >= 0:
        return low + found + 2
    ends = [m.end() for m in _SENTENCE_END.finditer(window)]
    if ends:
        return low + ends[-1]
    found = max(window.rfind(" "), window.rfind("\n"))
    return low + found + 1 if found >= 0 else high


def split_text(text: str, spans: Sequence[Span], budget: int) -> list[str]:
    """``text`` in pieces of at most ``budget`` tokens (``spans``: each token's offsets)."""
    if budget < 1:
        raise ValueError("the token budget must be at least 1")
    starts = [start for start, _ in spans]
    pieces: list[str] = []
    first, char = 0, 0
    while len(starts) - first > budget:
        limit = starts[first + budget]  # the first token that no longer fits starts here
        low = starts[first] + (limit - starts[first]) // 2
        cut = best_cut(text, max(low, char), limit)
        following = bisect_left(starts, cut, lo=first)
        if following <= first:  # no usable boundary: cut at the budget exactly
            cut, following = limit, first + budget
        pieces.append(text[char:cut])
        first, char = following, cut
    pieces.append(text[char:])
    return [p.strip() for p in pieces if p.strip()]


def trim_summary(text: str, max_words: int) -> str:
    """At most ``max_words`` words, ending at a sentence end when one is near the limit."""
    text = text.strip()
    words = list(_WORD.finditer(text))
    if len(words) > max_words:
        text = text[: words[max_words - 1].end()]
    if text.endswith((".", "!", "?")):
        return text
    ends = [m.start() + 1 for m in _SENTENCE_END.finditer(text + " ")]
    if ends and ends[-1] >= len(text) // 2:
        return text[: ends[-1]].strip()
    return text + "…" if len(words) > max_words else text
