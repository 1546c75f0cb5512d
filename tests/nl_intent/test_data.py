"""The generated data is consistent with the registry, the decoder and the assembler."""

from __future__ import annotations

import json
import random
import shutil
from collections import Counter
from pathlib import Path

import pytest

from llmsh.nl_intent import builtin_examples, data
from llmsh.nl_intent.augment import AugmentConfig
from llmsh.nl_intent.decode import decode
from llmsh.nl_intent.examples import ExampleBook, example_book
from llmsh.nl_intent.signatures import REJECT, signatures
from llmsh.nl_intent.templates import Item, Lit, Slot, slots_of
from llmsh.nl_intent.train import TrainConfig
from llmsh.nl_intent.words import split_words


@pytest.fixture(scope="module")
def book() -> ExampleBook:
    return example_book()


def test_every_registry_command_has_templates(book: ExampleBook) -> None:
    sigs = signatures()
    missing = sorted(name for name in sigs if len(book.templates.get(name, [])) < 5)
    assert not missing, f"commands with fewer than 5 templates: {missing}"
    assert len(book.templates[REJECT]) >= 5
    train, held = data.split_templates(book, data.intents_of(book, sigs))
    assert {t.intent for t in held} == {t.intent for t in train} == set(sigs) | {REJECT}


def test_template_slots_belong_to_their_command(book: ExampleBook) -> None:
    sigs = signatures()
    for intent, templates in book.templates.items():
        allowed = set(sigs[intent].slots) | {"bg"} if intent in sigs else set()
        for tpl in templates:
            slots = {s for s in slots_of(tpl.items) if not s.startswith("_")}
            assert slots <= allowed, f"{tpl.id} {tpl.text!r} uses {slots - allowed}"


def test_split_is_by_template(book: ExampleBook) -> None:
    intents = data.intents_of(book, signatures())
    train, held = data.split_templates(book, intents)
    assert len(held) >= 80
    assert not {t.text for t in train} & {t.text for t in held}
    flagged = [t for i in intents for t in book.templates[i] if t.held_out]
    assert held == flagged and not any(t.held_out for t in train)


def _flags(book: ExampleBook) -> Counter[tuple[str, str, bool]]:
    return Counter((t.intent, t.text, t.held_out) for ts in book.templates.values() for t in ts)


def test_adding_a_template_changes_no_other_flag(tmp_path: Path) -> None:
    """A template inserted first in an area file, and one a plugin adds to a built-in
    intent, move every later index of their intents, yet no other template's flag."""
    before = ExampleBook()
    builtin_examples.register_nl_examples(before.add)
    corpus = tmp_path / "corpus"
    shutil.copytree(builtin_examples.CORPUS, corpus)
    jobs = json.loads((corpus / "jobs.json").read_text())
    jobs["templates"]["ps"].insert(0, {"held_out": False, "text": "what's on the go"})
    jobs["templates"]["kill"].insert(0, {"held_out": True, "text": "zap {id}"})
    (corpus / "jobs.json").write_text(json.dumps(jobs))
    after = ExampleBook()
    builtin_examples.register_nl_examples(after.add, corpus)
    after.add("ps", ["what is this box up to"])  # a plugin's, after the built-ins

    assert _flags(after) - _flags(before) == Counter(
        {("ps", "what's on the go", False): 1, ("kill", "zap {id}", True): 1,
         ("ps", "what is this box up to", False): 1})  # fmt: skip
    assert not _flags(before) - _flags(after)
    old_ps = [t.text for t in before.templates["ps"]]
    assert [t.text for t in after.templates["ps"][1 : len(old_ps) + 1]] == old_ps  # index + 1


def test_every_corpus_file_is_read_and_flags_every_template() -> None:
    assert sorted(p.stem for p in builtin_examples.CORPUS.glob("*.json")) == sorted(
        builtin_examples.AREAS
    )
    for area in builtin_examples.AREAS:
        templates = builtin_examples.read_area(builtin_examples.CORPUS / f"{area}.json")
        assert templates and all(
            set(entry) == {"held_out", "text"}
            for entries in templates.values()
            for entry in entries
        )


@pytest.mark.parametrize(
    "text",
    ['{"templates": {"ps": ["list processes"]}}',
     '{"templates": {"ps": [{"text": "list processes"}]}}',
     '{"templates": {"ps": [{"held_out": "no", "text": "list processes"}]}}',
     '{"templates": ["ps"]}', '{"templates": {"ps": [', "[]"],
)  # fmt: skip
def test_a_bad_corpus_file_is_named_in_one_line(tmp_path: Path, text: str) -> None:
    path = tmp_path / "jobs.json"
    path.write_text(text)
    with pytest.raises(builtin_examples.CorpusError) as info:
        builtin_examples.read_area(path)
    assert str(info.value).startswith("jobs.json: ") and "\n" not in str(info.value)


