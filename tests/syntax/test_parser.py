"""Parser and unparser: every construct, every error with its position."""

from __future__ import annotations

import pytest

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
)
from llmsh.syntax.parser import ParseError, parse
from llmsh.syntax.unparse import quote, unparse, unparse_word


def w(text: str) -> Word:
    """An unquoted literal word."""
    return Word((Text(text),))


def cmd(*words: str, system: bool = False) -> SimpleCommand:
    return SimpleCommand(tuple(w(x) for x in words), system=system)


def only_command(source: str) -> SimpleCommand:
    script = parse(source)
    assert len(script.statements) == 1
    body = script.statements[0].body
    assert body.rest == () and len(body.first.commands) == 1
    return body.first.commands[0]


def single(command: SimpleCommand, background: bool = False) -> Statement:
    return Statement(AndOr(Pipeline((command,))), background)


# -- structure -----------------------------------------------------------------


def test_empty_inputs() -> None:
    for source in ("", "   ", "\n\n", "# just a comment", " \\\n "):
        assert parse(source) == Script(())


def test_simple_command() -> None:
    assert parse("ps --all  --state running") == Script(
        (single(cmd("ps", "--all", "--state", "running")),)
    )


def test_sequence_and_or_background() -> None:
    script = parse("a ; b && c || d & e\nf;")
    assert script.statements == (
        single(cmd("a")),
        Statement(
            AndOr(
                Pipeline((cmd("b"),)),
                (("&&", Pipeline((cmd("c"),))), ("||", Pipeline((cmd("d"),)))),
            ),
            background=True,
        ),
        single(cmd("e")),
        single(cmd("f")),
    )


def test_trailing_ampersand() -> None:
    assert parse("sleep 10 &").statements == (single(cmd("sleep", "10"), background=True),)


def test_pipeline() -> None:
    body = parse("a | b x |c").statements[0].body
    assert body.first == Pipeline((cmd("a"), cmd("b", "x"), cmd("c")))


def test_newlines_allowed_after_operators() -> None:
    assert parse("a &&\n\n b |\n c") == parse("a && b | c")


def test_redirections_anywhere() -> None:
    command = only_command("echo >out a 2> err b >>log 2>&1 < in >&2")
    assert command.words == (w("echo"), w("a"), w("b"))
    assert command.redirects == (
        Redirect(1, ">", w("out")),
        Redirect(2, ">", w("err")),
        Redirect(1, ">>", w("log")),
        Redirect(2, ">&", 1),
        Redirect(0, "<", w("in")),
        Redirect(1, ">&", 2),
    )


def test_assignments() -> None:
    command = only_command('A=1 B= C="x $Y" cmd D=2')
    assert command.assignments == (
        Assignment("A", w("1")),
        Assignment("B", Word(())),
        Assignment("C", Word((Text("x ", quoted=True), Param("Y", quoted=True)))),
    )
    assert command.words == (w("cmd"), w("D=2"))


def test_assignment_alone_and_not_assignments() -> None:
    assert only_command("X=1") == SimpleCommand(assignments=(Assignment("X", w("1")),))
    # a quoted name or a bad name is an ordinary word
    assert only_command("'X'=1").assignments == ()
    assert only_command("1X=1").words == (w("1X=1"),)
    assert only_command("=x").words == (w("=x"),)


def test_system_command() -> None:
    script = parse("!ls -la | wc -l")
    first, second = script.statements[0].body.first.commands
    assert first == cmd("ls", "-la", system=True)
    assert second == cmd("wc", "-l")
    assert only_command("! ls") == only_command("!ls")
    assert only_command("A=1 !env").assignments == (Assignment("A", w("1")),)
    assert only_command("!env").system
    # quoted or not first: not a system command
    assert not only_command("'!ls'").system
    assert not only_command("echo !x").system
    assert only_command("!'my prog' a") == SimpleCommand(
        (Word((Text("my prog", quoted=True),)), w("a")), system=True
    )


