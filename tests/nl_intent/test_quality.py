"""The committed weights on the real minilm: the held-out goals and the issue's examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmsh.nl_intent.api import Translator, TranslatorConfig

pytestmark = pytest.mark.real_model


@pytest.fixture(scope="module")
def translator(real_encoder: Path) -> Translator:
    return Translator(TranslatorConfig(encoder=str(real_encoder)))


def test_held_out_goals(translator: Translator) -> None:
    """Templates never seen in training, at the issue's goals: intent >= 97% and exact
    command >= 90%. The committed weights reach about 97.8% and 95.5% over 8,000 held-out
    utterances; 2,000 are scored here (a 600-utterance sample swings by a point)."""
    from llmsh.nl_intent.evaluate import evaluate, held_out_examples

    result = evaluate(translator, held_out_examples(2000), keep_errors=10)
    report = f"{result.summary()} errors: {result.errors}"
    assert result.n == 2000
    assert result.intent_accuracy >= 0.97, report
    assert result.exact_command >= 0.90, report
    assert result.slot_f1 >= 0.90, report


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("show me what's running on the gpu", "ps --device cuda"),
        ("fine tune smollm2 on notes.jsonl in the background",
         "finetune smollm2 --data notes.jsonl &"),
        ("kill job 2", "kill %2"),
        ("kill 42", "kill 42"),
        ("renice job 3 to high priority", "renice high %3"),
        ("load smollm2 on the second gpu", "load smollm2 --device cuda:1"),
        ("how much memory is free", "free"),
        ("pull minilm", "models pull minilm"),
    ],
)  # fmt: skip
def test_examples_from_the_issue(translator: Translator, text: str, command: str) -> None:
    proposal = translator.translate(text)
    assert proposal.command == command, proposal.to_json()


def test_destructive_and_rejected(translator: Translator) -> None:
    assert translator.translate("kill job 2").destructive
    assert translator.translate("delete the model qwen").destructive
    assert not translator.translate("list processes").destructive
    nonsense = translator.translate("asdf qwerty")
    assert nonsense.command is None and nonsense.intent == "reject"


def test_prompts_become_generate(translator: Translator) -> None:
    proposal = translator.translate("write a haiku about the sea")
    assert proposal.command == "generate 'write a haiku about the sea'", proposal.to_json()
