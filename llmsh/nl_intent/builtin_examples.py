"""The built-in natural-language examples, registered like a plugin's.

`register_nl_examples(register)` is the hook: it registers the shared
lexicons once (with the first command) and then each module's templates.
"""

from __future__ import annotations

from llmsh.nl_intent import (
    examples_contrast,
    examples_jobctl,
    examples_jobs,
    examples_language,
    examples_models,
    examples_shell,
)
from llmsh.nl_intent import lexicons as lx
from llmsh.nl_intent.examples import LexiconLike, RegisterExamples

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
    **examples_language.PROMPT_LEXICONS,
}  # fmt: skip

# examples_contrast last: its lists continue the others' (template indices go on).
MODULES = (
    examples_jobs,
    examples_jobctl,
    examples_models,
    examples_shell,
    examples_language,
    examples_contrast,
)


def register_nl_examples(register: RegisterExamples) -> None:
    """Register every built-in template and lexicon through ``register``."""
    first = True
    for module in MODULES:
        for intent, templates in module.TEMPLATES.items():
            register(intent, templates, LEXICONS if first else None)
            first = False