def test_spans_and_source() -> None:
    script = parse("echo a\n  ls -l > f", filename="x.llmsh")
    assert script.source == "echo a\n  ls -l > f"
    assert script.filename == "x.llmsh"
    command = script.statements[1].body.first.commands[0]
    assert (command.span.line, command.span.column) == (2, 3)
    assert script.source[command.span.start : command.span.end] == "ls -l > f"
    assert command.words[1].text == "-l"
    assert str(command.words[1].span) == "2:6"


def test_static_text_and_plain() -> None:
    assert only_command("echo 'a'b\\c").words[1].static_text() == "abc"
    assert only_command("echo a$X").words[1].static_text() is None
    assert Word.plain("a b") == only_command("echo 'a b'").words[1]


# -- errors ---------------------------------------------------------------------

ERRORS = [
    # (source, message, incomplete)
    ("| a", "unexpected '|' at 1:1", False),
    ("; a", "unexpected ';' at 1:1", False),
    ("a ;; b", "unexpected ';' at 1:4", False),
    ("a & ; b", "unexpected ';' at 1:5", False),
    ("&", "unexpected '&' at 1:1", False),
    ("a\n&& b", "unexpected '&&' at 2:1", False),
    ("echo (x)", "unexpected '(' at 1:6", False),
    ("echo x)", "unexpected ')' at 1:7", False),
    ("echo &&", "missing command after '&&' at 1:6", True),
    ("echo ||", "missing command after '||' at 1:6", True),
    ("echo |", "missing command after '|' at 1:6", True),
    ("echo && \n\n", "missing command after '&&' at 1:6", True),
    ("a && # comment", "missing command after '&&' at 1:3", True),
    ("a && ; b", "missing command after '&&' at 1:3", False),
    ("a | | b", "missing command after '|' at 1:3", False),
    ("a || && b", "missing command after '||' at 1:3", False),
    ("echo >", "missing file name after '>' at 1:6", False),
    ("echo 2>> ;", "missing file name after '>>' at 1:7", False),
    ("echo <", "missing file name after '<' at 1:6", False),
    ("echo >&", "missing file descriptor after '>&' at 1:6", False),
    ("echo 2>&x", "bad file descriptor 'x' after '>&' at 1:9", False),
    ("!", "missing command after '!' at 1:1", False),
    ("! > f", "missing command after '!' at 1:1", False),
    ("echo 'a", "unclosed single quote at 1:6", True),
    ('echo "a', "unclosed double quote at 1:6", True),
    ('ls\necho x "abc', "unclosed double quote at 2:8", True),
    ("echo a \\", "trailing backslash at 1:8", True),
    ("a &&\necho 'x", "unclosed single quote at 2:6", True),
]


@pytest.mark.parametrize(("source", "message", "incomplete"), ERRORS)
def test_errors(source: str, message: str, incomplete: bool) -> None:
    with pytest.raises(ParseError) as info:
        parse(source)
    assert str(info.value) == message
    assert info.value.incomplete is incomplete


def test_first_error_wins_over_later_incomplete_input() -> None:
    # The REPL must not wait for more lines after an input that is already wrong.
    with pytest.raises(ParseError) as info:
        parse('| echo "abc')
    assert not info.value.incomplete
    assert str(info.value) == "unexpected '|' at 1:1"


def test_incomplete_input_completes_with_more_lines() -> None:
    for first, more in [
        ("echo 'a", "b'"),
        ('echo "a', 'b"'),
        ("echo a \\", "b"),
        ("a &&", "b"),
        ("a |", "b"),
        ("a ||", "b"),
    ]:
        with pytest.raises(ParseError) as info:
            parse(first)
        assert info.value.incomplete
        parse(first + "\n" + more)


