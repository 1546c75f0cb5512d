"""Turn the words a person used for a value into the value llmsh expects.

``normalize(kind, text)`` takes a slot's text and its value type (the
registry's `ValueType` names: DEVICE, PRIORITY, STATE, ID, MODEL, INT, FLOAT,
LABELS, FILE, DIR, TEXT, NAME, COMMAND) and returns the canonical values, or
None when the words do not make a value of that type. Examples::

    "the gpu" -> ["cuda"]        "second gpu" -> ["cuda:1"]   "high priority" -> ["high"]
    "job 2" -> ["%2"]            "42" -> ["42"]               "jobs 1 and 3" -> ["%1", "%3"]
    "two minutes" (FLOAT) -> ["120"]   "positive, negative or neutral" -> ["positive,negative,neutral"]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection

UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "a": 1, "an": 1,
}  # fmt: skip
SCALES = {"hundred": 100, "thousand": 1000}
ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5,
}  # fmt: skip
SECONDS = {"second": 1, "sec": 1, "s": 1, "minute": 60, "min": 60, "hour": 3600, "hr": 3600}
MODEL_ALIASES = {
    "smollm2": "smollm2", "smollm": "smollm2", "smol": "smollm2", "smollm 2": "smollm2",
    "smol lm": "smollm2", "smol lm2": "smollm2", "smol lm 2": "smollm2",
    "smollm2-135m": "smollm2", "minilm": "minilm", "mini lm": "minilm",
    "all-minilm": "minilm", "minilm-l6": "minilm", "all-minilm-l6-v2": "minilm",
}  # fmt: skip
STATE_WORDS = {
    "queued": ("queue", "pending", "waiting", "scheduled"), "loading": ("load",),
    "running": ("run", "active", "going", "live", "in progress"),
    "paused": ("pause", "suspend", "stopped", "on hold", "frozen"),
    "done": ("finish", "complete", "succeed", "success", "done", "ended"),
    "failed": ("fail", "crash", "error", "broke", "broken"), "killed": ("kill", "terminated"),
    "interrupted": ("interrupt", "cancel", "aborted"),
}  # fmt: skip
PRIORITY_WORDS = {
    "high": ("high", "urgent", "top", "important", "max", "critical", "elevated", "raise"),
    "low": ("low", "lowest", "least", "idle", "minimal", "min", "nice", "lower"),
    "normal": ("normal", "default", "regular", "medium", "standard", "usual", "reset"),
}
_NUM = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:e[-+]?\d+)?k?")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$")
_FILLER = re.compile(r"\b(the|a|an|model|models|called|named|my|please)\b")


def words_of(text: str) -> list[str]:
    return re.findall(r"[a-z0-9#%:.+-]+", text.lower())


def unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"`":
        return text[1:-1]
    return text.strip("“”‘’")


def numbers(text: str) -> list[float]:
    """Every number in ``text``: digits (``3``, ``-5``, ``1e-4``, ``2k``) or words
    (``twenty five``, ``a hundred``, ``minus three``)."""
    found: list[float] = []
    current: float | None = None
    sign = 1
    for word in re.findall(r"[a-z]+|[-+]?[\d.]+(?:e[-+]?\d+)?k?", text.lower().replace(",", " ")):
        if _NUM.fullmatch(word):
            if current is not None:
                found.append(sign * current)
                sign = 1
            value = float(word[:-1]) * 1000 if word.endswith("k") else float(word)
            found.append(sign * value)
            current, sign = None, 1
        elif word in ("minus", "negative"):
            sign = -1
        elif word in UNITS and not (word in ("a", "an") and current is not None):
            current = (current or 0) + UNITS[word]
        elif word in SCALES:
            current = (current or 1) * SCALES[word]
        elif word == "and" and current is not None and current >= 100:
            continue
        elif current is not None:
            found.append(sign * current)
            current, sign = None, 1
    if current is not None:
        found.append(sign * current)
    return found


def fmt_number(value: float) -> str:
    return str(int(value)) if value == int(value) else format(value, "g")


def _ordinal(text: str) -> int | None:
    for word in words_of(text):
        if word in ORDINALS:
            return ORDINALS[word]
    return None


def device(text: str) -> list[str] | None:
    low = " ".join(words_of(text))
    if re.fullmatch(r"cuda:\d+|cpu|cuda|auto", low):
        return [low]
    gpu = re.search(r"\b(gpu|gpus|cuda|graphics|video|card|accelerator|nvidia)", low)
    if gpu:
        match = re.search(r"(?:cuda|gpu|card|device)\s*(?:number|no\.?|#|:)?\s*(\d+)", low)
        if match:
            return [f"cuda:{int(match.group(1))}"]
        nth = _ordinal(low)
        return [f"cuda:{nth - 1}"] if nth else ["cuda"]
    if re.search(r"\b(cpu|cpus|processor|cores?)\b", low):
        return ["cpu"]
    if re.search(r"\b(auto|automatic\w*|any|whatever|wherever|best)\b", low):
        return ["auto"]
    return None


def priority(text: str) -> list[str] | None:
    low = text.lower()
    nums = numbers(low)
    if nums and nums[0] == int(nums[0]) and -20 <= nums[0] <= 19:
        return [str(int(nums[0]))]
    for name, keys in PRIORITY_WORDS.items():
        if any(re.search(rf"\b{key}", low) for key in keys):
            return [name]
    return None


def state(text: str) -> list[str] | None:
    low = text.lower()
    for name, keys in STATE_WORDS.items():
        if low.strip() == name or any(key in low for key in keys):
            return [name]
    return None


def job_ids(text: str) -> list[str] | None:
    """``%N`` where the words say job, a pid where they say process or give a bare number."""
    low = text.lower()
    refs = re.findall(r"%\d+", low)
    if refs:
        return refs
    session = re.search(r"\bjobs?\b", low) is not None
    if not session and not re.search(r"\d|\b(process|processes|pids?)\b", low):
        return None  # "that one" is not a pid
    nums = [int(n) for n in numbers(re.sub(r"\b(a|an)\b", " ", low)) if n == int(n) and n >= 0]
    if not nums and session and _ordinal(low):
        nums = [_ordinal(low) or 0]
    if not nums:
        return None
    return [f"%{n}" if session else str(n) for n in nums]


def model(text: str) -> list[str] | None:
    names = []
    for part in re.split(r",|\band\b|&", unquote(text)):
        low = " ".join(_FILLER.sub(" ", part.lower()).split())
        if not low:
            continue
        if low in MODEL_ALIASES:
            names.append(MODEL_ALIASES[low])
            continue
        raw = " ".join(w for w in part.split() if not _FILLER.fullmatch(w.lower()))
        if not _NAME.match(raw):
            return None
        names.append(raw)
    return names or None


def integer(text: str) -> list[str] | None:
    nums = numbers(text)
    return [str(int(nums[0]))] if nums and nums[0] == int(nums[0]) else None


def real(text: str) -> list[str] | None:
    """A number; with a time unit (``2 minutes``) it becomes seconds."""
    low = text.lower().strip()
    if _NUM.fullmatch(low) and not low.endswith("k"):
        return [low.lstrip("+")]
    nums = numbers(low)
    if low.startswith("half") or re.search(r"\bhalf an?\b", low):
        nums = [0.5 * (nums[0] if nums else 1)]
    if not nums:
        return None
    value = nums[0]
    for unit, factor in SECONDS.items():
        if re.search(rf"\d\s*{unit}s?\b|\b{unit}s?\b", low):
            value *= factor
            break
    return [fmt_number(value)]


def labels(text: str) -> list[str] | None:
    parts = re.split(r",|/|;|\bor\b|\band\b", unquote(text))
    items = [unquote(p.strip()) for p in parts if p.strip()]
    if len(items) == 1 and " " in items[0]:
        items = items[0].split()
    items = [i for i in items if i]
    return [",".join(items)] if items else None


def path(text: str) -> list[str] | None:
    value = unquote(text)
    return [value] if value else None


def directory(text: str) -> list[str] | None:
    """A directory; "home" is ``~``, "the parent directory" ``..``, "the previous one" ``-``."""
    value = unquote(text)
    low = value.lower()
    for key, target in (
        ("parent", ".."),
        ("up one", ".."),
        ("previous", "-"),
        ("last", "-"),
        ("home", "~"),
    ):
        if key in low and "/" not in low:
            return [target]
    return [value] if value else None


def name(text: str) -> list[str] | None:
    value = unquote(text)
    return [value] if _NAME.match(value) else None


def command(text: str, names: Collection[str] = ()) -> list[str] | None:
    """The command ``names`` (and a subcommand after its parent) among the words."""
    words = [w for w in re.split(r"[\s,]+", unquote(text).lower()) if w]
    found = [w for i, w in enumerate(words) if w in names or (i and f"{words[i - 1]} {w}" in names)]
    return found or None


NORMALIZERS: dict[str, Callable[[str], list[str] | None]] = {
    "DEVICE": device, "PRIORITY": priority, "STATE": state, "ID": job_ids, "MODEL": model,
    "INT": integer, "FLOAT": real, "LABELS": labels, "FILE": path, "DIR": directory,
    "TEXT": path, "NAME": name,
}  # fmt: skip


def normalize(kind: str, text: str, choices: Collection[str] = ()) -> list[str] | None:
    """Canonical values for ``text`` read as a ``kind`` value; None when it is not one.
    A COMMAND value is one of ``choices`` (the command names, `Param.choices`)."""
    if kind == "COMMAND":
        return command(text, frozenset(choices))
    func = NORMALIZERS.get(kind, path)
    return func(text)
