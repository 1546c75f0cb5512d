"""Command declarations: the COMMANDS.md set, parsing and validation, help, vocabulary."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from llmsh.commands import (
    Arg,
    Args,
    Command,
    Flag,
    Registry,
    UsageError,
    ValueType,
    default_registry,
    helptext,
)
from llmsh.commands.parsing import parse_args
from llmsh.commands.values import JobRef

COMMANDS_MD = Path(__file__).resolve().parents[2].parent / "shared" / "COMMANDS.md"
REGISTRY = default_registry()


def documented_forms() -> list[str]:
    """Every canonical form in COMMANDS.md's command table, e.g. ``ps [--all] ...``.

    Only the "Commands" table: the later tables of additions name columns, flags and
    chat slash commands too, which are checked where they are built."""
    if not COMMANDS_MD.exists():
        pytest.skip("../shared/COMMANDS.md is not present in this checkout")
    forms = []
    section = ""
    for line in COMMANDS_MD.read_text().splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        if section.startswith("Commands") and line.startswith("| `"):
            first_cell = line.split("|")[1]
            forms += re.findall(r"`([^`]+)`", first_cell)
    return forms


def resolve(form: str) -> tuple[Command, list[str]]:
    words = form.split()
    command = REGISTRY.get(words[0])
    assert command is not None, f"{words[0]} is not registered"
    if command.subcommands and len(words) > 1 and words[1].isalpha() and words[1].islower():
        sub = command.subcommand(words[1])
        assert sub is not None, f"{form}: no subcommand {words[1]}"
        return sub, words[2:]
    if command.subcommands:
        default = command.subcommand(command.default_subcommand)
        assert default is not None
        return default, words[1:]
    return command, words[1:]


def test_every_documented_command_is_registered() -> None:
    forms = documented_forms()
    assert len(forms) >= 40
    for form in forms:
        resolve(form)


def test_second_round_shell_commands_are_registered() -> None:
    for name in ("clear", "version"):
        assert REGISTRY.get(name) is not None, f"{name} is not registered"


def test_documented_flags_and_arguments_match_the_declarations() -> None:
    for form in documented_forms():
        command, words = resolve(form)
        if command.raw:
            continue
        flags, positionals = [], []
        index = 0
        while index < len(words):
            word = words[index].strip("[]")
            if word.startswith("--"):
                value = None
                if index + 1 < len(words) and not words[index].endswith("]"):
                    value = words[index + 1].strip("[]")
                    index += 1
                flags.append((word, value))
            else:
                positionals.append(word.rstrip("."))
            index += 1
        for name, value in flags:
            flag = command.flag(name)
            assert flag is not None, f"{form}: {command.full_name} has no {name}"
            if value is not None:
                assert flag.type is not None, f"{form}: {name} takes no value here"
                assert (flag.metavar or flag.type.value) == value, f"{form}: {name} {value}"
            else:
                assert flag.type is None, f"{form}: {name} should be a switch"
        declared = [(a.metavar or a.type.value) for a in command.args]
        assert declared[: len(positionals)] == positionals, f"{form}: {declared}"
        assert all(a.optional for a in command.args[len(positionals) :]), form  # extras


def test_commands_have_help_and_examples() -> None:
    for command in REGISTRY:
        assert command.summary, command.name
        text = helptext.describe(command)
        assert text.startswith(f"usage: {command.usage()}")
        if command.name not in ("true", "false"):
            assert command.examples or command.subcommands, command.name


def test_overview_lists_every_visible_command() -> None:
    text = helptext.overview(REGISTRY)
    for name in REGISTRY.names():
        assert f"  {name} " in text


def parse(line: str, stdin: str | None = None) -> Args:
    words = line.split()
    command = REGISTRY.get(words[0])
    assert command is not None
    return parse_args(command, words, stdin)


def usage_error(line: str) -> str:
    with pytest.raises(UsageError) as info:
        parse(line)
    return info.value.message


def test_flags_long_short_and_equals() -> None:
    args = parse("ps -a --state=running -d cuda:1 --json")
    assert dict(args) == {"all": True, "state": "running", "device": "cuda:1", "json": True}
    args = parse("generate hi --max-tokens 8 -t 0.5 --priority low -d cpu")
    assert (args["max_tokens"], args["temperature"], args["priority"]) == (8, 0.5, 10)
    assert args["model"] is None and args["prompt"] == "hi"


def test_negative_numbers_are_values_not_flags() -> None:
    args = parse("renice -5 42")
    assert args["priority"] == -5 and args["id"] == JobRef("42")


def test_job_references() -> None:
    assert [ref.text for ref in parse("kill 1 %2 %+")["ids"]] == ["1", "%2", "%+"]
    assert parse("kill %3")["ids"][0].number == 3
    assert "invalid job 'x1'" in usage_error("kill x1")


@pytest.mark.parametrize(("line", "message"), [
    ("ps --stat running", "unknown flag '--stat' (did you mean '--state'?)"),
    ("ps --state sleeping", "invalid state 'sleeping'"),
    ("ps --device tpu", "invalid device 'tpu'"),
    ("ps --all=yes", "--all takes no value"),
    ("ps --state", "--state needs a value (STATE)"),
    ("renice 42", "missing ID"),
    ("renice urgent 1", "invalid priority 'urgent'"),
    ("renice 25 1", "must be between -20 and 19"),
    ("kill", "missing ID"),
    ("pause 1 2", "unexpected argument '2'"),
    ("generate hi --max-tokens many", "invalid integer 'many'"),
    ("generate hi --temperature nan", "invalid number 'nan'"),
    ("classify text", "missing --labels A,B,..."),
    ("classify text --labels ,", "expected labels"),
    ("finetune smollm2", "missing --data FILE"),
    ("models fetch x", "unknown subcommand 'fetch'"),
    ("models pull", "missing NAME"),
    ("sleep", "missing SECONDS"),
])  # fmt: skip
def test_bad_usage_says_what_was_wrong(line: str, message: str) -> None:
    assert message in usage_error(line)


def test_subcommands_and_default_subcommand() -> None:
    args = parse("models --json")
    assert args.command.full_name == "models list" and args["json"] is True
    args = parse("models pull smollm2 minilm --if-missing")
    assert args["names"] == ["smollm2", "minilm"] and args["if_missing"] is True
    assert parse("models rm x -y")["yes"] is True


def test_text_from_stdin() -> None:
    assert parse("generate -", stdin="piped prompt\n")["prompt"] == "piped prompt"
    assert parse("generate", stdin="from stdin")["prompt"] == "from stdin"
    assert "nothing is piped in" in usage_error("generate -")


def test_labels_and_raw_commands() -> None:
    assert parse("classify t --labels a,b,,c")["labels"] == ("a", "b", "c")
    assert parse("echo -n --x y")["argv"] == ["-n", "--x", "y"]


def test_usage_lines() -> None:
    def usage(name: str) -> str:
        command = REGISTRY.get(name)
        assert command is not None
        return command.usage()

    assert usage("ps") == "ps [--all] [--state STATE] [--device DEVICE] [--json]"
    assert usage("nl") == "nl [--dry-run] [--json] TEXT..."
    assert usage("kill") == "kill ID..."


def test_vocabulary_for_the_nl_parser() -> None:
    vocab = REGISTRY.vocabulary()
    typed_only = {c.name for c in REGISTRY if not c.in_vocabulary}
    assert typed_only == {"clear", "version"}  # typed, not asked for: not in the parser's
    assert set(vocab["commands"]) == set(REGISTRY.names()) - typed_only
    ps = vocab["commands"]["ps"]
    assert {f["name"] for f in ps["flags"]} == {"--all", "--state", "--device", "--json"}
    assert vocab["commands"]["kill"]["destructive"] is True
    assert "nl_templates" in ps and "running" in vocab["values"]["STATE"]
    assert "pull" in vocab["commands"]["models"]["subcommands"]


async def _noop(ctx: object, args: Args) -> int:
    return 0


def test_registry_is_extensible_at_runtime() -> None:
    registry = Registry()
    plugin = Command("hello", "a plugin command", _noop, aliases=("hi",),
                     args=(Arg("who", ValueType.NAME, optional=True),),
                     flags=(Flag("loud", short="l"),))  # fmt: skip
    registry.register(plugin)
    assert registry.get("hi") is plugin and "hello" in registry
    assert parse_args(plugin, ["hello", "-l", "bob"])["who"] == "bob"
    with pytest.raises(ValueError):
        registry.register(plugin)
    registry.register(plugin, replace=True)
    registry.unregister("hello")
    assert registry.get("hi") is None
    assert REGISTRY.suggest("gnerate") == "generate"
