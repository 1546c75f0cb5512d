"""The built-in natural-language examples, registered like a plugin's.

The templates are data: one JSON file per area in ``corpus/`` (`AREAS`), each
``{"about": [lines], "templates": {intent: [{"held_out": bool, "text": str}]}}``.
Every template states whether it is held out (never trained on, only scored by
``llmsh nl eval``), so adding one never moves another across the split. Keep
held-out ones ordinary, fresh phrasings that no training template can word the
same way (the tests check). The lexicons they draw from are code (`LEXICONS`).
`register_nl_examples(register)` is the hook: it registers the lexicons once
(with the first intent) and then each file's templates.
"""

from __future__ import annotations

import json
from pathlib import Path

from llmsh.nl_intent import lexicons as lx
from llmsh.nl_intent.examples import LexiconLike, RegisterExamples
from llmsh.nl_intent.prompts import PROMPT_LEXICONS

CORPUS = Path(__file__).parent / "corpus"
# Read in this order: it decides which template a seeded draw picks (so the generated
# data), never which templates are held out. contrast last: it adds to the others.
AREAS = ("jobs", "jobctl", "models", "shell", "language", "contrast")
Entry = dict[str, object]

LEXICONS: dict[str, LexiconLike] = {
    "device": lx.device, "priority": lx.priority, "state": lx.STATE, "id": lx.job_or_pid,
    "job": lx.job, "pid": lx.pid, "ids": lx.many_ids, "model": lx.model,
    "new_name": lx.new_name, "file": lx.data_file, "data": lx.data_file,
    "out_file": lx.out_file, "path": lx.path, "dir": lx.directory, "labels": lx.labels,
    "text": lx.same(lx.TEXTS), "argv": lx.same(lx.ARGVS), "int": lx.number(1, 100),
    "float": lx.TEMPERATURE, "max_tokens": lx.from_pairs(
        [(str(n), str(n)) for n in (16, 32, 50, 64, 100, 128, 200, 256, 512)]
        + [("fifty", "50"), ("a hundred", "100"), ("twenty", "20")]),
    "dir_path": lx.same(("~/data", "/tmp", "projects/llm", "data", "/var/log", "src/app")),
    "priority_word": lx.from_pairs([(w, w) for w in ("high", "low", "normal", "-5", "10")]
                                   + [("urgent", "high"), ("idle", "low"), ("default", "normal")]),
    "temperature": lx.TEMPERATURE, "lr": lx.LR, "rank": lx.RANK, "epochs": lx.number(1, 10),
    "seconds": lx.SECONDS, "duration": lx.from_pairs([
        ("10 seconds", "10"), ("five seconds", "5"), ("two minutes", "120"), ("a minute", "60"),
        ("90 seconds", "90"), ("half a minute", "30"), ("an hour", "3600"),
        ("3 minutes", "180"), ("1 second", "1"), ("20 secs", "20"), ("30 seconds", "30")]),
    "count": lx.number(3, 50), "exit_status": lx.number(0, 3),
    "alias_name": lx.same(lx.ALIAS_NAMES), "alias_value": lx.same(lx.ALIAS_VALUES),
    "set_option": lx.SET_OPTION,
    "echo_text": lx.same(("hello world", "done", "training finished", "starting now", "hi",
                          "all good", "build ok", "it works")),
    "utterance": lx.same(("show me what is running", "stop job 3", "pull smollm2",
                          "how much memory is free", "fine tune smollm2 on notes.jsonl")),
    "script": lx.same(("setup.llmsh", "scripts/train.llmsh", "~/.llmshrc", "jobs.llmsh",
                       "nightly.llmsh")),
    "cmdline": lx.same(("generate 'hello' --device cuda", "sleep 10", "kill 42",
                        "finetune smollm2 --data notes.jsonl", "load smollm2 --device cpu",
                        "embed 'hello world'", "eval smollm2 --data test.txt", "ps --all",
                        "models rm qwen", "generate 'write a poem' --max-tokens 64")),
    "command": lx.from_pairs([(c, c.split()) for c in (
        "ps", "kill", "finetune", "generate", "models pull", "renice", "logs", "load", "embed",
        "classify", "explain", "wait", "top", "alias", "models")]),
    **PROMPT_LEXICONS,
}  # fmt: skip


class CorpusError(ValueError):
    """A template file that is not what `read_area` reads."""


def read_area(path: Path) -> dict[str, list[Entry]]:
    """The templates of one area file by intent, each with its explicit held-out flag."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CorpusError(f"{path.name}: {exc}") from exc
    templates = data.get("templates") if isinstance(data, dict) else None
    if not isinstance(templates, dict):
        raise CorpusError(f'{path.name}: no "templates" object')
    for intent, entries in templates.items():
        for n, entry in enumerate(entries if isinstance(entries, list) else [None]):
            ok = isinstance(entry, dict) and set(entry) == {"held_out", "text"}
            if not (ok and isinstance(entry["held_out"], bool) and isinstance(entry["text"], str)):
                raise CorpusError(
                    f'{path.name}: {intent} #{n}: want {{"held_out": bool, "text": str}}, '
                    f"got {entry!r}"
                )
    return templates


def register_nl_examples(register: RegisterExamples, corpus: Path = CORPUS) -> None:
    """Register every built-in template (the area files of ``corpus``) and lexicon
    through ``register``."""
    first = True
    for area in AREAS:
        for intent, entries in read_area(corpus / f"{area}.json").items():
            register(intent, entries, LEXICONS if first else None)
            first = False
