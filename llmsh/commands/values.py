"""Checking and converting argument values by their `ValueType`.

Nothing here imports the kernel at module level: `llmsh -c 'echo hi'` must not
pay for it. Job references stay `JobRef` values until a command resolves them
against the session's job table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from llmsh.commands.spec import ValueType

DEVICES = ("auto", "cpu", "cuda")
PRIORITIES = ("high", "normal", "low")
STATES = ("queued", "loading", "running", "paused", "done", "failed", "killed", "interrupted")
_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")
_JOBREF = re.compile(r"^(%\d+|%[%+-]?|\d+)$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$")
# Pids and integers are stored as SQLite INTEGERs (signed 64-bit): a larger value
# would end in OverflowError deep inside the kernel, so it is refused as typed.
MAX_INT = (1 << 63) - 1
MAX_JOB_NUMBER = 1 << 31


@dataclass(frozen=True)
class JobRef:
    """A job reference as typed: a pid (``42``) or a session job (``%1``, ``%+``)."""

    text: str

    @property
    def is_session(self) -> bool:
        return self.text.startswith("%")

    @property
    def number(self) -> int | None:
        """N of ``%N``; None for ``%``, ``%+`` (current) and ``%-`` (previous)."""
        digits = self.text.lstrip("%")
        return int(digits) if self.is_session and digits.isdigit() else None

    @property
    def pid(self) -> int:
        return int(self.text)

    def __str__(self) -> str:
        return self.text


def priority(text: str) -> int:
    lowered = text.strip().lower()
    names = {"high": -10, "normal": 0, "low": 10}
    if lowered in names:
        return names[lowered]
    try:
        nice = int(lowered)
    except ValueError:
        raise ValueError(
            f"invalid priority '{text}': use high, normal, low or an integer -20..19"
        ) from None
    if not -20 <= nice <= 19:
        raise ValueError(f"invalid priority '{text}': must be between -20 and 19")
    return nice


def _short(text: str) -> str:
    """A typed value for an error line: long ones are cut (a 10,000-digit number...)."""
    return text if len(text) <= 40 else text[:37] + "..."


def convert(kind: ValueType, text: str, choices: tuple[str, ...] = ()) -> Any:
    """The typed value of ``text``; raises ValueError with a one-line reason."""
    if choices and text not in choices:
        raise ValueError(f"invalid value '{text}': choose from {', '.join(choices)}")
    if kind is ValueType.DEVICE:
        lowered = text.lower()
        if not _DEVICE.match(lowered):
            raise ValueError(f"invalid device '{text}': use auto, cpu, cuda or cuda:N")
        return lowered
    if kind is ValueType.PRIORITY:
        return priority(text)
    if kind is ValueType.STATE:
        lowered = text.lower()
        if lowered not in STATES:
            raise ValueError(f"invalid state '{text}': use one of {', '.join(STATES)}")
        return lowered
    if kind is ValueType.ID:
        if not _JOBREF.match(text):
            raise ValueError(f"invalid job '{text}': use a pid or %N")
        digits = text.lstrip("%")
        if digits.isdigit() and int(digits) > (MAX_JOB_NUMBER if text[0] == "%" else MAX_INT):
            raise ValueError(f"no such job: {_short(text)} (out of range)")
        return JobRef(text)
    if kind is ValueType.INT:
        try:
            number = int(text)
        except ValueError:
            raise ValueError(f"invalid integer '{_short(text)}'") from None
        if not -MAX_INT - 1 <= number <= MAX_INT:
            raise ValueError(f"integer out of range: {_short(text)}")
        return number
    if kind is ValueType.FLOAT:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"invalid number '{text}'") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"invalid number '{text}'")
        return value
    if kind is ValueType.LABELS:
        labels = tuple(part.strip() for part in text.split(",") if part.strip())
        if not labels:
            raise ValueError("expected labels separated by commas, like A,B")
        return labels
    if kind in (ValueType.MODEL, ValueType.NAME):
        if not _NAME.match(text):
            raise ValueError(f"invalid name '{text}'")
        return text
    if kind in (ValueType.FILE, ValueType.DIR) and not text:
        raise ValueError("empty file name")
    return text
