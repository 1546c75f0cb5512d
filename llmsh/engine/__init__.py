"""The generation engine: one shared decode loop per model and device.

Every running generation job (generate, chat turns, plugin jobs that generate)
on the same model and device hands its prompt to one `Engine`, whose thread
decodes all of them together (continuous batching): a job joins at the step
after its prefill and leaves when it finishes, is killed or paused (a paused
job keeps its KV cache and rejoins on resume). When more jobs want the
`max_batch` slots than there are, priority decides with aging (`policy`). Each
job's own worker thread receives its tokens, streams its text, reports its
tokens/s and obeys its own sampling settings and stop conditions (`session`).

Backends (`registry`): ``torch`` (transformers, padded batch with per-row
positions, `torch_backend`) and ``llama.cpp`` (llama-cpp-python, one context
with a sequence id per job, `llamacpp`), chosen per model; plugins add more
with the ``register_backends`` hook.

For job code (a plugin job that generates)::

    from llmsh.engine import open_model, stream_text
    with open_model("smollm2", "cpu", pool) as runtime:
        ids = runtime.tokenizer("Once upon a time")["input_ids"]
        text = stream_text(runtime, ids, SamplingParams(max_tokens=64), ctl)

Importing this package imports neither torch nor llama_cpp.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmsh.engine.config import EngineConfig
    from llmsh.engine.registry import ModelRuntime, choose_backend, open_model
    from llmsh.engine.session import generate_tokens, stream_text

__all__ = [
    "EngineConfig",
    "ModelRuntime",
    "choose_backend",
    "generate_tokens",
    "open_model",
    "stream_text",
]

_HOME = {
    "EngineConfig": "llmsh.engine.config",
    "ModelRuntime": "llmsh.engine.registry",
    "choose_backend": "llmsh.engine.registry",
    "open_model": "llmsh.engine.registry",
    "generate_tokens": "llmsh.engine.session",
    "stream_text": "llmsh.engine.session",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'llmsh.engine' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(_HOME[name]), name)
