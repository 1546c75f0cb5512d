"""Property tests: generated trees survive unparse/parse, random text never
crashes the parser, and whatever parses also round-trips through unparse."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmsh.shell.expand import Environment, expand_command
from llmsh.syntax.ast import (
    AndOr,
    Assignment,
    Param,
    Pipeline,
    Redirect,
    Script,
    SimpleCommand,
    Statement,
    Text,
    Word,
    WordPart,
)
from llmsh.syntax.parser import ParseError, parse
from llmsh.syntax.unparse import quote, unparse

# -- a strategy for canonical trees (as the parser would build them) -------------

# Unquoted text may hold anything that needs no quoting anywhere in a word.
BARE = "abcxyzABZ0129_-./:,+%@*?[]{}^~`"
# Quoted text may hold anything at all, shell metacharacters included.
ANY = BARE + " \t\n;&|<>()'\"\\$#!="

names = st.builds(str.__add__, st.sampled_from("aZ_"), st.text("aZ_09", max_size=3))
param_names = st.one_of(
    names,
    st.sampled_from(list("?!#@*$0123456789")),
    st.integers(10, 99).map(str),
)
parts = st.one_of(
    st.text(BARE, min_size=1, max_size=4).map(Text),
    st.text(ANY, max_size=5).map(lambda s: Text(s, quoted=True)),
    st.builds(Param, param_names, st.booleans()),
)


def merged(items: list[WordPart]) -> tuple[WordPart, ...]:
    """Merge adjacent texts with the same quoting, as the lexer does."""
    out: list[WordPart] = []
    for part in items:
        prev = out[-1] if out else None
        if isinstance(part, Text) and isinstance(prev, Text) and prev.quoted == part.quoted:
            out[-1] = Text(prev.text + part.text, part.quoted)
        else:
            out.append(part)
    return tuple(out)


words = st.lists(parts, min_size=1, max_size=3).map(lambda p: Word(merged(p)))
values = st.lists(parts, max_size=3).map(lambda p: Word(merged(p)))
redirects = st.one_of(
    st.builds(Redirect, st.integers(0, 9), st.sampled_from([">", ">>", "<"]), words),
    st.builds(Redirect, st.integers(0, 9), st.just(">&"), st.integers(0, 99)),
)


@st.composite
def commands(draw: st.DrawFn) -> SimpleCommand:
    system = draw(st.booleans())
    argv = tuple(draw(st.lists(words, min_size=1 if system else 0, max_size=3)))
    assignments = tuple(draw(st.lists(st.builds(Assignment, names, values), max_size=2)))
    redirs = tuple(draw(st.lists(redirects, max_size=2)))
    if not (argv or assignments or redirs):
        argv = (draw(words),)
    return SimpleCommand(argv, assignments, redirs, system)


pipelines = st.lists(commands(), min_size=1, max_size=2).map(lambda c: Pipeline(tuple(c)))
and_ors = st.builds(
    AndOr,
    pipelines,
    st.lists(st.tuples(st.sampled_from(["&&", "||"]), pipelines), max_size=2).map(tuple),
)
scripts = st.lists(st.builds(Statement, and_ors, st.booleans()), max_size=2).map(
    lambda s: Script(tuple(s))
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scripts)
def test_generated_trees_round_trip(tree: Script) -> None:
    text = unparse(tree)
    assert parse(text) == tree, text
    assert unparse(parse(text)) == text  # canonical form is a fixed point


@settings(max_examples=300, deadline=None)
@given(st.text(ANY + "é€\x00", max_size=12))
def test_quote_reads_back_exactly(raw: str) -> None:
    command = parse(f"echo {quote(raw)}").statements[0].body.first.commands[0]
    assert len(command.words) == 2
    assert command.words[1].static_text() == raw


# -- random text: an AST or a ParseError, never anything else --------------------

# Weighted towards the characters the lexer and parser decide on.
FUZZ_ALPHABET = " \t\n\r;&|<>()'\"\\$#!{}=~*@?0129aAbZ_-%é"
FUZZ_ENV = Environment({"A": "x y", "HOME": "/h"}, ["p1", "", "p3"], 1, 7)


def check_random_source(source: str) -> None:
    try:
        tree = parse(source)
    except ParseError as error:
        assert error.line >= 1 and error.column >= 1, source
        assert str(error).startswith(error.message), source
        return
    # Whatever parses must unparse canonically and read back the same.
    text = unparse(tree)
    assert parse(text) == tree, (source, text)
    for statement in tree.statements:
        for pipeline in statement.body.pipelines:
            for command in pipeline.commands:
                try:
                    expand_command(command, FUZZ_ENV)
                except Exception as error:  # only ambiguous redirects may fail
                    assert "ambiguous redirect" in str(error), source


def test_ten_thousand_random_strings() -> None:
    # A seeded loop rather than hypothesis: 10,000 cases in well under a second
    # of parsing, same cases on every run. Lengths 0-40, mostly short.
    rng = random.Random(20240517)
    for _ in range(10_000):
        length = min(rng.randint(0, 40), rng.randint(0, 40))
        check_random_source("".join(rng.choice(FUZZ_ALPHABET) for _ in range(length)))


@settings(max_examples=500, deadline=None)
@given(st.text(FUZZ_ALPHABET, max_size=40))
def test_random_strings_hypothesis(source: str) -> None:
    # Hypothesis adds shrinking to a minimal failing input when something breaks.
    check_random_source(source)


# Shell fragments glued at random: longer, mostly valid command lines.
FRAGMENTS = [
    *("a", "b2", "ps", "--all", "X=1", "$X", "${Y}z", '"$@"', "'q w'", '"it\'s"', "\\$"),
    *(" ", " ", "  ", "\n", ";", "&", "&&", "||", "|", ">", "2>", "2>&1", ">>", "<", "!"),
    *("!ls", " #c", "\\\n", "$1", "${10}", "~", "~/p", '""', "''", "$", '"a$X b"', "=", "1"),
]


def test_random_fragment_sequences() -> None:
    rng = random.Random(7)
    for _ in range(5_000):
        check_random_source("".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(0, 14))))