@pytest.mark.parametrize("split", ["train", "held"])
def test_every_generated_line_decodes_back_to_its_command(book: ExampleBook, split: str) -> None:
    """Gold tags -> spans -> normalised values -> assembled line == the gold command."""
    sigs = signatures()
    train, held = data.split_templates(book, data.intents_of(book, sigs))
    templates = train if split == "train" else held
    examples = data.generate(templates, sigs, book, 3000, seed=11)
    examples += [data.make_example(t, sigs, book, random.Random(i), data.AugmentConfig())
                 for i, t in enumerate(templates)]  # fmt: skip
    for ex in examples:
        words, tags = ex.words_and_tags()
        assert len(words) == len(tags)
        if ex.intent == REJECT:
            assert ex.command is None and set(tags) == {"O"}, ex.text
            continue
        decoded = decode(sigs[ex.intent], ex.text, split_words(ex.text), tags)
        assert decoded.command == ex.command, (ex.template, ex.text, decoded.error)


def test_generation_is_deterministic(book: ExampleBook) -> None:
    sigs = signatures()
    train, _ = data.split_templates(book, data.intents_of(book, sigs))
    first = [e.text for e in data.generate(train, sigs, book, 50, seed=3)]
    assert first == [e.text for e in data.generate(train, sigs, book, 50, seed=3)]


def test_plugins_register_examples_through_the_same_function() -> None:
    fresh = ExampleBook()
    fresh.add("weather", ["what's the weather in {city}", "forecast for {city}",
                          {"text": "will it rain in {city}", "held_out": True},
                          {"text": "how warm is {city}", "held_out": False},
                          {"text": "is {city} sunny"}],
              {"city": ["Paris", "Oslo"]})  # fmt: skip
    assert [t.id for t in fresh.templates["weather"]][:2] == ["weather#0", "weather#1"]
    assert [t.held_out for t in fresh.templates["weather"]] == [False, False, True, False, False]
    phrase, values = fresh.lexicons["city"](random.Random(0))
    assert values == [phrase] and phrase in ("Paris", "Oslo")


@pytest.mark.parametrize(
    "templates",
    [["(show|list processes"], ["list", {"text": "ps", "held_out": "yes"}],
     ["list", {"txt": "ps"}], ["list", {"text": "ps", "held": True}], ["list", 3]],
)  # fmt: skip
def test_bad_templates_fail_when_registered_and_add_nothing(templates: list[object]) -> None:
    from llmsh.nl_intent.templates import TemplateError

    fresh = ExampleBook()
    with pytest.raises(TemplateError):
        fresh.add("ps", templates)  # type: ignore[arg-type]
    assert not fresh.templates.get("ps")


def test_generated_lines_show_varied_phrasing(book: ExampleBook) -> None:
    sigs = signatures()
    train, _ = data.split_templates(book, data.intents_of(book, sigs))
    texts = [e.text for e in data.generate(train, sigs, book, 2000, seed=5)]
    assert any(t[:1].isupper() for t in texts) and any(t.isupper() for t in texts)
    assert any(t.lower().startswith(("please", "could you", "can you")) for t in texts)
    assert sum("background" in t.lower() for t in texts) > 50


def _forms(items: tuple[Item, ...]) -> set[str]:
    """Every wording a template can take, slots as ``{name:lexicon}`` (lower case)."""
    forms = {""}
    for item in items:
        if isinstance(item, Lit):
            options = {item.text.lower()}
        elif isinstance(item, Slot):
            options = {"{" + f"{item.name}:{item.lexicon}={'|'.join(item.phrases)}" + "}"}
        else:
            options = {form for option in item.options for form in _forms(option)}
            options |= {""} if item.optional else set()
        forms = {f"{head} {tail}" for head in forms for tail in options}
    return {" ".join(form.split()) for form in forms}


def test_no_training_template_words_a_held_out_one(book: ExampleBook) -> None:
    """Held out means never seen: no training template of an intent can render the same
    words (slots aside) as one of its held-out templates, whatever its choices."""
    train, held = data.split_templates(book, data.intents_of(book, signatures()))
    seen: dict[str, set[str]] = {}
    for tpl in train:
        seen.setdefault(tpl.intent, set()).update(_forms(tpl.items))
    shared = {tpl.id: sorted(_forms(tpl.items) & seen[tpl.intent]) for tpl in held}
    assert not {tid: forms for tid, forms in shared.items() if forms}


def test_trailing_dots_stay_outside_slots_and_off_the_held_out(book: ExampleBook) -> None:
    """Training's "..." lands outside slots (the gold line still decodes); the held-out
    draw uses the defaults, where it is off, so it is the same utterances as without it."""
    sigs = signatures()
    train, held = data.split_templates(book, data.intents_of(book, sigs))
    dotted = data.generate(train, sigs, book, 3000, seed=5, config=AugmentConfig(ellipsis=1.0))
    assert sum(".." in ex.text or "…" in ex.text for ex in dotted) > 2500
    for ex in dotted:
        if ex.intent != REJECT:
            decoded = decode(sigs[ex.intent], ex.text, split_words(ex.text), ex.words_and_tags()[1])
            assert decoded.command == ex.command, (ex.template, ex.text, decoded.error)
    plain = [ex.text for ex in data.generate(held, sigs, book, 200, seed=5)]
    off = data.generate(held, sigs, book, 200, seed=5, config=AugmentConfig(ellipsis=0.0))
    assert plain == [ex.text for ex in off]
    assert TrainConfig().augment.ellipsis > 0 and AugmentConfig().ellipsis == 0
