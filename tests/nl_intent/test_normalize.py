"""Slot values: the words people use -> the values llmsh expects."""

from __future__ import annotations

import pytest

from llmsh.nl_intent.normalize import normalize, numbers


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("the gpu", "cuda"), ("GPU", "cuda"), ("the graphics card", "cuda"), ("cuda", "cuda"),
        ("second gpu", "cuda:1"), ("the first gpu", "cuda:0"), ("gpu 2", "cuda:2"),
        ("gpu number 3", "cuda:3"), ("cuda:1", "cuda:1"), ("gpu #0", "cuda:0"),
        ("the cpu", "cpu"), ("the processor", "cpu"), ("any device", "auto"), ("auto", "auto"),
    ],
)  # fmt: skip
def test_device(text: str, want: str) -> None:
    assert normalize("DEVICE", text) == [want]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("high priority", "high"), ("urgent", "high"), ("top priority", "high"),
        ("low priority", "low"), ("idle", "low"), ("normal", "normal"),
        ("default priority", "normal"), ("-5", "-5"), ("minus 5", "-5"), ("nice 10", "10"),
        ("priority 0", "0"),
    ],
)  # fmt: skip
def test_priority(text: str, want: str) -> None:
    assert normalize("PRIORITY", text) == [want]


def test_priority_out_of_range_falls_back_to_words() -> None:
    assert normalize("PRIORITY", "42") is None


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("job 2", ["%2"]), ("job number 3", ["%3"]), ("job #4", ["%4"]), ("%5", ["%5"]),
        ("job two", ["%2"]), ("the first job", ["%1"]), ("42", ["42"]), ("process 42", ["42"]),
        ("pid 4521", ["4521"]), ("jobs 1 and 3", ["%1", "%3"]), ("%1 %2", ["%1", "%2"]),
        ("processes 120, 5000 and 7000", ["120", "5000", "7000"]),
    ],
)  # fmt: skip
def test_job_ids(text: str, want: list[str]) -> None:
    assert normalize("ID", text) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [("running", "running"), ("active", "running"), ("finished", "done"), ("crashed", "failed"),
     ("on hold", "paused"), ("pending", "queued"), ("terminated", "killed")],
)  # fmt: skip
def test_state(text: str, want: str) -> None:
    assert normalize("STATE", text) == [want]


@pytest.mark.parametrize(
    ("text", "want"),
    [("smollm2", ["smollm2"]), ("SmolLM2", ["smollm2"]), ("smol lm 2", ["smollm2"]),
     ("mini lm", ["minilm"]), ("notes-lora", ["notes-lora"]),
     ("smollm2 and minilm", ["smollm2", "minilm"]), ("the qwen model", ["qwen"])],
)  # fmt: skip
def test_model(text: str, want: list[str]) -> None:
    assert normalize("MODEL", text) == want


@pytest.mark.parametrize(
    ("kind", "text", "want"),
    [
        ("FLOAT", "two minutes", "120"), ("FLOAT", "half a minute", "30"),
        ("FLOAT", "90 seconds", "90"), ("FLOAT", "2.5", "2.5"), ("FLOAT", "1e-4", "1e-4"),
        ("FLOAT", "an hour", "3600"), ("INT", "twenty five", "25"), ("INT", "a hundred", "100"),
        ("INT", "512", "512"), ("INT", "2k", "2000"),
        ("LABELS", "positive, negative or neutral", "positive,negative,neutral"),
        ("LABELS", "spam,ham", "spam,ham"), ("FILE", "'my notes.txt'", "my notes.txt"),
        ("DIR", "the parent directory", ".."), ("DIR", "my home directory", "~"),
        ("TEXT", '"hello world"', "hello world"),
    ],
)  # fmt: skip
def test_values(kind: str, text: str, want: str) -> None:
    assert normalize(kind, text) == [want]


def test_numbers_reads_digits_and_words() -> None:
    assert numbers("one hundred and fifty") == [150]
    assert numbers("minus three, 4 and 1e-3") == [-3, 4, 0.001]


def test_unreadable_values_are_none() -> None:
    assert normalize("DEVICE", "the kitchen") is None
    assert normalize("ID", "that one") is None
    assert normalize("STATE", "purple") is None
    assert normalize("MODEL", "my favourite model!") is None


def test_command_values_are_the_names_given() -> None:
    names = ("models", "models pull", "ps")
    assert normalize("COMMAND", "models pull and ps", names) == ["models", "pull", "ps"]
    assert normalize("COMMAND", "models pull and ps") is None  # no names, no command
    assert normalize("COMMAND", "the weather", names) is None


def test_signatures_read_the_registry_they_are_given() -> None:
    """No process-wide cache: a registry's signatures are its own, and a COMMAND value
    may be any command name of that registry (`Param.choices`)."""
    from llmsh.commands.registry import Registry
    from llmsh.commands.spec import Arg, Command, ValueType
    from llmsh.nl_intent.decode import decode
    from llmsh.nl_intent.signatures import signatures
    from llmsh.nl_intent.words import split_words

    async def run(*_: object) -> int:
        return 0

    registry = Registry()
    registry.register(Command("greet", "say hello", run, examples=("greet",)))
    registry.register(
        Command("about", "explain a command", run, examples=("about greet",),
                args=(Arg("command", ValueType.COMMAND, metavar="COMMAND"),))
    )  # fmt: skip
    sigs = signatures(registry)
    assert set(sigs) == {"greet", "about"}
    assert sigs["about"].params[0].choices == ("about", "greet")
    text = "tell me about greet"
    tags = ["O", "O", "O", "B-command"]
    assert decode(sigs["about"], text, split_words(text), tags).slots == {"command": ["greet"]}
    help_sig = signatures()["help"]
    assert {"ps", "models", "models pull"} <= set(help_sig.params[0].choices)
    text = "how do I use models pull"
    tags = ["O", "O", "O", "O", "B-command", "I-command"]
    assert decode(help_sig, text, split_words(text), tags).command == "help models pull"
