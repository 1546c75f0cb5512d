"""Each model's sampling defaults, and where they come from (no torch: `help` reads them).

A job's own settings win; then `[models.NAME]` in config.toml (`temperature`, `top_p`,
`max_tokens`); then the model's manifest (`sampling`, written at pull time from its
catalogue entry); then the catalogue entry of that name; then llmsh's general defaults.
Ollama does the same with a model's Modelfile PARAMETERs under a request's options.
SmolLM2-135M answers reliably only greedily (at temperature 0.2 one answer in four to
"What is the capital of France?" was wrong; at 0.7 three in four), so its catalogue
entry says temperature 0.
"""

from __future__ import annotations

from typing import Any

from llmsh import paths
from llmsh.models.catalogue import load_catalogue
from llmsh.models.errors import ModelError
from llmsh.models.store import ModelStore

KEYS = ("temperature", "top_p", "max_tokens")
GENERAL = {"temperature": 0.7, "top_p": 0.95, "max_tokens": 128}


def _pick(table: object) -> dict[str, Any]:
    if not isinstance(table, dict):
        return {}
    return {k: table[k] for k in KEYS if isinstance(table.get(k), (int, float))}


def sampling_defaults(name: str, store: ModelStore | None = None) -> tuple[dict[str, Any], str]:
    """The settings a job on `name` gets when it names none, and where they come from."""
    found, origin = dict(GENERAL), "llmsh's defaults"
    entry = load_catalogue().get(name)
    if entry is not None and _pick(entry.extra.get("sampling")):
        found.update(_pick(entry.extra.get("sampling")))
        origin = "the catalogue"
    try:
        manifest = (store or ModelStore()).get(name)
    except ModelError:
        manifest = None
    if manifest is not None and _pick(manifest.extra.get("sampling")):
        found.update(_pick(manifest.extra.get("sampling")))
        origin = "the model's manifest"
    configured = _pick(paths.config_section("models", name))
    if configured:
        found.update(configured)
        origin = f"[models.{name}] in config.toml"
    return found, origin


def with_defaults(name: str, args: dict[str, Any]) -> dict[str, Any]:
    """A job's arguments with the model's defaults under the settings it gave."""
    defaults, _ = sampling_defaults(name)
    return {**defaults, **{k: v for k, v in args.items() if v is not None}}


def describe(name: str) -> str:
    """One line for `help generate`: the defaults of `name` and where they come from."""
    try:
        values, origin = sampling_defaults(name)
    except ModelError as exc:
        return f"defaults for {name}: unknown ({exc})"
    temp = values["temperature"]
    shown = "0 (greedy)" if temp == 0 else f"{temp:g}"
    return (
        f"defaults for {name}: temperature {shown}, top-p {values['top_p']:g}, "
        f"max tokens {int(values['max_tokens'])} (from {origin})"
    )
