"""Cutting text to a token budget and trimming summaries (no model needed)."""

from __future__ import annotations

import pytest
from llmsh_summarize.chunking import best_cut, split_text, trim_summary, word_spans

PARAGRAPHS = [" ".join(f"p{p}w{w}" for w in range(30)) + "." for p in range(10)]
TEXT = "\n\n".join(PARAGRAPHS)


def words(text: str) -> list[str]:
    return text.split()


def test_short_text_is_one_piece() -> None:
    assert split_text("  hello there.  ", word_spans("  hello there.  "), 10) == ["hello there."]
    assert split_text("   ", word_spans("   "), 10) == []


@pytest.mark.parametrize("budget", [7, 25, 31, 64, 100, 299, 300])
def test_pieces_fit_the_budget_and_keep_every_word_in_order(budget: int) -> None:
    pieces = split_text(TEXT, word_spans(TEXT), budget)
    assert all(len(words(p)) <= budget for p in pieces)
    assert [w for p in pieces for w in words(p)] == words(TEXT)
    assert len(pieces) >= -(-len(words(TEXT)) // budget)


def test_cuts_prefer_paragraphs_then_sentences() -> None:
    pieces = split_text(TEXT, word_spans(TEXT), 64)  # two 30-word paragraphs fit
    assert pieces == ["\n\n".join(PARAGRAPHS[i : i + 2]) for i in range(0, 10, 2)]
    prose = "One two three. Four five six. Seven eight nine ten eleven."
    assert split_text(prose, word_spans(prose), 8) == [
        "One two three. Four five six.", "Seven eight nine ten eleven."]  # fmt: skip


def test_a_text_without_spaces_is_cut_at_the_budget() -> None:
    text = "x" * 50
    spans = [(i, i + 1) for i in range(50)]  # one token per character
    assert split_text(text, spans, 20) == ["x" * 20, "x" * 20, "x" * 10]
    assert best_cut("abc def", 0, 7) == 4


def test_a_bad_budget_is_refused() -> None:
    with pytest.raises(ValueError):
        split_text("a b", word_spans("a b"), 0)


def test_trim_summary_keeps_whole_sentences_within_the_limit() -> None:
    assert trim_summary("  Short and done.  ", 10) == "Short and done."
    long = "The council met. It chose a design. The budget grew by three million euros"
    assert trim_summary(long, 8) == "The council met. It chose a design."
    assert trim_summary("one two three four five six", 3) == "one two three…"
    assert trim_summary("no end in sight", 10) == "no end in sight"