def test_error_names_file() -> None:
    with pytest.raises(ParseError) as info:
        parse("ok\n;", filename="batch.llmsh")
    assert str(info.value) == "unexpected ';' at batch.llmsh:2:1"
    assert info.value.filename == "batch.llmsh"


# -- unparse ---------------------------------------------------------------------

CANONICAL = [
    ("ps   --all", "ps --all"),
    ("a;b&c", "a; b & c"),
    ("a&&b||c|d &", "a && b || c | d &"),
    ("echo >f x 2>&1", "echo x > f 2>&1"),
    ("echo 1>f 0<g 2>>h 1>&2", "echo > f < g 2>> h >&2"),
    ("A=1 B='x y' cmd", "A=1 B='x y' cmd"),
    ("X=", "X="),
    ("! ls -la", "!ls -la"),
    ("echo \"a b\" 'c' \\d", "echo 'a b' 'c' 'd'"),
    ('echo "it\'s"', 'echo "it\'s"'),
    ("echo 'it'\\''s'", 'echo "it\'s"'),
    ('echo "a\\$b\\"c\\\\"', "echo 'a$b\"c\\'"),
    ('echo "$X"y "${X}y" $X"y"', 'echo "$X"y "${X}y" $X\'y\''),
    ("echo $1 ${1}0 ${10} $X_ ${X}_", "echo $1 ${1}0 ${10} $X_ ${X}_"),
    ('echo "$@" "a$*b" $? $! $# $$ $0', 'echo "$@" "a$*b" $? $! $# $$ $0'),
    ('echo "" \'\' a"" "$X"\'\'', "echo '' '' a'' \"$X\"''"),
    ("echo $ a$ $'x'", "echo $ a$ $'x'"),
    ("echo a#b \\#c", "echo a#b '#'c"),
    ("echo ~ ~/x '~'", "echo ~ ~/x '~'"),
    ("x # comment\ny", "x; y"),
    ("echo 'a\nb'", "echo 'a\nb'"),
]


@pytest.mark.parametrize(("source", "expected"), CANONICAL)
def test_unparse_canonical(source: str, expected: str) -> None:
    tree = parse(source)
    assert unparse(tree) == expected
    assert parse(expected) == tree


def test_unparse_nodes() -> None:
    tree = parse("a | b && c &")
    statement = tree.statements[0]
    assert unparse(statement) == "a | b && c &"
    assert unparse(statement.body) == "a | b && c"
    assert unparse(statement.body.first) == "a | b"
    assert unparse(statement.body.first.commands[1]) == "b"
    assert unparse_word(Word(())) == "''"


def test_unparse_guards_hand_built_trees() -> None:
    # Text that cannot stand bare is quoted; a command word never turns into
    # an assignment or a system command.
    assert unparse(cmd("a b", "x;y")) == "'a b' 'x;y'"
    assert unparse(cmd("A=1", "!x")) == "'A=1' !x"
    assert unparse(cmd("!x")) == "'!x'"
    assert unparse(Word((Text("$"), Param("X")))) == "'$'$X"
    with pytest.raises(ValueError):
        unparse(Word((Param("not a name"),)))


@pytest.mark.parametrize(
    ("raw", "quoted"),
    [
        ("abc", "abc"),
        ("--max-tokens=5", "--max-tokens=5"),
        ("%1", "%1"),
        ("cuda:0", "cuda:0"),
        ("", "''"),
        ("a b", "'a b'"),
        ("it's", '"it\'s"'),
        ("$HOME", "'$HOME'"),
        ('it\'s $5 "x" \\ `', '"it\'s \\$5 \\"x\\" \\\\ \\`"'),
        ("#x", "'#x'"),
        ("!x", "'!x'"),
        ("~", "'~'"),
        ("a\nb", "'a\nb'"),
    ],
)
def test_quote(raw: str, quoted: str) -> None:
    assert quote(raw) == quoted
    assert only_command(f"echo {quoted}").words[1].static_text() == raw
