"""Tokens, word parts and lexical errors of the llmsh command language."""

from __future__ import annotations

import pytest

from llmsh.syntax.ast import Param, Text, Word
from llmsh.syntax.lexer import ParseError, TokenKind, tokenize


def kinds(source: str) -> list[tuple[str, str]]:
    return [(t.kind.name, t.text) for t in tokenize(source)]


def word(source: str) -> Word:
    """The single word that ``source`` consists of."""
    tokens = list(tokenize(source))
    assert [t.kind for t in tokens] == [TokenKind.WORD, TokenKind.EOF], tokens
    assert tokens[0].word is not None
    return tokens[0].word


def test_operators_longest_match() -> None:
    assert kinds("a&&b||c|d&e;f>g>>h<i") == [
        ("WORD", "a"),
        ("OP", "&&"),
        ("WORD", "b"),
        ("OP", "||"),
        ("WORD", "c"),
        ("OP", "|"),
        ("WORD", "d"),
        ("OP", "&"),
        ("WORD", "e"),
        ("OP", ";"),
        ("WORD", "f"),
        ("OP", ">"),
        ("WORD", "g"),
        ("OP", ">>"),
        ("WORD", "h"),
        ("OP", "<"),
        ("WORD", "i"),
        ("EOF", ""),
    ]


def test_io_number_only_directly_before_redirect() -> None:
    assert kinds("2>f 2 >f a2>f 2>&1") == [
        ("IO_NUMBER", "2"),
        ("OP", ">"),
        ("WORD", "f"),
        ("WORD", "2"),
        ("OP", ">"),
        ("WORD", "f"),
        ("WORD", "a2"),
        ("OP", ">"),
        ("WORD", "f"),
        ("IO_NUMBER", "2"),
        ("OP", ">&"),
        ("WORD", "1"),
        ("EOF", ""),
    ]


def test_long_digit_run_is_a_word() -> None:
    assert kinds("123>f")[0] == ("WORD", "123")


def test_newlines_and_blanks() -> None:
    assert kinds(" a\t b \r\n c") == [
        ("WORD", "a"),
        ("WORD", "b"),
        ("NEWLINE", "\n"),
        ("WORD", "c"),
        ("EOF", ""),
    ]


def test_comment_only_at_word_start() -> None:
    assert kinds("echo a#b #c d\nx") == [
        ("WORD", "echo"),
        ("WORD", "a#b"),
        ("NEWLINE", "\n"),
        ("WORD", "x"),
        ("EOF", ""),
    ]
    assert kinds("a;#x") == [("WORD", "a"), ("OP", ";"), ("EOF", "")]


def test_line_continuation() -> None:
    assert kinds("ec\\\nho a \\\n b") == [
        ("WORD", "ec\\\nho"),
        ("WORD", "a"),
        ("WORD", "b"),
        ("EOF", ""),
    ]
    assert word("ec\\\nho").parts == (Text("echo"),)
    assert word('"a\\\nb"').parts == (Text("ab", quoted=True),)
    assert word("'a\\\nb'").parts == (Text("a\\\nb", quoted=True),)


def test_single_quotes_are_literal() -> None:
    assert word("'a $X \\ \" b'").parts == (Text('a $X \\ " b', quoted=True),)


def test_double_quotes_escapes_and_params() -> None:
    assert word('"a\\"b\\\\c\\$d\\`e\\nf $X"').parts == (
        Text('a"b\\c$d`e\\nf ', quoted=True),
        Param("X", quoted=True),
    )


def test_unquoted_backslash_quotes_next_char() -> None:
    assert word("a\\ b\\$c").parts == (
        Text("a"),
        Text(" ", quoted=True),
        Text("b"),
        Text("$", quoted=True),
        Text("c"),
    )


def test_adjacent_texts_merge() -> None:
    assert word("'a'\"b\"\\c").parts == (Text("abc", quoted=True),)
    assert word("a\\b").parts == (Text("a"), Text("b", quoted=True))
    assert word("a''b").parts == (Text("a"), Text("", quoted=True), Text("b"))


def test_empty_quotes_make_an_empty_text() -> None:
    assert word("''").parts == (Text("", quoted=True),)
    assert word('""').parts == (Text("", quoted=True),)
    assert word('"$@"').parts == (Param("@", quoted=True),)


@pytest.mark.parametrize(
    ("source", "parts"),
    [
        ("$HOME", (Param("HOME"),)),
        ("${HOME}x", (Param("HOME"), Text("x"))),
        ("$HOME_x", (Param("HOME_x"),)),
        ("$1x", (Param("1"), Text("x"))),
        ("$10", (Param("1"), Text("0"))),
        ("${10}", (Param("10"),)),
        ("${01}", (Param("1"),)),
        ("$?$!$#$@$*$$", tuple(Param(c) for c in "?!#@*$")),
        ("${?}", (Param("?"),)),
        ("$", (Text("$"),)),
        ("a$-b", (Text("a$-b"),)),
        ('"$"', (Text("$", quoted=True),)),
        ("$'x'", (Text("$"), Text("x", quoted=True))),
    ],
)
def test_parameter_forms(source: str, parts: tuple[object, ...]) -> None:
    assert word(source).parts == parts


def test_word_keeps_source_and_span() -> None:
    tokens = list(tokenize("echo\n  'a b'c"))
    w = tokens[2].word
    assert w is not None
    assert w.text == "'a b'c"
    assert (w.span.line, w.span.column, w.span.start, w.span.end) == (2, 3, 7, 13)


@pytest.mark.parametrize(
    ("source", "message", "incomplete"),
    [
        ("echo 'abc", "unclosed single quote at 1:6", True),
        ('echo hi "abc', "unclosed double quote at 1:9", True),
        ('echo "a\\"', "unclosed double quote at 1:6", True),
        ("echo a\\", "trailing backslash at 1:7", True),
        ("echo ${A", "unclosed '${' at 1:6", True),
        ('echo "${A"', "unclosed '${' at 1:7", True),
        ("x\necho ${A B}", "bad substitution '${A B}' at 2:6", False),
        ("echo ${}", "bad substitution '${}' at 1:6", False),
    ],
)
def test_lexical_errors(source: str, message: str, incomplete: bool) -> None:
    with pytest.raises(ParseError) as info:
        list(tokenize(source))
    assert str(info.value) == message
    assert info.value.incomplete is incomplete


def test_error_with_filename() -> None:
    with pytest.raises(ParseError) as info:
        list(tokenize("\n'", filename="job.llmsh"))
    assert str(info.value) == "unclosed single quote at job.llmsh:2:1"
    assert (info.value.line, info.value.column, info.value.message) == (
        2,
        1,
        "unclosed single quote",
    )


def test_line_continuation_inside_operators_and_parameters() -> None:
    # POSIX removes backslash-newline before tokenizing, wherever it falls.
    assert kinds("a &\\\n& b 2\\\n>\\\n> f") == [
        ("WORD", "a"),
        ("OP", "&&"),
        ("WORD", "b"),
        ("IO_NUMBER", "2"),
        ("OP", ">>"),
        ("WORD", "f"),
        ("EOF", ""),
    ]
    assert word("$\\\nHO\\\nME").parts == (Param("HOME"),)
    assert word("$\\\n0").parts == (Param("0"),)
    assert word("${\\\nX}").parts == (Param("X"),)
