"""Print a syntax tree back as canonical llmsh source, and quote plain strings.

Canonical form: single spaces between words and around operators, statements
joined by ``; `` (or by the ``&`` that backgrounds them), assignments first,
then words, then redirections in their original order, and the least quoting
that reads back the same way:

* unquoted text stays bare;
* quoted text goes in single quotes, or in double quotes when it contains a
  single quote or sits next to a double-quoted ``$VAR``;
* ``${NAME}`` braces only where the next character would extend the name.

For any tree that :func:`llmsh.syntax.parser.parse` produced,
``parse(unparse(tree)) == tree``. Hand-built trees whose unquoted text holds
characters that cannot stand bare (blanks, operators, quotes) are printed with
that text quoted, so they read back with ``quoted=True`` on it.
"""

from __future__ import annotations

from collections.abc import Sequence

from llmsh.syntax.ast import (
    AndOr,
    Node,
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
from llmsh.syntax.lexer import (
    ASSIGNMENT,
    BLANKS,
    DIGITS,
    METACHARS,
    NAME_CHARS,
    NAME_START,
    SPECIAL_PARAMS,
)

__all__ = ["quote", "unparse", "unparse_word"]

# Characters that never need quoting in an argument (shlex's set plus '%' for
# job references).
_SAFE = frozenset(NAME_CHARS | set("@%+=:,./-"))
# Characters that cannot appear in bare (unquoted) text at all.
_NOT_BARE = frozenset(BLANKS + "\n" + METACHARS + "'\"\\")
# Characters that turn a preceding '$' into a parameter reference.
_PARAM_START = frozenset(NAME_START | DIGITS | SPECIAL_PARAMS | {"{"})


def quote(word: str) -> str:
    """``word`` as one shell word that reads back as exactly ``word``.

    ``quote("a b") == "'a b'"``, ``quote("it's") == '"it\\'s"'``, plain words
    stay bare. A bare ``NAME=value`` is left as it is: fine as an argument,
    but as the first word of a command it would read as an assignment."""
    if word and all(ch in _SAFE for ch in word):
        return word
    return _quote_text(word)


def unparse(node: Node) -> str:
    """Canonical source text for any node from :mod:`llmsh.syntax.ast`."""
    if isinstance(node, Script):
        return _script(node.statements)
    if isinstance(node, Statement):
        return _statement(node)
    if isinstance(node, AndOr):
        return _and_or(node)
    if isinstance(node, Pipeline):
        return " | ".join(_command(command) for command in node.commands)
    if isinstance(node, SimpleCommand):
        return _command(node)
    return unparse_word(node)


def unparse_word(word: Word) -> str:
    """One word as an argument; an empty word prints as ``''``."""
    return _parts(word.parts, at_start=True) or "''"


# -- statements ----------------------------------------------------------------


def _script(statements: Sequence[Statement]) -> str:
    out: list[str] = []
    for index, statement in enumerate(statements):
        out.append(_statement(statement))
        if index < len(statements) - 1:
            # 'a & b': the '&' already separates; 'a &; b' would not parse.
            out.append(" " if statement.background else "; ")
    return "".join(out)


def _statement(statement: Statement) -> str:
    text = _and_or(statement.body)
    return f"{text} &" if statement.background else text


def _and_or(node: AndOr) -> str:
    pieces = [unparse(node.first)]
    for op, pipeline in node.rest:
        pieces += [op, unparse(pipeline)]
    return " ".join(pieces)


def _command(command: SimpleCommand) -> str:
    pieces = [f"{a.name}={_parts(a.value.parts, at_start=False)}" for a in command.assignments]
    for index, word in enumerate(command.words):
        if index > 0:
            pieces.append(unparse_word(word))
        elif command.system:
            pieces.append("!" + _parts(word.parts, at_start=False))
        else:
            pieces.append(unparse_word(_guard_command_word(word)))
    if command.system and not command.words:
        pieces.append("!")  # not valid input; kept visible rather than dropped
    pieces += [_redirect(redirect) for redirect in command.redirects]
    return " ".join(pieces)


def _guard_command_word(word: Word) -> Word:
    """Quote a leading ``!`` or ``NAME=`` so the command word stays a word."""
    head = word.parts[0] if word.parts else None
    if isinstance(head, Text) and not head.quoted:
        if head.text.startswith("!") or ASSIGNMENT.match(head.text):
            return Word((Text(head.text, quoted=True), *word.parts[1:]))
    return word


def _redirect(redirect: Redirect) -> str:
    default_fd = 0 if redirect.op == "<" else 1
    fd = "" if redirect.fd == default_fd else str(redirect.fd)
    if isinstance(redirect.target, int):
        return f"{fd}>&{redirect.target}"
    return f"{fd}{redirect.op} {unparse_word(redirect.target)}"


# -- words -----------------------------------------------------------------------


def _parts(parts: Sequence[WordPart], *, at_start: bool) -> str:
    """Render word parts; ``at_start`` when the text begins a word (where an
    unquoted '#' would start a comment)."""
    out: list[str] = []
    in_double = False  # a double-quoted run is open
    for index, part in enumerate(parts):
        nxt = parts[index + 1] if index + 1 < len(parts) else None
        if isinstance(part, Param):
            if part.quoted != in_double:
                out.append('"')
                in_double = part.quoted
            out.append(_param(part, nxt))
        elif part.quoted and part.text and (in_double or _quoted_param(nxt)):
            # Text joining a double-quoted "$VAR" shares its quotes.
            if not in_double:
                out.append('"')
                in_double = True
            out.append(_escape_double(part.text))
        else:
            if in_double:
                out.append('"')
                in_double = False
            first = index == 0 and at_start
            if not part.quoted and _can_stand_bare(part.text, first, nxt):
                out.append(part.text)
            else:
                out.append(_quote_text(part.text))
    if in_double:
        out.append('"')
    return "".join(out)


def _quoted_param(part: WordPart | None) -> bool:
    return isinstance(part, Param) and part.quoted


def _param(param: Param, nxt: WordPart | None) -> str:
    name = param.name
    if name in SPECIAL_PARAMS:
        return f"${name}"
    if not (
        name.isascii() and (name.isdigit() or (name[:1] in NAME_START and name.isidentifier()))
    ):
        raise ValueError(f"not a parameter name: {name!r}")
    # Braces when needed: ${10}, and $X or $1 followed by what would extend it.
    follow = nxt.text[:1] if isinstance(nxt, Text) and nxt.quoted == param.quoted else ""
    extends = follow in DIGITS if name.isdigit() else follow in NAME_CHARS
    if len(name) > 1 and name.isdigit() or extends:
        return f"${{{name}}}"
    return f"${name}"


def _can_stand_bare(text: str, at_start: bool, nxt: WordPart | None) -> bool:
    if any(ch in _NOT_BARE for ch in text) or (at_start and text.startswith("#")):
        return False
    for index, ch in enumerate(text):
        if ch != "$":
            continue
        if index + 1 < len(text):
            if text[index + 1] in _PARAM_START:
                return False
        elif isinstance(nxt, Param) and not nxt.quoted:
            return False  # '$' + '$X' would read as '$$' then 'X'
    return True


def _quote_text(text: str) -> str:
    if "'" not in text:
        return f"'{text}'"
    return f'"{_escape_double(text)}"'


def _escape_double(text: str) -> str:
    for ch in '\\"$`':
        text = text.replace(ch, "\\" + ch)
    return text
