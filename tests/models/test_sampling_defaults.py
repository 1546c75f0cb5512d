"""Sampling defaults per model: job > config.toml > manifest > catalogue > llmsh's own."""

from __future__ import annotations

from llmsh import paths
from llmsh.models.sampling_defaults import GENERAL, describe, sampling_defaults, with_defaults
from llmsh.models.store import ModelStore


def test_the_catalogue_gives_smollm2_greedy_decoding() -> None:
    values, origin = sampling_defaults("smollm2")  # not pulled here: the catalogue speaks
    assert values["temperature"] == 0.0 and origin == "the catalogue"
    assert "temperature 0 (greedy)" in describe("smollm2")


def test_precedence(store: ModelStore) -> None:
    assert sampling_defaults("tiny-llama") == (GENERAL, "llmsh's defaults")
    manifest = store.get("tiny-llama")
    manifest.extra["sampling"] = {"temperature": 0.3, "top_p": 0.8}
    store.update_manifest(manifest)
    values, origin = sampling_defaults("tiny-llama")
    assert (values["temperature"], values["top_p"], origin) == (0.3, 0.8, "the model's manifest")
    paths.config_file().parent.mkdir(parents=True, exist_ok=True)
    paths.config_file().write_text("[models.tiny-llama]\ntemperature = 1.1\n")
    values, origin = sampling_defaults("tiny-llama")
    assert (values["temperature"], values["top_p"]) == (1.1, 0.8)  # top_p still the manifest's
    assert origin == "[models.tiny-llama] in config.toml"
    job = with_defaults("tiny-llama", {"prompt": "x", "temperature": 0.0, "max_tokens": None})
    assert job["temperature"] == 0.0 and job["max_tokens"] == GENERAL["max_tokens"]


async def test_help_generate_and_chat_print_the_defaults() -> None:
    from tests.shell.test_interpreter import make_shell, sh

    shell = make_shell()
    for command in ("generate", "chat"):
        out = (await sh(shell, f"help {command}")).out
        assert "Sampling defaults for smollm2: temperature 0 (greedy)" in out, out
