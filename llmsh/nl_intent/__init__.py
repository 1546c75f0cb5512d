"""Natural-language intent parser (MiniLM + LoRA, joint intent and slot tagging).

``translate("show me what's running on the gpu")`` gives a `Proposal` whose
``command`` is ``ps --device cuda`` (or None below the confidence threshold,
with ``alternatives``). Plugins add phrasings for their commands through the
hook ``register_nl_examples(register)``, where ``register`` is
`ExampleBook.add` (see `llmsh.nl_intent.examples`). Importing this package
imports neither torch nor transformers: the model loads on the first `translate`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmsh.nl_intent.api import Proposal, Translator, TranslatorConfig, translate

__all__ = ["Proposal", "Translator", "TranslatorConfig", "translate"]

_LAZY = {
    "Proposal": "llmsh.nl_intent.api",
    "Translator": "llmsh.nl_intent.api",
    "TranslatorConfig": "llmsh.nl_intent.api",
    "translate": "llmsh.nl_intent.api",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
