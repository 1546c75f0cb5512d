"""Built-in slot lexicons: how people say each kind of value, with its canonical value.

A lexicon is a function ``rng -> (phrase, values)``. `from_pairs` makes one
from a list of ``(phrase, value)`` pairs; the rest generate phrases (pids,
file names, numbers in digits or words) so the tagger learns the shape of a
value rather than a list. Templates pick a lexicon by name (``{id:job}``) or,
by default, by the slot name and then the slot's value type.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from llmsh.nl_intent.templates import Lexicon

NUMBER_WORDS = ("zero one two three four five six seven eight nine ten eleven twelve").split()
ORDINAL_WORDS = ("first", "second", "third", "fourth", "fifth")
CUSTOM_MODELS = ("notes-lora", "qwen", "tinyllama", "phi2", "llama3", "mistral-7b", "chatbot",
                 "smollm2-notes", "legal-ft", "poems-v2", "support-bot", "codegen", "mymodel",
                 "smollm2-ft", "gemma", "bert-small", "run1", "tuned")  # fmt: skip
STEMS = ("notes", "train", "data", "corpus", "chats", "reviews", "wiki", "emails", "dataset",
         "support_tickets", "my-notes", "poems", "test", "eval", "val", "recipes", "logs",
         "qa_pairs", "dialogues", "shakespeare")  # fmt: skip
DIRS = ("", "", "", "data/", "./", "~/datasets/", "/tmp/", "../corpus/", "datasets/v2/")
TEXTS = ("the gpu is on fire", "I love this product", "hello world", "my order never arrived",
         "the meeting moved to friday", "this movie was terrible", "can you reset my password",
         "the build is broken again", "great service, thanks", "refund my money now",
         "the weather is lovely today", "llamas are great", "quarterly revenue grew 5%",
         "the server is down", "what a wonderful day", "I can't log in",
         "shipping took three weeks", "the cat sat on the mat")  # fmt: skip
ARGVS = ("ls -la", "df -h", "nvidia-smi", "python train.py", "git status", "cat notes.txt",
         "du -sh data", "free -m", "uptime", "pip list", "ls", "pwd", "whoami", "htop",
         "head -n 5 train.jsonl", "wc -l notes.txt", "git pull", "make test")  # fmt: skip
ALIAS_NAMES = ("ll", "gen", "g", "psa", "myps", "fast", "jl", "tune", "gpu")
ALIAS_VALUES = ("ps --all", "generate --max-tokens 32", "models list", "ps --device cuda",
                "jobs", "finetune smollm2 --data notes.jsonl", "devices --json")  # fmt: skip


def from_pairs(pairs: Sequence[tuple[str, str | Sequence[str]]]) -> Lexicon:
    """A lexicon choosing uniformly among ``(phrase, value or values)`` pairs."""
    fixed = [(p, [v] if isinstance(v, str) else list(v)) for p, v in pairs]

    def pick(rng: random.Random) -> tuple[str, list[str]]:
        phrase, values = rng.choice(fixed)
        return phrase, list(values)

    return pick


def same(phrases: Sequence[str]) -> Lexicon:
    """A lexicon whose phrases are their own values (files, names, free text)."""
    return from_pairs([(p, p) for p in phrases])


def device(rng: random.Random) -> tuple[str, Sequence[str]]:
    n = rng.randrange(4)
    return rng.choice([
        ("the gpu", "cuda"), ("gpu", "cuda"), ("GPU", "cuda"), ("cuda", "cuda"),
        ("the graphics card", "cuda"), ("the video card", "cuda"), ("a gpu", "cuda"),
        ("any gpu", "cuda"), ("nvidia", "cuda"), ("gpus", "cuda"),
        (f"gpu {n}", f"cuda:{n}"), (f"gpu number {n}", f"cuda:{n}"), (f"cuda:{n}", f"cuda:{n}"),
        (f"cuda {n}", f"cuda:{n}"), (f"gpu #{n}", f"cuda:{n}"),
        (f"the {ORDINAL_WORDS[n]} gpu", f"cuda:{n}"), (f"{ORDINAL_WORDS[n]} gpu", f"cuda:{n}"),
        ("cpu", "cpu"), ("the cpu", "cpu"), ("CPU", "cpu"), ("the processor", "cpu"),
        ("cpu cores", "cpu"), ("auto", "auto"), ("any device", "auto"),
        ("whatever device is free", "auto"), ("automatic", "auto"),
    ])  # fmt: skip


def priority(rng: random.Random) -> tuple[str, Sequence[str]]:
    n = rng.randint(-20, 19)
    return rng.choice([
        ("high priority", "high"), ("high", "high"), ("urgent priority", "high"),
        ("top priority", "high"), ("urgent", "high"), ("max priority", "high"),
        ("low priority", "low"), ("low", "low"), ("lowest priority", "low"), ("idle", "low"),
        ("normal priority", "normal"), ("normal", "normal"), ("default priority", "normal"),
        ("regular priority", "normal"), (str(n), str(n)), (f"nice {n}", str(n)),
        (f"priority {n}", str(n)), (f"minus {abs(n)}", str(-abs(n))),
    ])  # fmt: skip


STATE = from_pairs([
    ("running", "running"), ("active", "running"), ("in progress", "running"),
    ("paused", "paused"), ("suspended", "paused"), ("on hold", "paused"),
    ("queued", "queued"), ("pending", "queued"), ("waiting", "queued"),
    ("finished", "done"), ("done", "done"), ("completed", "done"), ("failed", "failed"),
    ("crashed", "failed"), ("errored", "failed"), ("killed", "killed"),
    ("terminated", "killed"), ("loading", "loading"), ("interrupted", "interrupted"),
])  # fmt: skip


def number(low: int, high: int) -> Lexicon:
    def pick(rng: random.Random) -> tuple[str, list[str]]:
        n = rng.randint(low, high)
        words = n < len(NUMBER_WORDS) and rng.random() < 0.3
        return (NUMBER_WORDS[n] if words else str(n)), [str(n)]

    return pick


def choice_of(values: Sequence[str]) -> Lexicon:
    return lambda rng: (lambda v: (v, [v]))(rng.choice(values))


def job(rng: random.Random) -> tuple[str, Sequence[str]]:
    n = rng.randint(1, 9)
    word = NUMBER_WORDS[n]
    return rng.choice([
        (f"job {n}", f"%{n}"), (f"job number {n}", f"%{n}"), (f"job #{n}", f"%{n}"),
        (f"%{n}", f"%{n}"), (f"job {word}", f"%{n}"), (f"the {ORDINAL_WORDS[min(n, 5) - 1]} job",
                                                       f"%{min(n, 5)}"),
    ])  # fmt: skip


def pid(rng: random.Random) -> tuple[str, Sequence[str]]:
    p = str(rng.choice([rng.randint(2, 99), rng.randint(100, 9999), rng.randint(10000, 99999)]))
    return rng.choice([(p, p), (f"process {p}", p), (f"pid {p}", p), (f"process id {p}", p)])


def job_or_pid(rng: random.Random) -> tuple[str, Sequence[str]]:
    return job(rng) if rng.random() < 0.5 else pid(rng)


def many_ids(rng: random.Random) -> tuple[str, Sequence[str]]:
    if rng.random() < 0.5:
        return job_or_pid(rng)
    nums = sorted(rng.sample(range(1, 9), rng.randint(2, 3)))
    if rng.random() < 0.5:
        ids, head = [f"%{n}" for n in nums], "jobs "
    else:
        nums = sorted(rng.sample(range(100, 99999), len(nums)))
        ids, head = [str(n) for n in nums], rng.choice(["processes ", "pids ", ""])
    if rng.random() < 0.2 and head == "jobs ":
        return " ".join(ids), ids
    texts = [str(n) for n in nums]
    joined = ", ".join(texts[:-1]) + rng.choice([" and ", ", ", " "]) + texts[-1]
    return head + joined, ids


def model(rng: random.Random) -> tuple[str, Sequence[str]]:
    if rng.random() < 0.55:
        return rng.choice([
            ("smollm2", "smollm2"), ("SmolLM2", "smollm2"), ("smollm", "smollm2"),
            ("smol lm 2", "smollm2"), ("minilm", "minilm"), ("MiniLM", "minilm"),
            ("mini lm", "minilm"), ("smollm2", "smollm2"),
        ])  # fmt: skip
    name = rng.choice(CUSTOM_MODELS)
    return name, [name]


def new_name(rng: random.Random) -> tuple[str, list[str]]:
    name = rng.choice(("notes", "poems", "legal", "chat", "support", "code", "my", "tuned"))
    name += rng.choice(("-lora", "-v2", "-ft", "-model", "2", "-notes"))
    return name, [name]


def data_file(rng: random.Random) -> tuple[str, list[str]]:
    name = rng.choice(DIRS) + rng.choice(STEMS) + rng.choice((".jsonl", ".jsonl", ".txt", ".json"))
    return name, [name]


def out_file(rng: random.Random) -> tuple[str, list[str]]:
    name = (
        rng.choice(("", "", "out/", "vectors/"))
        + rng.choice(("vec", "vector", "embedding", "emb", "hello"))
        + rng.choice((".json", ".npy", ".txt"))
    )
    return name, [name]


def path(rng: random.Random) -> tuple[str, list[str]]:
    name = rng.choice(
        (
            "./checkpoints/run1",
            "~/models/qwen.gguf",
            "/data/lora-adapter",
            "model.gguf",
            "./my-model",
            "~/Downloads/phi2.gguf",
            "adapters/notes",
        )
    )
    return name, [name]


def directory(rng: random.Random) -> tuple[str, Sequence[str]]:
    return rng.choice([("~/data", "~/data"), ("/tmp", "/tmp"), ("projects/llm", "projects/llm"),
                       ("..", ".."), ("the parent directory", ".."), ("home", "~"),
                       ("my home directory", "~"), ("data", "data"), ("/var/log", "/var/log"),
                       ("the previous directory", "-")])  # fmt: skip


def labels(rng: random.Random) -> tuple[str, list[str]]:
    sets = (("positive", "negative"), ("positive", "negative", "neutral"), ("spam", "ham"),
            ("urgent", "normal", "low"), ("sports", "politics", "tech"), ("yes", "no"),
            ("bug", "feature", "question"), ("happy", "sad", "angry"))  # fmt: skip
    chosen = rng.choice(sets)
    style = rng.randrange(4)
    if style == 0:
        phrase = ",".join(chosen)
    elif style == 1:
        phrase = ", ".join(chosen)
    else:
        sep = " or " if style == 2 else " and "
        phrase = ", ".join(chosen[:-1]) + sep + chosen[-1]
    return phrase, [",".join(chosen)]


SET_OPTION = from_pairs([
    ("stop on the first error", "-e"), ("exit on errors", "-e"), ("fail fast", "-e"),
    ("stop at the first failure", "-e"), ("abort when a command fails", "-e"),
    ("keep going after errors", "+e"), ("don't stop on errors", "+e"), ("ignore errors", "+e"),
    ("turn off exit on error", "+e"), ("trace commands", "-x"), ("print each command", "-x"),
    ("turn on tracing", "-x"), ("echo commands as they run", "-x"), ("stop tracing", "+x"),
    ("turn off tracing", "+x"), ("don't print commands", "+x"),
])  # fmt: skip
SECONDS = from_pairs([
    ("5", "5"), ("10", "10"), ("30", "30"), ("2.5", "2.5"), ("10 seconds", "10"),
    ("five seconds", "5"), ("two minutes", "120"), ("a minute", "60"), ("90 seconds", "90"),
    ("half a minute", "30"), ("an hour", "3600"), ("3 minutes", "180"), ("1 second", "1"),
    ("20 secs", "20"), ("forty five seconds", "45"),
])  # fmt: skip
TEMPERATURE = from_pairs([(t, t) for t in ("0.7", "0.2", "1.0", "0", "0.9", "1.2", "0.5")] +
                         [("zero", "0"), ("one", "1")])  # fmt: skip
LR = same(("1e-4", "3e-4", "0.001", "2e-5", "5e-5", "0.0005", "1e-3"))
RANK = choice_of(("4", "8", "16", "32", "64"))
