"""`llmsh nl train` and `llmsh nl eval` as functions: argv in, status out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmsh.nl_intent.cli import eval_main, train_main


def test_train_then_eval(
    tiny_encoder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "w.safetensors"
    assert train_main(["--steps", "3", "--batch-size", "4", "--encoder", str(tiny_encoder),
                       "--out", str(out), "--quiet"]) == 0  # fmt: skip
    assert "trained in" in capsys.readouterr().out and out.is_file()
    assert eval_main(["--count", "12", "--weights", str(out), "--encoder", str(tiny_encoder),
                      "--json"]) == 0  # fmt: skip
    scores = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert scores["n"] == 12 and set(scores) >= {"intent_accuracy", "slot_f1", "exact_command",
                                                 "p50_ms", "p95_ms"}  # fmt: skip


def test_missing_encoder_is_a_clean_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMSH_HOME", str(tmp_path))
    assert eval_main(["--count", "1"]) == 1
    assert "models pull minilm" in capsys.readouterr().err
