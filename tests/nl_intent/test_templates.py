"""The template language and the word splitter."""

from __future__ import annotations

import random

import pytest

from llmsh.nl_intent.templates import Segment, TemplateError, join, parse_template, render
from llmsh.nl_intent.words import split_words


def fixed(slot: object) -> object:
    return lambda rng: ("the gpu", ["cuda"])


def test_render_choices_optionals_and_slots() -> None:
    items = parse_template("(show|list) [me] jobs on {device} {all=everything}")
    seen = set()
    for seed in range(40):
        text, spans = join(render(items, random.Random(seed), fixed))  # type: ignore[arg-type]
        seen.add(text.split()[0])
        assert text.endswith("on the gpu everything")
        (slot, a, b, values), (switch, c, d, on) = spans
        assert (slot, text[a:b], values) == ("device", "the gpu", ["cuda"])
        assert (switch, text[c:d], on) == ("all", "everything", ["true"])
    assert seen == {"show", "list"}


def test_nested_choices_and_unbalanced_brackets() -> None:
    items = parse_template("kill ({id}|process {id})")
    assert len(items) == 2
    with pytest.raises(TemplateError):
        parse_template("kill (job")
    with pytest.raises(TemplateError):
        parse_template("kill job)")


def test_join_collapses_spaces_and_keeps_offsets() -> None:
    segs = [Segment("show  "), Segment(" "), Segment("'"), Segment("x y", "prompt", ["x y"]),
            Segment("' "), Segment(" now")]  # fmt: skip
    text, spans = join(segs)
    assert text == "show 'x y' now"
    assert [(s, text[a:b]) for s, a, b, _ in spans] == [("prompt", "x y")]


def test_split_words_peels_punctuation_but_keeps_values_whole() -> None:
    text = "Kill %2, pid 42 and use notes.jsonl? on cuda:1 at -5 with lr 1e-4 smollm2's 'a b'"
    words = [w.text for w in split_words(text)]
    assert words == ["Kill", "%2", ",", "pid", "42", "and", "use", "notes.jsonl", "?", "on",
                     "cuda:1", "at", "-5", "with", "lr", "1e-4", "smollm2", "'s", "'", "a", "b",
                     "'"]  # fmt: skip
    for word in split_words(text):
        assert text[word.start : word.end] == word.text
