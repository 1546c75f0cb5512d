"""Training/eval data files: clear errors naming the bad line."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmsh.models.data import read_examples
from llmsh.models.errors import ModelError


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reads_both_shapes(tmp_path: Path) -> None:
    path = write(tmp_path, "d.jsonl", '{"prompt": "a", "completion": "b"}\n\n{"text": "c"}\n')
    examples = read_examples(path)
    assert [e.plain for e in examples] == ["a\nb", "c"]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('{"text": "ok"}\n{"text": "ok"}\n{oops\n', "d.jsonl line 3: not valid JSON"),
        ('{"text": "ok"}\n{"prompt": "only"}\n', "d.jsonl line 2: expected"),
        ('["a list"]\n', "line 1: expected"),
        ('{"text": ""}\n', "line 1: expected"),
        ("  \n\n", "is empty"),
    ],
)
def test_malformed(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(ModelError, match=match) as err:
        read_examples(write(tmp_path, "d.jsonl", text))
    assert "\n" not in str(err.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no such data file"):
        read_examples(tmp_path / "missing.jsonl")


def test_plain_text_for_eval(tmp_path: Path) -> None:
    path = write(tmp_path, "book.txt", "Once upon a time.\nThe end.\n")
    assert read_examples(path, allow_text=True)[0].text.startswith("Once")
    with pytest.raises(ModelError, match="line 1"):
        read_examples(path)
