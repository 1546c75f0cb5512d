"""Proposals from predictions: threshold, alternatives, destructive, JSON (no model needed)."""

from __future__ import annotations

import json

import pytest

from llmsh.nl_intent.api import Prediction, Translator, TranslatorConfig
from llmsh.nl_intent.decode import decode
from llmsh.nl_intent.signatures import Param, Signature, signatures
from llmsh.nl_intent.words import split_words


def translator(threshold: float = 0.5) -> Translator:
    t = Translator.__new__(Translator)
    t.config = TranslatorConfig(threshold=threshold)
    t.sigs = signatures()
    return t


def prediction(
    text: str, tags: list[str], intents: list[tuple[str, float]], least: float = 0.99
) -> Prediction:
    words = split_words(text)
    assert len(words) == len(tags)
    return Prediction(words, intents, tags, least)


def test_confident_proposal() -> None:
    text = "show me what's running on the second gpu"
    tags = ["O", "O", "O", "O", "O", "O", "O", "B-device", "I-device"]
    p = translator().propose(text, prediction(text, tags, [("ps", 0.97), ("jobs", 0.02)]))
    assert p.command == "ps --device cuda:1" and p.intent == "ps"
    assert p.slots == {"device": "cuda:1"} and not p.destructive
    assert abs(p.confidence - 0.97 * 0.99) < 1e-9


def test_destructive_and_many_ids_in_json() -> None:
    text = "kill jobs 1 and 2 in the background"
    tags = ["O", "B-id", "I-id", "I-id", "I-id", "B-bg", "I-bg", "I-bg"]
    p = translator().propose(text, prediction(text, tags, [("kill", 0.9), ("pause", 0.1)]))
    assert p.command == "kill %1 %2" and p.destructive  # kill is no job: the & is dropped
    data = json.loads(json.dumps(p.to_json()))
    assert data["slots"] == {"id": ["%1", "%2"]} and data["destructive"] is True
    assert data["alternatives"] == [{"command": "pause %1", "intent": "pause",
                                     "confidence": round(0.1 * 0.99, 4),
                                     "destructive": False}]  # fmt: skip


def test_below_threshold_gives_no_command_but_alternatives() -> None:
    text = "stop job 3"
    tags = ["O", "B-id", "I-id"]
    p = translator().propose(text, prediction(text, tags, [("kill", 0.45), ("pause", 0.40)]))
    assert p.command is None and p.reason == "no confident command"
    assert [a.command for a in p.alternatives] == ["kill %3", "pause %3"]
    assert [a.destructive for a in p.alternatives] == [True, False]


def test_reject_and_undecodable_values() -> None:
    p = translator().propose("asdf", prediction("asdf", ["O"], [("reject", 0.99)]))
    assert p.command is None and p.reason == "not a command"
    text = "go to the kitchen on the moon"
    tags = ["O", "O", "O", "O", "O", "B-device", "I-device"]
    p = translator().propose(text, prediction(text, tags, [("ps", 0.99)]))
    assert p.command is None and "cannot read" in p.reason


def test_background_for_job_commands() -> None:
    text = "fine tune smollm2 on notes.jsonl in the background"
    tags = ["O", "O", "B-model", "O", "B-data", "B-bg", "I-bg", "I-bg"]
    p = translator().propose(text, prediction(text, tags, [("finetune", 0.99)]))
    assert p.command == "finetune smollm2 --data notes.jsonl &"
    assert p.slots == {"model": "smollm2", "data": "notes.jsonl", "bg": True}


def test_a_stray_word_next_to_a_good_value_is_dropped() -> None:
    text = "set priority high on job 3"
    tags = ["O", "B-priority", "B-priority", "O", "B-id", "I-id"]
    p = translator().propose(text, prediction(text, tags, [("renice", 0.95)]))
    assert p.command == "renice high %3"


def test_plugin_commands_decode_like_built_ins() -> None:
    sigs = signatures()
    if "summarize" not in sigs:
        return  # the summarize plugin is not installed here
    text = "summarize notes.txt in 50 words"
    tags = ["O", "B-file", "O", "B-max_words", "O"]
    p = translator().propose(text, prediction(text, tags, [("summarize", 0.95)]))
    assert p.command == "summarize notes.txt --max-words 50"


SWEEP_TEXT = "fine-tune phi2 with every lr in 5e-5,1e-4 on train.jsonl"
SWEEP_TAGS = ["O", "B-model", "O", "O", "O", "O", "B-lr", "O", "B-data"]


def test_a_reading_that_drops_numbers_gives_way_to_one_that_keeps_them() -> None:
    if "sweep finetune" not in signatures():
        pytest.skip("the sweep plugin is not installed here")
    intents = [("finetune", 0.96), ("sweep finetune", 0.03), ("eval", 0.01)]
    p = translator().propose(SWEEP_TEXT, prediction(SWEEP_TEXT, SWEEP_TAGS, intents))
    assert p.command == "sweep finetune phi2 --data train.jsonl --lr 5e-5,1e-4"
    assert p.intent == "sweep finetune" and p.slots["lr"] == "5e-5,1e-4"
    # given that both lrs must be kept, sweep finetune is the only reading (eval has no lr)
    assert abs(p.confidence - 1.0 * 0.99) < 1e-9
    assert [a.command for a in p.alternatives] == ["finetune phi2 --data train.jsonl --lr 5e-05"]


def test_without_a_reading_that_keeps_them_the_first_stays() -> None:
    intents = [("finetune", 0.99), ("eval", 0.01)]
    t = translator()
    t.sigs = {name: sig for name, sig in signatures().items() if name != "sweep finetune"}
    p = t.propose(SWEEP_TEXT, prediction(SWEEP_TEXT, SWEEP_TAGS, intents))
    assert p.command == "finetune phi2 --data train.jsonl --lr 5e-05"
    one = "fine-tune phi2 with lr 5e-5 on train.jsonl"
    tags = ["O", "B-model", "O", "O", "B-lr", "O", "B-data"]
    sigs = signatures()
    assert not decode(sigs["finetune"], one, split_words(one), tags).dropped
    lossy = decode(sigs["finetune"], SWEEP_TEXT, split_words(SWEEP_TEXT), SWEEP_TAGS)
    assert lossy.dropped == ["lr"] and lossy.command is not None


def test_a_destructive_reading_never_replaces_a_harmless_one() -> None:
    text = "wait 3 5"
    tags = ["O", "B-id", "I-id"]
    t = translator()
    sigs = signatures()
    # a made-up one-number command with a destructive namesake that takes a list
    pid = Param("id", "INT", required=True)
    t.sigs = {"wait": Signature("wait", ("wait",), (pid,)),
              "kill": sigs["kill"], "pause": sigs["pause"]}  # fmt: skip
    intents = [("wait", 0.9), ("kill", 0.08), ("pause", 0.02)]
    p = t.propose(text, prediction(text, tags, intents))
    assert p.intent == "wait" and p.command == "wait 3"
