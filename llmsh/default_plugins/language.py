"""Natural-language examples of the built-in commands, for the intent parser."""

from __future__ import annotations

from collections.abc import Callable


def register_nl_examples(register: Callable[..., None]) -> None:
    from llmsh.nl_intent import builtin_examples

    builtin_examples.register_nl_examples(register)
