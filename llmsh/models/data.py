"""Reading training and evaluation data, with errors that name the bad line.

JSON lines files hold one object per line, either ``{"prompt": ..., "completion": ...}``
or ``{"text": ...}``; blank lines are skipped. Evaluation also takes plain text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from llmsh.models.errors import ModelError

JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")


@dataclass(frozen=True)
class Example:
    text: str = ""  # a whole training text ({"text": ...})
    prompt: str = ""  # or an instruction and the reply to learn
    completion: str = ""

    @property
    def plain(self) -> str:
        """The example as one text (for perplexity)."""
        return self.text or f"{self.prompt}\n{self.completion}"


def _example(obj: object, where: str) -> Example:
    if isinstance(obj, dict):
        if isinstance(obj.get("text"), str) and obj["text"].strip():
            return Example(text=obj["text"])
        prompt, completion = obj.get("prompt"), obj.get("completion")
        if isinstance(prompt, str) and isinstance(completion, str) and completion.strip():
            return Example(prompt=prompt, completion=completion)
    raise ModelError(f'{where}: expected {{"prompt": ..., "completion": ...}} or {{"text": ...}}')


def read_examples(path: str | Path, allow_text: bool = False) -> list[Example]:
    """All examples of a data file; `allow_text` accepts a plain text file as one example."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise ModelError(f"no such data file: {path}")
    try:
        content = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"cannot read data file {file.name}: {exc}") from None
    if not content.strip():
        raise ModelError(f"data file {file.name} is empty")
    if allow_text and file.suffix.lower() not in JSONL_SUFFIXES:
        return [Example(text=content)]
    examples = []
    for number, line in enumerate(content.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ModelError(f"{file.name} line {number}: not valid JSON ({exc.msg})") from None
        examples.append(_example(obj, f"{file.name} line {number}"))
    return examples
